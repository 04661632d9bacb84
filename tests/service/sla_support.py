"""Builders for the SLA stories: a Shanghai desk working 09:00–12:00 and 13:00–18:00 on weekdays,
policies made through the services, and tickets written directly (the ticket services are another
helper's), then moved along through the SLA hooks the ticket services call."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from loopcrm.service.models import BusinessCalendar, SlaClock, Ticket
from loopcrm.service.services import sla, sla_config
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def sh(*args: int) -> dt.datetime:
    """A Shanghai wall-clock time (2026-03-09 is a Monday)."""
    return dt.datetime(*args, tzinfo=SH)


def calendar(name: str = "", **extra) -> BusinessCalendar:
    return sla_config.create_calendar(
        by=None, name=name or f"Shanghai desk {next(_seq)}", time_zone="Asia/Shanghai",
        weekly_hours={day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        **extra,
    )


def policy(name: str = "", **fields):
    values = {"first_response_minutes": 60, "resolution_minutes": 480, "next_response_minutes": 120}
    values.update(fields)
    if "calendar" not in values:
        values["calendar"] = calendar()
    return sla_config.create_policy(by=None, name=name or f"Policy {next(_seq)}", **values)


def ticket(*, opened_at: dt.datetime, customer=None, assignee=None, department=None, **fields) -> Ticket:
    customer = customer or factories.customer()
    return Ticket.objects.create(
        subject=fields.pop("subject", "Parcel not delivered"), customer=customer, opened_at=opened_at,
        assignee=assignee, department=department or getattr(assignee, "department", None), **fields,
    )


def opened(at: dt.datetime, *, policy_id: int | None = None, **fields) -> Ticket:
    """A ticket opened at `at`, its clocks started."""
    new = ticket(opened_at=at, **fields)
    sla.start_clocks(new, policy_id=policy_id, at=at)
    return new


def set_status(ticket: Ticket, new: str, *, at: dt.datetime, by=None) -> None:
    old = ticket.status
    Ticket.objects.filter(pk=ticket.pk).update(status=new)
    ticket.status = new
    sla.on_status_change(ticket, old, new, by=by, at=at)


def clock(ticket: Ticket, metric: str) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, metric=metric)
