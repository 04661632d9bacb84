"""Control charts through the API: 赵敏 (quality manager) attaches a chart, reads it computed, acts on signals."""

from __future__ import annotations

import pytest
from django.core import mail

from loopcrm.improvement.models import ChartSignal, ControlChart
from tests.conftest import ApiClient
from tests.improvement import charts_support as data


@pytest.fixture
def zhao(org):
    return data.quality_manager(org)


@pytest.fixture
def api(zhao):
    return ApiClient(zhao)


def chart_body(**overrides):
    return {"name": "First response 首次响应", "metric_key": "first_response_minutes",
            "baseline_start": data.day(data.BASELINE[0]).isoformat(),
            "baseline_end": data.day(data.BASELINE[1]).isoformat(), "usl": 90, **overrides}


def test_create_read_list_update_delete(api, zhao):
    data.steady_then_shift()
    created = api.post("control-charts", chart_body())
    assert created.status_code == 201, created.content
    chart = created.json()
    assert chart["chart_type"] == "xmr" and chart["owner_id"] == zhao.pk
    assert chart["limits"]["center"] == pytest.approx(61, abs=1e-3)
    assert api.get(f"control-charts/{chart['id']}").json()["name"] == "First response 首次响应"
    listed = api.get("control-charts")
    assert [row["id"] for row in listed.json()["items"]] == [chart["id"]]
    changed = api.patch(f"control-charts/{chart['id']}", {"rule_set": "nelson", "name": "FRT"})
    assert changed.status_code == 200 and changed.json()["rule_set"] == "nelson"
    moved = api.patch(f"control-charts/{chart['id']}", {"baseline_start": data.day(-20).isoformat(),
                                                       "baseline_end": data.day(-1).isoformat()})
    assert moved.json()["limits"]["center"] > 61
    assert api.delete(f"control-charts/{chart['id']}").status_code == 204
    assert not ControlChart.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"metric_key": "nope"}, "metric_key"),
    ({"chart_type": "p"}, "chart_type"),
    ({"filters": {"touchpoint": "store"}}, "filters.touchpoint"),
    ({"owner_id": 999999}, "owner_id"),
    ({"colour": "red"}, "colour"),
    ({"usl": 10, "lsl": 20}, "lsl"),
])
def test_bad_input_is_a_problem_naming_the_field(api, body, field):
    data.steady_then_shift()
    response = api.post("control-charts", chart_body(**body))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert field in ({e.get("field") for e in problem.get("errors", [])} | {problem.get("field")})
    assert not ControlChart.objects.exists()


def test_the_computed_chart_and_acting_on_signals(api, zhao, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    chart_id = api.post("control-charts", chart_body()).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = api.post(f"control-charts/{chart_id}/evaluate")
    assert evaluation.status_code == 200 and evaluation.json()["new_signal_ids"]
    assert len(mail.outbox) == 1

    computed = api.get(f"control-charts/{chart_id}/computed").json()
    assert computed["unit"] == "min" and computed["chart_type"] == "xmr"
    last = computed["points"][-1]
    assert last["value"] == pytest.approx(100, abs=1e-3)
    assert last["zone"] == "out" and "WE1" in last["rules"]
    assert last["sigma"] == pytest.approx(2 / 1.128, abs=1e-3)
    assert computed["points"][0]["in_baseline"] is True
    assert computed["capability"]["cpk"] == pytest.approx((90 - 61) / (3 * 2 / 1.128), abs=1e-3)
    assert computed["secondary"][1]["center"] == pytest.approx(2, abs=1e-3)
    stored = [s for s in computed["signals"] if s["signal_id"]]
    assert stored and stored[0]["status"] == "new" and stored[0]["description"]

    signals = api.get(f"control-charts/{chart_id}/signals", open=True, limit=200).json()["items"]
    assert len(signals) == ChartSignal.objects.count()
    first = signals[0]["id"]
    acknowledged = api.post(f"control-charts/{chart_id}/signals/{first}/acknowledge")
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["status_changed_by_id"] == zhao.pk
    dismissed = api.post(f"control-charts/{chart_id}/signals/{first}/dismiss")
    assert dismissed.json()["status"] == "dismissed"
    again = api.post(f"control-charts/{chart_id}/signals/{first}/acknowledge")
    assert again.status_code == 409
    everywhere = api.get("control-charts/signals", status="dismissed").json()["items"]
    assert [s["id"] for s in everywhere] == [first]

    window = api.get(f"control-charts/{chart_id}/computed", start=data.day(-10).isoformat(),
                     end=data.day(-1).isoformat()).json()
    assert len(window["points"]) == 10


def test_permissions(api, org):
    data.steady_then_shift()
    chart_id = api.post("control-charts", chart_body()).json()["id"]
    api.post(f"control-charts/{chart_id}/evaluate")
    signal = ChartSignal.objects.first()
    agent = ApiClient(org.agent)
    assert agent.get(f"control-charts/{chart_id}").status_code == 200  # agents see charts
    assert agent.post("control-charts", chart_body()).status_code == 403
    assert agent.patch(f"control-charts/{chart_id}", {"name": "x"}).status_code == 403
    assert agent.post(f"control-charts/{chart_id}/signals/{signal.pk}/dismiss").status_code == 403
    signal.refresh_from_db()
    assert signal.status == "new"
    sales = ApiClient(data.factories.user("sales", role="sales", department=org.sales_east))
    assert sales.get(f"control-charts/{chart_id}").status_code == 404
    assert sales.get("control-charts").json()["items"] == []
    assert sales.get("pareto", start=data.day(-7).isoformat(), end=data.day(-1).isoformat()).status_code == 403
    assert ControlChart.objects.get().name == "First response 首次响应"
    assert ApiClient(None).get("control-charts").status_code == 401


def test_pareto_of_complaint_causes(api):
    data.complaints_with_causes()
    response = api.get("pareto", start=data.day(-7).isoformat(), end=data.day(-1).isoformat(), level="sub_cause")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 11 and body["unclassified"] == 1
    assert [(b["label"], b["count"], b["vital_few"]) for b in body["bars"]] == [
        ("Late delivery 延迟送达", 6, True), ("Damaged parcel 包裹破损", 3, True), ("Rude agent 态度差", 2, False)]
    assert body["bars"][-1]["cumulative_percent"] == pytest.approx(100)
    bad = api.get("pareto", start=data.day(-7).isoformat(), end=data.day(-1).isoformat(), level="leaf")
    assert bad.status_code == 422
    region = api.get("pareto", start=data.day(-7).isoformat(), end=data.day(-1).isoformat(), region="广东")
    assert region.json()["total"] == 0
