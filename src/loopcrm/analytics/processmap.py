"""The directly-follows graph drawn as an SVG process map, server-side. Pure: no Django.

Layout: activities in layers from the start (a breadth-first walk along the most frequent transitions;
a transition back to an earlier or the same layer is a loop, drawn as an arc on the right). Edge
thickness grows with the number of transitions; a node is coloured by its median duration against
its target (green within, amber up to 1.5 × the target, red beyond; blue-grey without a target); the
top bottleneck is outlined in red (an activity) or drawn in red (a transition). Words come in through
`labels` so the caller can translate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from loopcrm.analytics.mining import Dfg
from loopcrm.service.flowchart import fit

NODE_W, NODE_H = 190, 54
GAP_X, GAP_Y = 36, 62
MARGIN = 20
LOOP_SPACE = 120
MAX_NODES = 30
MAX_EDGES = 80

DEFAULT_LABELS = {"title": "Process map", "start": "Start", "end": "End", "cases": "cases", "median": "median",
                  "bottleneck": "bottleneck", "target": "target"}
FILL = {"ok": "#e3f4e8", "warn": "#fff2cc", "late": "#fbe0dd", "none": "#eef2f7"}
STROKE = {"ok": "#2e7d4f", "warn": "#b7791f", "late": "#c0392b", "none": "#6b7a90"}


@dataclass(frozen=True)
class Highlight:
    """The top bottleneck: an activity, or a transition source → target."""

    source: str
    target: str | None = None


def human(seconds: float | None) -> str:
    """3 s, 12 min, 4.5 h, 2.1 d (wall-clock)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def grade(median: float | None, target: float | None) -> str:
    if median is None or not target:
        return "none"
    ratio = median / target
    return "ok" if ratio <= 1 else "warn" if ratio <= 1.5 else "late"


def layers(graph: Dfg) -> dict[str, int]:
    """Layer of each activity: visit from the start activities along transitions (most frequent first);
    a transition to an activity visited later goes down, and an activity sits one layer below the lowest
    of its predecessors (longest path), so A → B → C stays a column even when A → C happens too.
    Transitions under 1 % of the busiest do not shape the layout."""
    names = [n.activity for n in graph.nodes[:MAX_NODES]]
    shown = set(names)
    biggest = max((e.count for e in graph.edges), default=1)
    out: dict[str, list[tuple[int, str]]] = {}
    for edge in graph.edges:
        if edge.source in shown and edge.target in shown and edge.count >= biggest * 0.01:
            out.setdefault(edge.source, []).append((-edge.count, edge.target))
    starts = sorted((n for n in graph.nodes if n.activity in shown and n.starts), key=lambda n: -n.starts)
    order: dict[str, int] = {}
    queue = [n.activity for n in starts]
    while queue:
        name = queue.pop(0)
        if name in order:
            continue
        order[name] = len(order)
        queue += [target for _count, target in sorted(out.get(name, [])) if target not in order]
    for name in names:  # not reachable from a start: after the rest
        order.setdefault(name, len(order))
    rank = {name: 0 for name in order}
    for name in sorted(order, key=order.get):
        for _count, target in out.get(name, []):
            if order[target] > order[name]:
                rank[target] = max(rank[target], rank[name] + 1)
    return rank


def process_map_svg(graph: Dfg, *, names: Mapping[str, str] | None = None, targets: Mapping[str, float] | None = None,
                    highlight: Highlight | None = None, labels: Mapping[str, str] | None = None) -> str:
    names, targets = names or {}, targets or {}
    words = {**DEFAULT_LABELS, **(labels or {})}
    rank = layers(graph)
    by_layer: dict[int, list[str]] = {}
    for node in graph.nodes:
        if node.activity in rank:
            by_layer.setdefault(rank[node.activity], []).append(node.activity)
    widest = max((len(v) for v in by_layer.values()), default=1)
    inner = widest * NODE_W + (widest - 1) * GAP_X
    width = inner + 2 * MARGIN + LOOP_SPACE
    top = MARGIN + 30 + 34  # title, start marker
    pos: dict[str, tuple[float, float]] = {}
    for depth in sorted(by_layer):
        row = by_layer[depth]
        span = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x0 = MARGIN + (inner - span) / 2
        for i, name in enumerate(row):
            pos[name] = (x0 + i * (NODE_W + GAP_X), top + depth * (NODE_H + GAP_Y))
    height = top + (max(by_layer, default=0) + 1) * (NODE_H + GAP_Y) + 30
    nodes = {n.activity: n for n in graph.nodes}
    edges = [e for e in graph.edges if e.source in pos and e.target in pos][:MAX_EDGES]
    biggest = max((e.count for e in edges), default=1)
    # Rare transitions would only clutter the map (they stay in the tables): keep those above 0.5 % of
    # the busiest, at least the 15 busiest, and the highlighted one; label only those above 3 %.
    edges = [e for n, e in enumerate(edges) if n < 15 or e.count >= biggest * 0.005 or
             (highlight is not None and (highlight.source, highlight.target) == (e.source, e.target))]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label={quoteattr(words["title"])}>',
             '<defs><marker id="pm-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
             'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5b6b82"/>'
             '</marker><marker id="pm-arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" '
             'markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>',
             f'<title>{escape(words["title"])}</title>',
             f'<text x="{MARGIN}" y="{MARGIN + 12}" font-size="13" fill="#5b6b82">'
             f'{escape(str(graph.cases))} {escape(words["cases"])}</text>']
    start_x = MARGIN + inner / 2
    parts.append(f'<circle cx="{start_x:.0f}" cy="{top - 22}" r="9" fill="#2e7d4f"><title>{escape(words["start"])}'
                 f'</title></circle>')
    for node in graph.nodes:
        if node.starts and node.activity in pos:
            x, y = pos[node.activity]
            w = 1 + 6 * node.starts / max(graph.cases, 1)
            parts.append(f'<line x1="{start_x:.0f}" y1="{top - 13}" x2="{x + NODE_W / 2:.0f}" y2="{y:.0f}" '
                         f'stroke="#9aa7b8" stroke-width="{w:.1f}" marker-end="url(#pm-arrow)"/>')
    for edge in edges:
        sx, sy = pos[edge.source]
        tx, ty = pos[edge.target]
        hot = highlight is not None and highlight.target is not None and \
            (highlight.source, highlight.target) == (edge.source, edge.target)
        colour, marker = ("#c0392b", "pm-arrow-hot") if hot else ("#5b6b82", "pm-arrow")
        w = 1 + 7 * edge.count / biggest
        label = f"{edge.count} · {human(edge.duration.median)}" if edge.count >= biggest * 0.03 or hot else ""
        forward = rank[edge.target] > rank[edge.source]
        if rank[edge.target] == rank[edge.source] and edge.source != edge.target:  # side by side: sag below
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2 + 12, ty + NODE_H
            d = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + 34:.0f} {x2:.0f},{y2 + 34:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, y1 + 30
        elif forward:
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty
            d = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + 30:.0f} {x2:.0f},{y2 - 30:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2 + 6, (y1 + y2) / 2
        else:  # a loop or a step back: an arc out to the right
            x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2 + 6, tx + NODE_W, ty + NODE_H / 2 - 6
            bulge = max(x1, x2) + 40 + 18 * abs(rank[edge.source] - rank[edge.target])
            d = f"M{x1:.0f},{y1:.0f} C{bulge:.0f},{y1:.0f} {bulge:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = bulge - 10, (y1 + y2) / 2
        source_name, target_name = names.get(edge.source, edge.source), names.get(edge.target, edge.target)
        parts.append(f'<g class="pm-edge{" pm-hot" if hot else ""}" data-source={quoteattr(edge.source)} '
                     f'data-target={quoteattr(edge.target)} data-count="{edge.count}">'
                     f'<title>{escape(source_name)} → {escape(target_name)}: {edge.count} ({edge.cases} '
                     f'{escape(words["cases"])}), {escape(words["median"])} {human(edge.duration.median)}</title>'
                     f'<path d="{d}" fill="none" stroke="{colour}" stroke-opacity="{0.95 if hot else 0.7}" '
                     f'stroke-width="{w:.1f}" marker-end="url(#{marker})"/>'
                     f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="11" fill="{colour}">{escape(label)}</text></g>')
    for name, (x, y) in pos.items():
        node = nodes[name]
        target = targets.get(name)
        level = grade(node.duration.median, target)
        hot = highlight is not None and highlight.target is None and highlight.source == name
        title = names.get(name, name)
        line2 = f"{node.events} · {words['median']} {human(node.duration.median)}"
        if target:
            line2 += f" / {human(target)}"
        parts.append(f'<g class="pm-node{" pm-hot" if hot else ""}" data-activity={quoteattr(name)} '
                     f'data-grade="{level}"><title>{escape(title)}: {node.events} ({node.cases} '
                     f'{escape(words["cases"])}), {escape(words["median"])} {human(node.duration.median)}'
                     f'{", " + escape(words["target"]) + " " + human(target) if target else ""}'
                     f'{" — " + escape(words["bottleneck"]) if hot else ""}</title>'
                     f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{FILL[level]}" '
                     f'stroke="{"#c0392b" if hot else STROKE[level]}" stroke-width="{4 if hot else 1.5}"/>'
                     f'<text x="{x + 10:.0f}" y="{y + 21:.0f}" font-size="13" font-weight="600" fill="#1d2735">'
                     f'{escape(fit(title, NODE_W - 20))}</text>'
                     f'<text x="{x + 10:.0f}" y="{y + 40:.0f}" font-size="11" fill="#4a5568">'
                     f'{escape(fit(line2, NODE_W - 20, size=11))}</text>')
        if hot:
            parts.append(f'<text x="{x + NODE_W - 8:.0f}" y="{y - 5:.0f}" font-size="11" font-weight="700" '
                         f'text-anchor="end" fill="#c0392b">▲ {escape(words["bottleneck"])}</text>')
        parts.append("</g>")
        if node.ends:
            parts.append(f'<text x="{x + NODE_W / 2:.0f}" y="{y + NODE_H + 14:.0f}" font-size="10" '
                         f'text-anchor="middle" fill="#5b6b82">■ {escape(words["end"])} {node.ends}</text>')
    parts.append("</svg>")
    return "".join(parts)
