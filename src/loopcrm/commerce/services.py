"""Writes on products and orders: the one place their business rules live.

Money is Decimal with a currency and never passes through float arithmetic. An order's total is
computed here from its lines and nowhere else. Order status moves along a fixed lifecycle, guarded
by the order's version (optimistic concurrency, a conditional UPDATE that also works on SQLite).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.commerce.models import Order, OrderChannel, OrderLine, Product, ProductCategory
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customers_for

CENT = Decimal("0.01")
MAX_UNIT_PRICE = Decimal("9999999999.99")  # DecimalField(max_digits=12, decimal_places=2)
MAX_TOTAL = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
MAX_QUANTITY = 1_000_000
MAX_LINES = 500
MAX_ID = 2**63 - 1
MAX_NOTES = 10_000
# How far ahead of the server clock a stated time may be (clock skew between systems), no more.
CLOCK_SKEW = dt.timedelta(minutes=5)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LINE_KEYS = frozenset({"product_id", "sku", "quantity", "unit_price", "description"})

Status = Order.Status

# The order lifecycle: paid, shipped, delivered; cancelled before it ships; returned after delivery.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.PAID, Status.CANCELLED}),
    Status.PAID: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset({Status.RETURNED}),
    Status.CANCELLED: frozenset(),
    Status.RETURNED: frozenset(),
}


# --- small validators, shared by products and orders ------------------------------------------

def money(value: Any, *, field: str, maximum: Decimal = MAX_UNIT_PRICE) -> Decimal:
    """A non-negative amount with at most two decimals, as Decimal. Floats go through str()."""
    if isinstance(value, bool) or value is None:
        raise RuleViolation("An amount is required, as a number or a decimal string.", field=field)
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as error:
        raise RuleViolation(f"{value!r} is not an amount.", field=field) from error
    if not amount.is_finite():
        raise RuleViolation("An amount must be a finite number.", field=field)
    if amount < 0:
        raise RuleViolation("An amount may not be negative.", field=field)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise RuleViolation("An amount has at most two decimal places.", field=field)
    if amount > maximum:
        raise RuleViolation(f"An amount may be at most {maximum}.", field=field)
    return amount.quantize(CENT)


def currency_code(value: Any, *, field: str = "currency") -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise RuleViolation("A currency is a three-letter ISO 4217 code in capitals, such as CNY.", field=field)
    return value


def moment(value: dt.datetime | None, *, field: str, now: dt.datetime) -> dt.datetime | None:
    """An aware time (naive ones are read in the current time zone), not in the future."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise RuleViolation("A date and time is required.", field=field)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + CLOCK_SKEW:
        raise RuleViolation("This time is in the future.", field=field)
    return value


def _object_id(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise RuleViolation("An id is a positive whole number.", field=field)
    return value


def _require_product_change(by: User) -> None:
    if not can(by, "product", "change"):
        raise PermissionDenied("Your role may not change the product catalogue.")


def require_customer_change(by: User, customer_id: int) -> None:
    """Orders belong to their customer: changing one needs the right to change that customer.

    A customer the user cannot even see is missing (404); one they see but may not change is 403.
    """
    if customers_for(by, "change").filter(pk=customer_id).exists():
        return
    if customers_for(by, "view").filter(pk=customer_id).exists():
        raise PermissionDenied("You may see this customer but not change their orders.")
    raise NotFound("No such customer.", field="customer_id")


# --- catalogue ------------------------------------------------------------------------------

def _sku(value: Any) -> str:
    if not isinstance(value, str):
        raise RuleViolation("A SKU is text.", field="sku")
    sku = clean_line(value, field="sku", max_length=64, required=True)
    if " " in sku:
        raise RuleViolation("A SKU may not contain spaces.", field="sku")
    return sku


def _check_sku_free(sku: str, *, exclude_pk: int | None = None) -> None:
    taken = Product.objects.filter(sku__iexact=sku)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    existing = taken.values_list("pk", "sku").first()
    if existing is not None:
        raise Conflict(
            f"The SKU {existing[1]!r} is already used by another product.", field="sku",
            extra={"existing_id": existing[0]},
        )


def _category(category_id: int | None) -> ProductCategory | None:
    if category_id is None:
        return None
    category = ProductCategory.objects.filter(pk=_object_id(category_id, field="category_id")).first()
    if category is None:
        raise RuleViolation(f"No product category with id {category_id}.", field="category_id")
    return category


def _save_product(product: Product, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            product.save(**kwargs)
    except IntegrityError as error:  # a concurrent writer took the SKU between our check and our write
        raise Conflict(f"The SKU {product.sku!r} is already used by another product.", field="sku") from error


PRODUCT_FIELDS = ("sku", "name", "price", "currency", "category_id", "is_active", "description")


def validate_product(values: Mapping[str, Any], *, product: Product | None = None) -> dict[str, Any]:
    """The cleaned catalogue fields of `values` (a subset of PRODUCT_FIELDS), or RuleViolation/Conflict.

    Used by the writes below, and by forms that want the same answers before they save.
    """
    unknown = sorted(set(values) - set(PRODUCT_FIELDS))
    if unknown:
        raise RuleViolation(f"These fields cannot be changed: {', '.join(unknown)}.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "sku":
            cleaned["sku"] = _sku(value)
            _check_sku_free(cleaned["sku"], exclude_pk=product.pk if product is not None else None)
        elif key == "name":
            cleaned["name"] = clean_line(value, field="name", max_length=200, required=True)
        elif key == "price":
            cleaned["price"] = money(value, field="price")
        elif key == "currency":
            cleaned["currency"] = currency_code(value)
        elif key == "category_id":
            category = _category(value)
            cleaned["category_id"] = category.pk if category is not None else None
        elif key == "is_active":
            if not isinstance(value, bool):
                raise RuleViolation("Give true or false.", field="is_active")
            cleaned["is_active"] = value
        elif key == "description":
            cleaned["description"] = clean_text(value, field="description", max_length=MAX_NOTES)
    return cleaned


@transaction.atomic
def create_product(
    *, by: User, sku: str, name: str, price: Any, currency: str = "CNY", category_id: int | None = None,
    is_active: bool = True, description: str = "",
) -> Product:
    """Add a product to the catalogue. SKUs are unique, compared without regard to case."""
    _require_product_change(by)
    product = Product(**validate_product({
        "sku": sku, "name": name, "price": price, "currency": currency, "category_id": category_id,
        "is_active": is_active, "description": description,
    }))
    _save_product(product)
    audit.record(
        action="create", obj=product, by=by,
        changes=audit.snapshot(product, ["sku", "name", "price", "currency", "category_id", "is_active"]),
    )
    return product


@transaction.atomic
def update_product(product: Product, *, by: User, changes: Mapping[str, Any]) -> Product:
    """Change catalogue fields of a product. Orders already placed keep the prices they were sold at."""
    _require_product_change(by)
    product = Product.objects.select_for_update().get(pk=product.pk)
    cleaned = validate_product(changes, product=product)
    before = audit.snapshot(product, PRODUCT_FIELDS)
    for key, value in cleaned.items():
        setattr(product, key, value)
    changed = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    if changed:
        fields = [("category" if name == "category_id" else name) for name in changed]
        _save_product(product, update_fields=[*fields, "updated_at"])
        audit.record(action="update", obj=product, by=by, changes=changed)
    return product


_CODE = re.compile(r"^[-a-zA-Z0-9_]+$")


def validate_category(values: Mapping[str, Any], *, category: ProductCategory | None = None) -> dict[str, Any]:
    """The cleaned fields (name, code, parent_id) of a category, or RuleViolation/Conflict."""
    unknown = sorted(set(values) - {"name", "code", "parent_id"})
    if unknown:
        raise RuleViolation(f"These fields cannot be changed: {', '.join(unknown)}.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = clean_line(values["name"], field="name", max_length=100, required=True)
    if "code" in values:
        code = clean_line(values["code"], field="code", max_length=50, required=True)
        if not _CODE.match(code):
            raise RuleViolation("A code uses letters, digits, '-' and '_' only.", field="code")
        taken = ProductCategory.objects.filter(code__iexact=code)
        if category is not None:
            taken = taken.exclude(pk=category.pk)
        if taken.exists():
            raise Conflict(f"A product category with code {code!r} exists.", field="code")
        cleaned["code"] = code
    if values.get("parent_id") is not None:
        parent = ProductCategory.objects.filter(pk=_object_id(values["parent_id"], field="parent_id")).first()
        if parent is None:
            raise RuleViolation(f"No product category with id {values['parent_id']}.", field="parent_id")
        ancestor: ProductCategory | None = parent
        while category is not None and ancestor is not None:  # categories are few and shallow
            if ancestor.pk == category.pk:
                raise RuleViolation("A category cannot be placed below itself.", field="parent_id")
            ancestor = ancestor.parent
        cleaned["parent_id"] = parent.pk
    elif "parent_id" in values:
        cleaned["parent_id"] = None
    return cleaned


def _save_category(category: ProductCategory, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            category.save(**kwargs)
    except IntegrityError as error:
        raise Conflict(f"A product category with code {category.code!r} exists.", field="code") from error


@transaction.atomic
def create_category(*, by: User, name: str, code: str, parent_id: int | None = None) -> ProductCategory:
    """A product category (categories may nest). Codes are unique, compared without regard to case."""
    _require_product_change(by)
    category = ProductCategory(**validate_category({"name": name, "code": code, "parent_id": parent_id}))
    _save_category(category)
    audit.record(action="create", obj=category, by=by, changes=audit.snapshot(category, ["name", "code", "parent_id"]))
    return category


@transaction.atomic
def update_category(category: ProductCategory, *, by: User, changes: Mapping[str, Any]) -> ProductCategory:
    _require_product_change(by)
    category = ProductCategory.objects.select_for_update().get(pk=category.pk)
    cleaned = validate_category(changes, category=category)
    before = audit.snapshot(category, ["name", "code", "parent_id"])
    for key, value in cleaned.items():
        setattr(category, key, value)
    changed = audit.diff(before, audit.snapshot(category, ["name", "code", "parent_id"]))
    if changed:
        _save_category(category, update_fields=[("parent" if name == "parent_id" else name) for name in changed])
        audit.record(action="update", obj=category, by=by, changes=changed)
    return category


# --- orders ---------------------------------------------------------------------------------

def _line_value(line: Mapping[str, Any], key: str) -> Any:
    return line.get(key)


def _price_lines(
    lines: Sequence[Mapping[str, Any]], currency: str | None
) -> tuple[str, list[OrderLine], Decimal]:
    """Resolve each line's product, default its price, check currencies, and compute amounts."""
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence) or not lines:
        raise RuleViolation("An order needs at least one line.", field="lines")
    if len(lines) > MAX_LINES:
        raise RuleViolation(f"An order has at most {MAX_LINES} lines (got {len(lines)}).", field="lines")

    ids: set[int] = set()
    skus: set[str] = set()
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        if not isinstance(line, Mapping):
            raise RuleViolation("Each line is an object.", field=where)
        unknown = sorted(set(line) - _LINE_KEYS)
        if unknown:
            raise RuleViolation(f"Unknown line fields: {', '.join(unknown)}.", field=f"{where}.{unknown[0]}")
        product_id, sku = line.get("product_id"), line.get("sku")
        if product_id is not None and sku is not None:
            raise RuleViolation("Name the product by product_id or by sku, not both.", field=f"{where}.sku")
        if product_id is not None:
            ids.add(_object_id(product_id, field=f"{where}.product_id"))
        elif sku is not None:
            if not isinstance(sku, str):
                raise RuleViolation("A SKU is text.", field=f"{where}.sku")
            skus.add(clean_line(sku, field=f"{where}.sku", max_length=64, required=True))

    found = list(Product.objects.filter(Q(pk__in=ids) | Q(sku__in=skus))) if ids or skus else []
    by_id = {product.pk: product for product in found}
    by_sku = {product.sku: product for product in found}

    if currency is not None:
        currency = currency_code(currency)
    else:  # the currency of the first line that names a product
        named = (by_id.get(line.get("product_id")) or by_sku.get(clean_line(line.get("sku"), field="sku"))
                 for line in lines)
        first = next((product for product in named if product is not None), None)
        currency = first.currency if first is not None else "CNY"

    rows: list[OrderLine] = []
    total = Decimal("0.00")
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        product: Product | None = None
        if line.get("product_id") is not None:
            product = by_id.get(line["product_id"])
            if product is None:
                raise RuleViolation(f"No product with id {line['product_id']}.", field=f"{where}.product_id")
        elif line.get("sku") is not None:
            product = by_sku.get(clean_line(line["sku"], field=f"{where}.sku"))
            if product is None:
                raise RuleViolation(f"No product with SKU {line['sku']!r}.", field=f"{where}.sku")

        quantity = line.get("quantity", 1)
        quantity = 1 if quantity is None else quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise RuleViolation("A quantity is a whole number.", field=f"{where}.quantity")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise RuleViolation(f"A quantity is between 1 and {MAX_QUANTITY}.", field=f"{where}.quantity")

        if product is not None and product.currency != currency:
            raise RuleViolation(
                f"{product.sku} is priced in {product.currency}, but this order is in {currency}; "
                "an order has one currency.", field=f"{where}.product_id" if line.get("product_id") else f"{where}.sku",
            )
        raw_price = line.get("unit_price")
        if raw_price is None:
            if product is None:
                raise RuleViolation("A line without a product needs a unit_price.", field=f"{where}.unit_price")
            unit_price = product.price
        else:
            unit_price = money(raw_price, field=f"{where}.unit_price")

        description = line.get("description")
        if description is not None and not isinstance(description, str):
            raise RuleViolation("A description is text.", field=f"{where}.description")
        description = clean_line(description, field=f"{where}.description", max_length=200)
        if not description:
            if product is None:
                raise RuleViolation("A line without a product needs a description.", field=f"{where}.description")
            description = product.name[:200]

        amount = (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        total += amount
        if total > MAX_TOTAL:
            raise RuleViolation(f"The order total may be at most {MAX_TOTAL}.", field="lines")
        rows.append(OrderLine(product=product, description=description, quantity=quantity,
                              unit_price=unit_price, amount=amount))
    return currency, rows, total


def _new_order_number(now: dt.datetime) -> str:
    """A fresh number such as SO20261123-9F2C41D7: date for people, 32 random bits against clashes."""
    for _attempt in range(8):
        number = f"SO{timezone.localtime(now):%Y%m%d}-{secrets.token_hex(4).upper()}"
        if not Order.objects.filter(number=number).exists():
            return number
    raise Conflict("Could not find a free order number; try again.", field="number")  # pragma: no cover


@transaction.atomic
def create_order(
    *,
    by: User,
    customer: Customer,
    lines: Sequence[Mapping[str, Any]],
    number: str | None = None,
    channel: str = OrderChannel.OTHER,
    status: str = Status.PENDING,
    placed_at: dt.datetime | None = None,
    delivered_at: dt.datetime | None = None,
    currency: str | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
) -> Order:
    """Record a purchase by `customer`, with its lines; the total is the sum of the lines.

    Each line names its product by `product_id` or `sku` (or neither, with a description and a
    price); `unit_price` defaults to the product's price. All lines share the order's currency,
    which defaults to the products' own. An order may be recorded in any status (imports of past
    orders); one recorded as delivered or returned without `delivered_at` takes `placed_at`.
    """
    now = at or timezone.now()
    require_customer_change(by, customer.pk)
    if channel not in OrderChannel.values:
        raise RuleViolation(f"Unknown channel {channel!r}; use one of: {', '.join(OrderChannel.values)}.",
                            field="channel")
    if status not in Status.values:
        raise RuleViolation(f"Unknown status {status!r}; use one of: {', '.join(Status.values)}.", field="status")
    placed = moment(placed_at, field="placed_at", now=now) or now
    delivered = moment(delivered_at, field="delivered_at", now=now)
    if status in (Status.DELIVERED, Status.RETURNED):
        delivered = delivered or placed
        if delivered < placed:
            raise RuleViolation("An order cannot be delivered before it was placed.", field="delivered_at")
    elif delivered is not None:
        raise RuleViolation(f"A {status} order has no delivery time.", field="delivered_at")
    notes = clean_text(notes, field="notes", max_length=MAX_NOTES)
    currency, rows, total = _price_lines(lines, currency)

    if number is None:
        number = _new_order_number(now)
    else:
        if not isinstance(number, str):
            raise RuleViolation("An order number is text.", field="number")
        number = clean_line(number, field="number", max_length=64, required=True)
        if Order.objects.filter(number=number).exists():
            raise Conflict(f"An order numbered {number!r} exists.", field="number")

    order = Order(
        number=number, customer=customer, channel=channel, status=status, placed_at=placed,
        delivered_at=delivered, currency=currency, total=total, notes=notes, created_by=by,
    )
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as error:  # the same number, written by someone else a moment ago
        raise Conflict(f"An order numbered {number!r} exists.", field="number") from error
    for row in rows:
        row.order = order
    OrderLine.objects.bulk_create(rows)
    audit.record(
        action="create", obj=order, by=by, at=now,
        changes={
            "number": number, "customer": customer.pk, "status": status, "channel": channel,
            "currency": currency, "total": total, "lines": len(rows), "placed_at": placed,
        },
    )
    return order


@transaction.atomic
def change_order_status(
    order: Order, *, by: User, status: str, version: int, at: dt.datetime | None = None
) -> Order:
    """Move an order along its lifecycle, if `version` is still the one the caller read.

    pending → paid → shipped → delivered; pending or paid → cancelled; delivered → returned.
    Delivery stamps `delivered_at`. A stale version is a 409 Conflict, whatever the status.
    """
    now = timezone.now()
    when = moment(at, field="at", now=now) or now
    require_customer_change(by, order.customer_id)
    if status not in Status.values:
        raise RuleViolation(f"Unknown status {status!r}; use one of: {', '.join(Status.values)}.", field="status")
    if isinstance(version, bool) or not isinstance(version, int):
        raise RuleViolation("Give the version you read, a whole number.", field="version")
    current = Order.objects.filter(pk=order.pk).values("status", "version", "placed_at").first()
    if current is None:
        raise NotFound("No such order.", field="order_id")
    if current["version"] != version:
        raise Conflict(
            f"This order was changed by someone else (version {current['version']}, you sent {version}); "
            "reload it and try again.", field="version", extra={"current_version": current["version"]},
        )
    old = current["status"]
    if status not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "none (it is final)"
        raise RuleViolation(f"An order that is {old} cannot become {status}; allowed: {allowed}.", field="status")
    updates: dict[str, Any] = {"status": status, "version": F("version") + 1, "updated_at": now}
    if status == Status.DELIVERED:
        if when < current["placed_at"]:
            raise RuleViolation("An order cannot be delivered before it was placed.", field="at")
        updates["delivered_at"] = when
    # The version in the WHERE clause is the lock: of two writers that read the same version, one wins.
    if not Order.objects.filter(pk=order.pk, version=version, status=old).update(**updates):
        raise Conflict("This order was changed by someone else meanwhile; reload it and try again.",
                       field="version")
    order.refresh_from_db()
    changes: dict[str, Any] = {"status": [old, status], "version": [version, order.version]}
    if status == Status.DELIVERED:
        changes["delivered_at"] = order.delivered_at
    audit.record(action="update", obj=order, by=by, at=now, changes=changes)
    return order
