"""SLA clocks on business calendars: start, pause, resume, meet, warn, breach, escalate.

The ticket services call the hooks (start_clocks, on_status_change, on_public_reply,
on_customer_message) explicitly, inside their transaction; no signals. Warning and breach are
found by delayed tasks scheduled at the warning and due instants (service/tasks.py) and by the
worker's periodic sweep `check_due_clocks`; both end in `check_clock`, which is idempotent: a
conditional UPDATE (warned_at / breached_at still empty) decides who acts, on SQLite and
PostgreSQL alike, so a task run twice escalates once.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Team, User
from loopcrm.core.errors import DomainError
from loopcrm.service.businesstime import add_business_time, business_time_between
from loopcrm.service.models import BusinessCalendar, SlaClock, SlaPolicy, Ticket, TicketEvent
from loopcrm.service.queries.config import DeskConfig, desk_config
from loopcrm.service.queries.sla import pure_calendar
from loopcrm.service.services.events import record_event

# The SLA configuration services (calendars and policies) live beside these clock services.
from loopcrm.service.services.sla_config import ensure_default_calendar, match_policy

__all__ = [
    "check_clock", "check_clocks", "check_due_clocks", "ensure_default_calendar", "match_policy", "on_customer_message",
    "on_public_reply", "on_status_change", "start_clocks",
]

Metric, State = SlaClock.Metric, SlaClock.State
CLOSED_STATUSES = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


def _pausing(policy: SlaPolicy, status: str) -> bool:
    """Whether clocks stand still in this ticket status: pending customer always, on hold if the policy says."""
    return status == Ticket.Status.PENDING or (status == Ticket.Status.ON_HOLD and policy.pause_on_hold)


def _event(ticket: Ticket | int, kind: str, *, at: dt.datetime, clock: SlaClock | None = None, by: User | None = None,
           field: str = "", old: object = None, new: object = None, data: dict | None = None) -> TicketEvent:
    """An event naming its clock (`step` = the metric, `data.clock_id` and `cycle`), through record_event."""
    if not isinstance(ticket, Ticket):
        ticket = Ticket(pk=ticket)
    return record_event(
        ticket, kind, by=by, at=at, field=field, old=old, new=new, step=clock.metric if clock else "",
        data={**({"clock_id": clock.pk, "cycle": clock.cycle} if clock and clock.pk else {}), **(data or {})},
    )


def _seconds(delta: dt.timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def _set_targets(clock: SlaClock, start: dt.datetime) -> None:
    """Due and warning instants of a clock starting (or restarting) at `start`."""
    calendar = pure_calendar(clock.calendar)
    target = dt.timedelta(minutes=clock.target_minutes)
    clock.started_at = start
    clock.due_at = add_business_time(start, target, calendar)
    pct = clock.warning_percent
    clock.warning_at = add_business_time(start, target * pct / 100, calendar) if 0 < pct < 100 else None


def _elapsed(clock: SlaClock, at: dt.datetime) -> int:
    """Business seconds the clock has run by `at`, pauses excluded."""
    end = clock.paused_at if clock.state == State.PAUSED and clock.paused_at else at
    spent = business_time_between(clock.started_at, end, pure_calendar(clock.calendar))
    return max(_seconds(spent) - clock.paused_seconds, 0)


def _ticking_state(clock: SlaClock) -> str:
    if clock.breached_at:
        return State.BREACHED
    if clock.warned_at:
        return State.WARNING
    return State.RUNNING


# --- scheduling ------------------------------------------------------------------------------------

def _instants(clock: SlaClock, after: dt.datetime | None = None) -> list[dt.datetime]:
    """The instants at which `clock` must be checked (its warning, its due time), later than `after`."""
    if clock.state not in SlaClock.ACTIVE:
        return []
    instants = []
    if clock.warning_at and not clock.warned_at:
        instants.append(clock.warning_at)
    if not clock.breached_at:
        instants.append(clock.due_at)
    return [instant for instant in instants if after is None or instant > after]


def _schedule(clock: SlaClock) -> None:
    """After commit, a delayed check at the clock's warning instant and at its due instant.

    Checks already scheduled for earlier instants (before a pause moved them) run, find nothing due
    and do nothing. Backends that cannot defer (the immediate backend of tests) get nothing: the
    sweep, or a test calling check_clock with its own `at`, does the work.
    """
    from loopcrm.service import tasks

    backend = tasks.check_sla_clock.get_backend()
    instants = _instants(clock)
    if not backend.supports_defer or not instants:
        return
    clock_id, cycle = clock.pk, clock.cycle

    def enqueue() -> None:
        for instant in instants:
            tasks.check_sla_clock.using(run_after=instant).enqueue(clock_id=clock_id, cycle=cycle)

    transaction.on_commit(enqueue)


def _schedule_all(clocks: list[SlaClock], *, after: dt.datetime | None = None) -> None:
    """After commit, one delayed check of all `clocks` at the first instant any of them must be checked;
    that check schedules the next (`check_clocks`). One task per ticket opened instead of one per instant."""
    from loopcrm.service import tasks

    backend = tasks.check_sla_clocks.get_backend()
    instants = [instant for clock in clocks for instant in _instants(clock, after)]
    if not backend.supports_defer or not instants:
        return
    pairs = [[clock.pk, clock.cycle] for clock in clocks if _instants(clock, after)]
    first = min(instants)

    def enqueue() -> None:
        tasks.check_sla_clocks.using(run_after=first).enqueue(clocks=pairs)

    if _queue_is_this_database(backend) and transaction.get_connection().in_atomic_block:
        enqueue()  # the task row commits (or rolls back) with the clocks: no second transaction per ticket
    else:
        transaction.on_commit(enqueue)


def _queue_is_this_database(backend) -> bool:
    """Whether tasks are rows of this database (django_tasks_db), so enqueueing inside the transaction is safe:
    a worker cannot see the row before the clocks it checks are committed."""
    return type(backend).__module__.split(".")[0] == "django_tasks_db"


def check_clocks(pairs: list[list[int]], *, at: dt.datetime | None = None) -> list[str]:
    """Check each (clock id, cycle) of `pairs` at `at` (see check_clock), then schedule the next check of those
    still waiting for an instant. Returns what was done. Run twice, it does nothing twice (a second
    next check may be scheduled; it finds nothing to do)."""
    at = at or timezone.now()
    done: list[str] = []
    for clock_id, cycle in pairs:
        done += check_clock(clock_id, at=at, cycle=cycle)
    with transaction.atomic():
        waiting = [clock for clock in SlaClock.objects.filter(pk__in=[pk for pk, _cycle in pairs])
                   if [clock.pk, clock.cycle] in pairs]
        _schedule_all(waiting, after=at)
    return done


# --- the hooks the ticket services call ------------------------------------------------------------

@transaction.atomic(savepoint=False)
def start_clocks(ticket: Ticket, *, policy_id: int | None = None, at: dt.datetime, config: DeskConfig | None = None,
                 events: list[TicketEvent] | None = None, new_ticket: bool = False) -> SlaPolicy | None:
    """Pick the SLA policy (the routing decision's, else the first matching) and start the ticket's clocks.

    Returns the policy (None when no policy applies). Calling it again for a ticket with clocks
    changes nothing (`new_ticket`: the caller just created the ticket, so it has none). Policies and
    calendars come from the cached configuration; with `events`, the event is added there, unwritten.
    """
    if not new_ticket and SlaClock.objects.filter(ticket_id=ticket.pk).exists():
        return None
    policy, clocks = new_clocks(ticket, policy_id=policy_id, at=at, config=config, events=events)
    SlaClock.objects.bulk_create(clocks)
    for clock in clocks:
        if clock.pk is None:  # backends that do not return ids from bulk inserts
            clock.pk = SlaClock.objects.get(ticket_id=ticket.pk, metric=clock.metric).pk
    schedule_checks(clocks)
    return policy


def new_clocks(ticket: Ticket, *, policy_id: int | None, at: dt.datetime, config: DeskConfig | None = None,
               events: list[TicketEvent] | None = None) -> tuple[SlaPolicy | None, list[SlaClock]]:
    """The policy and unsaved clocks of a ticket without clocks (the routing decision's policy, else the first
    matching), with the SLA-policy event written (or added to `events`). No policy, no clocks."""
    config = config or desk_config()
    policy, chosen_by = None, "match"
    if policy_id is not None:
        policy = config.policy(policy_id)
        chosen_by = "routing"
    if policy is None:
        policy, chosen_by = match_policy(ticket, config=config), "match"
    if policy is None:
        return None, []
    calendar = policy.calendar or config.default_calendar or ensure_default_calendar()
    paused = _pausing(policy, ticket.status)
    clocks = []
    for metric, minutes in ((Metric.FIRST_RESPONSE, policy.first_response_minutes),
                            (Metric.RESOLUTION, policy.resolution_minutes)):
        if minutes is None or (metric == Metric.FIRST_RESPONSE and ticket.first_response_at):
            continue
        clock = SlaClock(ticket_id=ticket.pk, metric=metric, policy=policy, calendar=calendar,
                         target_minutes=minutes, warning_percent=policy.warning_percent)
        _set_targets(clock, at)
        if paused:
            clock.state, clock.paused_at = State.PAUSED, at
        clocks.append(clock)
    record_event(ticket, TicketEvent.Kind.FIELD, by=None, at=at, field="sla_policy", new=policy.name,
                 data={"policy_id": policy.pk, "chosen_by": chosen_by}, into=events)
    return policy, clocks


def schedule_checks(clocks: list[SlaClock]) -> None:
    """After commit, one delayed check of these saved clocks (of one ticket or of a batch of new tickets)."""
    _schedule_all(clocks)


def _locked_clocks(ticket: Ticket, **filters) -> list[SlaClock]:
    return list(SlaClock.objects.select_for_update().select_related("policy", "calendar")
                .filter(ticket_id=ticket.pk, **filters).order_by("id"))


def _save(clock: SlaClock, *fields: str) -> None:
    clock.save(update_fields=list(fields))


@transaction.atomic(savepoint=False)
def on_status_change(ticket: Ticket, old: str, new: str, *, by: User | None, at: dt.datetime) -> None:
    """Pause while pending customer (and on hold if the policy says), resume after, stop on
    resolve/close (resolution is met, response clocks stop), restart resolution on reopen."""
    for clock in _locked_clocks(ticket):
        if new in CLOSED_STATUSES:
            if clock.state in SlaClock.OPEN:
                if clock.metric == Metric.RESOLUTION:
                    _meet(clock, at=at, by=by)
                else:
                    _stop(clock, at=at, by=by)
            continue
        if old in CLOSED_STATUSES and clock.metric == Metric.RESOLUTION:
            _restart(clock, at=at, by=by, paused=_pausing(clock.policy, new))
            continue
        should_pause = _pausing(clock.policy, new)
        if should_pause and clock.state in SlaClock.ACTIVE:
            _pause(clock, at=at, by=by, status=new)
        elif not should_pause and clock.state == State.PAUSED:
            _resume(clock, at=at, by=by, status=new)


@transaction.atomic(savepoint=False)
def on_public_reply(ticket: Ticket, *, by: User | None, at: dt.datetime) -> None:
    """An agent's public reply meets the first-response (and next-response) target."""
    for clock in _locked_clocks(ticket, metric__in=[Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE],
                                state__in=SlaClock.OPEN):
        _meet(clock, at=at, by=by)


@transaction.atomic(savepoint=False)
def on_customer_message(ticket: Ticket, *, at: dt.datetime) -> None:
    """The customer wrote: the next-response clock starts (unless a response is already awaited)."""
    clocks = {clock.metric: clock for clock in _locked_clocks(ticket)}
    if not clocks or ticket.status == Ticket.Status.CLOSED:
        return
    first = clocks.get(Metric.FIRST_RESPONSE)
    if first is not None and first.state in SlaClock.OPEN:
        return  # still waiting for the first response
    current = clocks.get(Metric.NEXT_RESPONSE)
    if current is not None:
        if current.state in SlaClock.OPEN:
            return
        _restart(current, at=at, by=None, paused=_pausing(current.policy, ticket.status))
        return
    policy = next(iter(clocks.values())).policy
    if policy.next_response_minutes is None:
        return
    calendar = policy.calendar or ensure_default_calendar()
    clock = SlaClock(ticket_id=ticket.pk, metric=Metric.NEXT_RESPONSE, policy=policy, calendar=calendar,
                     target_minutes=policy.next_response_minutes, warning_percent=policy.warning_percent)
    _set_targets(clock, at)
    if _pausing(policy, ticket.status):
        clock.state, clock.paused_at = State.PAUSED, at
    clock.save()
    _schedule(clock)


# --- clock transitions ---------------------------------------------------------------------------------

def _close_pause(clock: SlaClock, at: dt.datetime) -> None:
    if clock.state == State.PAUSED and clock.paused_at:
        paused = business_time_between(clock.paused_at, at, pure_calendar(clock.calendar))
        clock.paused_seconds += _seconds(paused)
        clock.paused_at = None


def _finish(clock: SlaClock, *, at: dt.datetime) -> None:
    clock.elapsed_seconds = _elapsed(clock, at)
    _close_pause(clock, at)
    if clock.elapsed_seconds > clock.target_minutes * 60:
        clock.breached = True  # late, even if no check ran to notice it


def _meet(clock: SlaClock, *, at: dt.datetime, by: User | None) -> None:
    _finish(clock, at=at)
    clock.state, clock.met_at = State.MET, at
    _save(clock, "state", "met_at", "elapsed_seconds", "paused_at", "paused_seconds", "breached")


def _stop(clock: SlaClock, *, at: dt.datetime, by: User | None) -> None:
    _finish(clock, at=at)
    clock.state, clock.stopped_at = State.STOPPED, at
    _save(clock, "state", "stopped_at", "elapsed_seconds", "paused_at", "paused_seconds", "breached")


def _pause(clock: SlaClock, *, at: dt.datetime, by: User | None, status: str) -> None:
    clock.state, clock.paused_at = State.PAUSED, at
    _save(clock, "state", "paused_at")
    _event(clock.ticket_id, TicketEvent.Kind.SLA_PAUSED, at=at, clock=clock, by=by, new=status)


def _resume(clock: SlaClock, *, at: dt.datetime, by: User | None, status: str) -> None:
    """Resume a paused clock: the business time it stood still is added to its due and warning instants."""
    calendar = pure_calendar(clock.calendar)
    paused_at = clock.paused_at or at
    left = business_time_between(paused_at, clock.due_at, calendar)
    if left > dt.timedelta(0):
        clock.due_at = add_business_time(at, left, calendar)
    if clock.warning_at and not clock.warned_at:
        left = business_time_between(paused_at, clock.warning_at, calendar)
        if left > dt.timedelta(0):
            clock.warning_at = add_business_time(at, left, calendar)
    _close_pause(clock, at)
    clock.state = _ticking_state(clock)
    _save(clock, "state", "paused_at", "paused_seconds", "due_at", "warning_at")
    _event(clock.ticket_id, TicketEvent.Kind.SLA_RESUMED, at=at, clock=clock, by=by, new=status,
           data={"due_at": clock.due_at.isoformat()})
    _schedule(clock)


def _restart(clock: SlaClock, *, at: dt.datetime, by: User | None, paused: bool) -> None:
    """A new cycle of the clock (reopened ticket, the customer's next message); `breached` remembers the past."""
    clock.cycle += 1
    _set_targets(clock, at)
    clock.paused_seconds, clock.met_at, clock.stopped_at, clock.elapsed_seconds = 0, None, None, None
    clock.warned_at = clock.breached_at = None
    clock.state, clock.paused_at = (State.PAUSED, at) if paused else (State.RUNNING, None)
    _save(clock, "cycle", "started_at", "due_at", "warning_at", "paused_seconds", "met_at", "stopped_at",
          "elapsed_seconds", "warned_at", "breached_at", "state", "paused_at")
    _schedule(clock)


# --- warning, breach and escalation ---------------------------------------------------------------------

@transaction.atomic
def check_clock(clock_id: int, *, at: dt.datetime | None = None, cycle: int | None = None) -> list[str]:
    """Warn or breach the clock if `at` is past its warning or due instant, and escalate as its policy says.

    Idempotent: returns what it did this time (["warning"], ["breach"], both, or nothing) and does
    nothing a second time. A check for another cycle of the clock (scheduled before a restart) does
    nothing.
    """
    at = at or timezone.now()
    clock = (SlaClock.objects.select_for_update().select_related("policy", "calendar", "ticket")
             .filter(pk=clock_id).first())
    if clock is None or clock.state not in SlaClock.ACTIVE or (cycle is not None and cycle != clock.cycle):
        return []
    done = []
    if clock.warning_at and at >= clock.warning_at and clock.warned_at is None:
        won = SlaClock.objects.filter(pk=clock.pk, cycle=clock.cycle, warned_at__isnull=True).update(
            warned_at=clock.warning_at, state=State.WARNING if clock.breached_at is None else State.BREACHED)
        if won:
            clock.warned_at = clock.warning_at
            _event(clock.ticket, TicketEvent.Kind.SLA_WARNING, at=clock.warning_at, clock=clock,
                   data={"due_at": clock.due_at.isoformat(), "detected_at": at.isoformat()})
            _escalate(clock, level="warning", at=at)
            done.append("warning")
    if at >= clock.due_at and clock.breached_at is None:
        won = SlaClock.objects.filter(pk=clock.pk, cycle=clock.cycle, breached_at__isnull=True).update(
            breached_at=clock.due_at, breached=True, state=State.BREACHED)
        if won:
            clock.breached_at = clock.due_at
            _event(clock.ticket, TicketEvent.Kind.SLA_BREACHED, at=clock.due_at, clock=clock,
                   data={"detected_at": at.isoformat()})
            _escalate(clock, level="breach", at=at)
            done.append("breach")
    return done


def check_due_clocks(at: dt.datetime | None = None) -> int:
    """The worker's sweep: check every ticking clock whose warning or due instant has passed. Returns how many
    clocks warned or breached now (those a delayed task already handled are skipped)."""
    at = at or timezone.now()
    due = (
        SlaClock.objects.filter(state__in=SlaClock.ACTIVE)
        .filter(Q(warned_at__isnull=True, warning_at__lte=at) | Q(breached_at__isnull=True, due_at__lte=at))
        .values_list("pk", flat=True)
    )
    return sum(1 for clock_id in list(due) if check_clock(clock_id, at=at))


def leads_of(ticket: Ticket) -> list[User]:
    """Who hears about an escalation: the leads of the assignee's teams, else of the ticket department's teams."""
    teams = Team.objects.exclude(lead=None).select_related("lead")
    if ticket.assignee_id:
        found = [team.lead for team in teams.filter(members=ticket.assignee_id)]
        if found:
            return list({lead.pk: lead for lead in found}.values())
    if ticket.department_id:
        found = [team.lead for team in teams.filter(department_id=ticket.department_id)]
        return list({lead.pk: lead for lead in found}.values())
    return []


def _escalate(clock: SlaClock, *, level: str, at: dt.datetime) -> None:
    """The policy's actions for a warning or a breach: notify the lead, raise priority, reassign. Each leaves
    an ESCALATED event; the ticket services make the changes (with their PRIORITY / ASSIGNED / FIELD
    events). An action the ticket services refuse (say, the person is not in the ticket's queue) is
    recorded in its ESCALATED event, and the others still happen."""
    from loopcrm.service.services import tickets

    policy, ticket = clock.policy, clock.ticket
    warning = level == "warning"
    notify = policy.warning_notify_lead if warning else policy.breach_notify_lead
    raise_priority = policy.warning_raise_priority if warning else policy.breach_raise_priority
    base = {"level": level, "metric": clock.metric}
    why = _("SLA warning: %(metric)s") if warning else _("SLA breached: %(metric)s")
    reason = why % {"metric": clock.get_metric_display()}
    if raise_priority and ticket.priority < Ticket.Priority.URGENT:
        old = ticket.priority
        ticket = tickets.set_priority(ticket, old + 1, by=None, at=at, reason=reason)
        _event(ticket, TicketEvent.Kind.ESCALATED, at=at, clock=clock, field="priority", old=old,
               new=ticket.priority, data={**base, "action": "raise_priority"})
    if not warning and (policy.breach_queue_id or policy.breach_assignee_id):
        ticket = _reassign(ticket, clock, policy, at=at, base=base, reason=reason)
    clock.ticket = ticket  # the breach, checked next in the same call, sees what the warning changed
    if notify:
        leads = leads_of(ticket)
        _event(ticket, TicketEvent.Kind.ESCALATED, at=at, clock=clock, field="lead",
               new=", ".join(str(lead) for lead in leads),
               data={**base, "action": "notify_lead", "to": [lead.pk for lead in leads]})
        if leads:
            notify_leads(ticket, clock, level=level, leads=leads)


def _reassign(ticket: Ticket, clock: SlaClock, policy: SlaPolicy, *, at: dt.datetime, base: dict,
              reason: str) -> Ticket:
    """Move the ticket to the policy's escalation queue (and its next available member) and/or person."""
    from loopcrm.service.services import routing, tickets

    old_queue, old_assignee = ticket.queue_id, ticket.assignee_id
    problems = []
    if policy.breach_queue_id:
        queue = policy.breach_queue
        try:
            version = Ticket.objects.values_list("version", flat=True).get(pk=ticket.pk)
            ticket = tickets.update_ticket(ticket, by=None, version=version, changes={"queue": queue}, at=at)
        except DomainError as error:
            problems.append(error.message)
        if not policy.breach_assignee_id:
            to = routing.pick_assignee(queue, at=at)
            if to is not None and to.pk != ticket.assignee_id:
                try:
                    ticket = tickets.assign(ticket, to=to, by=None, at=at, reason=reason)
                except DomainError as error:
                    problems.append(error.message)
    if policy.breach_assignee_id and policy.breach_assignee_id != ticket.assignee_id:
        try:
            ticket = tickets.assign(ticket, to=policy.breach_assignee, by=None, at=at, reason=reason)
        except DomainError as error:
            problems.append(error.message)
    _event(ticket, TicketEvent.Kind.ESCALATED, at=at, clock=clock, field="queue", old=old_queue, new=ticket.queue_id,
           data={**base, "action": "reassign", "queue_id": ticket.queue_id, "assignee_id": ticket.assignee_id,
                 "old_assignee_id": old_assignee, **({"problems": problems} if problems else {})})
    return ticket


def notify_leads(ticket: Ticket, clock: SlaClock, *, level: str, leads: list[User]) -> None:
    """The notification hook: after commit, a background task mails the leads. In-app notifications, when
    they exist, plug in here."""
    from loopcrm.service import tasks

    ids = [lead.pk for lead in leads]
    ticket_id, clock_id = ticket.pk, clock.pk
    transaction.on_commit(lambda: tasks.send_escalation_notice.enqueue(
        ticket_id=ticket_id, clock_id=clock_id, level=level, user_ids=ids))


def calendar_of(policy: SlaPolicy) -> BusinessCalendar:
    return policy.calendar or ensure_default_calendar()
