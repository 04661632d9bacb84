"""The fishbone layout (pure): well-formed SVG with the effect, the branches, the causes and their counts,
escaped text, CJK widths, heavier and redder bones for more complaints, and the same layout as PNG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loopcrm.improvement import diagram_canvas
from loopcrm.improvement.diagram_canvas import Canvas, Line, Text, text_width, to_svg, wrap
from loopcrm.improvement.fishbone_svg import Bone, Rib, direction, heat, layout, render_svg, thickness

NS = {"svg": "http://www.w3.org/2000/svg"}


def bones() -> list[Bone]:
    return [
        Bone("people", "人员 People", 12, 8, (Rib("服务态度差", 7, 3, "attitude", (Rib("不耐烦", 4, 1, "impatient"),)),
                                                Rib("培训不足", 5, 5, "training"))),
        Bone("process", "流程 Process", 20, 25, (Rib("等待太久 <slow> & late", 20, 25, "waiting"),)),
        Bone("product", "产品 Product", 0, 0),
        Bone("policy", "政策 Policy", 0, 2),
        Bone("place", "环境 Place", 1, 1, (Rib("门店拥挤", 1, 1, "crowded"),)),
        Bone("partner", "物流 Partner", 9, 2, tuple(Rib(f"原因{i}", i, 0, f"k{i}") for i in range(1, 10))),
    ]


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    # A <text>'s own words: its tooltip (<title>) child left out.
    return [(node.text or "") + "".join(child.tail or "" for child in node)
            for node in root.iter("{http://www.w3.org/2000/svg}text")]


def test_the_svg_is_well_formed_and_names_effect_branches_causes_and_counts():
    svg = render_svg("华东区配送投诉上升", bones(), total=45)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    words = texts(svg)
    assert "华东区配送投诉上升" in words
    assert "45 complaints" in words
    for label in ("人员 People", "流程 Process", "产品 Product", "政策 Policy", "环境 Place", "物流 Partner"):
        assert label in words
    assert "服务态度差" in words and "7" in words
    assert any(word.startswith("– 不耐烦") for word in words)  # a sub-cause under its rib
    assert "12" in words and "20" in words


def test_text_is_escaped_and_control_characters_dropped():
    svg = render_svg("effect <b>&\x07", [Bone("process", "流程", 3, 1, (Rib("a<b>&c", 3, 1, "x"),))])
    ET.fromstring(svg)  # would raise on a raw <, & or BEL  # noqa: S314 - our own output
    assert "effect <b>&" in texts(svg)
    assert "a<b>&c" in texts(svg)


def test_more_than_six_causes_fold_into_one_rib():
    words = texts(render_svg("E", bones()))
    assert "+4 more" in words  # nine causes: five shown, the other four summed
    assert "10" in words  # 1 + 2 + 3 + 4


def test_bones_with_more_complaints_are_thicker_and_redder():
    assert thickness(20, 20) > thickness(5, 20) > thickness(0, 20)
    assert heat(0, 20) == "#94a3b8"
    assert heat(20, 20) == "#b91c1c"
    canvas = layout("E", bones())
    widths = {shape.data["branch"]: shape.width for shape in canvas.shapes
              if isinstance(shape, Line) and shape.css == "bone"}
    assert widths["process"] > widths["people"] > widths["product"]


def test_trend_arrows_point_the_way_the_count_moved():
    assert direction(5, 3) == "up" and direction(3, 5) == "down" and direction(2, 2) == "flat"
    svg = render_svg("E", bones())
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    classes = [node.get("class") for node in root.iter("{http://www.w3.org/2000/svg}polygon")]
    assert "trend up" in classes and "trend down" in classes


def test_chinese_is_measured_a_full_em_and_wrapped():
    assert text_width("配送", size=10) == 20
    assert text_width("ab", size=10) == pytest.approx(11.6)
    lines = wrap("客户对配送速度的投诉在华东区持续上升需要分析原因", 100, size=10, lines=2)
    assert len(lines) == 2 and lines[1].endswith("…")
    assert wrap("late delivery", 60, size=10) == ["late", "delivery"]  # Latin breaks at spaces


def test_an_empty_fishbone_still_draws():
    svg = render_svg("无投诉", [Bone(b, b, 0) for b in ("people", "process", "product", "policy", "place", "partner")])
    assert "无投诉" in texts(svg)


def test_the_canvas_writes_data_attributes_and_tooltips():
    canvas = Canvas(width=100, height=50, title="t")
    canvas.add(Text(x=1, y=2, text="x", data={"cause": "a\"b"}, tooltip="tip & more"))
    svg = to_svg(canvas)
    node = ET.fromstring(svg).find("svg:text", NS)  # noqa: S314 - our own output
    assert node.get("data-cause") == 'a"b'
    assert node.find("svg:title", NS).text == "tip & more"


def test_png_is_drawn_from_the_same_layout():
    pytest.importorskip("PIL")
    if diagram_canvas.find_cjk_font() is None:
        with pytest.raises(diagram_canvas.PngUnavailable, match="fonts-noto-cjk"):
            diagram_canvas.to_png(layout("配送", bones()))
        return
    data = diagram_canvas.to_png(layout("配送", bones()))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data))
    canvas = layout("配送", bones())
    assert image.size == (round(canvas.width * 2), round(canvas.height * 2))


def test_png_without_a_cjk_font_says_what_to_install(monkeypatch, tmp_path):
    pytest.importorskip("PIL")
    monkeypatch.setenv("LOOPCRM_CJK_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(diagram_canvas.PngUnavailable, match="fonts-noto-cjk"):
        diagram_canvas.to_png(layout("配送投诉", bones()))
    # Latin-only text still draws with Pillow's own font.
    assert diagram_canvas.to_png(layout("Late", [Bone("people", "People", 1)])).startswith(b"\x89PNG")
