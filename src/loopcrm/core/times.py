"""Times from clients, made safe to store and compare: aware, in UTC."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.core.errors import RuleViolation


def as_utc(value: dt.datetime, *, field: str) -> dt.datetime:
    """`value` in UTC. A naive time is meant in the organisation's zone.

    Python accepts offsets up to ±23:59 that PostgreSQL refuses (±15:59), and an offset can push a
    time past year 9999; converting here keeps both from reaching the database as a 500.
    """
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as error:
        raise RuleViolation(_("This time is out of range."), field=field) from error
