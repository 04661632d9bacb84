"""Plotly figures (as JSON for the page's plotly.min.js) built from query results; no Django."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

LAYOUT = {"margin": {"l": 40, "r": 10, "t": 30, "b": 40}, "height": 300, "template": "plotly_white",
          "legend": {"orientation": "h", "y": -0.2}}


def _json(figure: go.Figure) -> str:
    return figure.to_json()


def trend_figure(rows: list[dict[str, Any]], *, title: str, nps_label: str, csat_label: str) -> str:
    """NPS (with its interval as error bars) and CSAT % per period; periods below the minimum are gaps."""
    x = [row["label"] for row in rows]
    nps = [row["nps"]["value"] for row in rows]
    above = [(r["nps"]["high"] - r["nps"]["value"]) if r["nps"]["value"] is not None else None for r in rows]
    below = [(r["nps"]["value"] - r["nps"]["low"]) if r["nps"]["value"] is not None else None for r in rows]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=x, y=nps, name=nps_label, mode="lines+markers",
        error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
    ))
    figure.add_trace(go.Scatter(x=x, y=[row["csat"]["value"] for row in rows], name=csat_label,
                                mode="lines+markers", yaxis="y2"))
    figure.update_layout(title=title, yaxis={"range": [-100, 100]}, yaxis2={"overlaying": "y", "side": "right",
                                                                          "range": [0, 100]}, **LAYOUT)
    return _json(figure)


def distribution_figure(counts: dict[int, int], *, low: int, high: int, title: str, colours: dict[int, str]) -> str:
    x = list(range(low, high + 1))
    figure = go.Figure(go.Bar(x=x, y=[counts.get(v, 0) for v in x],
                              marker_color=[colours.get(v, "#64748b") for v in x]))
    figure.update_layout(title=title, xaxis={"dtick": 1}, **LAYOUT)
    return _json(figure)


def breakdown_figure(rows: list[dict[str, Any]], *, metric: str, title: str) -> str:
    shown = [row for row in rows if row[metric]["value"] is not None]
    figure = go.Figure(go.Bar(
        y=[row["label"] for row in shown], x=[row[metric]["value"] for row in shown], orientation="h",
        error_x={"type": "data", "symmetric": False,
                 "array": [row[metric]["high"] - row[metric]["value"] for row in shown],
                 "arrayminus": [row[metric]["value"] - row[metric]["low"] for row in shown]},
    ))
    figure.update_layout(title=title, **{**LAYOUT, "height": max(240, 28 * len(shown) + 80)})
    return _json(figure)


def words_figure(words: list[tuple[str, int]], *, title: str) -> str:
    top = list(reversed(words[:30]))
    figure = go.Figure(go.Bar(y=[w for w, _ in top], x=[c for _, c in top], orientation="h"))
    figure.update_layout(title=title, **{**LAYOUT, "height": max(300, 20 * len(top) + 80)})
    return _json(figure)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
