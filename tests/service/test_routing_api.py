"""The routing-rules API: the table read by anyone who may see service configuration, written by those who
may change it; bad input of each kind answers 422 naming the field, and nothing is written."""

from __future__ import annotations

import copy

import pytest

from loopcrm.accounts.models import Role
from loopcrm.accounts.permissions import DEFAULT_SCOPES, Scope
from loopcrm.customers.models import Tag
from loopcrm.service.models import RoutingRule
from loopcrm.service.services import routing
from tests import factories
from tests.service.test_processes_helpers import category, queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def general(org):
    return queue("General 综合", department=org.service, members=[org.agent])


def test_an_admin_builds_the_routing_table(api_as, org, general):
    admin = api_as("admin")
    late = category("Late delivery")
    vip_tag = Tag.objects.create(name="vip-corp")
    created = admin.post("routing-rules", {
        "name": "Late deliveries 延迟配送", "kinds": ["complaint"], "category_id": late.pk, "channels": ["email"],
        "priorities": [3, 4], "customer_vip": True, "customer_tiers": ["high"], "customer_tag_id": vip_tag.pk,
        "provinces": ["江苏省"], "keywords": ["late", "迟到"], "queue_id": general.pk, "set_priority": 4,
    })
    assert created.status_code == 201, created.json()
    body = created.json()
    assert created["Location"] == f"/api/v1/routing-rules/{body['id']}"
    assert (body["position"], body["queue_id"], body["customer_tag_id"], body["keywords"]) == \
        (1, general.pk, vip_tag.pk, ["late", "迟到"])
    second = admin.post("routing-rules", {"name": "Everything else", "department_id": org.service.pk}).json()
    first = admin.post("routing-rules", {"name": "First", "queue_id": general.pk, "position": 1}).json()

    listed = admin.get("routing-rules").json()
    assert [rule["name"] for rule in listed["items"]] == ["First", "Late deliveries 延迟配送", "Everything else"]

    reordered = admin.post("routing-rules/reorder", {"order": [second["id"], body["id"], first["id"]]})
    assert [rule["name"] for rule in reordered.json()] == ["Everything else", "Late deliveries 延迟配送", "First"]

    changed = admin.patch(f"routing-rules/{body['id']}", {"is_active": False, "category_id": None})
    assert (changed.json()["is_active"], changed.json()["category_id"]) == (False, None)
    assert admin.get(f"routing-rules/{body['id']}").json()["is_active"] is False

    assert admin.delete(f"routing-rules/{first['id']}").status_code == 204
    assert admin.get(f"routing-rules/{first['id']}").status_code == 404


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x\x00y"}, "name"),
    ({"kinds": ["gossip"]}, "kinds"),
    ({"channels": ["pigeon"]}, "channels"),
    ({"priorities": [5]}, "priorities"),
    ({"priorities": ["3"]}, "priorities"),
    ({"customer_vip": "yes"}, "customer_vip"),
    ({"customer_tiers": ["gold"]}, "customer_tiers"),
    ({"keywords": ["x" * 101]}, "keywords"),
    ({"keywords": ["k"] * 51}, "keywords"),
    ({"category_id": 999_999}, "category_id"),
    ({"customer_tag_id": 999_999}, "customer_tag_id"),
    ({"queue_id": 2**63}, "queue_id"),
    ({"queue_id": 999_999}, "queue_id"),
    ({"department_id": "1"}, "department_id"),
    ({"sla_policy_id": 999_999}, "sla_policy_id"),
    ({"set_priority": 0}, "set_priority"),
    ({"colour": "red"}, "colour"),
    ({"queue_id": None}, "queue"),  # a rule that does nothing
])
def test_bad_rules_answer_422_on_the_field(api_as, general, payload, field):
    body = {"name": "A rule", "queue_id": general.pk, **payload}
    answer = api_as("admin").post("routing-rules", body)
    assert answer.status_code == 422, answer.json()
    assert field in str([error.get("field", error.get("loc")) for error in answer.json()["errors"]])
    assert not RoutingRule.objects.exists()


def test_reorder_must_name_every_rule_once(api_as, org, general):
    a = routing.create_rule(by=org.admin, name="a", queue=general)
    b = routing.create_rule(by=org.admin, name="b", queue=general)
    admin = api_as("admin")
    for order in ([a.pk], [a.pk, a.pk], [b.pk, a.pk, 12345], ["1"]):
        assert admin.post("routing-rules/reorder", {"order": order}).status_code == 422
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["a", "b"]


def test_a_patch_cannot_null_a_required_field(api_as, org, general):
    rule = routing.create_rule(by=org.admin, name="a", queue=general)
    answer = api_as("admin").patch(f"routing-rules/{rule.pk}", {"name": None})
    assert answer.status_code == 422
    assert RoutingRule.objects.get(pk=rule.pk).name == "a"


@pytest.mark.parametrize(("persona", "read", "write"), [
    ("admin", 200, 201),
    ("lead", 200, 403),
    ("agent", 200, 403),
    ("exec", 200, 403),
    ("sales", 404, 404),
])
def test_permission_matrix(api_as, org, general, persona, read, write):
    from tests.conftest import ApiClient

    rule = routing.create_rule(by=org.admin, name="a", queue=general)
    client = ApiClient(factories.user("sales1", role="sales", department=org.sales_east)) if persona == "sales" \
        else api_as(persona)
    listing = client.get("routing-rules")
    assert listing.status_code == 200
    assert len(listing.json()["items"]) == (1 if read == 200 else 0)
    assert client.get(f"routing-rules/{rule.pk}").status_code == read
    assert client.post("routing-rules", {"name": "b", "queue_id": general.pk}).status_code == write
    if write != 201:
        assert client.patch(f"routing-rules/{rule.pk}", {"name": "changed"}).status_code == write
        assert client.delete(f"routing-rules/{rule.pk}").status_code == write
        assert client.post("routing-rules/reorder", {"order": [rule.pk]}).status_code == write
        assert list(RoutingRule.objects.values_list("name", flat=True)) == ["a"]


def test_anonymous_gets_401(general):
    from tests.conftest import ApiClient

    assert ApiClient(None).get("routing-rules").status_code == 401


def test_preview_says_what_routing_would_do_and_changes_nothing(api_as, org, general, settings):
    general.strategy = "round_robin"
    general.save()
    routing.create_rule(by=org.admin, name="Refunds", keywords=["退款"], queue=general, set_priority=3)
    vip = factories.customer("王总", is_vip=True, owner=org.lead, department=org.service)
    answer = api_as("lead").post("routing-rules/preview", {"customer_id": vip.pk, "subject": "申请退款",
                                                           "kind": "return"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["queue_id"], body["priority"], body["assignee_id"]) == (general.pk, 4, org.lead.pk)
    assert body["reasons"][0] == "Rule “Refunds” matched (keyword=退款)."
    general.refresh_from_db()
    assert general.last_assigned_id is None
    assert api_as("admin").post("routing-rules/preview", {"customer_id": 999_999, "subject": "x"}).status_code \
        == 404
    assert api_as("admin").post("routing-rules/preview", {"customer_id": vip.pk, "subject": ""}).status_code == 422
    outsider = factories.customer("陈", owner=org.other_agent, department=org.sales_east)
    preview_outsider = {"customer_id": outsider.pk, "subject": "x"}
    # Every agent sees every customer (decision 0008), another department's too...
    assert api_as("agent").post("routing-rules/preview", preview_outsider).status_code == 200
    # ...unless the installation keeps agents to their department's customers: then it is out of sight.
    settings.LOOPCRM_SCOPES = copy.deepcopy(DEFAULT_SCOPES)
    settings.LOOPCRM_SCOPES[Role.AGENT]["customer"]["view"] = Scope.DEPARTMENT
    assert api_as("agent").post("routing-rules/preview", preview_outsider).status_code == 404
