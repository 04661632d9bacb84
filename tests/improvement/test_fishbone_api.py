"""The fishbone through the API: counts and trend as JSON, the drawing as SVG and PNG, pinning it to a
cycle and writing 5-whys on it; errors are problem details naming the field; roles are respected."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loopcrm.core.models import AuditEntry
from loopcrm.improvement.models import FishbonePin, WhyNote
from tests import factories
from tests.conftest import ApiClient
from tests.improvement.diagram_support import cause, complaint, cycle

SEPT = {"start": "2026-09-01", "end": "2026-09-30"}



@pytest.fixture
def data(org):
    waiting = cause("等待太久", "process", code="waiting")
    courier = cause("快递延误", "partner", code="courier")
    late_van = cause("车辆晚到", "partner", parent=courier, code="late-van")
    complaint("2026-09-02", waiting)
    complaint("2026-09-03", waiting)
    complaint("2026-09-04", late_van)
    complaint("2026-08-04", waiting)
    return {"waiting": waiting, "courier": courier}


def problem(response, status, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    if field:
        assert [error["field"] for error in body["errors"]] == [field], body
    return body


def test_counts_and_trend_as_json(qm, data):
    api = ApiClient(qm)
    response = api.get("fishbone", **SEPT)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 3 and body["previous_total"] == 1
    process = next(item for item in body["branches"] if item["branch"] == "process")
    assert (process["count"], process["previous"], process["direction"]) == (2, 1, "up")
    partner = next(item for item in body["branches"] if item["branch"] == "partner")
    assert partner["causes"][0]["code"] == "courier"
    assert partner["causes"][0]["sub_causes"][0] == {"code": "late-van", "label": "车辆晚到", "count": 1,
                                                     "previous": 0, "change": 1, "direction": "up",
                                                     "sub_causes": []}
    assert len(process["monthly"]) == 6 and body["months"][-1] == "2026-09-01"


def test_the_drawing_as_svg_and_png(qm, data):
    api = ApiClient(qm)
    response = api.get("fishbone", **SEPT, format="svg", effect="配送投诉上升")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    words = " ".join(root.itertext())
    assert "配送投诉上升" in words and "等待太久" in words and "快递延误" in words
    pytest.importorskip("PIL")
    response = api.get("fishbone", **SEPT, format="png")
    if response.status_code == 503:  # no CJK font on this machine: the problem says what to install
        assert "fonts-noto-cjk" in problem(response, 503, "format")["detail"]
    else:
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")


def test_bad_parameters_are_problems_naming_the_field(qm, data):
    api = ApiClient(qm)
    problem(api.get("fishbone", start="2026-09-30", end="2026-09-01"), 422, "start")
    problem(api.get("fishbone", start="not-a-date"), 422, "start")
    problem(api.get("fishbone", channel="pigeon"), 422, "channel")
    problem(api.get("fishbone", department_id=987654), 422, "department_id")
    problem(api.get("fishbone", format="gif"), 422, "format")
    problem(api.get("fishbone", months=99), 422, "months")


def test_pin_to_a_cycle_and_write_five_whys(org, qm, data):
    api = ApiClient(qm)
    plan = cycle(qm)
    # When the quality manager pins September's fishbone to the cycle
    response = api.post("fishbone/pins", {"cycle_id": plan.pk, **SEPT, "effect": "配送投诉"})
    assert response.status_code == 201, response.content
    pin = response.json()
    assert pin["cycle_id"] == plan.pk and pin["effect"] == "配送投诉" and pin["snapshot"]["total"] == 3
    # later complaints do not change the pinned counts
    complaint("2026-09-20", data["waiting"])
    assert api.get(f"fishbone/pins/{pin['id']}").json()["snapshot"]["total"] == 3
    # Then writes a 5-whys chain on the process branch's waiting cause
    url = f"fishbone/pins/{pin['id']}/whys"
    first = api.put(url, {"branch": "process", "cause_code": "waiting", "position": 1, "text": "客服排队太长"})
    assert first.status_code == 200, first.content
    assert first.json()["cause_label"] == "等待太久"
    problem(api.put(url, {"branch": "process", "cause_code": "waiting", "position": 3, "text": "跳过"}), 422,
            "position")
    second = api.put(url, {"branch": "process", "cause_code": "waiting", "position": 2, "text": "高峰期人手不足"})
    assert second.status_code == 200
    rewritten = api.put(url, {"branch": "process", "cause_code": "waiting", "position": 1, "text": "排队太长"})
    assert rewritten.json()["id"] == first.json()["id"] and rewritten.json()["text"] == "排队太长"
    body = api.get(f"fishbone/pins/{pin['id']}").json()
    assert [(why["position"], why["text"]) for why in body["whys"]] == [(1, "排队太长"), (2, "高峰期人手不足")]
    # A chain on a whole branch
    assert api.put(url, {"branch": "people", "position": 1, "text": "新人多"}).status_code == 200
    # The pinned drawing
    svg = api.get(f"fishbone/pins/{pin['id']}", format="svg")
    assert svg["Content-Type"] == "image/svg+xml" and "配送投诉" in svg.content.decode()
    # Listing by cycle
    assert [item["id"] for item in api.get("fishbone/pins", cycle_id=plan.pk).json()] == [pin["id"]]
    # Deleting why 1 removes the chain after it
    assert api.delete(f"{url}/{first.json()['id']}").status_code == 204
    assert list(WhyNote.objects.values_list("branch", "position")) == [("people", 1)]
    # Every write is audited
    assert AuditEntry.objects.filter(object_type="improvement.whynote", actor=qm).count() >= 4
    assert AuditEntry.objects.filter(object_type="improvement.fishbonepin", action="create", actor=qm).exists()
    assert api.delete(f"fishbone/pins/{pin['id']}").status_code == 204
    assert not FishbonePin.objects.exists()


def test_why_errors_name_the_field(qm, data):
    api = ApiClient(qm)
    pin = api.post("fishbone/pins", {"cycle_id": cycle(qm).pk, **SEPT}).json()
    url = f"fishbone/pins/{pin['id']}/whys"
    problem(api.put(url, {"branch": "weather", "position": 1, "text": "x"}), 422, "branch")
    problem(api.put(url, {"branch": "process", "position": 6, "text": "x"}), 422, "position")
    problem(api.put(url, {"branch": "process", "position": "1", "text": "x"}), 422, "position")
    problem(api.put(url, {"branch": "process", "position": 1, "text": "   "}), 422, "text")
    problem(api.put(url, {"branch": "process", "cause_code": "courier", "position": 1, "text": "x"}), 422,
            "cause_code")  # courier is a partner cause
    problem(api.put(url, {"branch": "process", "position": 1, "text": "x", "extra": 1}), 422, "extra")
    problem(api.delete(f"{url}/999999"), 404, "why_id")


def test_pin_errors(qm, data):
    api = ApiClient(qm)
    problem(api.post("fishbone/pins", {"cycle_id": 999999}), 404, "cycle_id")
    closed = cycle(qm, phase="closed")
    problem(api.post("fishbone/pins", {"cycle_id": closed.pk}), 422, "cycle_id")
    problem(api.post("fishbone/pins", {"cycle_id": "x"}), 422, "cycle_id")
    problem(api.get("fishbone/pins/999999"), 404, "pin_id")


@pytest.mark.parametrize("persona, can_read, can_write", [
    ("admin", True, True), ("exec", True, False), ("agent", True, False), ("lead", True, True),
    ("seller", False, False),
])
def test_permissions(org, qm, data, persona, can_read, can_write):
    user = factories.user("seller", role="sales", department=org.sales_east) if persona == "seller" \
        else getattr(org, persona)
    api = ApiClient(user)
    plan = cycle(qm)
    assert api.get("fishbone", **SEPT).status_code == (200 if can_read else 403)
    response = api.post("fishbone/pins", {"cycle_id": plan.pk, **SEPT})
    assert response.status_code == (201 if can_write else 403), response.content
    if not can_write:
        assert not FishbonePin.objects.exists()


def test_anonymous_is_asked_to_sign_in(db):
    assert ApiClient(None).get("fishbone").status_code == 401
