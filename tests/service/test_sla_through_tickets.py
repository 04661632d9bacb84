"""One ticket's life through the real ticket services, with the SLA clocks following: opened, answered,
waiting on the customer (paused), the customer writes (resumed, next response due), resolved, the
customer writes again (reopened: resolution restarts), answered and resolved for good."""

from __future__ import annotations

import pytest

from loopcrm.service.models import SlaClock, Ticket, TicketEvent
from loopcrm.service.queries.sla import ticket_clocks
from loopcrm.service.services import tickets
from tests import factories
from tests.service.sla_support import policy, sh

pytestmark = pytest.mark.django_db

FIRST, NEXT, RESOLUTION = SlaClock.Metric.FIRST_RESPONSE, SlaClock.Metric.NEXT_RESPONSE, SlaClock.Metric.RESOLUTION


def states(ticket):
    return {c.metric: (c.state, c.cycle) for c in SlaClock.objects.filter(ticket=ticket)}


def test_the_clocks_follow_a_ticket_through_its_life(org):
    policy("Standard")
    customer = factories.customer(owner=org.agent)
    ticket = tickets.open_ticket(customer=customer, subject="快递还没到", by=org.agent, assignee=org.agent,
                                 department=org.service, at=sh(2026, 3, 9, 10))
    assert states(ticket) == {FIRST: ("running", 1), RESOLUTION: ("running", 1)}

    tickets.add_reply(ticket, body="我们正在查询。", by=org.agent, status=Ticket.Status.PENDING,
                      at=sh(2026, 3, 9, 10, 20))
    assert states(ticket) == {FIRST: ("met", 1), RESOLUTION: ("paused", 1)}

    tickets.record_customer_message(ticket, body="单号是 SF123。", at=sh(2026, 3, 10, 9, 30))
    assert states(ticket) == {FIRST: ("met", 1), RESOLUTION: ("running", 1), NEXT: ("running", 1)}

    tickets.add_reply(ticket, body="已经派送。", by=org.agent, at=sh(2026, 3, 10, 10))
    tickets.change_status(ticket, Ticket.Status.RESOLVED, by=org.agent, at=sh(2026, 3, 10, 11))
    assert states(ticket) == {FIRST: ("met", 1), RESOLUTION: ("met", 1), NEXT: ("met", 1)}
    resolution = SlaClock.objects.get(ticket=ticket, metric=RESOLUTION)
    # Monday 10:00–10:20, then (paused until Tuesday 09:30) Tuesday 09:30–11:00: 1h50 of business time.
    assert resolution.elapsed_seconds == 110 * 60

    tickets.record_customer_message(ticket, body="还是没收到！", at=sh(2026, 3, 11, 9))
    assert states(ticket) == {FIRST: ("met", 1), RESOLUTION: ("running", 2), NEXT: ("running", 2)}
    tickets.add_reply(ticket, body="补发了。", by=org.agent, at=sh(2026, 3, 11, 9, 30))
    tickets.change_status(ticket, Ticket.Status.RESOLVED, by=org.agent, at=sh(2026, 3, 11, 10))
    tickets.change_status(ticket, Ticket.Status.CLOSED, by=org.agent, at=sh(2026, 3, 12, 10))
    assert states(ticket) == {FIRST: ("met", 1), RESOLUTION: ("met", 2), NEXT: ("met", 2)}
    assert not any(c.breached for c in ticket_clocks(ticket))

    kinds = list(TicketEvent.objects.filter(ticket=ticket, kind__in=[TicketEvent.Kind.SLA_PAUSED,
                                                                      TicketEvent.Kind.SLA_RESUMED])
                 .values_list("kind", "step"))
    assert kinds == [("sla_paused", RESOLUTION), ("sla_resumed", RESOLUTION)]


@pytest.mark.parametrize("batch", [False, True], ids=["open_ticket", "open_tickets"])
def test_a_policy_for_high_value_customers_applies_to_their_tickets(org, batch):
    """The value app's tier selects the SLA policy, opened singly or in a batch (it once never matched)."""
    from django.utils import timezone

    from loopcrm.service.services.opening import TicketRequest, open_tickets
    from loopcrm.value.models import CustomerValue

    policy("High value", first_response_minutes=30, customer_tiers=["high"])  # first by position
    policy("Standard", first_response_minutes=240)
    valued, ordinary = factories.customer(), factories.customer()
    CustomerValue.objects.create(customer=valued, tier="high", computed_at=timezone.now())
    CustomerValue.objects.create(customer=ordinary, tier="low", computed_at=timezone.now())
    when = sh(2026, 3, 9, 10)
    if batch:
        opened = open_tickets([TicketRequest(customer=valued, subject="大客户咨询"),
                               TicketRequest(customer=ordinary, subject="普通咨询")], by=org.agent, at=when)
    else:
        opened = [tickets.open_ticket(customer=customer, subject="咨询", by=org.agent, at=when)
                  for customer in (valued, ordinary)]
    first = {ticket.customer_id: SlaClock.objects.get(ticket=ticket, metric=FIRST) for ticket in opened}
    assert first[valued.pk].policy.name == "High value"
    assert first[ordinary.pk].policy.name == "Standard"
