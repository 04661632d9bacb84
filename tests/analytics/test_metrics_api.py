"""The metric registry through the API: catalogue, series with cuts, totals, the dashboard, and refusals."""

from __future__ import annotations

import pytest

from loopcrm.accounts.models import Role
from tests import factories
from tests.analytics.registry_data import build_desk
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db
WEEK = {"start": "2026-03-02", "end": "2026-03-08"}


@pytest.fixture
def desk(org):
    return build_desk(org)


def test_the_catalogue_lists_every_metric_with_its_facts(api_as):
    response = api_as("exec").get("metrics")
    assert response.status_code == 200
    by_key = {m["key"]: m for m in response.json()}
    assert by_key["first_response_minutes"] == {
        "key": "first_response_minutes", "name": "First response time", "description": by_key[
            "first_response_minutes"]["description"], "unit": "min", "better": "lower", "kind": "duration",
        "dimensions": ["department", "team", "agent", "category", "kind", "channel", "customer_tier", "region"]}
    assert api_as("exec").get("metrics/csat").json()["kind"] == "rate"


def test_series_by_day_with_the_gap_and_a_cut_by_agent(api_as, desk, org):
    response = api_as("admin").get("metrics/ticket_volume/series", **WEEK, by="agent")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [p["value"] for p in body["points"]] == [2, 0, 2, 0, 0, 0, 0]
    assert body["grain"] == "day" and body["points"][1]["start"] == "2026-03-03"
    assert {c["label"]: c["total"]["value"] for c in body["cuts"]} == {"王芳": 2, "Tom Baker": 2}
    weekly = api_as("admin").get("metrics/first_response_minutes/series", **WEEK, grain="week",
                                 kind="complaint").json()
    assert [p["value"] for p in weekly["points"]] == [pytest.approx(75)]
    assert weekly["filters"] == {"kind": "complaint"}


def test_total_is_scoped_to_what_the_caller_may_see(api_as, desk, org):
    admin = api_as("admin").get("metrics/ticket_volume/total", **WEEK).json()
    assert admin["total"]["value"] == 4
    agent = api_as("agent").get("metrics/ticket_volume/total", **WEEK).json()
    assert agent["total"]["value"] == 2
    sla = api_as("exec").get("metrics/sla_attainment/total", **WEEK).json()["total"]
    assert (sla["numerator"], sla["denominator"], sla["value"]) == (2, 4, 50)


def test_the_dashboard_compares_with_the_period_before(api_as, desk):
    response = api_as("exec").get("metrics/dashboard", start="2026-03-04", end="2026-03-08")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["previous_start"], body["previous_end"]) == ("2026-02-27", "2026-03-03")
    kpis = {k["metric"]["key"]: k for k in body["kpis"]}
    assert len(kpis) == 8
    volume = kpis["ticket_volume"]
    assert (volume["current"]["value"], volume["previous"]["value"]) == (2, 2)
    assert volume["direction"] == "same" and [p["value"] for p in volume["points"]] == [2, 0, 0, 0, 0]
    response_time = kpis["first_response_minutes"]
    assert (response_time["current"]["value"], response_time["previous"]["value"]) == (pytest.approx(120),
                                                                                       pytest.approx(60))
    assert response_time["change"] == pytest.approx(60) and response_time["change_percent"] == pytest.approx(100)
    assert response_time["direction"] == "worse"  # lower is better
    nps = kpis["nps"]  # 4 Mar–8 Mar: 3 and 7 → −50; before: 10 and 9 → 100
    assert (nps["current"]["value"], nps["previous"]["value"], nps["direction"]) == (-50, 100, "worse")


def test_a_filter_a_kpi_cannot_take_is_reported_not_applied(api_as, desk):
    body = api_as("exec").get("metrics/dashboard", **WEEK, touchpoint="website").json()
    kpis = {k["metric"]["key"]: k for k in body["kpis"]}
    assert kpis["ticket_volume"]["ignored_filters"] == ["touchpoint"]
    assert kpis["ticket_volume"]["current"]["value"] == 4
    assert kpis["csat"]["ignored_filters"] == [] and kpis["csat"]["current"]["value"] is None


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("metrics/happiness/series", WEEK, 404, "key"),
    ("metrics/happiness", {}, 404, "key"),
    ("metrics/csat/series", {**WEEK, "grain": "hour"}, 422, "grain"),
    ("metrics/csat/series", {"start": "2026-02-30", "end": "2026-03-08"}, 422, "start"),
    ("metrics/csat/series", {"start": "2026-03-08", "end": "2026-03-01"}, 422, "end"),
    ("metrics/csat/series", {**WEEK, "by": "kind"}, 422, "by"),
    ("metrics/csat/series", {**WEEK, "kind": "complaint"}, 422, "filters.kind"),
    ("metrics/csat/total", {**WEEK, "agent": "abc"}, 422, "agent"),
    ("metrics/dashboard", {"start": "2024-01-01", "end": "2026-03-08"}, 422, "end"),
    ("metrics/csat/total", {"start": "9999-12-01", "end": "9999-12-31"}, 422, "start"),
    ("metrics/dashboard", {"start": "0001-01-01", "end": "0001-01-02"}, 422, "start"),
])
def test_bad_input_is_refused_naming_the_field(api_as, path, params, status, field):
    response = api_as("exec").get(path, **params)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_role_without_improvement_view_is_refused(org):
    seller = factories.user("seller", role=Role.SALES, department=org.sales_east)
    for path in ("metrics", "metrics/csat/series", "metrics/dashboard"):
        assert ApiClient(seller).get(path).status_code == 403
    assert ApiClient(None).get("metrics").status_code == 401
