"""The customer quality logic diagram (客户质量管理逻辑图) laid out: a flowchart and a relationship matrix.
Pure: no Django.

The flowchart has the brief's four layers as columns — customer needs → service processes → key indicators
(with their control points) → feedback mechanisms — and the loop arrow from feedback back to needs.
Relationships between neighbouring layers are drawn as lines (heavier for stronger); every relationship of
a need with a process or an indicator is a cell of the matrix below it, marked the QFD way: ● strong,
○ medium, △ weak. Added (not live) elements have a dashed border. Words come in through `labels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loopcrm.improvement.diagram_canvas import (
    Canvas,
    Circle,
    Line,
    Polygon,
    Rect,
    Text,
    arrow_head,
    fit,
    to_png,
    to_svg,
    wrap,
)

LAYERS = ("need", "process", "indicator", "feedback")
LAYER_COLOURS = {
    "need": ("#fff7ed", "#c2410c"),
    "process": ("#eff6ff", "#1d4ed8"),
    "indicator": ("#f0fdf4", "#15803d"),
    "feedback": ("#faf5ff", "#7e22ce"),
}
MARGIN = 20
COLUMN = 230
GAP = 64
HEADER = 36
LOOP_SPACE = 34
NODE_GAP = 12
MAX_DETAILS = 5
ROW_HEAD = 210
CELL = 74
ROW = 28
SYMBOLS = {"strong": "●", "medium": "○", "weak": "△"}
EDGE_STYLE = {"strong": ("#1e3a8a", 2.6, False), "medium": ("#3b82f6", 1.6, False), "weak": ("#93c5fd", 1.2, True)}

DEFAULT_LABELS = {
    "title": "Customer quality logic diagram",
    "need": "Customer needs",
    "process": "Service processes",
    "indicator": "Key indicators",
    "feedback": "Feedback mechanisms",
    "loop": "back to customer needs",
    "matrix": "Relationship matrix",
    "strong": "strong",
    "medium": "medium",
    "weak": "weak",
    "added": "added",
    "empty": "nothing yet",
    "no_matrix": "Add needs and processes or indicators to relate them.",
}


@dataclass(frozen=True)
class Node:
    key: str
    layer: str
    label: str
    details: tuple[str, ...] = ()
    live: bool = True
    badge: str = ""  # e.g. "SPC" on an indicator watched by a control chart


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    strength: str
    live: bool = False


def _node_height(node: Node) -> float:
    lines = len(wrap(node.label, COLUMN - 24, size=13, lines=2))
    details = min(len(node.details), MAX_DETAILS) + (1 if len(node.details) > MAX_DETAILS else 0)
    return 14 + 17 * lines + 15 * details + 8


def strength_mark(canvas: Canvas, x: float, y: float, strength: str, *, size: float = 7, css: str = "") -> None:
    """● strong (filled circle), ○ medium (ring), △ weak (triangle outline), centred on x, y."""
    if strength == "strong":
        canvas.add(Circle(cx=x, cy=y, r=size, fill="#1e3a8a", css=css or "mark strong"))
    elif strength == "medium":
        canvas.add(Circle(cx=x, cy=y, r=size, fill="none", stroke="#1e3a8a", width=2, css=css or "mark medium"))
    elif strength == "weak":
        outer = [(x, y - size), (x + size, y + size * 0.8), (x - size, y + size * 0.8)]
        inner_size = size - 2.2
        inner = [(x, y - inner_size + 0.8), (x + inner_size - 0.9, y + inner_size * 0.8 - 0.2),
                 (x - inner_size + 0.9, y + inner_size * 0.8 - 0.2)]
        canvas.add(Polygon(points=outer, fill="#1e3a8a", css=css or "mark weak"))
        canvas.add(Polygon(points=inner, fill="#ffffff", css="mark-hole"))


def layout(nodes: Sequence[Node], edges: Sequence[Edge], *, rows: Sequence[str] = (), columns: Sequence[str] = (),
           labels: Mapping[str, str] | None = None) -> Canvas:
    """The flowchart of `nodes` by layer, then the matrix of `rows` (need keys) × `columns` (process and
    indicator keys) whose cells are the edges between them."""
    words = {**DEFAULT_LABELS, **(labels or {})}
    by_key = {node.key: node for node in nodes}
    column_x = {layer: MARGIN + index * (COLUMN + GAP) for index, layer in enumerate(LAYERS)}
    header_y = MARGIN + LOOP_SPACE
    flow_width = column_x["feedback"] + COLUMN + MARGIN
    canvas = Canvas(width=flow_width, height=0, title=words["title"])

    # Layer headers, the arrows between them, and the loop back to needs above them.
    for index, layer in enumerate(LAYERS):
        fill, stroke = LAYER_COLOURS[layer]
        x = column_x[layer]
        canvas.add(Rect(x=x, y=header_y, w=COLUMN, h=HEADER, radius=6, fill=stroke, stroke=stroke, css="layer",
                        data={"layer": layer}))
        canvas.add(Text(x=x + COLUMN / 2, y=header_y + 23, text=fit(words[layer], COLUMN - 16, size=14), size=14,
                        bold=True, anchor="middle", fill="#ffffff", css="layer-name"))
        if index < len(LAYERS) - 1:
            start, end = (x + COLUMN + 4, header_y + HEADER / 2), (x + COLUMN + GAP - 4, header_y + HEADER / 2)
            canvas.add(Line(points=[start, (end[0] - 8, end[1])], stroke="#475569", width=2, css="flow"))
            canvas.add(Polygon(points=arrow_head(end, start), fill="#475569", css="flow"))
    loop_y = MARGIN + 8
    from_x, to_x = column_x["feedback"] + COLUMN / 2, column_x["need"] + COLUMN / 2
    canvas.add(Line(points=[(from_x, header_y - 2), (from_x, loop_y), (to_x, loop_y), (to_x, header_y - 10)],
                    stroke="#7e22ce", width=2.2, css="loop"))
    canvas.add(Polygon(points=arrow_head((to_x, header_y - 2), (to_x, loop_y)), fill="#7e22ce", css="loop"))
    canvas.add(Rect(x=(from_x + to_x) / 2 - 100, y=loop_y - 9, w=200, h=18, fill="#ffffff", stroke="", width=0))
    canvas.add(Text(x=(from_x + to_x) / 2, y=loop_y + 4, text=fit(words["loop"], 196, size=12), size=12,
                    anchor="middle", fill="#7e22ce", css="loop-label"))

    # Nodes, stacked in their layer's column.
    boxes: dict[str, tuple[float, float, float, float]] = {}
    bottom = header_y + HEADER
    for layer in LAYERS:
        fill, stroke = LAYER_COLOURS[layer]
        x = column_x[layer]
        y = header_y + HEADER + 18
        members = [node for node in nodes if node.layer == layer]
        if not members:
            canvas.add(Text(x=x + COLUMN / 2, y=y + 14, text=words["empty"], size=12, anchor="middle",
                            fill="#94a3b8", css="empty"))
            y += 30
        for node in members:
            height = _node_height(node)
            canvas.add(Rect(x=x, y=y, w=COLUMN, h=height, radius=6, fill=fill, stroke=stroke,
                            width=1.6 if node.live else 1.4, dashed=not node.live,
                            css="node " + ("live" if node.live else "added"), data={"key": node.key},
                            tooltip=" · ".join([node.label, *node.details])))
            text_y = y + 20
            label_lines = wrap(node.label, COLUMN - 24 - (34 if node.badge or not node.live else 0), size=13,
                               lines=2)
            for line in label_lines:
                canvas.add(Text(x=x + 10, y=text_y, text=line, size=13, bold=True, css="node-label"))
                text_y += 17
            tag = node.badge or ("" if node.live else words["added"])
            if tag:
                canvas.add(Text(x=x + COLUMN - 8, y=y + 18, text=fit(tag, 44, size=10), size=10, anchor="end",
                                fill=stroke, bold=True, css="badge"))
            shown = list(node.details[:MAX_DETAILS])
            if len(node.details) > MAX_DETAILS:
                shown.append(f"+{len(node.details) - MAX_DETAILS}")
            for detail in shown:
                canvas.add(Text(x=x + 14, y=text_y - 2, text=fit(detail, COLUMN - 26, size=11), size=11,
                                fill="#475569", css="node-detail"))
                text_y += 15
            boxes[node.key] = (x, y, COLUMN, height)
            y += height + NODE_GAP
        bottom = max(bottom, y)

    # Relationships between neighbouring layers (the rest show in the matrix).
    order = {layer: index for index, layer in enumerate(LAYERS)}
    for edge in edges:
        source, target = by_key.get(edge.source), by_key.get(edge.target)
        if source is None or target is None:
            continue
        if order[source.layer] > order[target.layer]:
            source, target = target, source
        if order[target.layer] - order[source.layer] != 1:
            continue
        sx, sy, sw, sh = boxes[source.key]
        tx, ty, _tw, th = boxes[target.key]
        colour, width, dashed = EDGE_STYLE.get(edge.strength, EDGE_STYLE["medium"])
        start, end = (sx + sw, sy + min(sh / 2, 22)), (tx, ty + min(th / 2, 22))
        canvas.add(Line(points=[start, ((start[0] + end[0]) / 2, start[1]), ((start[0] + end[0]) / 2, end[1]), end],
                        stroke=colour, width=width, dashed=dashed, css=f"link {edge.strength}",
                        data={"source": edge.source, "target": edge.target, "strength": edge.strength}))

    # The relationship matrix: needs × (processes, indicators).
    y = bottom + 28
    canvas.add(Text(x=MARGIN, y=y, text=words["matrix"], size=15, bold=True, css="matrix-title"))
    y += 14
    rows = [key for key in rows if key in by_key]
    columns = [key for key in columns if key in by_key]
    cells = {}
    for edge in edges:
        cells[(edge.source, edge.target)] = edge.strength
        cells[(edge.target, edge.source)] = edge.strength
    matrix_width = MARGIN + ROW_HEAD + CELL * len(columns) + MARGIN
    if not rows or not columns:
        canvas.add(Text(x=MARGIN, y=y + 20, text=words["no_matrix"], size=12, fill="#64748b", css="matrix-empty"))
        y += 40
    else:
        left = MARGIN + ROW_HEAD
        # Group headers (processes, indicators) over their columns.
        groups: list[tuple[str, int, int]] = []
        for index, key in enumerate(columns):
            layer = by_key[key].layer
            if groups and groups[-1][0] == layer:
                groups[-1] = (layer, groups[-1][1], index)
            else:
                groups.append((layer, index, index))
        for layer, first, last in groups:
            fill, stroke = LAYER_COLOURS[layer]
            x0 = left + first * CELL
            canvas.add(Rect(x=x0, y=y, w=CELL * (last - first + 1), h=20, fill=stroke, stroke="#ffffff", width=1))
            canvas.add(Text(x=x0 + CELL * (last - first + 1) / 2, y=y + 14,
                            text=fit(words[layer], CELL * (last - first + 1) - 8, size=11), size=11, bold=True,
                            anchor="middle", fill="#ffffff"))
        y += 20
        head_height = 50
        for index, key in enumerate(columns):
            node = by_key[key]
            fill, _stroke = LAYER_COLOURS[node.layer]
            x0 = left + index * CELL
            canvas.add(Rect(x=x0, y=y, w=CELL, h=head_height, fill=fill, stroke="#cbd5e1", width=1,
                            tooltip=node.label, data={"column": key}))
            for line_index, line in enumerate(wrap(node.label, CELL - 8, size=10.5, lines=3)):
                canvas.add(Text(x=x0 + CELL / 2, y=y + 14 + 13 * line_index, text=line, size=10.5, anchor="middle",
                                css="matrix-column"))
        y += head_height
        for row_index, row_key in enumerate(rows):
            node = by_key[row_key]
            fill, _stroke = LAYER_COLOURS["need"]
            row_y = y + row_index * ROW
            canvas.add(Rect(x=MARGIN, y=row_y, w=ROW_HEAD, h=ROW, fill=fill, stroke="#cbd5e1", width=1,
                            data={"row": row_key}, tooltip=node.label))
            canvas.add(Text(x=MARGIN + 8, y=row_y + 18, text=fit(node.label, ROW_HEAD - 16, size=12), size=12,
                            css="matrix-row"))
            for index, column_key in enumerate(columns):
                x0 = left + index * CELL
                strength = cells.get((row_key, column_key), "")
                canvas.add(Rect(x=x0, y=row_y, w=CELL, h=ROW, fill="#ffffff", stroke="#cbd5e1", width=1,
                                css="cell", data={"row": row_key, "column": column_key, "strength": strength}))
                strength_mark(canvas, x0 + CELL / 2, row_y + ROW / 2, strength)
        y += len(rows) * ROW
    # Legend.
    y += 24
    x = MARGIN
    for strength in ("strong", "medium", "weak"):
        strength_mark(canvas, x + 7, y - 4, strength, size=6, css=f"legend {strength}")
        canvas.add(Text(x=x + 18, y=y, text=words[strength], tooltip=SYMBOLS[strength], size=12, css="legend-text"))
        x += 120
    canvas.height = y + MARGIN
    canvas.width = max(flow_width, matrix_width, x + MARGIN)
    return canvas


def render_svg(nodes: Sequence[Node], edges: Sequence[Edge], *, rows: Sequence[str] = (),
               columns: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> str:
    return to_svg(layout(nodes, edges, rows=rows, columns=columns, labels=labels), css_class="logic-diagram")


def render_png(nodes: Sequence[Node], edges: Sequence[Edge], *, rows: Sequence[str] = (),
               columns: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> bytes:
    return to_png(layout(nodes, edges, rows=rows, columns=columns, labels=labels))
