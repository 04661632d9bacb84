"""The process map SVG (pure): well-formed, names escaped, thickness by count, colour by median vs target,
the top bottleneck marked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from loopcrm.analytics import mining, processmap

SVG = "{http://www.w3.org/2000/svg}"


def graph():
    log = mining.EventLog.build([1, 1, 1, 2, 2, 2, 3, 3], ["a", "b", "c", "a", "b", "c", "a", "c"],
                                [0, 100, 200, 0, 400, 500, 0, 50])
    return mining.dfg(log)


def test_map_is_well_formed_and_escapes_names():
    svg = processmap.process_map_svg(graph(), names={"a": "开单 <Open> & go"}, targets={"b": 60})
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    nodes = {g.get("data-activity"): g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("pm-node")}
    assert set(nodes) == {"a", "b", "c"}
    assert "开单 <Open> & go" in "".join(nodes["a"].itertext())
    # b: median 100 s against a 60 s target → more than 1.5 × → red; a has no target.
    assert (nodes["b"].get("data-grade"), nodes["a"].get("data-grade")) == ("late", "none")
    edges = {(g.get("data-source"), g.get("data-target")): g for g in root.iter(f"{SVG}g")
             if g.get("class", "").startswith("pm-edge")}
    assert set(edges) == {("a", "b"), ("b", "c"), ("a", "c")}
    width = {k: float(g.find(f"{SVG}path").get("stroke-width")) for k, g in edges.items()}
    assert width[("a", "b")] > width[("a", "c")]  # 2 transitions against 1


def test_the_top_bottleneck_is_marked():
    svg = processmap.process_map_svg(graph(), highlight=processmap.Highlight("b"))
    assert 'class="pm-node pm-hot" data-activity="b"' in svg
    svg = processmap.process_map_svg(graph(), highlight=processmap.Highlight("a", "b"))
    assert 'class="pm-edge pm-hot" data-source="a" data-target="b"' in svg


def test_layers_follow_the_flow_and_empty_graph_draws():
    assert processmap.layers(graph()) == {"a": 0, "b": 1, "c": 2}
    empty = mining.dfg(mining.EventLog.build([], [], [], activities=["a"]))
    ET.fromstring(processmap.process_map_svg(empty))  # noqa: S314 - our own output
    assert processmap.human(90) == "2 min" and processmap.human(5400) == "1.5 h" and processmap.human(None) == "—"
