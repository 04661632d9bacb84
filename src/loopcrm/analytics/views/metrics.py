"""Pages of the metric registry (thin): the quality manager's dashboard, the list of metrics and a metric's
page (trend at a grain, cut by a dimension). They read the registry like the API does; the same view
answers the whole page or, for htmx, only the results under the filters."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.models import Department, Team, User
from loopcrm.accounts.permissions import can
from loopcrm.analytics import registry
from loopcrm.analytics.metrics import dashboard as dashboards
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.pages import domain_pages, htmx_target
from loopcrm.service.models import Ticket, TicketCategory
from loopcrm.value.models import Tier

DEFAULT_DAYS = 30
COLOURS = {"better": "#15803d", "worse": "#b91c1c", "same": "#475569", "": "#475569"}
LAYOUT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "font": {"size": 12}}
MAX_CHOICES = 500


def _may_view(user) -> None:
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see quality metrics."))


def parse(params: QueryDict) -> dict[str, Any]:
    """start, end, grain, by and filters from the query string; RuleViolation naming the field at fault."""
    out: dict[str, Any] = {}
    for name in ("start", "end"):
        raw = (params.get(name) or "").strip()
        try:
            out[name] = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise RuleViolation(_("Give the %(name)s as a date (YYYY-MM-DD).") % {"name": name}, field=name) from None
    out["end"] = out["end"] or timezone.localdate()
    out["start"] = out["start"] or out["end"] - dt.timedelta(days=DEFAULT_DAYS - 1)
    grain = params.get("grain") or ""
    out["grain"] = registry.clean_grain(grain) if grain else None
    out["by"] = params.get("by") or ""
    out["filters"] = {name: params.get(name) for name in registry.DIMENSIONS if params.get(name)}
    return out


def _choices() -> dict[str, list[tuple[str, str]]]:
    """What each filter offers (ids with names, codes with labels; regions are typed)."""
    return {
        "department": [(str(pk), name) for pk, name in Department.objects.values_list("pk", "name")[:MAX_CHOICES]],
        "team": [(str(pk), name) for pk, name in Team.objects.values_list("pk", "name")[:MAX_CHOICES]],
        "agent": [(str(u.pk), str(u.display_name or u.username)) for u in User.objects.filter(
            is_active=True, role__in=("agent", "team_lead")).order_by("display_name", "username")[:MAX_CHOICES]],
        "category": [(str(pk), name) for pk, name in TicketCategory.objects.values_list("pk", "name")[:MAX_CHOICES]],
        "kind": [(str(c), str(label)) for c, label in Ticket.Kind.choices],
        "channel": [(str(c), str(label)) for c, label in Channel.choices],
        "touchpoint": [(str(c), str(label)) for c, label in Touchpoint.choices],
        "customer_tier": [(str(c), str(label)) for c, label in Tier.choices],
    }


def filter_fields(params: QueryDict, dimensions) -> list[dict[str, Any]]:
    """The filter controls: a select of names or labels per dimension, a text box for the region."""
    choices, names = _choices(), dimension_names()
    return [{"name": name, "label": names[name], "value": params.get(name) or "",
             "options": choices.get(name)} for name in dimensions]


def dimension_names() -> dict[str, str]:
    return {"department": _("Department"), "team": _("Team"), "agent": _("Agent"), "category": _("Category"),
            "kind": _("Ticket kind"), "channel": _("Channel"), "touchpoint": _("Touchpoint"),
            "customer_tier": _("Value tier"), "region": _("Region (province)")}


def _figure(figure: go.Figure) -> dict[str, Any]:
    return json.loads(figure.to_json())


_TEMPLATE: dict[str, Any] = {}


def _default_template() -> dict[str, Any]:
    """plotly's default template as its figures serialise it (built once: plotly's validators cost ~20 ms per
    figure, eight sparklines a page)."""
    if not _TEMPLATE:
        _TEMPLATE.update(_figure(go.Figure())["layout"]["template"])
    return _TEMPLATE


def sparkline(kpi: dashboards.Kpi) -> dict[str, Any]:
    """The same figure JSON `go.Figure(go.Scatter(...))` would give, written as the plain dict it serialises to."""
    points = kpi.points
    trace = {"x": [p.start.isoformat() for p in points], "y": [p.value for p in points], "mode": "lines+markers",
             "line": {"color": COLOURS[kpi.direction], "width": 2}, "marker": {"size": 4}, "connectgaps": False,
             "hovertemplate": "%{x}: %{y:.3~f}<extra></extra>", "type": "scatter"}
    layout = {"template": _default_template(), "height": 64, "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
              "showlegend": False, "xaxis": {"visible": False}, "yaxis": {"visible": False}, **LAYOUT}
    return {"data": [trace], "layout": layout}


def _plotly_sparkline(kpi: dashboards.Kpi) -> dict[str, Any]:
    """The sparkline through plotly's own objects: what `sparkline` must equal (pinned by a test)."""
    points = kpi.points
    figure = go.Figure(go.Scatter(
        x=[p.start.isoformat() for p in points], y=[p.value for p in points], mode="lines+markers",
        line={"color": COLOURS[kpi.direction], "width": 2}, marker={"size": 4}, connectgaps=False,
        hovertemplate="%{x}: %{y:.3~f}<extra></extra>"))
    figure.update_layout(height=64, margin={"l": 0, "r": 0, "t": 4, "b": 4}, showlegend=False,
                         xaxis={"visible": False}, yaxis={"visible": False}, **LAYOUT)
    return _figure(figure)


def trend_figure(metric: registry.Metric, points: list[registry.Point]) -> dict[str, Any]:
    figure = go.Figure(go.Scatter(
        x=[p.start.isoformat() for p in points], y=[p.value for p in points], mode="lines+markers",
        customdata=[p.n for p in points], line={"color": "#1f5bd8"},
        hovertemplate="%{x}: %{y:.3~f} " + metric.unit + " (n = %{customdata})<extra></extra>"))
    figure.update_layout(title=str(metric.name), height=340, margin={"l": 56, "r": 16, "t": 40, "b": 40},
                         yaxis_title=metric.unit, **LAYOUT)
    return _figure(figure)


def cuts_figure(metric: registry.Metric, cuts: list[registry.Cut], by_name: str) -> dict[str, Any]:
    figure = go.Figure([go.Scatter(x=[p.start.isoformat() for p in cut.points], y=[p.value for p in cut.points],
                                   mode="lines+markers", name=cut.label) for cut in cuts])
    figure.update_layout(title=_("%(metric)s by %(by)s") % {"metric": metric.name, "by": by_name}, height=360,
                         margin={"l": 56, "r": 16, "t": 40, "b": 40}, yaxis_title=metric.unit, **LAYOUT)
    return _figure(figure)


def _problem(context: dict, error: RuleViolation) -> int:
    context["problem"], context["problem_field"] = error.message, error.field
    return 400


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def quality_dashboard(request: HttpRequest) -> HttpResponse:
    """KPI cards (this period against the one before, coloured by which direction is better), sparklines,
    and the slots for open control-chart signals and PDCA cycles in progress."""
    _may_view(request.user)
    context: dict[str, Any] = {"params": request.GET, "fields": filter_fields(request.GET, registry.DIMENSIONS),
                               "slots": [(name, render_to_string(template, slot_context, request))
                                         for name, template, slot_context in dashboards.slots_for(request.user)]}
    status = 200
    try:
        params = parse(request.GET)
        context["params_parsed"] = params
        board = dashboards.dashboard(start=params["start"], end=params["end"], grain=params["grain"],
                                     filters=params["filters"], user=request.user)
        names = dimension_names()
        context["board"] = board
        context["cards"] = [{"kpi": kpi, "figure": sparkline(kpi), "id": f"spark-{kpi.metric.key}",
                             "ignored": [names[n] for n in kpi.ignored]} for kpi in board.kpis]
    except RuleViolation as error:
        status = _problem(context, error)
    page = "analytics/metrics/dashboard.html"
    if htmx_target(request) == "quality-results":
        return render(request, f"{page}#results", context, status=status)
    return render(request, page, context, status=status)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def metric_list(request: HttpRequest) -> HttpResponse:
    _may_view(request.user)
    names = dimension_names()
    rows = [(metric, [names[d] for d in metric.dimensions]) for metric in registry.metrics()]
    return render(request, "analytics/metrics/list.html", {"rows": rows})


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def metric_detail(request: HttpRequest, key: str) -> HttpResponse:
    """One metric: its trend at a grain, and the same cut by a dimension (chart and table)."""
    _may_view(request.user)
    metric = registry.get(key)
    names = dimension_names()
    context: dict[str, Any] = {
        "metric": metric, "params": request.GET, "fields": filter_fields(request.GET, metric.dimensions),
        "dimension_label": names.get(request.GET.get("by") or "", ""),
        "dimensions": [(d, names[d]) for d in metric.dimensions],
        "grains": [(registry.Grain.DAY, _("Day")), (registry.Grain.WEEK, _("Week")),
                   (registry.Grain.MONTH, _("Month"))],
    }
    status = 200
    try:
        params = parse(request.GET)
        grain = params["grain"] or dashboards.default_grain(params["start"], params["end"])
        filters = {name: value for name, value in params["filters"].items() if name in metric.dimensions}
        points = registry.series(key, start=params["start"], end=params["end"], grain=grain, filters=filters,
                                 user=request.user)
        total = registry.total(key, start=params["start"], end=params["end"], filters=filters, user=request.user)
        context.update({"params_parsed": params, "grain": grain, "points": points, "total": total,
                        "trend": trend_figure(metric, points), "by": params["by"]})
        if params["by"]:
            cuts = registry.cuts(key, params["by"], start=params["start"], end=params["end"], grain=grain,
                                 filters=filters, user=request.user)
            context.update({"cuts": cuts, "cuts_figure": cuts_figure(metric, cuts, names.get(params["by"], ""))})
    except RuleViolation as error:
        status = _problem(context, error)
    page = "analytics/metrics/detail.html"
    if htmx_target(request) == "metric-results":
        return render(request, f"{page}#results", context, status=status)
    return render(request, page, context, status=status)
