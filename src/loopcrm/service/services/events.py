"""Writing a ticket's event log: one row per thing that happened (who, when, what, old → new).

Every service of the service desk (tickets, SLA, routing, processes, mail) writes its events through
`record_event`, in the same transaction as the change, so the log is complete for process mining.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone

from loopcrm.accounts.models import User
from loopcrm.service.models import Ticket, TicketEvent

VALUE_MAX = 255


def _plain(value: Any) -> str:
    """A value as the event log stores it: model rows as their id, everything else as text (capped)."""
    if value is None:
        return ""
    if isinstance(value, models.Model):
        value = value.pk
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    return str(value)[:VALUE_MAX]


def record_event(
    ticket: Ticket,
    kind: str,
    *,
    by: User | None,
    at: dt.datetime | None = None,
    field: str = "",
    old: Any = None,
    new: Any = None,
    step: str = "",
    data: dict[str, Any] | None = None,
    into: list[TicketEvent] | None = None,
) -> TicketEvent:
    """Append one event to `ticket`'s log. `by=None` means the system (routing, SLA timers, mail).

    With `into`, the event is not written but added to that list, for the caller to write with the
    others in one insert (`write_events`), in the same transaction.
    """
    event = TicketEvent(
        ticket=ticket, kind=kind, at=at or timezone.now(), actor=by if getattr(by, "pk", None) else None,
        field=field, old=_plain(old), new=_plain(new), step=step[:100], data=data or {},
    )
    if into is not None:
        into.append(event)
    else:
        event.save(force_insert=True)
    return event


def write_events(events: list[TicketEvent]) -> None:
    """Write collected events in one insert, in the order they happened."""
    if events:
        TicketEvent.objects.bulk_create(events)
        events.clear()


def event_row(
    ticket_id: int,
    kind: str,
    *,
    by: User | int | None,
    at: dt.datetime,
    field: str = "",
    old: Any = None,
    new: Any = None,
    step: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """An unsaved event, for bulk inserts (imports, demo, bulk actions)."""
    actor_id = by.pk if isinstance(by, User) else by
    return TicketEvent(ticket_id=ticket_id, kind=kind, at=at, actor_id=actor_id, field=field, old=_plain(old),
                       new=_plain(new), step=step[:100], data=data or {})
