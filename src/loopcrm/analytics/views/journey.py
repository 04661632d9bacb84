"""The customer journey map page (thin): filters in, the map from analytics.queries.journey out.

The same view answers the whole page or, for htmx, only the results under the filters (switching
the measure the heat map is coloured by redraws the results alone).
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loopcrm.analytics import journey
from loopcrm.analytics.queries import journey as queries
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pages import domain_pages, htmx_target
from loopcrm.value.models import RfmSegment, Tier

MEASURES = (
    (journey.Measure.VOLUME, gettext_lazy("Volume")),
    (journey.Measure.CSAT, gettext_lazy("CSAT")),
    (journey.Measure.NPS, gettext_lazy("NPS")),
    (journey.Measure.COMPLAINT_RATE, gettext_lazy("Complaint rate")),
    (journey.Measure.CES, gettext_lazy("Effort (CES)")),
    (journey.Measure.HOURS, gettext_lazy("Time (hours)")),
)


def _colour(shade: float | None, measure: journey.Measure) -> str:
    """A cell's background: blue by busyness for volume, green (best) to red (worst) otherwise."""
    if shade is None:
        return ""
    if journey.HIGHER_IS_BETTER[measure] is None:
        return f"hsl(220, 80%, {96 - 36 * shade:.0f}%)"
    return f"hsl({130 * (1 - shade):.0f}, 70%, {90 - 12 * shade:.0f}%)"


def funnel_figure(journey_map: journey.JourneyMap) -> dict[str, Any]:
    names = dict(JourneyStage.choices)
    totals = [journey_map.stage_totals[stage] for stage in journey_map.stages]
    figure = go.Figure(go.Funnel(
        y=[str(names.get(t.stage, t.stage)) for t in totals], x=[t.customers for t in totals],
        textinfo="value+percent previous", marker_color="#1f5bd8"))
    figure.update_layout(title=_("Customers reaching each stage"), height=360, font={"size": 12},
                         margin={"l": 110, "r": 16, "t": 36, "b": 24},
                         paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return json.loads(figure.to_json())


def _choices(pairs) -> list[tuple[str, str]]:
    return [(str(code), str(label)) for code, label in pairs]


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def journey_map(request: HttpRequest) -> HttpResponse:
    queries.check_access(request.user)
    measure_code = request.GET.get("measure") or journey.Measure.VOLUME
    measure = journey.Measure(measure_code) if measure_code in set(journey.Measure) else journey.Measure.VOLUME
    context: dict[str, Any] = {
        "measure": measure, "measures": _choices(MEASURES), "measure_label": dict(MEASURES)[measure],
        "params": request.GET,
        "tiers": _choices(Tier.choices), "segments": _choices(RfmSegment.choices),
        "channels": _choices(Channel.choices),
    }
    try:
        filters = queries.parse_filters(request.GET)
    except RuleViolation as error:
        filters, context["problem"], context["problem_field"] = None, error.message, error.field
    status = 200
    if filters is None:
        status = 400
        context["filters"] = queries.parse_filters({})
    else:
        journey_map = queries.journey_map_for(request.user, filters)
        shades = journey.shades(journey_map, measure)
        tp_names, stage_names = dict(Touchpoint.choices), dict(JourneyStage.choices)
        context.update({
            "filters": filters, "journey": journey_map,
            "stages": [(stage, stage_names.get(stage, stage), journey_map.stage_totals[stage])
                       for stage in journey_map.stages],
            "rows": [(tp, tp_names.get(tp, tp),
                      [(stage, cell, _colour(shades.get((stage, tp)), measure) if cell else "")
                       for stage, cell in zip(journey_map.stages, cells, strict=True)])
                     for tp, cells in journey_map.rows()],
            "drop_offs": [(d, stage_names.get(d.stage, d.stage), stage_names.get(d.next_stage, d.next_stage))
                          for d in journey_map.drop_offs],
            "funnel": funnel_figure(journey_map),
        })
    page = "analytics/journey/map.html"
    if htmx_target(request) == "journey-results":
        return render(request, f"{page}#results", context, status=status)
    return render(request, page, context, status=status)
