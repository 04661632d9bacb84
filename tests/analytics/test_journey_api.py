"""GET /api/v1/journey: the hand-built journey as JSON, bad filters as problem details, roles."""

from __future__ import annotations

import pytest

from loopcrm.accounts.models import Role
from tests import factories
from tests.analytics.journey_data import WINDOW, build_journey

pytestmark = pytest.mark.django_db


def test_a_quality_manager_reads_the_map(org, api_as):
    build_journey(org)
    quality = factories.user("quality", role=Role.QUALITY_MANAGER, department=org.head)
    from tests.conftest import ApiClient

    response = ApiClient(quality).get("journey", **WINDOW)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customers"] == 3
    assert body["filters"] == {"start": "2026-01-01", "end": "2026-01-31"}
    assert [s["code"] for s in body["stages"]] == ["awareness", "consideration", "purchase", "delivery", "use",
                                                     "service", "loyalty"]
    assert body["stages"][0]["customers"] == 3 and body["stages"][0]["volume"] == 4
    cells = {(c["stage"], c["touchpoint"]): c for c in body["cells"]}
    delivery = cells[("delivery", "delivery")]
    assert (delivery["customers"], delivery["complaint_rate"], delivery["csat"], delivery["hours"]) == (2, 50.0, 100.0,
                                                                                                        36.0)
    assert cells[("service", "hotline")]["nps"] == -100.0 and cells[("service", "hotline")]["ces"] == 6.0
    drops = {d["stage"]: d for d in body["drop_offs"]}
    assert (drops["awareness"]["reached"], drops["awareness"]["dropped"]) == (3, 1)
    assert drops["consideration"]["rate"] is None
    assert {t["code"] for t in body["touchpoints"]} == {"website", "social", "email", "store", "delivery", "hotline",
                                                        "wechat"}


def test_filters_pass_through(org, api_as):
    build_journey(org)
    body = api_as("exec").get("journey", tier="high", **WINDOW).json()
    assert body["customers"] == 1 and body["filters"]["tier"] == "high"


def test_a_bad_filter_is_a_problem_naming_the_field(org, api_as):
    response = api_as("exec").get("journey", start="2026-02-30")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "start"


def test_roles_without_improvement_view_are_refused(org):
    from tests.conftest import ApiClient

    sales = factories.user("seller", role=Role.SALES, department=org.sales_east)
    assert ApiClient(sales).get("journey").status_code == 403
    assert ApiClient(None).get("journey").status_code == 401
