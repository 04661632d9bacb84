"""SLA clocks of the demo tickets, as the SLA services would have left them, written in bulk.

Runs after the demo tickets and the demo SLA policies exist. Each ticket gets the policy the SLA
module would pick (the first active one that matches), its first-response and resolution clocks
on that policy's business calendar, and the events the clocks leave: the policy chosen at opening,
the warning and the breach when they came before the target was met (or before the demo's now), a
pause while the ticket waits for the customer. The same rules as service/services/sla.py: business
time only, pauses not counted, a target met late is breached.
"""

from __future__ import annotations

import datetime as dt

from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.service.businesstime import add_business_time, business_time_between
from loopcrm.service.models import SlaClock, SlaPolicy, Ticket, TicketEvent
from loopcrm.service.queries.sla import pure_calendar
from loopcrm.service.services.events import event_row
from loopcrm.service.services.sla_config import ensure_default_calendar, policy_matches

Metric, State, E = SlaClock.Metric, SlaClock.State, TicketEvent.Kind


def _seconds(delta: dt.timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def _clock(ticket: Ticket, policy: SlaPolicy, calendar, metric: str, minutes: int, *, start: dt.datetime,
           end: dt.datetime | None, paused_at: dt.datetime | None, now: dt.datetime, cycle: int,
           events: list[TicketEvent]) -> SlaClock:
    """One clock started at `start` and met at `end` (None: still running at `now`; paused since `paused_at`)."""
    pure = pure_calendar(calendar)
    target = dt.timedelta(minutes=minutes)
    pct = policy.warning_percent
    clock = SlaClock(ticket_id=ticket.pk, metric=metric, policy=policy, calendar=calendar, target_minutes=minutes,
                     warning_percent=pct, cycle=cycle, started_at=start, due_at=add_business_time(start, target, pure),
                     warning_at=add_business_time(start, target * pct / 100, pure) if 0 < pct < 100 else None)
    stop = end or paused_at or now  # the clock ticked until then
    data = {"due_at": clock.due_at.isoformat(), "cycle": cycle}
    if clock.warning_at and clock.warning_at <= stop:
        clock.warned_at = clock.warning_at
        events.append(event_row(ticket.pk, E.SLA_WARNING, by=None, at=clock.warning_at, step=metric, data=data))
    if clock.due_at <= stop:
        clock.breached_at, clock.breached = clock.due_at, True
        events.append(event_row(ticket.pk, E.SLA_BREACHED, by=None, at=clock.due_at, step=metric,
                                data={**data, "target_minutes": minutes}))
    if end is not None:
        clock.state, clock.met_at = State.MET, end
        clock.elapsed_seconds = _seconds(business_time_between(start, end, pure))
        clock.breached = clock.breached or clock.elapsed_seconds > minutes * 60
    elif paused_at is not None:
        clock.state, clock.paused_at = State.PAUSED, paused_at
        events.append(event_row(ticket.pk, E.SLA_PAUSED, by=None, at=paused_at, step=metric,
                                new=Ticket.Status.PENDING, data={"cycle": cycle}))
    else:
        clock.state = State.BREACHED if clock.breached_at else State.WARNING if clock.warned_at else State.RUNNING
    return clock


def load_clocks(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    """A policy and first-response / resolution clocks for every demo ticket (deterministic: no randomness)."""
    now = calendar.now
    policies = list(SlaPolicy.objects.filter(is_active=True).select_related("calendar", "category")
                    .order_by("position", "id"))
    if not policies:
        return
    default_calendar = ensure_default_calendar()
    moments: dict[tuple[int, str], dt.datetime] = {}
    for ticket_id, new, at in (TicketEvent.objects.filter(kind=E.STATUS, new__in=[Ticket.Status.PENDING,
                                                                                  Ticket.Status.REOPENED])
                               .order_by("at", "id").values_list("ticket_id", "new", "at")):
        moments[(ticket_id, new)] = at
    clocks: list[SlaClock] = []
    events: list[TicketEvent] = []
    for ticket in Ticket.objects.select_related("customer", "category").order_by("opened_at", "id"):
        policy = next((p for p in policies if policy_matches(p, ticket, tier="", tag_ids=set())), None)
        if policy is None:
            continue
        calendar_row = policy.calendar or default_calendar
        events.append(event_row(ticket.pk, E.FIELD, by=None, at=ticket.opened_at, field="sla_policy",
                                new=policy.name, data={"policy_id": policy.pk, "chosen_by": "match"}))
        paused_at = moments.get((ticket.pk, Ticket.Status.PENDING)) if ticket.status == Ticket.Status.PENDING \
            else None
        if policy.first_response_minutes is not None:
            clocks.append(_clock(ticket, policy, calendar_row, Metric.FIRST_RESPONSE, policy.first_response_minutes,
                                 start=ticket.opened_at, end=ticket.first_response_at, paused_at=None, now=now,
                                 cycle=1, events=events))
        if policy.resolution_minutes is not None:
            reopened = moments.get((ticket.pk, Ticket.Status.REOPENED)) if ticket.reopen_count else None
            clocks.append(_clock(ticket, policy, calendar_row, Metric.RESOLUTION, policy.resolution_minutes,
                                 start=reopened or ticket.opened_at, end=ticket.resolved_at, paused_at=paused_at,
                                 now=now, cycle=2 if reopened else 1, events=events))
    loader.insert(clocks, audited=False)
    loader.insert(events, audited=False)
    breached = sum(1 for clock in clocks if clock.breached)
    loader.say(f"SLA clocks: {len(clocks):,} on {len({c.ticket_id for c in clocks}):,} tickets, {breached:,} breached.")
