"""Story: the demo gains a service desk — tickets for the timeline's service touches, with the planted stories.

One demo load (400 customers, reference day 15 March 2026), tickets included, shared by the module and
rolled back at the end.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter

import pytest
from django.db import transaction

from loopcrm.demo import load_demo
from loopcrm.demo.tickets import REGION_DAYS, REGION_PROVINCE
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Ticket, TicketEvent, TicketMessage

TODAY = dt.date(2026, 3, 15)
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 15, tzinfo=TZ)


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                # The demo loads its tickets itself (load_tickets is one of its steps).
                yield load_demo(customers=400, seed=3, progress=lambda _m: None, today=TODAY)
                raise _Rollback
        except _Rollback:
            pass


@pytest.mark.django_db
def test_every_service_touch_became_a_ticket_with_its_conversation_and_log(demo):
    tickets = Ticket.objects.count()
    assert tickets > 50
    assert TicketMessage.objects.filter(kind="customer").values("ticket").distinct().count() == tickets
    assert TicketEvent.objects.filter(kind="created").count() == tickets
    assert not TicketEvent.objects.filter(at__gte=NOW).exists()
    assert not Ticket.objects.filter(opened_at__gte=NOW).exists()
    kinds = Counter(Ticket.objects.values_list("kind", flat=True))
    assert {"complaint", "repair", "inquiry"} <= set(kinds)
    statuses = Counter(Ticket.objects.values_list("status", flat=True))
    assert statuses["closed"] > statuses["open"]  # two years of history, mostly done
    for ticket in Ticket.objects.filter(status="resolved")[:20]:
        assert ticket.resolved_at >= ticket.first_response_at >= ticket.opened_at


@pytest.mark.django_db
def test_there_are_sla_breaches_and_repeat_complaints_and_handled_complaints(demo):
    assert TicketEvent.objects.filter(kind="sla_breached").count() > 0
    breached = TicketEvent.objects.filter(kind="sla_breached").first()
    assert breached.step in ("first_response", "resolution")
    complaints = Ticket.objects.filter(kind="complaint", status__in=["resolved", "closed"])
    assert complaints.exclude(root_cause=None).exists() and complaints.exclude(severity=None).exists()
    for ticket in Ticket.objects.exclude(repeat_of=None).select_related("repeat_of"):
        assert ticket.repeat_of.customer_id == ticket.customer_id
        assert ticket.repeat_of.category_id == ticket.category_id
        assert dt.timedelta(0) <= ticket.opened_at - ticket.repeat_of.opened_at <= dt.timedelta(days=30)


@pytest.mark.django_db
def test_late_delivery_complaints_from_guangdong_rise_over_the_last_months(demo):
    start = NOW - dt.timedelta(days=REGION_DAYS)
    late = Ticket.objects.filter(category__code="late-delivery", customer__province=REGION_PROVINCE,
                                 opened_at__gte=start)
    thirds = Counter(min(2, int((t.opened_at - start) / (NOW - start) * 3)) for t in late.only("opened_at"))
    assert thirds[2] > thirds[0], thirds
    assert late.filter(root_cause__code="south-hub").exists()
    # each has its touch on the customer's timeline
    for ticket in late[:10]:
        assert Interaction.objects.filter(customer_id=ticket.customer_id, subject=ticket.subject,
                                          occurred_at=ticket.opened_at).exists()
