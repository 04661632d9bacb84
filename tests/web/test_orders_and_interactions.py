"""The order list and detail, and the list of all interactions: filters like the API's, scope, fragments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.web.conftest import htmx

pytestmark = pytest.mark.django_db

ORDERS = reverse("web:order_list")
INTERACTIONS = reverse("web:interaction_list")


@pytest.fixture
def shop(org):
    now = timezone.now()
    kettle = factories.product("智能水壶", price="299.00")
    mine = factories.customer("张伟明", owner=org.agent)
    other = factories.customer("李娜", owner=org.agent)
    # Sales East's customer: in every agent's sight (decision 0008), out of another sales team's.
    east = factories.customer("别的部门", owner=org.other_agent)
    old = factories.order(mine, lines=[(kettle, 2)], placed_at=now - dt.timedelta(days=40))
    new = factories.order(mine, lines=[(kettle, 1)], placed_at=now - dt.timedelta(days=1), status="pending")
    new.channel = "wechat"
    new.save(update_fields=["channel"])
    others = factories.order(other, lines=[(kettle, 3)], placed_at=now - dt.timedelta(days=10), status="paid")
    east_order = factories.order(east, lines=[(kettle, 1)])
    return {"old": old, "new": new, "others": others, "east": east_order, "mine": mine, "now": now}


def numbers(response) -> list[str]:
    return [order.number for order in response.context["page"].items]


def test_order_list_shows_orders_in_scope_newest_first(shop, browser_as):
    response = browser_as("agent").get(ORDERS)
    assert response.status_code == 200
    assert numbers(response) == [shop["east"].number, shop["new"].number, shop["others"].number, shop["old"].number]
    response = browser_as("east_rep").get(ORDERS)
    assert response.status_code == 200 and numbers(response) == []


def test_order_filters(shop, browser_as):
    client = browser_as("agent")
    assert numbers(client.get(ORDERS, {"status": "pending"})) == [shop["new"].number]
    assert numbers(client.get(ORDERS, {"channel": "wechat"})) == [shop["new"].number]
    assert numbers(client.get(ORDERS, {"customer_id": shop["mine"].pk})) == [shop["new"].number, shop["old"].number]
    # Dates are days in the user's time zone (Asia/Shanghai here), not UTC days.
    ten_days_ago = timezone.localtime(shop["now"] - dt.timedelta(days=10)).date().isoformat()
    # "until" includes the whole day it names.
    assert numbers(client.get(ORDERS, {"placed_to": ten_days_ago})) == [shop["others"].number, shop["old"].number]
    assert numbers(client.get(ORDERS, {"placed_from": ten_days_ago})) == [
        shop["east"].number, shop["new"].number, shop["others"].number]
    assert client.get(ORDERS, {"status": "lost"}).status_code == 400
    assert numbers(client.get(ORDERS, {"customer_id": shop["east"].customer_id})) == [shop["east"].number]
    # A customer out of the user's sight is not a choice of the filter.
    assert browser_as("east_rep").get(ORDERS, {"customer_id": shop["east"].customer_id}).status_code == 400


def test_order_list_fragment_for_htmx(shop, browser_as):
    response = browser_as("agent").get(ORDERS, {"status": "paid"}, **htmx("list-results"))
    html = response.content.decode()
    assert "<html" not in html and shop["others"].number in html and shop["old"].number not in html


def test_order_detail_shows_lines_and_hides_orders_out_of_scope(shop, browser_as):
    client = browser_as("agent")
    response = client.get(reverse("web:order_detail", args=[shop["old"].pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "智能水壶" in html and "¥598.00" in html
    assert client.get(reverse("web:order_detail", args=[shop["east"].pk])).status_code == 200  # decision 0008
    assert browser_as("east_rep").get(reverse("web:order_detail", args=[shop["east"].pk])).status_code == 404


def test_order_list_queries_do_not_grow_with_rows(org, browser_as):
    client = browser_as("agent")
    customer = factories.customer("常客", owner=org.agent)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ORDERS).status_code == 200
        return len(queries)

    for _ in range(3):
        factories.order(customer)
    small = count_queries()
    for _ in range(20):
        factories.order(factories.customer(owner=org.agent))
    assert count_queries() == small


def test_interaction_list_filters_and_scope(org, browser_as):
    now = timezone.now()
    mine = factories.customer("张伟明", owner=org.agent)
    east = factories.customer("别的部门", owner=org.other_agent)
    factories.interaction(mine, subject="电话咨询", channel="phone", occurred_at=now - dt.timedelta(days=3))
    factories.interaction(mine, subject="微信回访", channel="wechat", journey_stage="loyalty")
    factories.interaction(east, subject="华东来信", channel="email", occurred_at=now - dt.timedelta(days=1))
    client = browser_as("agent")

    def subjects(params=None, **headers):
        response = client.get(INTERACTIONS, params or {}, **headers)
        assert response.status_code == 200
        return [interaction.subject for interaction in response.context["page"].items]

    assert subjects() == ["微信回访", "华东来信", "电话咨询"]  # Sales East's too: decision 0008
    assert subjects({"channel": "phone"}) == ["电话咨询"]
    assert subjects({"journey_stage": "loyalty", "touchpoint": ""}) == ["微信回访"]
    assert subjects({"to": timezone.localtime(now - dt.timedelta(days=3)).date().isoformat()}) == ["电话咨询"]
    assert subjects({"customer_id": mine.pk}) == ["微信回访", "电话咨询"]
    assert subjects({"customer_id": east.pk}) == ["华东来信"]
    rep = browser_as("east_rep")
    assert rep.get(INTERACTIONS, {"customer_id": east.pk}).status_code == 400  # out of scope: not listed
    assert rep.get(INTERACTIONS).context["page"].items == []
    assert client.get(INTERACTIONS, {"channel": "pigeon"}).status_code == 400
    fragment = client.get(INTERACTIONS, {"channel": "wechat"}, **htmx("list-results")).content.decode()
    assert "<html" not in fragment and "微信回访" in fragment


@pytest.mark.parametrize(("url", "label"), [(ORDERS, "Show more orders"), (INTERACTIONS, "Show more")])
def test_long_lists_end_in_a_show_more_row_that_loads_the_next_page(org, browser_as, url, label):
    customer = factories.customer("翻页客户", owner=org.agent)
    for day in range(27):  # the pages show 25 rows a page
        factories.order(customer, placed_at=timezone.now() - dt.timedelta(days=day))
        factories.interaction(customer, user=org.agent, occurred_at=timezone.now() - dt.timedelta(days=day))
    client = browser_as("agent")
    first = client.get(url)
    html = first.content.decode()
    assert 'id="more-row"' in html and label in html
    cursor = first.context["page"].next_cursor
    rest = client.get(url, {"cursor": cursor}, **htmx("more-row"))
    assert rest.status_code == 200
    assert 'id="more-row"' not in rest.content.decode()
    assert len(rest.context["page"].items) == 2
