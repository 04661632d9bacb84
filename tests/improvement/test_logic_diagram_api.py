"""The logic diagram through the API: the graph and matrix as JSON, SVG and PNG exports, elements and
relationships added, changed and removed, matrix cells set; problems name the field; roles respected."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loopcrm.improvement.models import LogicElement, LogicLink
from tests import factories
from tests.conftest import ApiClient
from tests.improvement.diagram_support import need, process, survey


@pytest.fixture
def live(db):
    need("delivery", 2)
    return {"process": process("投诉处理流程", [("受理", 30)]), "survey": survey("满意度回访", "csat")}


def problem(response, status, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    if field:
        assert [error["field"] for error in body["errors"]] == [field], body
    return body


def test_the_graph_and_matrix_as_json(qm, live):
    api = ApiClient(qm)
    process_key = f"process:{live['process'].pk}"
    assert api.put("logic-diagram/matrix", {"need": "need:delivery", "other": process_key,
                                            "strength": "strong"}).status_code == 200
    body = api.get("logic-diagram").json()
    assert set(body["layers"]) == {"need", "process", "indicator", "feedback"}
    assert body["layers"]["need"][0]["key"] == "need:delivery"
    node = next(item for item in body["layers"]["process"] if item["key"] == process_key)
    assert node["control_points"] == [{"key": node["control_points"][0]["key"], "label": "受理",
                                       "target_minutes": 30}]
    matrix = body["matrix"]
    row, column = matrix["rows"].index("need:delivery"), matrix["columns"].index(process_key)
    assert matrix["cells"][row][column] == "strong"
    assert any(edge["live"] and edge["target"] == f"survey:{live['survey'].pk}" for edge in body["edges"])


def test_exports_svg_and_png(qm, live):
    api = ApiClient(qm)
    response = api.get("/api/v1/logic-diagram.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    assert "投诉处理流程" in " ".join(root.itertext())
    pytest.importorskip("PIL")
    response = api.get("/api/v1/logic-diagram.png")
    if response.status_code == 503:
        assert "fonts-noto-cjk" in problem(response, 503, "format")["detail"]
    else:
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG") and "logic-diagram.png" in response["Content-Disposition"]


def test_elements_and_links_crud(qm, live):
    api = ApiClient(qm)
    created = api.post("logic-diagram/elements", {"layer": "indicator", "label": "预约准时率", "note": "新指标"})
    assert created.status_code == 201, created.content
    element = created.json()
    assert element["key"] == f"element:{element['id']}" and element["created_by"]
    changed = api.patch(f"logic-diagram/elements/{element['id']}", {"label": "上门准时率"})
    assert changed.status_code == 200 and changed.json()["label"] == "上门准时率"
    link = api.post("logic-diagram/links", {"source": "need:delivery", "target": element["key"],
                                            "strength": "weak"})
    assert link.status_code == 201, link.content
    problem(api.post("logic-diagram/links", {"source": element["key"], "target": "need:delivery"}), 409, "target")
    edited = api.patch(f"logic-diagram/links/{link.json()['id']}", {"strength": "strong", "note": "关键"})
    assert edited.json()["strength"] == "strong" and edited.json()["note"] == "关键"
    assert [item["id"] for item in api.get("logic-diagram/links").json()] == [link.json()["id"]]
    assert [item["id"] for item in api.get("logic-diagram/elements").json()] == [element["id"]]
    matrix = api.get("logic-diagram").json()["matrix"]
    assert matrix["cells"][matrix["rows"].index("need:delivery")][matrix["columns"].index(element["key"])] == "strong"
    assert api.delete(f"logic-diagram/links/{link.json()['id']}").status_code == 204
    assert api.delete(f"logic-diagram/elements/{element['id']}").status_code == 204
    assert not LogicElement.objects.exists() and not LogicLink.objects.exists()


def test_problems_name_the_field(qm, live):
    api = ApiClient(qm)
    problem(api.post("logic-diagram/elements", {"layer": "wish", "label": "x"}), 422, "layer")
    problem(api.post("logic-diagram/elements", {"layer": "need", "label": " "}), 422, "label")
    problem(api.post("logic-diagram/elements", {"layer": "need"}), 422, "label")
    problem(api.post("logic-diagram/elements", {"layer": "need", "label": "x", "source_type": "process",
                                                 "source_id": "99999"}), 422, "source_id")
    problem(api.patch("logic-diagram/elements/99999", {"label": "x"}), 404, "element_id")
    problem(api.post("logic-diagram/links", {"source": "need:delivery", "target": "nothing"}), 422, "target")
    problem(api.post("logic-diagram/links", {"source": "need:delivery", "target": "metric:csat",
                                              "strength": "huge"}), 422, "strength")
    problem(api.put("logic-diagram/matrix", {"need": "metric:csat", "other": "metric:nps", "strength": "weak"}),
            422, "need")
    problem(api.delete("logic-diagram/links/99999"), 404, "link_id")


@pytest.mark.parametrize("persona, read, write", [
    ("admin", 200, 201), ("exec", 200, 403), ("agent", 200, 403), ("seller", 403, 403),
])
def test_permissions(org, live, persona, read, write):
    user = factories.user("seller", role="sales", department=org.sales_east) if persona == "seller" \
        else getattr(org, persona)
    api = ApiClient(user)
    assert api.get("logic-diagram").status_code == read
    assert api.get("/api/v1/logic-diagram.svg").status_code == read
    assert api.post("logic-diagram/elements", {"layer": "need", "label": "x"}).status_code == write
    if write != 201:
        assert not LogicElement.objects.exists()
