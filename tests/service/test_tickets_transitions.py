"""The status lifecycle: every pair of statuses is either allowed by the table or refused with the allowed list."""

from __future__ import annotations

import itertools

import pytest

from loopcrm.core.errors import RuleViolation
from loopcrm.service.models import Ticket, TicketEvent
from loopcrm.service.services import tickets as services
from loopcrm.service.services.tickets import TRANSITIONS

S = Ticket.Status
PAIRS = [(old, new) for old, new in itertools.product(S.values, S.values) if old != new]
# How to bring a fresh ticket into each status, through the services.
ROUTE = {
    S.NEW: [],
    S.OPEN: [S.OPEN],
    S.PENDING: [S.PENDING],
    S.ON_HOLD: [S.ON_HOLD],
    S.RESOLVED: [S.RESOLVED],
    S.CLOSED: [S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.RESOLVED, S.REOPENED],
}


def _bring(ticket: Ticket, status: str, by) -> Ticket:
    for step in ROUTE[status]:
        ticket = services.change_status(ticket, step, by=by)
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o}->{n}" for o, n in PAIRS])
def test_each_transition_is_allowed_or_refused_by_the_table(org, zhang, open_ticket, old, new):
    ticket = _bring(open_ticket(zhang), old, org.agent)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    reason = "客户要求关闭 customer asked" if new == S.CLOSED else ""

    if new in TRANSITIONS[old]:
        changed = services.change_status(ticket, new, by=org.agent, reason=reason)
        assert changed.status == new
        event = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS).last()
        assert (event.old, event.new, event.actor) == (old, new, org.agent)
    else:
        with pytest.raises(RuleViolation) as refused:
            services.change_status(ticket, new, by=org.agent, reason=reason)
        assert refused.value.field == "status"
        assert refused.value.extra["allowed"] == sorted(TRANSITIONS[old])
        ticket.refresh_from_db()
        assert ticket.status == old
        assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_closed_is_final_and_every_status_is_in_the_table():
    assert set(TRANSITIONS) == set(S.values)
    assert TRANSITIONS[S.CLOSED] == frozenset()
    assert all(S.REOPENED not in TRANSITIONS[s] for s in S.values if s != S.RESOLVED)


@pytest.mark.django_db
def test_closing_an_unresolved_ticket_needs_a_reason(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    with pytest.raises(RuleViolation) as refused:
        services.change_status(ticket, S.CLOSED, by=org.agent)
    assert refused.value.field == "reason"
    closed = services.change_status(ticket, S.CLOSED, by=org.agent, reason="重复工单 duplicate of #1")
    assert closed.closed_at is not None
    assert TicketEvent.objects.filter(ticket=ticket, kind="status", new="closed").get().data["reason"] \
        == "重复工单 duplicate of #1"


@pytest.mark.django_db
def test_resolving_and_reopening_keep_the_milestones_and_count(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    resolved = services.change_status(ticket, S.RESOLVED, by=org.agent)
    assert resolved.resolved_at is not None
    reopened = services.change_status(ticket, S.REOPENED, by=org.agent)
    assert reopened.reopen_count == 1 and reopened.resolved_at is None
    services.change_status(ticket, S.RESOLVED, by=org.agent)
    again = services.change_status(ticket, S.REOPENED, by=org.agent)
    assert again.reopen_count == 2


@pytest.mark.django_db
def test_a_stale_version_refuses_a_status_change(org, zhang, open_ticket):
    from loopcrm.core.errors import Conflict

    ticket = open_ticket(zhang)
    services.change_status(ticket, S.OPEN, by=org.agent, version=1)
    with pytest.raises(Conflict):
        services.change_status(ticket, S.PENDING, by=org.agent, version=1)
    ticket.refresh_from_db()
    assert ticket.status == S.OPEN


@pytest.mark.django_db
def test_an_unknown_status_is_refused(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    with pytest.raises(RuleViolation) as refused:
        services.change_status(ticket, "done", by=org.agent)
    assert refused.value.field == "status"


@pytest.mark.django_db
def test_resolved_tickets_close_automatically_after_a_week_and_a_second_run_does_nothing(org, zhang, open_ticket):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    old = services.change_status(open_ticket(zhang), S.RESOLVED, by=org.agent, at=now - dt.timedelta(days=8))
    recent = services.change_status(open_ticket(zhang), S.RESOLVED, by=org.agent, at=now - dt.timedelta(days=2))
    assert services.close_resolved(at=now) == 1
    assert services.close_resolved(at=now) == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == (S.CLOSED, S.RESOLVED)
    assert TicketEvent.objects.get(ticket=old, new=S.CLOSED).actor is None
