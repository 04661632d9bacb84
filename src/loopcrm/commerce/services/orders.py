"""Writes on orders: lines priced in Decimal, one currency, unique numbers, and the status lifecycle.

An order's total is computed here from its lines and nowhere else. Status moves along a fixed
lifecycle, guarded by the order's version (a conditional UPDATE, which also holds on SQLite).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order, OrderChannel, OrderLine, Product
from loopcrm.commerce.services.rules import (
    CENT,
    MAX_NOTES,
    MAX_TOTAL,
    currency_code,
    moment,
    money,
    object_id,
    require_customer_change,
)
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, NotFound, RuleViolation
from loopcrm.core.text import clean_line, clean_text, listing
from loopcrm.customers.models import Customer

MAX_QUANTITY = 1_000_000
MAX_LINES = 500
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


def _price_lines(
    lines: Sequence[Mapping[str, Any]], currency: str | None
) -> tuple[str, list[OrderLine], Decimal]:
    """Resolve each line's product, default its price, check currencies, and compute amounts."""
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence) or not lines:
        raise RuleViolation(_("An order needs at least one line."), field="lines")
    if len(lines) > MAX_LINES:
        raise RuleViolation(_("An order has at most %(limit)d lines (got %(count)d).")
                            % {"limit": MAX_LINES, "count": len(lines)}, field="lines")

    ids: set[int] = set()
    skus: set[str] = set()
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        if not isinstance(line, Mapping):
            raise RuleViolation(_("Each line is an object."), field=where)
        unknown = sorted(set(line) - _LINE_KEYS)
        if unknown:
            raise RuleViolation(_("Unknown line fields: %(fields)s.") % {"fields": listing(unknown)},
                                field=f"{where}.{unknown[0]}")
        product_id, sku = line.get("product_id"), line.get("sku")
        if product_id is not None and sku is not None:
            raise RuleViolation(_("Name the product by product_id or by sku, not both."), field=f"{where}.sku")
        if product_id is not None:
            ids.add(object_id(product_id, field=f"{where}.product_id"))
        elif sku is not None:
            if not isinstance(sku, str):
                raise RuleViolation(_("A SKU is text."), field=f"{where}.sku")
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
                raise RuleViolation(_("No product with id %(id)s.") % {"id": line["product_id"]},
                                    field=f"{where}.product_id")
        elif line.get("sku") is not None:
            product = by_sku.get(clean_line(line["sku"], field=f"{where}.sku"))
            if product is None:
                raise RuleViolation(_("No product with SKU %(sku)s.") % {"sku": repr(line["sku"])},
                                    field=f"{where}.sku")

        quantity = line.get("quantity", 1)
        quantity = 1 if quantity is None else quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise RuleViolation(_("A quantity is a whole number."), field=f"{where}.quantity")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise RuleViolation(_("A quantity is between 1 and %(limit)d.") % {"limit": MAX_QUANTITY},
                                field=f"{where}.quantity")

        if product is not None and product.currency != currency:
            raise RuleViolation(
                _("%(sku)s is priced in %(product_currency)s, but this order is in %(currency)s; "
                  "an order has one currency.")
                % {"sku": product.sku, "product_currency": product.currency, "currency": currency},
                field=f"{where}.product_id" if line.get("product_id") else f"{where}.sku",
            )
        raw_price = line.get("unit_price")
        if raw_price is None:
            if product is None:
                raise RuleViolation(_("A line without a product needs a unit_price."), field=f"{where}.unit_price")
            unit_price = product.price
        else:
            unit_price = money(raw_price, field=f"{where}.unit_price")

        description = line.get("description")
        if description is not None and not isinstance(description, str):
            raise RuleViolation(_("A description is text."), field=f"{where}.description")
        description = clean_line(description, field=f"{where}.description", max_length=200)
        if not description:
            if product is None:
                raise RuleViolation(_("A line without a product needs a description."), field=f"{where}.description")
            description = product.name[:200]

        amount = (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        total += amount
        if total > MAX_TOTAL:
            raise RuleViolation(_("The order total may be at most %(maximum)s.") % {"maximum": MAX_TOTAL},
                                field="lines")
        rows.append(OrderLine(product=product, description=description, quantity=quantity,
                              unit_price=unit_price, amount=amount))
    return currency, rows, total


def _unknown_status(status: str) -> RuleViolation:
    return RuleViolation(_("Unknown status %(status)s; use one of: %(choices)s.")
                         % {"status": repr(status), "choices": listing(Status.values)}, field="status")


def _new_order_number(now: dt.datetime) -> str:
    """A fresh number such as SO20261123-9F2C41D7: date for people, 32 random bits against clashes."""
    for _attempt in range(8):
        number = f"SO{timezone.localtime(now):%Y%m%d}-{secrets.token_hex(4).upper()}"
        if not Order.objects.filter(number=number).exists():
            return number
    raise Conflict(_("Could not find a free order number; try again."), field="number")  # pragma: no cover


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
        raise RuleViolation(_("Unknown channel %(channel)s; use one of: %(choices)s.")
                            % {"channel": repr(channel), "choices": listing(OrderChannel.values)}, field="channel")
    if status not in Status.values:
        raise _unknown_status(status)
    placed = moment(placed_at, field="placed_at", now=now) or now
    delivered = moment(delivered_at, field="delivered_at", now=now)
    if status in (Status.DELIVERED, Status.RETURNED):
        delivered = delivered or placed
        if delivered < placed:
            raise RuleViolation(_("An order cannot be delivered before it was placed."), field="delivered_at")
    elif delivered is not None:
        raise RuleViolation(_("A %(status)s order has no delivery time.") % {"status": status}, field="delivered_at")
    notes = clean_text(notes, field="notes", max_length=MAX_NOTES)
    currency, rows, total = _price_lines(lines, currency)

    if number is None:
        number = _new_order_number(now)
    else:
        if not isinstance(number, str):
            raise RuleViolation(_("An order number is text."), field="number")
        number = clean_line(number, field="number", max_length=64, required=True)
        if Order.objects.filter(number=number).exists():
            raise Conflict(_("An order numbered %(number)s exists.") % {"number": repr(number)}, field="number")

    order = Order(
        number=number, customer=customer, channel=channel, status=status, placed_at=placed,
        delivered_at=delivered, currency=currency, total=total, notes=notes, created_by=by,
    )
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as error:  # the same number, written by someone else a moment ago
        raise Conflict(_("An order numbered %(number)s exists.") % {"number": repr(number)}, field="number") from error
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
        raise _unknown_status(status)
    if isinstance(version, bool) or not isinstance(version, int):
        raise RuleViolation(_("Give the version you read, a whole number."), field="version")
    current = Order.objects.filter(pk=order.pk).values("status", "version", "placed_at").first()
    if current is None:
        raise NotFound(_("No such order."), field="order_id")
    if current["version"] != version:
        raise Conflict(
            _("This order was changed by someone else (version %(current)s, you sent %(sent)s); "
              "reload it and try again.") % {"current": current["version"], "sent": version},
            field="version", extra={"current_version": current["version"]},
        )
    old = current["status"]
    if status not in TRANSITIONS[old]:
        allowed = listing(sorted(TRANSITIONS[old])) or _("none (it is final)")
        raise RuleViolation(_("An order that is %(old)s cannot become %(new)s; allowed: %(allowed)s.")
                            % {"old": old, "new": status, "allowed": allowed}, field="status")
    updates: dict[str, Any] = {"status": status, "version": F("version") + 1, "updated_at": now}
    if status == Status.DELIVERED:
        if when < current["placed_at"]:
            raise RuleViolation(_("An order cannot be delivered before it was placed."), field="at")
        updates["delivered_at"] = when
    # The version in the WHERE clause is the lock: of two writers that read the same version, one wins.
    if not Order.objects.filter(pk=order.pk, version=version, status=old).update(**updates):
        raise Conflict(_("This order was changed by someone else meanwhile; reload it and try again."),
                       field="version")
    order.refresh_from_db()
    changes: dict[str, Any] = {"status": [old, status], "version": [version, order.version]}
    if status == Status.DELIVERED:
        changes["delivered_at"] = order.delivered_at
    audit.record(action="update", obj=order, by=by, at=now, changes=changes)
    return order
