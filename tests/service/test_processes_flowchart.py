"""The flowchart of a process version: its SVG structure (pure, no database)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from loopcrm.service.flowchart import FlowStep, duration_text, fit, render_svg, text_width

NS = {"svg": "http://www.w3.org/2000/svg"}

STEPS = [
    FlowStep(key="diagnose", name="Diagnose 诊断", responsible="Service agent · 服务部", target_minutes=60,
             mandatory=True, complete_on_status="On hold"),
    FlowStep(key="repair", name="Repair <b>&</b>", responsible="", target_minutes=600, mandatory=True),
    FlowStep(key="call-back", name="Call back", responsible="Team lead", target_minutes=30, mandatory=False,
             start_on_status="Resolved"),
]


def boxes(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall("svg:g[@data-key]", NS)  # noqa: S314 - our own output  # noqa: S314 - our own output


def texts(group: ET.Element) -> dict[str, str]:
    return {element.get("class"): element.text for element in group.findall("svg:text", NS)}


def test_one_box_per_step_in_order_between_start_and_end():
    svg = render_svg(STEPS)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    groups = root.findall("svg:g", NS)
    assert [group.get("class") for group in groups] == [
        "node start", "step mandatory", "step mandatory", "step optional", "node end",
    ]
    assert [(box.get("data-key"), box.get("data-position")) for box in boxes(svg)] == [
        ("diagnose", "1"), ("repair", "2"), ("call-back", "3"),
    ]
    # Arrows join start, each box and end: one more than there are steps, all pointing down.
    arrows = root.findall("svg:line[@class='arrow']", NS)
    assert len(arrows) == len(STEPS) + 1
    assert all(float(arrow.get("y2")) > float(arrow.get("y1")) for arrow in arrows)
    assert all(arrow.get("marker-end") == "url(#arrowhead)" for arrow in arrows)
    # Boxes stack downwards without overlapping.
    tops = [float(box.find("svg:rect", NS).get("y")) for box in boxes(svg)]
    heights = [float(box.find("svg:rect", NS).get("height")) for box in boxes(svg)]
    assert all(tops[i] + heights[i] < tops[i + 1] for i in range(len(tops) - 1))
    assert float(root.get("height")) > tops[-1] + heights[-1]


def test_each_box_names_the_step_who_is_responsible_and_the_target():
    diagnose, repair, call_back = (texts(box) for box in boxes(render_svg(STEPS)))
    assert diagnose == {"name": "1. Diagnose 诊断", "mark": "required", "responsible": "Service agent · 服务部",
                        "target": "target 1 h", "auto": "completes when On hold"}
    assert (repair["name"], repair["responsible"], repair["target"]) == \
        ("2. Repair <b>&</b>", "no one named", "target 1 d 2 h")  # escaped in the SVG, read back as text
    assert (call_back["mark"], call_back["auto"]) == ("optional", "starts when Resolved")


def test_mandatory_steps_stand_out():
    for box in boxes(render_svg(STEPS)):
        rect = box.find("svg:rect", NS)
        if "mandatory" in box.get("class"):
            assert rect.get("stroke-dasharray") is None
        else:
            assert rect.get("stroke-dasharray") == "6 4"


def test_labels_come_from_the_caller_and_statuses_colour_the_boxes():
    labels = {"start": "开始", "end": "结束", "target": "目标", "required": "必需", "hours": "小时", "title": "维修"}
    svg = render_svg(STEPS, labels=labels, statuses={"diagnose": "done", "repair": "active"},
                     status_names={"done": "已完成"})
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.get("aria-label") == "维修"
    assert [text.text for text in root.findall("svg:g/svg:text[@class='label']", NS)] == ["开始", "结束"]
    diagnose, repair, call_back = boxes(svg)
    assert texts(diagnose)["target"] == "目标 1 小时"
    assert "status-done" in diagnose.get("class") and "status-active" in repair.get("class")
    assert "status-" not in call_back.get("class")
    assert diagnose.find("svg:title", NS).text.endswith("已完成")


def test_long_names_are_cut_to_fit():
    long = FlowStep(key="k", name="非常长的步骤名称" * 10, responsible="x" * 300, target_minutes=5, mandatory=True)
    name = texts(boxes(render_svg([long]))[0])["name"]
    assert name.endswith("…") and text_width(name, size=14) <= 340
    assert fit("short", 100) == "short"


@given(st.integers(min_value=1, max_value=60 * 24 * 365))
def test_durations_read_back_to_the_minutes(minutes):
    parts = duration_text(minutes).split()
    units = {"d": 8 * 60, "h": 60, "min": 1}
    assert sum(int(value) * units[unit] for value, unit in zip(parts[::2], parts[1::2], strict=True)) == minutes


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_step_names_give_well_formed_svg(names):
    steps = [FlowStep(key=f"s{i}", name=name, responsible=name, target_minutes=10, mandatory=i % 2 == 0)
             for i, name in enumerate(names)]
    svg = render_svg(steps)
    assert len(boxes(svg)) == len(names)
