"""The demo's survey answers follow the service reality, respect consent and fatigue, and close loops."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Avg

from loopcrm.customers.models import Consent
from loopcrm.demo import load_demo
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.feedback.models import FollowUp, Invitation, Response, TextAnalysis
from loopcrm.service.models import Queue, Ticket

TODAY = dt.date(2026, 11, 1)


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                # The whole demo, tickets and their surveys included: the answers follow the service.
                load_demo(customers=300, seed=5, progress=lambda message: None, today=TODAY)
                calendar = DemoCalendar.ending(TODAY, zoneinfo.ZoneInfo(settings.TIME_ZONE))
                yield calendar
                raise _Rollback
        except _Rollback:
            pass


pytestmark = pytest.mark.django_db


def test_slow_tickets_score_worse(demo):
    answered = Response.objects.filter(csat__isnull=False).select_related("invitation__ticket")
    fast = [r.csat for r in answered if r.invitation.ticket.resolved_at - r.invitation.ticket.opened_at
            <= dt.timedelta(hours=24)]
    slow = [r.csat for r in answered if r.invitation.ticket.resolved_at - r.invitation.ticket.opened_at
            > dt.timedelta(hours=72)]
    assert len(fast) >= 10 and len(slow) >= 10
    assert sum(fast) / len(fast) > sum(slow) / len(slow) + 0.8


def test_every_kind_of_survey_has_answers_and_comments_in_both_languages(demo):
    assert Response.objects.filter(nps__isnull=False).exists()
    assert Response.objects.filter(ces__isnull=False).exists()
    assert set(TextAnalysis.objects.values_list("language", flat=True)) == {"zh", "en"}
    assert Response.objects.aggregate(avg=Avg("csat"))["avg"] > 2
    assert not Response.objects.filter(answered_at__gte=demo.now).exists()


def test_consent_and_fatigue_are_respected(demo):
    withdrawn = Consent.objects.filter(purpose=Consent.Purpose.SURVEYS, status=Consent.Status.WITHDRAWN)
    assert not Invitation.objects.filter(customer_id__in=withdrawn.values("customer_id")).exists()
    last: dict[int, dt.datetime] = {}
    for customer_id, sent_at in Invitation.objects.order_by("customer_id", "sent_at").values_list(
            "customer_id", "sent_at"):
        if customer_id in last:
            assert sent_at - last[customer_id] >= dt.timedelta(days=30)
        last[customer_id] = sent_at


def test_recent_unhappy_answers_have_follow_ups_most_of_them_closed(demo):
    follow_ups = FollowUp.objects.all()
    assert follow_ups.exists()
    assert all(f.ticket_id for f in follow_ups)
    tickets = Ticket.objects.filter(pk__in=follow_ups.values("ticket_id"))
    # Titled as the service titles a follow-up, in the complaints queue, called back by one of its members.
    assert not tickets.filter(subject__contains="low_csat").exists()
    assert set(tickets.values_list("queue__code", flat=True)) == {"complaints"}
    called_back = tickets.filter(first_response_at__isnull=False)
    assert called_back.count() > tickets.count() / 2
    assert not called_back.filter(assignee__isnull=True).exists()
    members = set(Queue.objects.get(code="complaints").members.values_list("pk", flat=True))
    assert set(called_back.values_list("assignee_id", flat=True)) <= members
    # Most loops end resolved, after the call back.
    assert tickets.filter(resolved_at__isnull=False).count() > tickets.count() / 3
    for ticket in tickets.filter(resolved_at__isnull=False):
        assert ticket.opened_at < ticket.first_response_at < ticket.resolved_at
