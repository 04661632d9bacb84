"""Plotly figures of the value dashboard, built in Python from a queries.Summary and shipped as JSON.

The page draws them with plotly.min.js from the installed plotly package (no CDN); each figure is
also shown as a table, so the numbers are there without JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from loopcrm.value.models import RfmSegment, Stage, Tier
from loopcrm.value.queries import Summary

LAYOUT = {"margin": {"l": 48, "r": 16, "t": 36, "b": 48}, "height": 320, "font": {"size": 12},
          "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
TIER_COLOURS = {"high": "#0f766e", "medium": "#2563eb", "low": "#94a3b8"}


def _json(figure: go.Figure) -> dict[str, Any]:
    return json.loads(figure.to_json())


def tier_chart(summary: Summary) -> dict[str, Any]:
    labels = [str(Tier(t).label) for t in summary.tiers]
    figure = go.Figure(go.Bar(x=labels, y=list(summary.tiers.values()),
                              marker_color=[TIER_COLOURS[t] for t in summary.tiers]))
    figure.update_layout(title=_("Value tiers"), yaxis_title=_("customers"), **LAYOUT)
    return _json(figure)


def rfm_heatmap(summary: Summary) -> dict[str, Any]:
    figure = go.Figure(go.Heatmap(
        z=summary.rfm_grid, x=["1", "2", "3", "4", "5"], y=["5", "4", "3", "2", "1"], colorscale="Teal",
        hovertemplate=_("R %{y}, FM %{x}: %{z} customers") + "<extra></extra>"))
    figure.update_layout(title=_("RFM grid"), xaxis_title=_("FM score (frequency and monetary)"),
                         yaxis_title=_("R score (recency)"), **LAYOUT)
    return _json(figure)


def clv_chart(summary: Summary) -> dict[str, Any]:
    labels = [f"{band['low']:,}+" if band["high"] is None else f"{band['low']:,}–{band['high']:,}"
              for band in summary.clv_histogram]
    figure = go.Figure(go.Bar(x=labels, y=[band["customers"] for band in summary.clv_histogram],
                              marker_color="#2563eb"))
    figure.update_layout(title=_("Predicted CLV"), xaxis_title=_("CLV band"), yaxis_title=_("customers"), **LAYOUT)
    return _json(figure)


def cohort_heatmap(summary: Summary) -> dict[str, Any]:
    width = max((len(c["retention"]) for c in summary.cohorts), default=0)
    z = [[(None if v is None else round(100 * v, 1)) for v in c["retention"]] + [None] * (width - len(c["retention"]))
         for c in summary.cohorts]
    figure = go.Figure(go.Heatmap(
        z=z, x=[str(k) for k in range(width)], y=[c["cohort"] for c in summary.cohorts], colorscale="Blues",
        zmin=0, zmax=100, hovertemplate=_("cohort %{y}, month +%{x}: %{z} %") + "<extra></extra>"))
    figure.update_layout(title=_("Retention by monthly cohort (%)"), xaxis_title=_("months after the first order"),
                         yaxis={"autorange": "reversed"}, **LAYOUT)
    return _json(figure)


def churn_chart(summary: Summary) -> dict[str, Any]:
    figure = go.Figure(go.Scatter(x=[c["month"] for c in summary.churn],
                                  y=[None if c["rate"] is None else round(100 * c["rate"], 2) for c in summary.churn],
                                  mode="lines+markers", line_color="#dc2626"))
    figure.update_layout(title=_("Monthly churn rate (%)"), yaxis_title="%", **LAYOUT)
    return _json(figure)


def dashboard_charts(summary: Summary) -> list[tuple[str, dict[str, Any]]]:
    return [("tiers", tier_chart(summary)), ("rfm", rfm_heatmap(summary)), ("clv", clv_chart(summary)),
            ("cohorts", cohort_heatmap(summary)), ("churn", churn_chart(summary))]


def labelled(counts: dict[str, int], choices: type[Tier] | type[Stage] | type[RfmSegment]) -> list[tuple[str, int]]:
    return [(str(choices(key).label), value) for key, value in counts.items()]
