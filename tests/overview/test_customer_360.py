"""The customer 360° view: an agent opens 张伟 and sees everything at once, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loopcrm.commerce import services as commerce
from loopcrm.commerce.models import Product
from loopcrm.core.errors import NotFound
from loopcrm.customers.models import Consent, ContactPerson, Customer, Tag
from loopcrm.interactions import services as interactions
from loopcrm.overview.queries import customer_360
from tests import factories
from tests.commerce.util import count_queries, ok, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang(org) -> Customer:
    customer = factories.customer("张伟", owner=org.agent, kind="organisation", is_vip=True)
    customer.tags.add(Tag.objects.create(name="VIP客户"), Tag.objects.create(name="华东"))
    return customer


@pytest.fixture
def mug() -> Product:
    return factories.product("马克杯 Mug", price="19.99")


def fill(org, customer, mug, *, orders: int, touches: int) -> None:
    now = timezone.now()
    for n in range(orders):
        commerce.create_order(by=org.admin, customer=customer, status="delivered",
                              placed_at=now - dt.timedelta(days=n + 1), lines=[{"product_id": mug.pk, "quantity": 2}])
    for n in range(touches):
        interactions.log_interaction(by=org.agent, customer=customer, channel="phone", subject=f"回访 {n}",
                                     occurred_at=now - dt.timedelta(hours=n))
    ContactPerson.objects.create(organisation=customer, name=f"联系人 {orders}", is_primary=orders == 3)
    Consent.objects.create(customer=customer, channel="sms", purpose="marketing", status="granted", at=now,
                           method="web_form")


def test_the_bundle_holds_profile_people_consent_orders_and_touches(org, zhang, mug):
    fill(org, zhang, mug, orders=12, touches=30)
    Consent.objects.create(customer=zhang, channel="sms", purpose="marketing", status="withdrawn",
                           at=timezone.now() + dt.timedelta(seconds=1), method="phone")
    bundle = customer_360(org.agent, zhang.pk)
    assert bundle.customer == zhang and {tag.name for tag in bundle.customer.tags.all()} == {"VIP客户", "华东"}
    assert [contact.name for contact in bundle.contacts] == ["联系人 12"]
    assert [(c.purpose, c.status) for c in bundle.consents] == [("marketing", "withdrawn")]
    assert bundle.order_summary.count == 12 and bundle.order_summary.total_spend == Decimal("39.98") * 12
    assert len(bundle.recent_orders) == 10
    assert bundle.recent_orders[0].placed_at > bundle.recent_orders[-1].placed_at
    assert len(bundle.recent_interactions.items) == 25 and bundle.recent_interactions.next_cursor
    assert bundle.recent_interactions.items[0].subject == "回访 0"
    # No tickets, answers, value rows or memberships yet: the slots say so (tests/overview/test_customer_360_slots.py).
    assert bundle.open_tickets == [] and bundle.latest_survey.empty and bundle.loyalty is None
    assert bundle.value.value is None and bundle.value.recommendations == []


def test_a_customer_out_of_scope_is_missing(org, zhang):
    with pytest.raises(NotFound):
        customer_360(org.east_rep, zhang.pk)
    with pytest.raises(NotFound):
        customer_360(org.agent, 987654)
    assert customer_360(org.other_agent, zhang.pk).customer == zhang  # every agent sees it (decision 0008)


def test_the_360_endpoint_answers_the_whole_bundle(api_as, org, zhang, mug):
    fill(org, zhang, mug, orders=3, touches=3)
    body = ok(api_as("agent").get(f"customers/{zhang.pk}/360"))
    assert body["customer"]["name"] == "张伟" and body["customer"]["owner"]["id"] == org.agent.pk
    assert body["customer"]["department"]["id"] == org.service.pk
    assert sorted(tag["name"] for tag in body["customer"]["tags"]) == ["VIP客户", "华东"]
    assert body["order_summary"]["count"] == 3 and body["order_summary"]["total_spend"] == "119.94"
    assert body["order_summary"]["spend_by_currency"] == {"CNY": "119.94"}
    assert [order["total"] for order in body["recent_orders"]] == ["39.98"] * 3
    assert [item["subject"] for item in body["recent_interactions"]["items"]] == ["回访 0", "回访 1", "回访 2"]
    assert body["consents"][0]["status"] == "granted" and body["contacts"][0]["name"] == "联系人 3"
    assert (body["open_tickets"], body["loyalty"]) == ([], None)
    assert body["latest_survey"]["responses"] == 0 and body["latest_survey"]["nps"] is None
    assert body["value"] == {"value": None, "recommendations": []}


def test_the_timeline_in_the_360_pages_on_with_its_cursor(api_as, org, zhang, mug):
    fill(org, zhang, mug, orders=0, touches=7)
    agent = api_as("agent")
    first = ok(agent.get(f"customers/{zhang.pk}/360", limit=4))["recent_interactions"]
    second = ok(agent.get(f"customers/{zhang.pk}/360", limit=4, cursor=first["next_cursor"]))["recent_interactions"]
    subjects = [item["subject"] for item in first["items"] + second["items"]]
    assert subjects == [f"回访 {n}" for n in range(7)] and second["next_cursor"] is None
    problem(agent.get(f"customers/{zhang.pk}/360", cursor="nonsense"), 400, "cursor")


# An agent of another department opens it too (decision 0008); a sales rep of another team does not.
PERSONAS = {"admin": 200, "lead": 200, "agent": 200, "other_agent": 200, "east_rep": 404, "exec": 200}


@pytest.mark.parametrize(("persona", "status"), PERSONAS.items())
def test_who_may_open_the_360_view(api_as, zhang, persona, status):
    response = api_as(persona).get(f"customers/{zhang.pk}/360")
    if status == 200:
        assert ok(response)["customer"]["id"] == zhang.pk
    else:
        body = problem(response, status)
        assert "张伟" not in response.content.decode() and "customer" not in body


def test_unknown_and_huge_ids_are_404(api_as):
    agent = api_as("agent")
    problem(agent.get("customers/987654/360"), 404)
    problem(agent.get("customers/99999999999999999999999/360"), 404)


def test_the_360_costs_the_same_queries_for_a_small_or_a_large_history(api_as, org, mug):
    agent = api_as("agent")
    small = factories.customer("小客户", owner=org.agent)
    large = factories.customer("大客户", owner=org.agent)
    fill(org, small, mug, orders=3, touches=3)
    fill(org, large, mug, orders=30, touches=30)
    for customer in (small, large):
        customer.tags.add(Tag.objects.get_or_create(name="常客")[0])
    ok(agent.get(f"customers/{small.pk}/360"))  # the token's first use is recorded once; measure after it
    with count_queries() as few:
        ok(agent.get(f"customers/{small.pk}/360"))
    with count_queries() as many:
        body = ok(agent.get(f"customers/{large.pk}/360"))
    assert len(body["recent_orders"]) == 10 and len(body["recent_interactions"]["items"]) == 25
    # one for the token, seven for the customer's record (customer, tags, contacts, consents, summary, orders,
    # touches), one for open tickets, five for survey scores, four for value (the agent may not enrol in loyalty,
    # and is not a member: one for the membership)
    assert len(few) == len(many) <= 19, [query["sql"] for query in many]


def test_a_deactivated_users_token_is_refused(org, zhang):
    from loopcrm.accounts import services as account_services
    from tests.conftest import ApiClient

    client = ApiClient(org.agent)
    ok(client.get(f"customers/{zhang.pk}/360"))
    account_services.deactivate_user(org.agent, by=org.admin)
    body = problem(client.get(f"customers/{zhang.pk}/360"), 401)
    assert "张伟" not in str(body)
