"""Bad input answers a clear problem+json error naming what is wrong, and changes nothing."""

from __future__ import annotations

import json

import pytest

from loopcrm.customers.models import Customer
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db

HUGE_ID = 2**64 + 7


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        ({"name": "张伟", "phone": "95588"}, "phone", "short service number"),
        ({"name": "张伟", "phone": "1.38001E+10"}, "phone", "scientific notation"),
        ({"name": "张伟", "phone": "12345678"}, "phone", "area code"),
        ({"name": "张伟", "email": "zhang@@example.com"}, "email", "more than one @"),
        ({"name": "张伟", "email": "zhang@exаmple.com"}, "email", "mixes alphabets"),
        ({"name": "张伟", "country": "ZZ"}, "country", "ISO 3166"),
        ({"name": "张\x00伟"}, "name", "NUL"),
        ({"name": "张伟", "notes": "a\x00b"}, "notes", "NUL"),
        ({"name": "张伟", "phone": "138\x0000138000"}, "phone", "NUL"),
        ({"name": "张伟", "naem": "x"}, "naem", "Extra inputs are not permitted"),
        ({"name": "张伟", "owner": 1}, "owner", "Extra inputs are not permitted"),
        ({"name": 12345}, "name", "valid string"),
        ({"name": "张伟", "is_vip": "yes"}, "is_vip", "valid boolean"),
        ({"name": "张伟", "owner_id": "5"}, "owner_id", "valid integer"),
        ({"name": "张伟", "owner_id": HUGE_ID}, "owner_id", "less than or equal"),
        ({"name": "张伟", "tags": "VIP"}, "tags", "valid list"),
        ({"name": "张伟", "birthday": "1990-13-45"}, "birthday", "date"),
        ({"name": "张伟", "kind": "robot"}, "kind", "person"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"name": "名" * 201}, "name", "at most 200 characters"),
        ({"name": "张伟", "tags": ["x"] * 51}, "tags", "at most 50 items"),
        ({}, "name", "Field required"),
    ],
)
def test_bad_customer_input_is_422_naming_the_field(api_as, org, payload, field, says):
    agent = api_as("agent")
    before = state()
    body = problem(agent.post("customers", json=payload), 422)
    assert body["errors"][0]["field"] == field
    assert says in body["errors"][0]["message"]
    assert state() == before


def test_a_malformed_phone_names_the_value_in_the_message(api_as, org):
    body = problem(api_as("agent").post("customers", json={"name": "张伟", "phone": "call me"}), 422)
    assert "'call me'" in body["detail"]


def test_a_body_over_two_mebibytes_is_413(api_as, org):
    agent = api_as("agent")
    before = state()
    raw = json.dumps({"name": "张伟", "notes": "x" * (2 * 1024 * 1024 + 1)})
    response = agent.client.post("/api/v1/customers", data=raw, content_type="application/json",
                                 headers=agent.headers)
    body = problem(response, 413)
    assert "2 MiB" in body["detail"]
    assert state() == before


def test_broken_json_is_a_clear_client_error(api_as, org):
    agent = api_as("agent")
    before = state()
    response = agent.client.post("/api/v1/customers", data='{"name": "张伟",', content_type="application/json",
                                 headers=agent.headers)
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"
    assert state() == before


def test_script_in_a_name_is_stored_verbatim_and_served_as_json(api_as, org):
    name = '<script>alert("x")</script>'
    response = api_as("agent").post("customers", json={"name": name})
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["name"] == name
    assert Customer.objects.get().name == name


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("customer_id", [HUGE_ID, 2**63, 0, -1])
def test_ids_beyond_64_bits_or_below_one_are_404_not_500(api_as, org, agents_customer, method, customer_id):
    agent = api_as("admin")
    before = state()
    kwargs = {"json": {"version": 1, "name": "x"}} if method == "patch" else {}
    body = problem(getattr(agent, method)(f"customers/{customer_id}", **kwargs), 404)
    assert body["errors"][0]["field"] == "customer_id"
    assert state() == before


def test_nested_ids_beyond_64_bits_are_404(api_as, org, acme):
    admin = api_as("admin")
    problem(admin.patch(f"customers/{acme.pk}/contacts/{HUGE_ID}", json={"name": "x"}), 404)
    problem(admin.get(f"customers/{HUGE_ID}/contacts"), 404)
    problem(admin.post("customers/merge", json={"keep_id": acme.pk, "duplicate_id": 2**63 - 1}), 404)


def test_a_non_numeric_id_is_422(api_as, org):
    problem(api_as("agent").get("customers/abc"), 422)


def test_limit_is_capped_not_obeyed(api_as, org, agents_customer):
    response = api_as("agent").get("customers", limit=1_000_000)
    assert response.status_code == 200
    assert response.json()["limit"] == 200


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"sort": "phone"}, 400, "sort"),
        ({"sort": "-notes"}, 400, "sort"),
        ({"cursor": "not-a-cursor"}, 400, "cursor"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": "many"}, 422, "limit"),
        ({"kind": "robot"}, 422, "kind"),
        ({"department_id": HUGE_ID}, 422, "department_id"),
        ({"q": "x" * 101}, 422, "q"),
        ({"province": "上海\x00"}, 422, "province"),
    ],
)
def test_bad_list_parameters(api_as, org, params, status, field):
    body = problem(api_as("agent").get("customers", **params), status)
    assert body["errors"][0]["field"] == field


def test_a_cursor_of_another_sort_is_refused(api_as, org):
    agent = api_as("agent")
    for i in range(3):
        agent.post("customers", json={"name": f"客户{i}"})
    cursor = agent.get("customers", limit=1, sort="name").json()["next_cursor"]
    problem(agent.get("customers", limit=1, sort="-id", cursor=cursor), 400)


def test_search_wildcards_are_literal(api_as, org):
    agent = api_as("agent")
    agent.post("customers", json={"name": "100%纯"})
    agent.post("customers", json={"name": "张伟"})
    assert [c["name"] for c in agent.get("customers", q="0%").json()["items"]] == ["100%纯"]
    assert agent.get("customers", q="张_").json()["items"] == []
    assert agent.get("customers", q="%%").json()["items"] == []


@pytest.mark.parametrize(
    ("payload", "headers", "field"),
    [
        ({"city": "x"}, {}, "version"),
        ({"city": "x"}, {"If-Match": "*"}, "If-Match"),
        ({"city": "x"}, {"If-Match": "yesterday"}, "If-Match"),
        ({"city": "x", "version": 1}, {"If-Match": '"2"'}, "version"),
        ({"city": "x", "version": "1"}, {}, "version"),
        ({"city": "x", "version": 0}, {}, "version"),
        ({"version": 1, "merged_into_id": 3}, {}, "merged_into_id"),
        ({"version": 1, "phone": "95588"}, {}, "phone"),
        ({"version": 1, "name": None}, {}, "name"),
        ({"version": 1, "is_vip": None}, {}, "is_vip"),
    ],
)
def test_bad_patches_are_422_and_change_nothing(api_as, org, agents_customer, payload, headers, field):
    agent = api_as("agent")
    before = state()
    body = problem(agent.patch(f"customers/{agents_customer.pk}", json=payload, headers=headers), 422)
    assert body["errors"][0]["field"] == field
    assert state() == before


def test_bad_merge_input(api_as, org, agents_customer, acme):
    admin = api_as("admin")
    before = state()
    body = problem(admin.post("customers/merge", json={"keep_id": acme.pk, "duplicate_id": acme.pk}), 422)
    assert body["errors"][0]["field"] == "duplicate_id"
    body = problem(admin.post("customers/merge", json={"keep_id": acme.pk, "duplicate_id": agents_customer.pk}), 422)
    assert "same kind" in body["detail"]
    problem(admin.post("customers/merge", json={"keep_id": acme.pk}), 422)
    assert state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel": "pigeon", "purpose": "marketing", "status": "granted"}, "channel"),
        ({"channel": "sms", "purpose": "marketing", "status": "maybe"}, "status"),
        ({"channel": "sms", "purpose": "marketing", "status": "granted", "note": "a\x00"}, "note"),
        ({"channel": "sms", "purpose": "marketing", "status": "granted", "extra": 1}, "extra"),
        ({"channel": "sms", "purpose": "marketing", "status": "granted", "at": "yesterday"}, "at"),
    ],
)
def test_bad_consent_input(api_as, org, agents_customer, payload, field):
    agent = api_as("agent")
    before = state()
    body = problem(agent.post(f"customers/{agents_customer.pk}/consents", json=payload), 422)
    assert body["errors"][0]["field"] == field
    assert state() == before
