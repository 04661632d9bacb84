"""The value and segment API: what each persona may see and do, and bad input answered 4xx."""

from __future__ import annotations

import pytest

from loopcrm.value import services
from loopcrm.value.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(org, shop):
    services.recompute_all(at=shop.at)
    return shop


def test_customer_value(api_as, computed):
    response = api_as("agent").get(f"value/customers/{computed.loyal.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["tier"] == "high" and body["segment"] == "champions"
    assert (body["r_score"], body["f_score"], body["m_score"]) == (5, 5, 5)
    assert body["stage"] in {"active", "new", "won_back"} and 0 < body["p_alive"] <= 1
    assert body["monetary"] == "1820.00"


def test_customer_value_before_any_recompute(api_as, shop):
    body = api_as("admin").get(f"value/customers/{shop.loyal.pk}").json()
    assert body == {**body, "customer_id": shop.loyal.pk, "computed_at": None, "tier": ""}


@pytest.mark.parametrize("customer_id", ["0", "999999999", "99999999999999999999", "abc"])
def test_customer_value_of_no_customer(api_as, computed, customer_id):
    assert api_as("admin").get(f"value/customers/{customer_id}").status_code in (404, 422)


def test_customer_value_outside_the_scope_is_404(api_as, computed):
    # The lapsed customer belongs to Sales East; the sales rep of another team cannot see it.
    assert api_as("east_rep").get(f"value/customers/{computed.lapsed.pk}").status_code == 404
    # The Service agent can: agents see every customer (decision 0008).
    assert api_as("agent").get(f"value/customers/{computed.lapsed.pk}").status_code == 200


def test_summary(api_as, computed):
    body = api_as("exec").get("value/summary").json()
    assert body["customers"] == 18
    assert set(body["tiers"]) == {"high", "medium", "low"}
    assert len(body["rfm_grid"]) == 5 and all(len(row) == 5 for row in body["rfm_grid"])
    assert len(body["cohorts"]) == 12 and len(body["churn"]) == 12
    assert "bgnbd" in body["parameters"]


def test_recommendations(api_as, computed):
    body = api_as("agent").get(f"value/recommendations/{computed.fresh.pk}").json()
    assert body[0]["product_id"] == computed.products["longjing"].pk
    assert body[0]["because_of_product_id"] == computed.products["cup"].pk
    assert api_as("agent").get(f"value/recommendations/{computed.lapsed.pk}").status_code == 200  # decision 0008
    assert api_as("east_rep").get(f"value/recommendations/{computed.lapsed.pk}").status_code == 404


def test_recompute_needs_change_permission(api_as, computed):
    denied = api_as("agent").post("value/recompute")
    assert denied.status_code == 403
    accepted = api_as("admin").post("value/recompute")
    assert accepted.status_code == 202
    assert accepted.json()["status"] in {"SUCCEEDED", "READY", "RUNNING", "SUCCESSFUL"}


def test_segment_crud_count_members_and_preview(api_as, org, computed):
    admin = api_as("admin")
    rule = {"field": "stage", "op": "in", "value": ["prospect", "new"]}
    created = admin.post("segments", json={"name": "新客与潜在客户", "rule": rule})
    assert created.status_code == 201, created.content
    segment = created.json()
    assert created["Location"] == f"/api/v1/segments/{segment['id']}"
    # The prospect, the cancelled-only customer, the fresh buyer and one new customer among the others.
    assert admin.get(f"segments/{segment['id']}/count").json() == {"count": 4}
    page = admin.get(f"segments/{segment['id']}/members", limit=3).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = admin.get(f"segments/{segment['id']}/members", limit=3, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert admin.post("segments/preview", json={"rule": {"field": "tier", "op": "eq", "value": "high"}}).json()[
        "count"] >= 1
    listed = admin.get("segments").json()
    assert [item["id"] for item in listed["items"]] == [segment["id"]]

    patched = admin.patch(f"segments/{segment['id']}", json={"version": 1, "name": "Renamed"})
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = admin.patch(f"segments/{segment['id']}", json={"version": 1, "name": "Again"})
    assert stale.status_code == 409
    assert admin.delete(f"segments/{segment['id']}").status_code == 204
    assert admin.get(f"segments/{segment['id']}").status_code == 404


def test_segment_permissions(api_as, org, computed):
    segment = services.create_segment(by=org.admin, name="All", rule={"all": []})
    # Agents have no segment access at all: a segment is as good as missing.
    assert api_as("agent").get(f"segments/{segment.pk}").status_code == 404
    assert api_as("agent").post("segments/preview", json={"rule": {"all": []}}).status_code == 403
    assert api_as("agent").post("segments", json={"name": "x", "rule": {"all": []}}).status_code == 403
    # The executive may look but not change.
    assert api_as("exec").get(f"segments/{segment.pk}/count").json() == {"count": 18}
    assert api_as("exec").patch(f"segments/{segment.pk}", json={"version": 1, "name": "x"}).status_code == 403
    assert api_as("exec").delete(f"segments/{segment.pk}").status_code == 403
    assert Segment.objects.get().name == "All"
    # A team lead sees every customer among the members (decision 0008); a sales rep only their team's,
    # and 陈刚's team owns none of them.
    assert api_as("lead").get(f"segments/{segment.pk}/count").json()["count"] == 18
    assert api_as("east_rep").get(f"segments/{segment.pk}/count").json()["count"] == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x"}, "rule"),
    ({"name": "", "rule": {"all": []}}, "name"),
    ({"name": "x\u0000", "rule": {"all": []}}, "name"),
    ({"name": "x", "rule": {"all": []}, "colour": "red"}, "colour"),
    ({"name": "x", "rule": {"field": "tier", "op": "eq", "value": "gold"}}, "rule.value"),
    ({"name": "x", "rule": {"field": "nope", "op": "eq", "value": 1}}, "rule.field"),
    ({"name": "x", "rule": "tier=high"}, "rule"),
])
def test_bad_segments_get_422_naming_the_field(api_as, computed, body, field):
    response = api_as("admin").post("segments", json=body)
    assert response.status_code == 422, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not Segment.objects.exists()


def test_bad_cursor_is_400(api_as, org, computed):
    segment = services.create_segment(by=org.admin, name="All", rule={"all": []})
    assert api_as("admin").get(f"segments/{segment.pk}/members", cursor="bm9wZQ").status_code == 400


@pytest.mark.parametrize("rule", [{"field": "p_alive", "op": "between", "value": [0.9, 0.1]}, {"all": [1]},
                                  {"field": "bought_category", "op": "in_last_days", "value": {"category": "x"}}])
def test_preview_of_a_bad_rule_is_422(api_as, computed, rule):
    response = api_as("admin").post("segments/preview", json={"rule": rule})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("rule")
