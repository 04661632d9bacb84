"""Checks shared by the loyalty services: who may write, and input cleaned once (points, reasons, keys, times)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line
from loopcrm.core.times import as_utc

MAX_POINTS = 1_000_000_000  # one movement; balances stay far inside a 32-bit integer column's range
REASON_MAX = 200
KEY_MAX = 120
CLOCK_SKEW = dt.timedelta(minutes=5)


def require_change(by: User | None) -> None:
    """`by=None` is the system (tasks, demo, order and survey hooks); a user needs the loyalty change right."""
    if by is not None and not can(by, "loyalty", "change"):
        raise PermissionDenied(_("Your role may not change loyalty programmes or points."))


def when(at: dt.datetime | None, *, field: str = "at") -> dt.datetime:
    """The moment of a write: now by default; a stated time is made UTC and may not lie in the future."""
    now = timezone.now()
    if at is None:
        return now
    if not isinstance(at, dt.datetime):
        raise RuleViolation(_("A date and time is required."), field=field)
    at = as_utc(at, field=field)
    if at > now + CLOCK_SKEW:
        raise RuleViolation(_("This time is in the future."), field=field)
    return at


def whole_points(value: Any, *, field: str = "points", signed: bool = False) -> int:
    """A whole number of points, 1…MAX_POINTS (or its negative too, when `signed`); never 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(_("Points are a whole number."), field=field)
    if value == 0 or (value < 0 and not signed):
        raise RuleViolation(_("Points must be more than zero.") if not signed
                            else _("An adjustment of zero points changes nothing."), field=field)
    if abs(value) > MAX_POINTS:
        raise RuleViolation(_("At most %(limit)s points at once.") % {"limit": f"{MAX_POINTS:,}"}, field=field)
    return value


def reason_text(value: Any, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleViolation(_("A reason is text."), field="reason")
    return clean_line(value, field="reason", max_length=REASON_MAX, required=required)


def key_text(value: Any, *, field: str = "idempotency_key") -> str:
    if not isinstance(value, str):
        raise RuleViolation(_("An idempotency key is text, such as the id of the event that earns the points."),
                            field=field)
    return clean_line(value, field=field, max_length=KEY_MAX, required=True)


def decimal_in(value: Any, *, field: str, places: int, maximum: Decimal, minimum: Decimal = Decimal(0)) -> Decimal:
    """A finite decimal in [minimum, maximum] with at most `places` decimals (floats go through str())."""
    if isinstance(value, bool) or value is None:
        raise RuleViolation(_("A number is required."), field=field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise RuleViolation(_("%(value)s is not a number.") % {"value": repr(value)}, field=field) from error
    if not number.is_finite():
        raise RuleViolation(_("A number must be finite."), field=field)
    if number < minimum or number > maximum:
        raise RuleViolation(_("Must be between %(low)s and %(high)s.") % {"low": minimum, "high": maximum},
                            field=field)
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise RuleViolation(_("At most %(places)d decimal places.") % {"places": places}, field=field)
    return number.quantize(Decimal(1).scaleb(-places))


def whole_in(value: Any, *, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(_("A whole number is required."), field=field)
    if not low <= value <= high:
        raise RuleViolation(_("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}, field=field)
    return value
