"""Rules shared by the catalogue and orders: money, currencies, times, ids and who may write."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.core.times import as_utc
from loopcrm.customers.queries import customers_for

CENT = Decimal("0.01")
MAX_UNIT_PRICE = Decimal("9999999999.99")  # DecimalField(max_digits=12, decimal_places=2)
MAX_TOTAL = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
MAX_ID = 2**63 - 1
MAX_NOTES = 10_000
# How far ahead of the server clock a stated time may be (clock skew between systems), no more.
CLOCK_SKEW = dt.timedelta(minutes=5)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def money(value: Any, *, field: str, maximum: Decimal = MAX_UNIT_PRICE) -> Decimal:
    """A non-negative amount with at most two decimals, as Decimal. Floats go through str()."""
    if isinstance(value, bool) or value is None:
        raise RuleViolation(_("An amount is required, as a number or a decimal string."), field=field)
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as error:
        raise RuleViolation(_("%(value)s is not an amount.") % {"value": repr(value)}, field=field) from error
    if not amount.is_finite():
        raise RuleViolation(_("An amount must be a finite number."), field=field)
    if amount < 0:
        raise RuleViolation(_("An amount may not be negative."), field=field)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise RuleViolation(_("An amount has at most two decimal places."), field=field)
    if amount > maximum:
        raise RuleViolation(_("An amount may be at most %(maximum)s.") % {"maximum": maximum}, field=field)
    return amount.quantize(CENT)


def currency_code(value: Any, *, field: str = "currency") -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise RuleViolation(_("A currency is a three-letter ISO 4217 code in capitals, such as CNY."), field=field)
    return value


def moment(value: dt.datetime | None, *, field: str, now: dt.datetime) -> dt.datetime | None:
    """An aware time (naive ones are read in the current time zone), not in the future."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise RuleViolation(_("A date and time is required."), field=field)
    value = as_utc(value, field=field)
    if value > now + CLOCK_SKEW:
        raise RuleViolation(_("This time is in the future."), field=field)
    return value


def object_id(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise RuleViolation(_("An id is a positive whole number."), field=field)
    return value


def require_product_change(by: User) -> None:
    if not can(by, "product", "change"):
        raise PermissionDenied(_("Your role may not change the product catalogue."))


def require_customer_change(by: User, customer_id: int) -> None:
    """Orders belong to their customer: changing one needs the right to change that customer.

    A customer the user cannot even see is missing (404); one they see but may not change is 403.
    """
    if customers_for(by, "change").filter(pk=customer_id).exists():
        return
    if customers_for(by, "view").filter(pk=customer_id).exists():
        raise PermissionDenied(_("You may see this customer but not change their orders."))
    raise NotFound(_("No such customer."), field="customer_id")
