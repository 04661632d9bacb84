"""The customer list: search, filters and sort parsed like the API's, paging, and htmx fragments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loopcrm.customers.models import Tag
from tests import factories
from tests.web.conftest import htmx

pytestmark = pytest.mark.django_db

LIST = reverse("web:customer_list")


def names(response) -> list[str]:
    return [customer.name for customer in response.context["page"].items]


@pytest.fixture
def book(org):
    """Customers of the Service department and one of Sales East: the agent sees all four (decision 0008)."""
    vip = factories.customer("张伟明", owner=org.agent, is_vip=True, province="上海市", city="上海市",
                             source_channel="wechat")
    org_customer = factories.customer("云帆贸易", owner=org.lead, kind="organisation", province="浙江省", city="杭州市",
                                      source_channel="partner")
    plain = factories.customer("李娜", owner=org.agent, province="北京市", city="北京市")
    hidden = factories.customer("张伟", owner=org.other_agent)
    tag = Tag.objects.create(name="回头客")
    plain.tags.add(tag)
    return {"vip": vip, "org": org_customer, "plain": plain, "hidden": hidden}


def test_agent_sees_every_customer_and_a_sales_rep_only_their_teams(book, browser_as):
    response = browser_as("agent").get(LIST)
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(["张伟明", "云帆贸易", "李娜", "张伟"])
    response = browser_as("east_rep").get(LIST)
    assert response.status_code == 200 and names(response) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "张伟"}, ["张伟", "张伟明"]),  # two characters of a Chinese name; Sales East's 张伟 too
        ({"kind": "organisation"}, ["云帆贸易"]),
        ({"province": "浙江省"}, ["云帆贸易"]),
        ({"city": "北京市"}, ["李娜"]),
        ({"tag": "回头客"}, ["李娜"]),
        ({"is_vip": "true"}, ["张伟明"]),
        ({"source_channel": "partner"}, ["云帆贸易"]),
        ({"q": "", "kind": "", "is_vip": ""}, ["张伟", "李娜", "云帆贸易", "张伟明"]),  # an HTML form's empty fields
    ],
)
def test_filters_narrow_the_list(book, browser_as, params, expected):
    response = browser_as("agent").get(LIST, params)
    assert response.status_code == 200
    assert names(response) == expected


def test_owner_filter(book, org, browser_as):
    response = browser_as("agent").get(LIST, {"owner_id": org.lead.pk})
    assert names(response) == ["云帆贸易"]


def test_sort_by_name_and_a_sort_outside_the_allow_list_is_refused(book, browser_as):
    client = browser_as("agent")
    assert names(client.get(LIST, {"sort": "-id"})) == ["张伟", "李娜", "云帆贸易", "张伟明"]
    assert client.get(LIST, {"sort": "name"}).status_code == 200
    response = client.get(LIST, {"sort": "phone"})
    assert response.status_code == 400
    assert response.context["problem"] and response.context["page"] is None


def test_a_filter_value_that_does_not_parse_is_a_400_with_a_message(book, browser_as):
    response = browser_as("agent").get(LIST, {"kind": "alien", "is_vip": "perhaps"})
    assert response.status_code == 400
    assert "kind" in response.context["problem"].lower() or "类型" in response.context["problem"]


def test_live_search_answers_with_the_results_fragment_only(book, browser_as):
    response = browser_as("agent").get(LIST, {"q": "李娜", "kind": ""}, **htmx("customer-results"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<nav" not in html and 'id="customer-results"' not in html
    assert "李娜" in html and "张伟明" not in html
    # The address bar shows the search, without the empty fields of the form.
    assert response["HX-Push-Url"] == f"{LIST}?q=%E6%9D%8E%E5%A8%9C"
    assert "HX-Request" in response["Vary"]


def test_pages_follow_the_cursor_and_the_more_button_fetches_rows_only(org, browser_as):
    for n in range(30):
        factories.customer(f"客户{n:02d}", owner=org.agent)
    client = browser_as("agent")
    first = client.get(LIST)
    assert len(first.context["page"].items) == 25
    cursor = first.context["page"].next_cursor
    assert cursor and 'id="more-row"' in first.content.decode()
    more = client.get(LIST, {"cursor": cursor}, **htmx("more-row"))
    html = more.content.decode()
    assert more.status_code == 200 and "<table" not in html and html.count("<tr") == 5
    assert 'id="more-row"' not in html
    assert client.get(LIST, {"cursor": "garbage"}).status_code == 400


def test_list_page_costs_the_same_number_of_queries_for_3_or_30_customers(org, browser_as):
    client = browser_as("agent")
    tag = Tag.objects.create(name="老客户")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    for n in range(3):
        factories.customer(f"甲{n}", owner=org.agent).tags.add(tag)
    small = count_queries()
    for n in range(27):
        factories.customer(f"乙{n}", owner=org.lead).tags.add(tag)
    assert count_queries() == small
    assert small <= 8


def test_names_that_look_like_html_are_shown_as_text(org, browser_as):
    factories.customer("<script>alert(1)</script>", owner=org.agent, city='"><img src=x onerror=alert(2)>')
    Tag.objects.create(name="<b>bold</b>", color="red;}a{").customers.add(
        *org.agent.owned_customers.all()
    )
    client = browser_as("agent")
    for response in (client.get(LIST), client.get(LIST, {"q": "script"}, **htmx("customer-results"))):
        html = response.content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html and "<b>bold</b>" not in html
        assert "red;}a{" not in html  # a stored colour never reaches a style attribute unchecked
