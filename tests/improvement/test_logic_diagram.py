"""The customer quality logic diagram: built from the live configuration (needs, processes with their
control points, metrics, surveys and feedback channels) plus what a quality manager adds; the relationship
matrix; the layout (SVG well-formed, ●/○/△ cells) and the rules of editing it, audited."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.improvement import logic_svg
from loopcrm.improvement.models import LogicElement, LogicLink
from loopcrm.improvement.queries.logic_diagram import logic_diagram, logic_svg_text
from loopcrm.improvement.services import diagrams as services
from tests import factories
from tests.improvement.diagram_support import need, process, survey

SVG = "{http://www.w3.org/2000/svg}"



@pytest.fixture
def live(db):
    complaints = process("投诉处理流程", [("受理", 30), ("调查", 240), ("回复客户", 480)])
    returns = process("退换货流程", [("审核", 60)])
    csat = survey("工单解决后满意度", "csat")
    nps = survey("季度 NPS", "nps", trigger="relationship")
    need("delivery", 3)
    need("service_attitude", 2)
    return {"complaints": complaints, "returns": returns, "csat": csat, "nps": nps}


def keys(diagram, layer):
    return [node.key for node in diagram.layer(layer)]


def test_built_from_the_live_configuration(qm, live):
    diagram = logic_diagram(qm)
    assert keys(diagram, "need")[:2] == ["need:delivery", "need:service_attitude"]
    assert set(keys(diagram, "process")) == {f"process:{live['complaints'].pk}", f"process:{live['returns'].pk}"}
    complaints = next(node for node in diagram.nodes if node.key == f"process:{live['complaints'].pk}")
    # the steps' target times are the control points
    assert [(point.label, point.target_minutes) for point in complaints.control_points] == [
        ("受理", 30), ("调查", 240), ("回复客户", 480)]
    assert complaints.details[0] == "1. 受理 · ≤ 30 min" and complaints.details[1] == "2. 调查 · ≤ 4 h"
    assert set(keys(diagram, "feedback")) >= {f"survey:{live['csat'].pk}", f"survey:{live['nps'].pk}"}
    indicators = keys(diagram, "indicator")
    assert "metric:csat" in indicators and "metric:first_response_minutes" in indicators
    # a CSAT survey feeds the CSAT indicator: a live relationship
    assert any(edge.live and {edge.source, edge.target} == {"metric:csat", f"survey:{live['csat'].pk}"}
               for edge in diagram.edges)
    # the matrix: needs × (processes, indicators)
    assert diagram.rows == keys(diagram, "need")
    assert diagram.columns == keys(diagram, "process") + indicators


def test_what_a_quality_manager_adds_joins_the_live_elements(qm, live):
    element = services.add_element(layer="need", label="安装预约方便", note="门店反馈", by=qm)
    kpi = services.add_element(layer="indicator", label="预约准时率", source_type="metric", source_id="csat", by=qm)
    diagram = logic_diagram(qm)
    assert keys(diagram, "need")[-1] == f"element:{element.pk}"
    added = next(node for node in diagram.nodes if node.key == f"element:{element.pk}")
    assert not added.live and added.note == "门店反馈"
    assert f"element:{kpi.pk}" in keys(diagram, "indicator")
    assert AuditEntry.objects.filter(object_type="improvement.logicelement", action="create", actor=qm).count() == 2


def test_matrix_cells_strong_medium_weak_and_empty(qm, live):
    process_key = f"process:{live['complaints'].pk}"
    services.set_strength(need="need:delivery", other=process_key, strength="strong", by=qm)
    services.set_strength(need="need:delivery", other="metric:csat", strength="weak", by=qm)
    services.set_strength(need="need:service_attitude", other=process_key, strength="medium", by=qm)
    diagram = logic_diagram(qm)
    assert diagram.cell("need:delivery", process_key) == "strong"
    assert diagram.cell("need:delivery", "metric:csat") == "weak"
    assert diagram.cell("need:service_attitude", process_key) == "medium"
    # changing and emptying a cell
    services.set_strength(need="need:delivery", other=process_key, strength="medium", by=qm)
    assert LogicLink.objects.get(source="need:delivery", target=process_key).strength == "medium"
    services.set_strength(need="need:delivery", other=process_key, strength=None, by=qm)
    assert not LogicLink.objects.filter(source="need:delivery", target=process_key).exists()
    assert logic_diagram(qm).cell("need:delivery", process_key) == ""
    actions = list(AuditEntry.objects.filter(object_type="improvement.logiclink").values_list("action", flat=True))
    assert actions.count("create") == 3 and "update" in actions and "delete" in actions


def test_matrix_rows_are_needs_and_columns_processes_or_indicators(qm, live):
    with pytest.raises(RuleViolation) as error:
        services.set_strength(need=f"process:{live['complaints'].pk}", other="metric:csat", strength="strong", by=qm)
    assert error.value.field == "need"
    with pytest.raises(RuleViolation) as error:
        services.set_strength(need="need:delivery", other=f"survey:{live['csat'].pk}", strength="strong", by=qm)
    assert error.value.field == "other"
    with pytest.raises(RuleViolation) as error:
        services.set_strength(need="need:delivery", other="metric:csat", strength="very", by=qm)
    assert error.value.field == "strength"


def test_links_between_any_two_elements_one_per_pair(qm, live):
    element = services.add_element(layer="feedback", label="回访电话", by=qm)
    link = services.add_link(source="metric:csat", target=element.key, strength="strong", by=qm)
    with pytest.raises(Conflict):
        services.add_link(source=element.key, target="metric:csat", by=qm)  # the same pair the other way round
    with pytest.raises(RuleViolation) as error:
        services.add_link(source="metric:csat", target="metric:csat", by=qm)
    assert error.value.field == "target"
    with pytest.raises(RuleViolation) as error:
        services.add_link(source="process:999999", target="metric:csat", by=qm)
    assert error.value.field == "source"
    with pytest.raises(RuleViolation) as error:
        services.add_link(source="metric:csat", target="gadget:1", by=qm)
    assert error.value.field == "target"
    # removing an element removes its relationships
    services.remove_element(element, by=qm)
    assert not LogicLink.objects.filter(pk=link.pk).exists()


def test_element_rules_name_the_field(qm, live):
    for kwargs, field in [
        ({"layer": "wish", "label": "x"}, "layer"),
        ({"layer": "need", "label": "  "}, "label"),
        ({"layer": "need", "label": "x" * 121}, "label"),
        ({"layer": "need", "label": "x", "source_type": "process"}, "source_id"),
        ({"layer": "need", "label": "x", "source_type": "rocket", "source_id": "1"}, "source_type"),
        ({"layer": "need", "label": "x", "source_type": "process", "source_id": "999999"}, "source_id"),
    ]:
        with pytest.raises(RuleViolation) as error:
            services.add_element(by=qm, **kwargs)
        assert error.value.field == field, kwargs
    assert not LogicElement.objects.exists()


def test_editing_an_element_is_audited_with_what_changed(qm, live):
    element = services.add_element(layer="need", label="安装", by=qm)
    services.edit_element(element, label="安装预约", note="来自门店", by=qm)
    element.refresh_from_db()
    assert (element.label, element.note, element.updated_by) == ("安装预约", "来自门店", qm)
    entry = AuditEntry.objects.filter(object_type="improvement.logicelement", action="update").get()
    assert entry.changes["label"] == ["安装", "安装预约"]


@pytest.mark.parametrize("persona", ["exec", "agent"])
def test_roles_that_may_only_look_cannot_edit(org, qm, live, persona):
    user = getattr(org, persona)
    assert logic_diagram(user).nodes  # they may look
    with pytest.raises(PermissionDenied):
        services.add_element(layer="need", label="x", by=user)
    with pytest.raises(PermissionDenied):
        services.set_strength(need="need:delivery", other="metric:csat", strength="strong", by=user)
    assert not LogicElement.objects.exists() and not LogicLink.objects.exists()


def test_a_role_without_the_improvement_engine_sees_nothing(org, live):
    seller = factories.user("seller", role="sales", department=org.sales_east)
    with pytest.raises(PermissionDenied):
        logic_diagram(seller)


def test_what_the_user_may_not_see_is_not_drawn(org, live):
    # An agent may not see surveys: no survey mechanisms, but the processes and indicators are there.
    diagram = logic_diagram(org.agent)
    assert not [key for key in keys(diagram, "feedback") if key.startswith("survey:")]
    assert keys(diagram, "process")


def test_the_svg_draws_four_layers_the_loop_and_the_matrix(qm, live):
    process_key = f"process:{live['complaints'].pk}"
    services.set_strength(need="need:delivery", other=process_key, strength="strong", by=qm)
    services.set_strength(need="need:service_attitude", other="metric:csat", strength="medium", by=qm)
    services.set_strength(need="need:service_attitude", other=process_key, strength="weak", by=qm)
    svg = logic_svg_text(logic_diagram(qm))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    words = [(node.text or "") + "".join(child.tail or "" for child in node) for node in root.iter(f"{SVG}text")]
    for label in ("Customer needs", "Service processes", "Key indicators", "Feedback mechanisms",
                  "back to customer needs", "Relationship matrix", "投诉处理流程", "工单解决后满意度"):
        assert label in words, label
    cells = {(node.get("data-row"), node.get("data-column")): node.get("data-strength")
             for node in root.iter(f"{SVG}rect") if node.get("class") == "cell"}
    assert cells[("need:delivery", process_key)] == "strong"
    assert cells[("need:service_attitude", "metric:csat")] == "medium"
    assert cells[("need:service_attitude", process_key)] == "weak"
    marks = [node.get("class") for node in root.iter() if (node.get("class") or "").startswith("mark ")]
    assert sorted(marks) == ["mark medium", "mark strong", "mark weak"]
    assert root.find(f"{SVG}polyline[@class='loop']") is not None


def test_the_layout_alone_marks_added_elements_dashed():
    nodes = [logic_svg.Node("need:a", "need", "需求"), logic_svg.Node("element:1", "need", "手加", live=False)]
    canvas = logic_svg.layout(nodes, [], rows=["need:a", "element:1"], columns=[])
    added = [shape for shape in canvas.shapes if "added" in shape.css]
    assert added and added[0].dashed
    svg = logic_svg.render_svg(nodes, [])
    assert "Add needs and processes or indicators to relate them." in svg


def test_a_control_chart_is_a_control_point_of_its_indicator(qm, live):
    import datetime as dt

    from django.apps import apps

    chart_model = apps.get_model("improvement", "ControlChart")
    chart_model.objects.create(name="复开率控制图", metric_key="reopen_rate", chart_type=chart_model.Type.values[0],
                               baseline_start=dt.date(2026, 8, 1), baseline_end=dt.date(2026, 8, 31), owner=qm)
    diagram = logic_diagram(qm)
    # reopen_rate is not a core indicator: it shows because a chart watches it
    node = next(node for node in diagram.nodes if node.key == "metric:reopen_rate")
    assert [point.label for point in node.control_points] == ["复开率控制图"]
    assert "◆ 复开率控制图" in node.details
    svg = logic_svg_text(diagram)
    assert ">SPC<" in svg


def test_reading_the_diagram_takes_the_same_queries_however_many_processes(qm, live, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        logic_diagram(qm)
    for index in range(5):
        process(f"流程 {index}", [("受理", 30), ("处理", 60)])
    with django_assert_num_queries(len(before.captured_queries)):
        logic_diagram(qm)
