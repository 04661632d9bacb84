"""SLA clocks through the hooks the ticket services call: which policy applies, when targets fall due,
pauses while pending customer, first and next responses, resolution and reopen, warning and breach at
the right instants, and escalation that happens once however often the check runs.

The desk works 09:00–12:00 and 13:00–18:00 Shanghai time on weekdays. The default policy of these
stories: first response 60, next response 120, resolution 480 business minutes, warning at 80 %.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopcrm.service import tasks
from loopcrm.service.businesstime import add_business_time, business_time_between
from loopcrm.service.models import Queue, SlaClock, SlaPolicy, Ticket, TicketCategory, TicketEvent
from loopcrm.service.queries.sla import pure_calendar
from loopcrm.service.services import sla
from tests import factories
from tests.service.sla_support import clock, opened, policy, set_status, sh, ticket

pytestmark = pytest.mark.django_db

FIRST, NEXT, RESOLUTION = SlaClock.Metric.FIRST_RESPONSE, SlaClock.Metric.NEXT_RESPONSE, SlaClock.Metric.RESOLUTION
MONDAY_10 = sh(2026, 3, 9, 10)


def events(ticket, kind):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("at", "id"))


# --- which policy -------------------------------------------------------------------------------------

def test_the_first_matching_active_policy_by_position_applies_and_is_recorded(org):
    policy("Inactive VIP", position=1, customer_vip=True, is_active=False)
    vip = policy("VIP complaints", position=5, customer_vip=True, kinds=["complaint"])
    everyone = policy("Everyone", position=9)
    customer = factories.customer(is_vip=True)

    complaint = opened(MONDAY_10, customer=customer, kind=Ticket.Kind.COMPLAINT)
    inquiry = opened(MONDAY_10, customer=customer, kind=Ticket.Kind.INQUIRY)

    assert {c.policy_id for c in SlaClock.objects.filter(ticket=complaint)} == {vip.pk}
    assert {c.policy_id for c in SlaClock.objects.filter(ticket=inquiry)} == {everyone.pk}
    chosen = events(complaint, TicketEvent.Kind.FIELD)[0]
    assert (chosen.field, chosen.new, chosen.data["chosen_by"]) == ("sla_policy", "VIP complaints", "match")


def test_the_routing_decision_policy_wins_over_matching(org):
    policy("Everyone", position=1)
    routed = policy("Hotline gold", position=50, priorities=[4])
    new = opened(MONDAY_10, policy_id=routed.pk)
    assert clock(new, FIRST).policy_id == routed.pk
    assert events(new, TicketEvent.Kind.FIELD)[0].data["chosen_by"] == "routing"


def test_sub_categories_priorities_channels_and_tags_are_conditions(org):
    delivery = TicketCategory.objects.create(name="Delivery", code="delivery", path="/delivery/")
    late = TicketCategory.objects.create(name="Late", code="late", parent=delivery, path="/delivery/late/")
    other = TicketCategory.objects.create(name="Billing", code="billing", path="/billing/")
    tag = factories.customer().tags.create(name="key account")
    by_category = policy("Delivery", position=1, category=delivery)
    only_top = policy("Delivery exactly", position=0, category=delivery, include_subcategories=False,
                      channels=["phone"])
    tagged = policy("Key accounts", position=2, customer_tag=tag, priorities=[3, 4])
    tagged_customer = factories.customer()
    tagged_customer.tags.add(tag)

    assert sla.match_policy(ticket(opened_at=MONDAY_10, category=late)) == by_category
    assert sla.match_policy(ticket(opened_at=MONDAY_10, category=delivery, channel="phone")) == only_top
    assert sla.match_policy(ticket(opened_at=MONDAY_10, category=other)) is None
    assert sla.match_policy(ticket(opened_at=MONDAY_10, customer=tagged_customer, priority=3)) == tagged
    assert sla.match_policy(ticket(opened_at=MONDAY_10, customer=tagged_customer, priority=2)) is None


def test_no_policy_no_clocks_and_starting_twice_changes_nothing(org):
    lonely = opened(MONDAY_10)
    assert not SlaClock.objects.filter(ticket=lonely).exists()
    policy()
    again = opened(MONDAY_10)
    sla.start_clocks(again, at=MONDAY_10 + dt.timedelta(hours=1))
    assert SlaClock.objects.filter(ticket=again).count() == 2  # first response and resolution
    assert clock(again, FIRST).started_at == MONDAY_10


# --- due instants, warning and breach -----------------------------------------------------------------

def test_targets_fall_due_in_business_time(org):
    policy()
    new = opened(MONDAY_10)
    first, resolution = clock(new, FIRST), clock(new, RESOLUTION)
    assert (first.due_at, first.warning_at) == (sh(2026, 3, 9, 11), sh(2026, 3, 9, 10, 48))
    # 8 business hours: Monday 10–12 and 13–18 (7 h), then Tuesday 09–10.
    assert resolution.due_at == sh(2026, 3, 10, 10)
    assert resolution.warning_at == sh(2026, 3, 9, 17, 24)


def test_warning_and_breach_happen_at_their_instants_and_only_once(org):
    policy(breach_raise_priority=True)
    new = opened(MONDAY_10, priority=Ticket.Priority.NORMAL)
    first = clock(new, FIRST)

    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 10, 47, 59)) == []
    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 10, 48)) == ["warning"]
    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 10, 50)) == []
    assert clock(new, FIRST).state == SlaClock.State.WARNING
    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 11)) == ["breach"]
    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 11, 5)) == []

    first = clock(new, FIRST)
    assert (first.state, first.breached, first.breached_at) == (SlaClock.State.BREACHED, True, sh(2026, 3, 9, 11))
    [warning] = events(new, TicketEvent.Kind.SLA_WARNING)
    [breach] = events(new, TicketEvent.Kind.SLA_BREACHED)
    assert (warning.at, warning.step, breach.at) == (sh(2026, 3, 9, 10, 48), FIRST, sh(2026, 3, 9, 11))
    new.refresh_from_db()
    assert new.priority == Ticket.Priority.HIGH  # raised once, on the breach only


def test_a_check_past_both_instants_warns_and_breaches_at_once(org):
    policy()
    first = clock(opened(MONDAY_10), FIRST)
    assert sla.check_clock(first.pk, at=sh(2026, 3, 9, 15)) == ["warning", "breach"]


def test_the_escalation_task_run_twice_does_everything_once(org, django_capture_on_commit_callbacks):
    policy(warning_raise_priority=True, breach_raise_priority=True)
    lead_mail = org.lead
    lead_mail.email = "lead@example.com"
    lead_mail.save(update_fields=["email"])
    new = opened(MONDAY_10, assignee=org.agent, priority=Ticket.Priority.LOW)
    first = clock(new, FIRST)
    mail.outbox.clear()

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.check_sla_clock.call(clock_id=first.pk, cycle=1, at=sh(2026, 3, 9, 11, 30).isoformat())

    new.refresh_from_db()
    assert new.priority == Ticket.Priority.HIGH  # low -> normal (warning) -> high (breach), not further
    assert len(events(new, TicketEvent.Kind.SLA_WARNING)) == len(events(new, TicketEvent.Kind.SLA_BREACHED)) == 1
    escalations = events(new, TicketEvent.Kind.ESCALATED)
    assert sorted(e.data["action"] for e in escalations) == ["notify_lead", "notify_lead", "raise_priority",
                                                             "raise_priority"]
    assert all(e.data["to"] == [org.lead.pk] for e in escalations if e.data["action"] == "notify_lead")
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["lead@example.com"]


def test_the_sweep_catches_what_no_task_did_and_does_nothing_the_second_time(org):
    policy()
    tickets = [opened(MONDAY_10 + dt.timedelta(minutes=n)) for n in range(3)]
    assert sla.check_due_clocks(sh(2026, 3, 9, 10, 30)) == 0
    # 11:01: the 10:00 and 10:01 first responses breach, the 10:02 one warns (10:50).
    assert sla.check_due_clocks(sh(2026, 3, 9, 11, 1)) == 3
    assert [clock(t, FIRST).state for t in tickets] == ["breached", "breached", "warning"]
    assert sla.check_due_clocks(sh(2026, 3, 9, 11, 1)) == 0
    assert sla.check_due_clocks(sh(2026, 3, 9, 11, 2)) == 1
    assert clock(tickets[2], FIRST).state == SlaClock.State.BREACHED
    assert tasks.sweep_sla_clocks.call(at=sh(2026, 3, 10, 11).isoformat()) == 3  # the resolutions


def test_on_breach_the_ticket_moves_to_the_escalation_queue_or_person(org):
    escalation = Queue.objects.create(name="Escalations", code="escalations", department=org.service)
    policy(breach_queue=escalation, breach_assignee=org.lead, breach_notify_lead=False)
    new = opened(MONDAY_10, assignee=org.agent)
    sla.check_clock(clock(new, FIRST).pk, at=sh(2026, 3, 9, 11))
    new.refresh_from_db()
    assert (new.queue_id, new.assignee_id, new.department_id) == (escalation.pk, org.lead.pk, org.service.pk)
    [assigned] = events(new, TicketEvent.Kind.ASSIGNED)
    assert (assigned.old, assigned.new) == (str(org.agent.pk), str(org.lead.pk))
    [escalated] = [e for e in events(new, TicketEvent.Kind.ESCALATED) if e.data["action"] == "reassign"]
    assert escalated.data["queue_id"] == escalation.pk


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_with_a_deferring_backend_checks_are_scheduled_at_the_warning_and_due_instants(
    org, django_capture_on_commit_callbacks,
):
    """One task per opened ticket, at its first instant; each check schedules the next one."""
    from django_tasks_db.models import DBTaskResult

    def scheduled():
        return sorted(DBTaskResult.objects.filter(task_path__endswith="check_sla_clocks").values_list(
            "run_after", flat=True))

    policy(resolution_minutes=None, next_response_minutes=None)
    with django_capture_on_commit_callbacks(execute=True):
        new = opened(MONDAY_10)
    first = clock(new, FIRST)
    assert scheduled() == [first.warning_at]

    with django_capture_on_commit_callbacks(execute=True):
        assert sla.check_clocks([[first.pk, first.cycle]], at=first.warning_at) == ["warning"]
    assert scheduled() == [first.warning_at, first.due_at]

    with django_capture_on_commit_callbacks(execute=True):
        assert sla.check_clocks([[first.pk, first.cycle]], at=first.due_at) == ["breach"]
        assert sla.check_clocks([[first.pk, first.cycle]], at=first.due_at) == []  # twice: nothing twice
    assert scheduled() == [first.warning_at, first.due_at]  # nothing left to wait for


# --- pauses ------------------------------------------------------------------------------------------------

def test_pending_customer_pauses_the_clocks_and_the_pause_never_counts(org):
    policy()
    new = opened(MONDAY_10)
    set_status(new, Ticket.Status.PENDING, at=sh(2026, 3, 9, 10, 30))
    # While paused nothing warns or breaches, however late.
    assert sla.check_due_clocks(sh(2026, 3, 10, 9, 0)) == 0
    set_status(new, Ticket.Status.OPEN, at=sh(2026, 3, 10, 10, 30))

    first, resolution = clock(new, FIRST), clock(new, RESOLUTION)
    # 30 minutes were left at the pause: due Tuesday 11:00; warning 18 minutes after the resume.
    assert (first.due_at, first.warning_at) == (sh(2026, 3, 10, 11), sh(2026, 3, 10, 10, 48))
    assert resolution.due_at == sh(2026, 3, 11, 10)  # 7h30 left: Tuesday 10:30–18:00 (6h30) + Wednesday 09–10
    assert first.paused_seconds == 8 * 3600  # Monday 10:30–18:00 less lunch, Tuesday 09:00–10:30

    sla.on_public_reply(new, by=org.agent, at=sh(2026, 3, 10, 10, 40))
    first = clock(new, FIRST)
    assert (first.state, first.elapsed_seconds, first.breached) == (SlaClock.State.MET, 40 * 60, False)
    assert [e.kind for e in TicketEvent.objects.filter(ticket=new, step=FIRST).order_by("id")] == [
        TicketEvent.Kind.SLA_PAUSED, TicketEvent.Kind.SLA_RESUMED]


def test_on_hold_pauses_only_when_the_policy_says_so(org):
    policy("Holds pause", position=1, kinds=["repair"], pause_on_hold=True)
    policy("Holds run", position=2)
    repair, inquiry = opened(MONDAY_10, kind="repair"), opened(MONDAY_10, kind="inquiry")
    for new in (repair, inquiry):
        set_status(new, Ticket.Status.ON_HOLD, at=sh(2026, 3, 9, 10, 10))
    assert clock(repair, FIRST).state == SlaClock.State.PAUSED
    assert clock(inquiry, FIRST).state == SlaClock.State.RUNNING


def test_a_reply_while_paused_meets_the_clock_counting_only_the_time_it_ran(org):
    policy()
    new = opened(MONDAY_10)
    set_status(new, Ticket.Status.PENDING, at=sh(2026, 3, 9, 10, 20))
    sla.on_public_reply(new, by=org.agent, at=sh(2026, 3, 12, 15))
    first = clock(new, FIRST)
    assert (first.state, first.elapsed_seconds, first.breached) == (SlaClock.State.MET, 20 * 60, False)


@pytest.mark.parametrize("pause_hours", [0, 1, 5, 30, 200])
def test_however_long_the_pause_the_business_time_measured_is_the_time_worked(org, pause_hours):
    policy()
    new = opened(MONDAY_10)
    pause_start = sh(2026, 3, 9, 11)
    set_status(new, Ticket.Status.PENDING, at=pause_start)
    set_status(new, Ticket.Status.OPEN, at=pause_start + dt.timedelta(hours=pause_hours))
    resume = pause_start + dt.timedelta(hours=pause_hours)
    set_status(new, Ticket.Status.RESOLVED, at=resume + dt.timedelta(minutes=1))
    resolution = clock(new, RESOLUTION)
    worked = business_time_between(MONDAY_10, resume + dt.timedelta(minutes=1), pure_calendar(resolution.calendar),
                                   [(pause_start, resume)])
    assert resolution.elapsed_seconds == int(worked.total_seconds())


# --- responses, resolution, reopen --------------------------------------------------------------------------

def test_a_late_first_response_is_breached_even_if_no_check_ran(org):
    policy()
    new = opened(MONDAY_10)
    sla.on_public_reply(new, by=org.agent, at=sh(2026, 3, 9, 14))
    first = clock(new, FIRST)
    assert (first.state, first.breached, first.elapsed_seconds) == (SlaClock.State.MET, True, 3 * 3600)


def test_the_next_response_clock_starts_with_the_customers_message_and_stops_with_the_reply(org):
    policy()
    new = opened(MONDAY_10)
    sla.on_customer_message(new, at=sh(2026, 3, 9, 10, 5))  # still waiting for the first response
    assert not SlaClock.objects.filter(ticket=new, metric=NEXT).exists()
    sla.on_public_reply(new, by=org.agent, at=sh(2026, 3, 9, 10, 30))
    sla.on_customer_message(new, at=sh(2026, 3, 9, 17))
    sla.on_customer_message(new, at=sh(2026, 3, 9, 17, 30))  # the first message's clock keeps running
    nxt = clock(new, NEXT)
    assert (nxt.started_at, nxt.due_at, nxt.cycle) == (sh(2026, 3, 9, 17), sh(2026, 3, 10, 10), 1)
    sla.on_public_reply(new, by=org.agent, at=sh(2026, 3, 10, 9, 30))
    assert clock(new, NEXT).state == SlaClock.State.MET
    sla.on_customer_message(new, at=sh(2026, 3, 10, 11))
    nxt = clock(new, NEXT)
    assert (nxt.state, nxt.cycle, nxt.due_at) == (SlaClock.State.RUNNING, 2, sh(2026, 3, 10, 14))


def test_resolving_meets_resolution_and_stops_the_response_clocks_reopening_restarts_resolution(org):
    policy()
    new = opened(MONDAY_10)
    set_status(new, Ticket.Status.RESOLVED, at=sh(2026, 3, 9, 16))
    first, resolution = clock(new, FIRST), clock(new, RESOLUTION)
    assert (first.state, first.breached) == (SlaClock.State.STOPPED, True)  # nobody answered within the hour
    assert (resolution.state, resolution.elapsed_seconds, resolution.breached) == (SlaClock.State.MET, 5 * 3600, False)

    set_status(new, Ticket.Status.REOPENED, at=sh(2026, 3, 11, 9))
    resolution = clock(new, RESOLUTION)
    assert (resolution.state, resolution.cycle) == (SlaClock.State.RUNNING, 2)
    assert resolution.started_at == sh(2026, 3, 11, 9)
    assert resolution.due_at == sh(2026, 3, 11, 18)
    assert clock(new, FIRST).state == SlaClock.State.STOPPED
    # A check scheduled for the first cycle finds nothing to do in the second.
    assert sla.check_clock(resolution.pk, at=sh(2026, 3, 12, 9), cycle=1) == []
    assert sla.check_clock(resolution.pk, at=sh(2026, 3, 12, 9), cycle=2) == ["warning", "breach"]


def test_closing_a_paused_ticket_ends_its_pause(org):
    policy()
    new = opened(MONDAY_10)
    set_status(new, Ticket.Status.PENDING, at=sh(2026, 3, 9, 11))
    set_status(new, Ticket.Status.CLOSED, at=sh(2026, 3, 16, 11))
    resolution = clock(new, RESOLUTION)
    assert (resolution.state, resolution.elapsed_seconds, resolution.paused_at) == (SlaClock.State.MET, 3600, None)


def test_a_ticket_opened_pending_starts_paused(org):
    policy()
    new = ticket(opened_at=MONDAY_10, status=Ticket.Status.PENDING)
    sla.start_clocks(new, at=MONDAY_10)
    assert clock(new, FIRST).state == SlaClock.State.PAUSED


# --- property: whatever the pauses, the clock measures exactly the business time worked -----------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(min_value=1, max_value=4 * 24 * 60), min_size=1, max_size=8))
def test_any_sequence_of_pauses_is_never_counted(org, steps):
    """Pending and open alternate after the given minutes; then the ticket is resolved. The resolution clock's
    elapsed time equals the business time from opening to resolving with the pending spans taken out, and its
    due instant moved by exactly the business time spent pending before it fell due."""
    if not SlaPolicy.objects.exists():
        policy(resolution_minutes=5 * 9 * 60)
    new = opened(MONDAY_10)
    calendar = pure_calendar(clock(new, RESOLUTION).calendar)
    at, pauses, pending_since = MONDAY_10, [], None
    for minutes in steps:
        at += dt.timedelta(minutes=minutes)
        if pending_since is None:
            set_status(new, Ticket.Status.PENDING, at=at)
            pending_since = at
        else:
            set_status(new, Ticket.Status.OPEN, at=at)
            pauses.append((pending_since, at))
            pending_since = None
    end = at + dt.timedelta(minutes=7)
    due_before_resolving = clock(new, RESOLUTION).due_at
    set_status(new, Ticket.Status.RESOLVED, at=end)
    if pending_since is not None:
        pauses.append((pending_since, end))
    resolution = clock(new, RESOLUTION)
    worked = business_time_between(MONDAY_10, end, calendar, pauses)
    assert resolution.elapsed_seconds == int(worked.total_seconds())
    # The due instant moves by the business time of each pause that began before it was due (once
    # overdue, a pause no longer moves it).
    target, paused = dt.timedelta(minutes=5 * 9 * 60), dt.timedelta(0)
    due = add_business_time(MONDAY_10, target, calendar)
    for a, b in (pause for pause in pauses if pause[1] <= at):
        if a < due:
            paused += business_time_between(a, b, calendar)
            due = add_business_time(MONDAY_10, target + paused, calendar)
    assert due_before_resolving == due
