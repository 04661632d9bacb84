"""The customer 360 slots of later domains: 张伟's open tickets, latest survey scores, value and loyalty card.

The agent (Service) sees his tickets, scores, value and membership; the admin may also enrol him; a
salesperson, whose role sees no feedback, gets no survey slot; an agent of another department sees
none of his tickets. Filling the slots costs the same queries for a short or a long history.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from loopcrm.accounts.models import Role
from loopcrm.feedback.models import Invitation, Response, Survey, SurveyVersion, TextAnalysis
from loopcrm.loyalty import services as loyalty
from loopcrm.overview.queries import customer_360
from loopcrm.service.models import Ticket
from loopcrm.value.models import CustomerValue
from tests import factories
from tests.commerce.util import count_queries, ok
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db
NOW = timezone.now()
TIERS = [{"name": "银卡 Silver", "rank": 0, "qualify_by": "spend", "threshold": 0}]


@pytest.fixture
def zhang(org):
    return factories.customer("张伟", owner=org.agent, department=org.service)


def ticket(customer, subject, *, status=Ticket.Status.OPEN, department=None, hours_ago=1):
    return Ticket.objects.create(subject=subject, customer=customer, status=status, department=department,
                                 opened_at=NOW - dt.timedelta(hours=hours_ago))


def answer(customer, at, **scores):
    survey = Survey.objects.create(name="after", kind="nps")
    version = SurveyVersion.objects.create(survey=survey, number=1, title_en="t", title_zh="t", published_at=at)
    invitation = Invitation.objects.create(survey=survey, version=version, customer=customer, trigger="manual",
                                           status="answered", send_after=at, created_at=at)
    return Response.objects.create(invitation=invitation, survey=survey, version=version, customer=customer,
                                   is_complete=True, started_at=at, answered_at=at, **scores)


def comment(customer, text, at, sentiment="negative"):
    TextAnalysis.objects.create(source=TextAnalysis.Source.FEEDBACK, customer=customer, at=at, text=text,
                                language="zh", sentiment=sentiment, score=-0.8)


def fill(org, customer, n):
    for i in range(n):
        ticket(customer, f"咨询 {i}", department=org.service, hours_ago=i + 1)
        ticket(customer, f"已解决 {i}", status=Ticket.Status.RESOLVED, department=org.service)
        answer(customer, NOW - dt.timedelta(days=i + 1), nps=9 - (i % 3), csat=5)
        comment(customer, f"送货太慢 {i}", NOW - dt.timedelta(days=i))


@pytest.fixture
def programme(org):
    return loyalty.create_programme(by=None, name="会员计划 Members", tiers=TIERS, currency="CNY",
                                    points_per_unit="1", survey_points=20, expiry_months=12)


def test_the_agent_sees_every_slot(org, zhang, programme):
    fill(org, zhang, 2)
    answer(zhang, NOW, ces=2)
    CustomerValue.objects.create(customer=zhang, tier="high", stage="active", computed_at=NOW)
    loyalty.enrol(zhang, programme, by=None)
    bundle = customer_360(org.agent, zhang.pk)
    assert [t.subject for t in bundle.open_tickets] == ["咨询 0", "咨询 1"]  # newest first, resolved left out
    scores = bundle.latest_survey
    assert (scores.nps, scores.csat, scores.ces, scores.responses) == (9, 5, 2, 3)
    assert [c.text for c in scores.comments] == ["送货太慢 0", "送货太慢 1"]
    assert bundle.value.value.tier == "high"
    assert bundle.loyalty.programme == "会员计划 Members" and bundle.loyalty.tier == "银卡 Silver"
    assert bundle.loyalty_enrol == []  # an agent may not enrol


def test_the_admin_may_enrol_a_customer_who_is_not_a_member(org, zhang, programme):
    bundle = customer_360(org.admin, zhang.pk)
    assert bundle.loyalty is None and bundle.loyalty_enrol == [programme]
    html = browser(org.admin).get(f"/customers/{zhang.pk}/").content.decode()
    assert 'id="loyalty-programme"' in html and "会员计划 Members" in html


def test_a_role_that_sees_no_feedback_gets_no_survey_slot(org, zhang):
    seller = factories.user("seller", role=Role.SALES, department=org.service)
    zhang.owner = seller
    zhang.save(update_fields=["owner"])
    fill(org, zhang, 1)
    bundle = customer_360(seller, zhang.pk)
    assert bundle.latest_survey is None
    assert bundle.value is not None  # sales may see value
    body = ok(ApiClient(seller).get(f"customers/{zhang.pk}/360"))
    assert body["latest_survey"] is None and "送货太慢" not in str(body)


def test_open_tickets_respect_the_ticket_scope(org, zhang):
    ticket(zhang, "华东的工单", department=org.sales_east)
    ticket(zhang, "服务部的工单", department=org.service)
    assert [t.subject for t in customer_360(org.agent, zhang.pk).open_tickets] == ["服务部的工单"]
    assert {t.subject for t in customer_360(org.admin, zhang.pk).open_tickets} == {"华东的工单", "服务部的工单"}


def test_the_api_serialises_the_slots(org, zhang, programme, api_as):
    fill(org, zhang, 1)
    CustomerValue.objects.create(customer=zhang, tier="medium", stage="new", computed_at=NOW)
    loyalty.enrol(zhang, programme, by=None)
    body = ok(api_as("agent").get(f"customers/{zhang.pk}/360"))
    assert [(t["subject"], t["status"]) for t in body["open_tickets"]] == [("咨询 0", "open")]
    assert body["latest_survey"]["nps"] == 9 and body["latest_survey"]["comments"][0]["sentiment"] == "negative"
    assert body["value"]["value"]["tier"] == "medium" and body["value"]["recommendations"] == []
    assert body["loyalty"]["tier"] == "银卡 Silver" and body["loyalty"]["balance"] == 0


def browser(user) -> Client:
    client = Client()
    client.login(username=user.username, password=factories.PASSWORD)
    return client


def test_the_page_shows_the_slots(org, zhang, programme):
    fill(org, zhang, 1)
    CustomerValue.objects.create(customer=zhang, tier="high", stage="active", computed_at=NOW)
    loyalty.enrol(zhang, programme, by=None)
    html = browser(org.agent).get(f"/customers/{zhang.pk}/").content.decode()
    assert 'id="open-tickets"' in html and "咨询 0" in html and "已解决 0" not in html
    assert "feedback-slot-title" in html and "送货太慢 0" in html
    assert 'id="customer-value"' in html and 'data-tier="high"' in html
    assert 'id="loyalty"' in html and "银卡 Silver" in html
    assert "Not yet available" not in html


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_the_slots_cost_the_same_queries_for_a_short_or_a_long_history(org, programme, persona):
    short = factories.customer("短", owner=org.agent, department=org.service)
    long = factories.customer("长", owner=org.agent, department=org.service)
    fill(org, short, 1)
    fill(org, long, 12)
    for customer in (short, long):
        CustomerValue.objects.create(customer=customer, tier="low", stage="active", computed_at=NOW)
        loyalty.enrol(customer, programme, by=None)
    client = ApiClient(getattr(org, persona))
    ok(client.get(f"customers/{short.pk}/360"))  # the token's first use is recorded once
    with count_queries() as few:
        ok(client.get(f"customers/{short.pk}/360"))
    with count_queries() as many:
        body = ok(client.get(f"customers/{long.pk}/360"))
    assert len(body["open_tickets"]) == 10  # at most ten
    # token 1 + record 7 + tickets 1 + scores 5 + value 4 + membership 1 (+ enrol choices 1 for the admin),
    # minus contacts for a person: 18 or 19.
    assert len(few) == len(many) <= (19 if persona == "admin" else 18), [q["sql"] for q in many]
    page = browser(getattr(org, persona))
    page.get(f"/customers/{short.pk}/")
    with count_queries() as page_few:
        page.get(f"/customers/{short.pk}/")
    with count_queries() as page_many:
        page.get(f"/customers/{long.pk}/")
    assert len(page_few) == len(page_many)
