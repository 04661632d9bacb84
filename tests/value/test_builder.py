"""The segment builder offers, per field, the operators the compiler accepts and the values it knows, so a user
picks a tier, a category, an owner or a department by name instead of typing a code or an id."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from loopcrm.value import choices, services
from loopcrm.value.forms import SegmentForm
from loopcrm.value.segments import FIELDS
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.login(username=user.username, password=factories.PASSWORD)
    return client


def options_of(html: str, name: str) -> list[str]:
    """The option values of the select called `name` in `html`."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def row(client: Client, index: int, trigger: str, **params) -> tuple[int, str, dict]:
    response = client.get("/segments/row/", {"row": index, **params},
                          headers={"HX-Request": "true", "HX-Trigger-Name": trigger})
    return response.status_code, response.content.decode(), response.headers


def test_every_field_offers_exactly_the_operators_the_compiler_accepts(org, shop):
    for name, spec in FIELDS.items():
        form = SegmentForm(initial={"field_0": name})
        assert [value for value, _label in form.fields["op_0"].choices] == list(spec.ops)


def test_known_values_are_offered_by_name(org, shop):
    tiers = dict(choices.field_options("tier").values)
    assert choices.field_options("tier").closed and tiers["high"] == "High value"
    categories = dict(choices.field_options("bought_category").values)
    assert categories["green-tea"] == "Green tea 绿茶 (green-tea)"
    owners = dict(choices.field_options("owner_id").values)
    assert owners[str(org.lead.pk)] == "李娜"
    assert str(org.agent.department_id) in dict(choices.field_options("department_id").values)
    cities = choices.field_options("city")
    assert not cities.closed and ("杭州市", "杭州市") in cities.values  # a suggestion: other cities may be typed
    assert ("wholesale", "wholesale") in choices.field_options("tag").values
    assert [value for value, _label in choices.field_options("r_score").values] == ["1", "2", "3", "4", "5"]
    assert choices.field_options("clv") == choices.FieldOptions()  # a number: typed


def test_choosing_a_field_redraws_its_row_with_its_operators_and_values(org, shop):
    client = client_for(org.admin)
    status, html, headers = row(client, 2, "field_2", field_2="tier", op_2="in", value_2="old text")
    assert status == 200
    assert html.strip().startswith('<tr data-row="2" id="segment-row-2">')
    assert options_of(html, "op_2") == ["eq", "ne", "in", "not_in"]
    assert options_of(html, "value_2") == ["", "high", "medium", "low"]
    assert "old text" not in html and "multiple" not in html  # a new field starts afresh: first operator, no value
    assert headers["HX-Trigger-After-Settle"] == "segment-row-changed"  # the count follows

    # "is one of" turns the value into a multiple select that keeps what was chosen.
    status, html, _headers = row(client, 2, "op_2", field_2="tier", op_2="in", value_2="high")
    assert re.search(r'<select name="value_2"[^>]*multiple', html)
    assert re.search(r'<option value="high" selected>', html)

    # A purchase asks for the days; "ordered" needs nothing but them.
    _status, html, _headers = row(client, 0, "field_0", field_0="bought_category")
    assert 'name="days_0"' in html and "green-tea" in html
    _status, html, _headers = row(client, 0, "field_0", field_0="ordered")
    assert 'name="days_0"' in html and 'name="value_0"' not in html
    _status, html, _headers = row(client, 0, "field_0", field_0="tier")
    assert 'name="days_0"' not in html


def test_a_row_number_outside_the_builder_is_refused(org, shop):
    client = client_for(org.admin)
    for bad in ("9", "-1", "x", ""):
        status, html, _headers = row(client, bad, "field_0", field_0="tier")
        assert status == 400 and "No builder row" in html
    assert client_for(org.agent).get("/segments/row/", {"row": 0}).status_code == 403  # agents have no segments


def test_several_values_from_a_multiple_select_count_like_a_comma_list(org, shop):
    services.recompute_all(at=shop.at)
    client = client_for(org.admin)
    base = {"match": "all", "field_0": "stage", "op_0": "in"}
    as_list = client.post("/segments/preview/", {**base, "value_0": ["new", "active"]}, headers={"HX-Request": "true"})
    as_text = client.post("/segments/preview/", {**base, "value_0": "new, active"}, headers={"HX-Request": "true"})
    count = re.search(r"data-count>(\d+)<", as_list.content.decode())
    assert count and count.group(1) == re.search(r"data-count>(\d+)<", as_text.content.decode()).group(1)


def test_a_saved_segment_shows_its_rows_with_their_values_chosen(org, shop):
    services.recompute_all(at=shop.at)
    client = client_for(org.admin)
    saved = client.post("/segments/new/", {"name": "活跃或新客", "match": "all", "field_0": "stage", "op_0": "in",
                                           "value_0": ["new", "active"], "field_1": "bought_category",
                                           "op_1": "in_last_days", "value_1": "tea", "days_1": "90"})
    assert saved.status_code == 302
    html = client.get(saved.url).content.decode()
    assert re.search(r'<option value="new" selected>', html) and re.search(r'<option value="active" selected>', html)
    assert re.search(r'<option value="tea" selected>', html)
    assert 'name="days_1" value="90"' in html


def test_counting_a_rule_reads_no_suggestions(org, shop):
    """The live count runs on every keystroke: it parses the rows and never reads the values a row offers (a
    DISTINCT over every customer's city, the users, the tags)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(org.admin)
    form = {"match": "all", "field_0": "city", "op_0": "eq", "value_0": "杭州市",
            "field_1": "owner_id", "op_1": "eq", "value_1": str(org.agent.pk), "field_2": "tag", "op_2": "has",
            "value_2": "wholesale"}
    with CaptureQueriesContext(connection) as counted:
        preview = client.post("/segments/preview/", form, headers={"HX-Request": "true"})
    assert "data-count" in preview.content.decode()
    queries = [query["sql"] for query in counted.captured_queries]
    assert not [sql for sql in queries if "DISTINCT" in sql]  # no city suggestions
    assert not [sql for sql in queries if "ORDER BY" in sql and ("accounts_user" in sql or "customers_tag" in sql)]
    # Drawing the row does offer them.
    _status, html, _headers = row(client, 0, "op_0", field_0="city", op_0="eq", value_0="杭州市")
    assert 'id="segment-values-0"' in html and '<option value="杭州市">' in html
