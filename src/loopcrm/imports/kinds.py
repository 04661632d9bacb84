"""What a file of contact persons, products, orders with lines or interactions holds, and how one
record of it is written: through the owning app's own service, so an imported record obeys exactly
the rules the form and the API apply (customers have their own set-based path: engine.py).

A kind names its target fields (with Chinese and English header synonyms), which are required,
the identity that makes two rows the same record (a product's SKU, an order's number), how a row's
cells become the service's arguments (`parse`), and how a record is written (`write`). Orders are
*grouped*: adjacent rows with the same order number are the lines of one order.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order, OrderChannel, Product
from loopcrm.commerce.services import catalogue, orders
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.errors import RuleViolation
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.customers.normalise import normalise_email, normalise_phone
from loopcrm.customers.queries import customers_for
from loopcrm.imports.mapping import fold_header
from loopcrm.imports.models import ImportRowError
from loopcrm.imports.values import nfkc, parse_bool, parse_date, parse_decimal
from loopcrm.interactions import services as interaction_services
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Ticket, TicketCategory
from loopcrm.service.services.opening import TicketRequest, open_tickets

Reason = ImportRowError.Reason
_TAG_SPLIT = re.compile(r"[,;、|，；]")


@dataclass(frozen=True)
class Problem:
    target: str  # the field; the engine turns it into the file's column header
    value: str
    reason: str
    message: str


class RowProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class Lookups:
    """Per-job caches of references resolved while parsing (customers by key, within the user's scope)."""

    by: User | None
    customers: dict[tuple[str, str], int | None] = field(default_factory=dict)


# --- customer references -------------------------------------------------------------------------

CUSTOMER_REFS = {
    "customer_external_id": gettext_lazy("Customer: external id"),
    "customer_phone": gettext_lazy("Customer: phone"),
    "customer_email": gettext_lazy("Customer: email"),
    "customer_id": gettext_lazy("Customer: LoopCRM id"),
}
CUSTOMER_REF_SYNONYMS = {
    "customer_external_id": ("customerexternalid", "customerno", "customernumber", "客户编号", "会员号", "会员编号",
                             "accountnumber", "外部编号"),
    "customer_phone": ("customerphone", "phone", "mobile", "客户手机", "客户电话", "手机", "手机号", "电话"),
    "customer_email": ("customeremail", "email", "客户邮箱", "邮箱"),
    "customer_id": ("customerid", "loopcrmid", "客户id"),
}


def _customer(values: Mapping[str, str], lookups: Lookups) -> Customer:
    """The customer a row names by id, external id, phone or email — one the importer may see."""
    for target in ("customer_id", "customer_external_id", "customer_phone", "customer_email"):
        raw = values.get(target, "")
        if not raw:
            continue
        key = (target, raw)
        if key not in lookups.customers:
            lookups.customers[key] = _find_customer(target, raw, lookups.by)
        pk = lookups.customers[key]
        if pk is None:
            raise RowProblem(Problem(target, raw, Reason.UNKNOWN_CATEGORY,
                                     _("No customer you can see has this %(what)s.") % {"what": CUSTOMER_REFS[target]}))
        return Customer(pk=pk)
    raise RowProblem(Problem("customer_external_id", "", Reason.MISSING_REQUIRED,
                             _("Name the customer by external id, phone, email or LoopCRM id.")))


def _find_customer(target: str, raw: str, by: User | None) -> int | None:
    visible = customers_for(by, "view") if by is not None else Customer.objects.filter(merged_into__isnull=True)
    if target == "customer_id":
        try:
            return visible.filter(pk=int(nfkc(raw))).values_list("pk", flat=True).first()
        except ValueError as error:
            raise RowProblem(Problem(target, raw, Reason.BAD_VALUE, _("A LoopCRM id is a number."))) from error
    if target == "customer_phone":
        try:
            phone = normalise_phone(raw, region="CN", field=target)[0]
        except RuleViolation as error:
            raise RowProblem(Problem(target, raw, Reason.BAD_PHONE, error.message)) from error
        return visible.filter(phone=phone).order_by("pk").values_list("pk", flat=True).first()
    if target == "customer_email":
        return visible.filter(email=normalise_email(raw)).order_by("pk").values_list("pk", flat=True).first()
    return visible.filter(external_id=raw).order_by("pk").values_list("pk", flat=True).first()


def _moment(target: str, raw: str) -> dt.datetime | None:
    """A date or a date and time from a cell, read in the current time zone."""
    if not raw:
        return None
    text = nfkc(raw).strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        try:
            day = parse_date(text)
        except ValueError as error:
            raise RowProblem(Problem(target, raw, Reason.BAD_DATE, str(error))) from error
        if day is None:
            return None
        parsed = dt.datetime.combine(day, dt.time(12, 0))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _decimal(target: str, raw: str) -> Decimal | None:
    try:
        return parse_decimal(raw)
    except ValueError as error:
        raise RowProblem(Problem(target, raw, Reason.BAD_VALUE, str(error))) from error


def _bool(target: str, raw: str) -> bool:
    try:
        return parse_bool(raw)
    except ValueError as error:
        raise RowProblem(Problem(target, raw, Reason.BAD_VALUE, str(error))) from error


@functools.cache
def _choice_words(choices: type[models.Choices]) -> dict[str, Any]:
    """Folded value and English and Chinese labels -> the stored value (built once per choice set)."""
    words: dict[str, Any] = {}
    for language in ("zh-hans", "en"):  # values and English labels win where words collide
        with translation.override(language):
            words.update({fold_header(str(label)): value for value, label in choices.choices})
    words.update({fold_header(str(value)): value for value in choices.values})
    return words


def _choice(target: str, raw: str, choices: type[models.Choices]) -> Any:
    """A choice given by its value or its label in English or Chinese."""
    if not raw:
        return ""
    words = _choice_words(choices)
    folded = fold_header(raw)
    if folded in words:
        return words[folded]
    raise RowProblem(Problem(target, raw, Reason.UNKNOWN_CATEGORY,
                             _("Unknown value; use one of: %(choices)s.")
                             % {"choices": ", ".join(str(value) for value in choices.values)}))


# --- the kinds -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordKind:
    key: str
    model: type[models.Model]
    targets: dict[str, Any]  # field -> label, in the mapping screen's order
    synonyms: dict[str, tuple[str, ...]]
    required: tuple[str, ...]  # each must be mapped (customer references: at least one of them)
    parse: Callable[[Mapping[str, str], Lookups], dict[str, Any]]
    write: Callable[[list[dict[str, Any]], User | None], models.Model]
    identity: str = ""  # a parsed field that identifies a record in the file and the database
    grouped: bool = False  # adjacent rows sharing the identity are one record (orders with lines)
    find: Callable[[Sequence[str]], dict[str, int]] | None = None  # identity -> existing record's id
    update: Callable[[int, dict[str, Any], User | None], dict[str, Any]] | None = None  # returns the before-image
    restore: Callable[[int, dict[str, Any]], None] | None = None
    # Writes several new records in one call, all or none, in order (tickets: one routing pass and one insert
    # per table through the service desk's batch opening). Without it, records are written one by one.
    write_many: Callable[[list[list[dict[str, Any]]], User | None], list[models.Model]] | None = None


def _text(values: Mapping[str, str], name: str) -> str:
    return values.get(name, "")


# products

def _parse_product(values: Mapping[str, str], lookups: Lookups) -> dict[str, Any]:
    price = _decimal("price", _text(values, "price"))
    return {"sku": _text(values, "sku"), "name": _text(values, "name"),
            "price": str(price) if price is not None else "", "currency": _text(values, "currency").upper() or "CNY",
            "is_active": _bool("is_active", values["is_active"]) if values.get("is_active") else True,
            "description": _text(values, "description")}


def _write_product(records: list[dict[str, Any]], by: User | None) -> Product:
    return catalogue.create_product(by=by, **records[0])


def _find_products(skus: Sequence[str]) -> dict[str, int]:
    return dict(Product.objects.filter(sku__in=list(skus)).values_list("sku", "pk"))


_PRODUCT_FIELDS = ("name", "price", "currency", "is_active", "description")


def _update_product(pk: int, values: dict[str, Any], by: User | None) -> dict[str, Any]:
    product = Product.objects.get(pk=pk)
    before = {name: str(getattr(product, name)) if name == "price" else getattr(product, name)
              for name in _PRODUCT_FIELDS}
    catalogue.update_product(product, by=by, changes={k: v for k, v in values.items() if k in _PRODUCT_FIELDS})
    return before


def _restore_product(pk: int, before: dict[str, Any]) -> None:
    Product.objects.filter(pk=pk).update(**before)


# contact persons

def _parse_contact(values: Mapping[str, str], lookups: Lookups) -> dict[str, Any]:
    return {"customer_id": _customer(values, lookups).pk, "name": _text(values, "name"),
            "title": _text(values, "title"), "phone": _text(values, "phone"), "email": _text(values, "email"),
            "is_primary": _bool("is_primary", values["is_primary"]) if values.get("is_primary") else False,
            "notes": _text(values, "notes")}


def _write_contact(records: list[dict[str, Any]], by: User | None) -> ContactPerson:
    values = dict(records[0])
    organisation = Customer.objects.get(pk=values.pop("customer_id"))
    return customer_services.add_contact(organisation, by=by, **values)


# interactions

def _parse_interaction(values: Mapping[str, str], lookups: Lookups) -> dict[str, Any]:
    occurred = _moment("occurred_at", _text(values, "occurred_at"))
    return {"customer_id": _customer(values, lookups).pk,
            "channel": _choice("channel", _text(values, "channel"), Channel),
            "direction": _choice("direction", _text(values, "direction"), Interaction.Direction)
            or Interaction.Direction.INBOUND,
            "touchpoint": _choice("touchpoint", _text(values, "touchpoint"), Touchpoint),
            "journey_stage": _choice("journey_stage", _text(values, "journey_stage"), JourneyStage),
            "subject": _text(values, "subject"), "body": _text(values, "body"),
            "occurred_at": occurred.isoformat() if occurred else None}


def _write_interaction(records: list[dict[str, Any]], by: User | None) -> Interaction:
    values = dict(records[0])
    customer = Customer.objects.get(pk=values.pop("customer_id"))
    occurred = values.pop("occurred_at")
    return interaction_services.log_interaction(
        by=by, customer=customer, occurred_at=dt.datetime.fromisoformat(occurred) if occurred else None, **values)


# orders with lines

def _parse_order_line(values: Mapping[str, str], lookups: Lookups) -> dict[str, Any]:
    placed = _moment("placed_at", _text(values, "placed_at"))
    delivered = _moment("delivered_at", _text(values, "delivered_at"))
    quantity = _decimal("quantity", _text(values, "quantity"))
    unit_price = _decimal("unit_price", _text(values, "unit_price"))
    line: dict[str, Any] = {"quantity": int(quantity) if quantity is not None else 1}
    if quantity is not None and quantity != int(quantity):
        raise RowProblem(Problem("quantity", values.get("quantity", ""), Reason.BAD_VALUE,
                                 _("A quantity is a whole number.")))
    if values.get("sku"):
        line["sku"] = values["sku"]
    if values.get("description"):
        line["description"] = values["description"]
    if unit_price is not None:
        line["unit_price"] = str(unit_price)
    return {"number": _text(values, "number"), "customer_id": _customer(values, lookups).pk,
            "channel": _choice("channel", _text(values, "channel"), OrderChannel) or OrderChannel.OTHER,
            "status": _choice("status", _text(values, "status"), Order.Status) or Order.Status.DELIVERED,
            "placed_at": placed.isoformat() if placed else None,
            "delivered_at": delivered.isoformat() if delivered else None,
            "currency": _text(values, "currency").upper() or None, "line": line}


def _write_order(records: list[dict[str, Any]], by: User | None) -> Order:
    head = records[0]
    customer = Customer.objects.get(pk=head["customer_id"])

    def moment(text: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(text) if text else None

    return orders.create_order(
        by=by, customer=customer, number=head["number"], channel=head["channel"], status=head["status"],
        placed_at=moment(head["placed_at"]), delivered_at=moment(head["delivered_at"]), currency=head["currency"],
        lines=[record["line"] for record in records])


def _find_orders(numbers: Sequence[str]) -> dict[str, int]:
    return dict(Order.objects.filter(number__in=list(numbers)).values_list("number", "pk"))


# tickets (opened now, through the service desk's own opening: routing, SLA, process)

def _parse_ticket(values: Mapping[str, str], lookups: Lookups) -> dict[str, Any]:
    category = _text(values, "category")
    if category:
        found = TicketCategory.objects.filter(is_active=True).filter(
            models.Q(code=category) | models.Q(name=category)).values_list("pk", flat=True).first()
        if found is None:
            raise RowProblem(Problem("category", category, Reason.UNKNOWN_CATEGORY,
                                     _("No active ticket category has this code or name.")))
        category = found
    return {"customer_id": _customer(values, lookups).pk, "subject": _text(values, "subject"),
            "description": _text(values, "description"),
            "kind": _choice("kind", _text(values, "kind"), Ticket.Kind) or Ticket.Kind.INQUIRY,
            "channel": _choice("channel", _text(values, "channel"), Channel) or Channel.OTHER,
            "priority": _choice("priority", _text(values, "priority"), Ticket.Priority) or None,
            "category_id": category or None,
            "tags": [t.strip() for t in _TAG_SPLIT.split(_text(values, "tags")) if t.strip()]}


def _ticket_request(values: dict[str, Any], customers: Mapping[int, Customer],
                    categories: Mapping[int, TicketCategory]) -> TicketRequest:
    values = dict(values)
    customer = customers[values.pop("customer_id")]
    category_id = values.pop("category_id")
    return TicketRequest(customer=customer, category=categories[category_id] if category_id else None,
                                         **values)


def _write_tickets(groups: list[list[dict[str, Any]]], by: User | None) -> list[Ticket]:
    """Open the batch's tickets through the desk's batch opening (each exactly as one by one would)."""
    heads = [records[0] for records in groups]
    customers = Customer.objects.in_bulk({head["customer_id"] for head in heads})
    categories = TicketCategory.objects.in_bulk({head["category_id"] for head in heads if head["category_id"]})
    return open_tickets([_ticket_request(head, customers, categories) for head in heads], by=by)


def _write_ticket(records: list[dict[str, Any]], by: User | None) -> Ticket:
    return _write_tickets([records], by)[0]


PRODUCTS = RecordKind(
    key="products", model=Product,
    targets={"sku": gettext_lazy("SKU"), "name": gettext_lazy("Name"), "price": gettext_lazy("Price"),
             "currency": gettext_lazy("Currency"), "is_active": gettext_lazy("On sale"),
             "description": gettext_lazy("Description")},
    synonyms={"sku": ("sku", "productcode", "itemcode", "code", "货号", "商品编码", "商品编号", "编码", "sku编码"),
              "name": ("name", "productname", "itemname", "product", "商品名称", "品名", "名称", "商品", "产品名称"),
              "price": ("price", "unitprice", "listprice", "价格", "单价", "售价", "零售价"),
              "currency": ("currency", "币种", "货币"),
              "is_active": ("active", "onsale", "isactive", "在售", "上架", "状态"),
              "description": ("description", "details", "描述", "说明", "商品描述")},
    required=("sku", "name", "price"), parse=_parse_product, write=_write_product,
    identity="sku", find=_find_products, update=_update_product, restore=_restore_product,
)

CONTACTS = RecordKind(
    key="contacts", model=ContactPerson,
    targets={**CUSTOMER_REFS, "name": gettext_lazy("Name"), "title": gettext_lazy("Job title"),
             "phone": gettext_lazy("Phone"), "email": gettext_lazy("Email"),
             "is_primary": gettext_lazy("Primary contact"), "notes": gettext_lazy("Notes")},
    synonyms={"customer_external_id": ("accountid", "companyid", "organisationid", "organizationid", "公司编号",
                                       "客户编号", "单位编号"),
              "customer_id": ("customerid", "loopcrmid"),
              "name": ("name", "contactname", "fullname", "联系人", "联系人姓名", "姓名"),
              "title": ("title", "jobtitle", "position", "职务", "职位", "头衔"),
              "phone": ("phone", "mobile", "contactphone", "手机", "电话", "联系电话"),
              "email": ("email", "邮箱", "电子邮箱"),
              "is_primary": ("primary", "isprimary", "primarycontact", "主要联系人", "首要联系人"),
              "notes": ("notes", "备注", "说明")},
    required=("name", "customer"), parse=_parse_contact, write=_write_contact,
)

INTERACTIONS = RecordKind(
    key="interactions", model=Interaction,
    targets={**CUSTOMER_REFS, "channel": gettext_lazy("Channel"), "direction": gettext_lazy("Direction"),
             "touchpoint": gettext_lazy("Touchpoint"), "journey_stage": gettext_lazy("Journey stage"),
             "subject": gettext_lazy("Subject"), "body": gettext_lazy("Details"),
             "occurred_at": gettext_lazy("When")},
    synonyms={**CUSTOMER_REF_SYNONYMS,
              "channel": ("channel", "渠道", "方式", "联系方式"),
              "direction": ("direction", "方向", "呼入呼出"),
              "touchpoint": ("touchpoint", "触点"),
              "journey_stage": ("journeystage", "stage", "旅程阶段", "阶段"),
              "subject": ("subject", "title", "主题", "标题"),
              "body": ("body", "details", "description", "content", "notes", "内容", "详情", "备注", "记录"),
              "occurred_at": ("occurredat", "date", "time", "datetime", "when", "时间", "日期", "发生时间",
                              "联系时间")},
    required=("channel", "customer"), parse=_parse_interaction, write=_write_interaction,
)

ORDERS = RecordKind(
    key="orders", model=Order,
    targets={"number": gettext_lazy("Order number"), **CUSTOMER_REFS, "placed_at": gettext_lazy("Placed"),
             "delivered_at": gettext_lazy("Delivered"), "channel": gettext_lazy("Channel"),
             "status": gettext_lazy("Status"), "currency": gettext_lazy("Currency"), "sku": gettext_lazy("Line: SKU"),
             "description": gettext_lazy("Line: description"), "quantity": gettext_lazy("Line: quantity"),
             "unit_price": gettext_lazy("Line: unit price")},
    synonyms={**CUSTOMER_REF_SYNONYMS,
              "number": ("number", "ordernumber", "orderno", "orderid", "订单号", "订单编号", "单号"),
              "placed_at": ("placedat", "orderdate", "date", "下单时间", "下单日期", "订单日期", "日期"),
              "delivered_at": ("deliveredat", "deliverydate", "签收时间", "送达时间", "交付日期"),
              "channel": ("channel", "saleschannel", "渠道", "销售渠道"),
              "status": ("status", "orderstatus", "状态", "订单状态"),
              "currency": ("currency", "币种"),
              "sku": ("sku", "productcode", "itemcode", "货号", "商品编码"),
              "description": ("description", "productname", "item", "商品名称", "品名", "商品"),
              "quantity": ("quantity", "qty", "数量", "件数"),
              "unit_price": ("unitprice", "price", "单价", "价格")},
    required=("number", "customer"), parse=_parse_order_line, write=_write_order,
    identity="number", grouped=True, find=_find_orders,
)

TICKETS = RecordKind(
    key="tickets", model=Ticket,
    targets={**CUSTOMER_REFS, "subject": gettext_lazy("Subject"), "description": gettext_lazy("Description"),
             "kind": gettext_lazy("Kind"), "channel": gettext_lazy("Channel"), "priority": gettext_lazy("Priority"),
             "category": gettext_lazy("Category (code or name)"), "tags": gettext_lazy("Tags")},
    synonyms={**CUSTOMER_REF_SYNONYMS,
              "subject": ("subject", "title", "summary", "主题", "标题", "问题"),
              "description": ("description", "details", "body", "content", "描述", "内容", "详情", "问题描述"),
              "kind": ("kind", "type", "tickettype", "类型", "工单类型"),
              "channel": ("channel", "source", "渠道", "来源"),
              "priority": ("priority", "优先级", "紧急程度"),
              "category": ("category", "分类", "类别", "工单分类"),
              "tags": ("tags", "labels", "标签")},
    required=("subject", "customer"), parse=_parse_ticket, write=_write_ticket, write_many=_write_tickets,
)

KINDS: dict[str, RecordKind] = {kind.key: kind for kind in (CONTACTS, PRODUCTS, ORDERS, INTERACTIONS, TICKETS)}


def lookup(kind: RecordKind) -> dict[str, str]:
    """Folded header -> target for a kind's synonyms."""
    return {fold_header(word): target for target, words in kind.synonyms.items() for word in words}


def auto_mapping(kind: RecordKind, headers: Sequence[str]) -> list[str]:
    """One target per column from the header names; each target used once (the first column wins)."""
    words = lookup(kind)
    targets: list[str] = []
    for header in headers:
        target = words.get(fold_header(header), "")
        targets.append("" if target in targets else target)
    return targets


def validate_targets(kind: RecordKind, targets: Sequence[str]) -> list[str]:
    problems = []
    unknown = sorted({t for t in targets if t and t not in kind.targets})
    if unknown:
        problems.append(str(_("Unknown target field(s): %(fields)s.")) % {"fields": ", ".join(unknown)})
    singles = [t for t in targets if t]
    repeated = sorted({t for t in singles if singles.count(t) > 1})
    if repeated:
        problems.append(str(_("These fields are mapped from more than one column: %(fields)s."))
                        % {"fields": ", ".join(repeated)})
    for need in kind.required:
        if need == "customer":
            if not any(t in CUSTOMER_REFS for t in targets):
                problems.append(str(_("No column names the customer (external id, phone, email or LoopCRM id).")))
        elif need not in targets:
            problems.append(str(_("No column is mapped to %(field)s.")) % {"field": kind.targets[need]})
    return problems
