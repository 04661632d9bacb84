"""Pages of control points: the chart list, a new/edited chart, the chart with its signals, the Pareto
of complaint causes. Thin: queries and services do the work; figures are built here with plotly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.models import Department, Team, User
from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.analytics import registry
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.errors import DomainError, PermissionDenied
from loopcrm.core.pages import domain_pages
from loopcrm.improvement.models import ChartSignal, ControlChart
from loopcrm.improvement.queries import charts as queries
from loopcrm.improvement.services import charts as services
from loopcrm.service.models import Ticket, TicketCategory
from loopcrm.value.models import Tier

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DIMENSION_FIELDS = ("department", "team", "agent", "category", "kind", "channel", "touchpoint", "customer_tier",
                    "region")
ZONE_COLOURS = {"A": "rgba(239, 68, 68, 0.07)", "B": "rgba(234, 179, 8, 0.07)", "C": "rgba(34, 197, 94, 0.07)"}


def _need_view(user: User) -> None:
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see improvement work."))


def _metric_choices() -> list[tuple[str, str]]:
    return [(metric.key, str(metric.name)) for metric in registry.metrics()]


def _blank(choices) -> list[tuple[str, str]]:
    return [("", "—"), *choices]


class ScopeFields(forms.Form):
    """The dimension filters of a metric, one optional field each (one filter definition for pages)."""

    department = forms.ModelChoiceField(label=gettext_lazy("Department"), queryset=Department.objects.none(),
                                        required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False)
    agent = forms.ModelChoiceField(label=gettext_lazy("Agent"), queryset=User.objects.none(), required=False)
    category = forms.ModelChoiceField(label=gettext_lazy("Category"), queryset=TicketCategory.objects.none(),
                                      required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Ticket kind"), choices=_blank(Ticket.Kind.choices), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=_blank(Channel.choices), required=False)
    touchpoint = forms.ChoiceField(label=gettext_lazy("Touchpoint"), choices=_blank(Touchpoint.choices),
                                   required=False)
    customer_tier = forms.ChoiceField(label=gettext_lazy("Customer tier"), choices=_blank(Tier.choices),
                                      required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=50, required=False,
                             help_text=gettext_lazy("Province, as on the customer."))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments_for(user).order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["agent"].queryset = users_for(user).order_by("username")
        self.fields["category"].queryset = TicketCategory.objects.order_by("path")

    def scope(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in DIMENSION_FIELDS:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            out[name] = value.pk if hasattr(value, "pk") else value
        return out


class ChartForm(ScopeFields):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    metric_key = forms.ChoiceField(label=gettext_lazy("Metric"), choices=())
    chart_type = forms.ChoiceField(
        label=gettext_lazy("Chart type"), required=False,
        choices=[("", gettext_lazy("Chosen from the metric")), *ControlChart.Type.choices])
    grain = forms.ChoiceField(label=gettext_lazy("Period"), choices=ControlChart.Grain.choices,
                              initial=ControlChart.Grain.DAY)
    baseline_start = forms.DateField(label=gettext_lazy("Baseline start"), widget=DATE)
    baseline_end = forms.DateField(label=gettext_lazy("Baseline end"), widget=DATE)
    exclude_out_of_control = forms.BooleanField(
        label=gettext_lazy("Recompute the limits without baseline points beyond 3 sigma"), required=False)
    rule_set = forms.ChoiceField(label=gettext_lazy("Run rules"), choices=ControlChart.RuleSet.choices,
                                 initial=ControlChart.RuleSet.WESTERN_ELECTRIC)
    lsl = forms.FloatField(label=gettext_lazy("Lower specification limit"), required=False)
    usl = forms.FloatField(label=gettext_lazy("Upper specification limit"), required=False,
                           help_text=gettext_lazy("For times, the SLA target."))
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("Active (evaluated every night)"), required=False,
                                   initial=True)

    field_order = ["name", "metric_key", "chart_type", "grain", "baseline_start", "baseline_end",
                   "exclude_out_of_control", "rule_set", "lsl", "usl", "owner", "is_active", *DIMENSION_FIELDS]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["metric_key"].choices = _metric_choices()
        self.fields["owner"].queryset = users_for(user).filter(is_active=True).order_by("username")

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"], "metric_key": data["metric_key"], "filters": self.scope(),
            "chart_type": data.get("chart_type") or None, "grain": data["grain"],
            "baseline_start": data["baseline_start"], "baseline_end": data["baseline_end"],
            "exclude_out_of_control": data.get("exclude_out_of_control", False), "rule_set": data["rule_set"],
            "lsl": data.get("lsl"), "usl": data.get("usl"), "owner": data.get("owner"),
            "is_active": data.get("is_active", False),
        }


def _form_error(form: forms.Form, error: DomainError) -> None:
    field = (error.field or "").split(".")
    name = field[-1] if field[0] == "filters" and len(field) > 1 else field[0]
    form.add_error(name if name in form.fields else None, error.message)


# --- list ---------------------------------------------------------------------------------------


@login_required
@domain_pages
def control_chart_list(request: HttpRequest) -> HttpResponse:
    _need_view(request.user)
    charts = (queries.charts_for(request.user)
              .annotate(open_signals=Count("signals", filter=Q(signals__status__in=services.OPEN)))
              .order_by("-is_active", "name", "id"))
    names = dict(_metric_choices())
    rows = [{"chart": chart, "metric": names.get(chart.metric_key, chart.metric_key)} for chart in charts[:500]]
    return render(request, "improvement/charts/list.html", {
        "rows": rows, "can_change": can(request.user, "improvement", "change")})


# --- new and edit ---------------------------------------------------------------------------------


def _initial_for_new(request: HttpRequest) -> dict[str, Any]:
    today = timezone.localdate()
    initial: dict[str, Any] = {"baseline_start": today - dt.timedelta(days=90),
                               "baseline_end": today - dt.timedelta(days=31), "owner": request.user.pk,
                               "is_active": True}
    metric = request.GET.get("metric")
    if metric in dict(_metric_choices()):
        initial["metric_key"] = metric
        initial["name"] = str(registry.get(metric).name)
    return initial


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def control_chart_new(request: HttpRequest) -> HttpResponse:
    _need_view(request.user)
    if not can(request.user, "improvement", "change"):
        raise PermissionDenied(_("Your role may not change control charts."))
    form = ChartForm(request.POST or None, user=request.user, initial=_initial_for_new(request))
    if request.method == "POST" and form.is_valid():
        try:
            chart = services.create_chart(services.ChartSpec(**form.values()), by=request.user)
        except DomainError as error:
            _form_error(form, error)
        else:
            return redirect("web:control_chart_detail", chart_id=chart.pk)
    return render(request, "improvement/charts/form.html", {"form": form, "chart": None})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def control_chart_edit(request: HttpRequest, chart_id: int) -> HttpResponse:
    chart = queries.get_chart_for(request.user, chart_id, "change")
    initial = {name: getattr(chart, name) for name in services.EDITABLE if name not in ("owner", "filters")}
    initial.update(owner=chart.owner_id, **(chart.filters or {}))
    form = ChartForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        values["owner"] = values["owner"] or chart.owner
        values["chart_type"] = values["chart_type"] or ""
        try:
            services.update_chart(chart, by=request.user, **values)
        except DomainError as error:
            _form_error(form, error)
        else:
            return redirect("web:control_chart_detail", chart_id=chart.pk)
    return render(request, "improvement/charts/form.html", {"form": form, "chart": chart})


@login_required
@domain_pages
@require_POST
def control_chart_recompute(request: HttpRequest, chart_id: int) -> HttpResponse:
    chart = queries.get_chart_for(request.user, chart_id, "change")
    services.recompute_limits(chart, by=request.user)
    return redirect("web:control_chart_detail", chart_id=chart.pk)


# --- the chart ------------------------------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def chart_figure(view: queries.ChartView) -> str:
    """Points, CL/UCL/LCL per point, zone bands, and the signals in red with their rules in the hover."""
    x = [p.start.isoformat() for p in view.points]
    figure = go.Figure()
    # Zone bands: ±1σ (C), ±2σ (B), ±3σ (A) around the centre, drawn as filled steps per point.
    for k, zone in ((3, "A"), (2, "B"), (1, "C")):
        upper = [p.center + (p.ucl - p.center) * k / 3 for p in view.points]
        lower = [p.center - (p.ucl - p.center) * k / 3 for p in view.points]
        figure.add_trace(go.Scatter(x=x, y=upper, mode="lines", line={"width": 0, "shape": "hvh"},
                                    hoverinfo="skip", showlegend=False))
        figure.add_trace(go.Scatter(x=x, y=lower, mode="lines", line={"width": 0, "shape": "hvh"}, fill="tonexty",
                                    fillcolor=ZONE_COLOURS[zone], hoverinfo="skip",
                                    name=_("Zone %(zone)s") % {"zone": zone}))
    figure.add_trace(go.Scatter(x=x, y=[p.ucl for p in view.points], mode="lines", name=_("UCL"),
                                line={"color": "#dc2626", "dash": "dash", "shape": "hvh"}))
    figure.add_trace(go.Scatter(x=x, y=[p.center for p in view.points], mode="lines", name=_("Centre line"),
                                line={"color": "#16a34a", "shape": "hvh"}))
    figure.add_trace(go.Scatter(x=x, y=[p.lcl for p in view.points], mode="lines", name=_("LCL"),
                                line={"color": "#dc2626", "dash": "dash", "shape": "hvh"}, connectgaps=False))
    figure.add_trace(go.Scatter(
        x=x, y=[p.value for p in view.points], mode="lines+markers", name=str(view.metric.name),
        line={"color": "#2563eb"}, marker={"size": 6},
        customdata=[[p.n] for p in view.points],
        hovertemplate="%{x}<br>%{y:.4g} " + view.metric.unit + "<br>n = %{customdata[0]}<extra></extra>"))
    flagged = [p for p in view.points if p.rules and p.value is not None]
    descriptions = {row.rule: _(row.description) for row in view.signals}
    figure.add_trace(go.Scatter(
        x=[p.start.isoformat() for p in flagged], y=[p.value for p in flagged], mode="markers",
        name=_("Signal"), marker={"color": "#dc2626", "size": 11, "symbol": "circle-open", "line": {"width": 2}},
        text=["<br>".join(f"{code}: {descriptions.get(code, '')}" for code in p.rules) for p in flagged],
        hovertemplate="%{x}<br>%{y:.4g}<br>%{text}<extra></extra>"))
    if view.chart.baseline_end >= view.start:
        figure.add_vline(x=view.chart.baseline_end.isoformat(), line_dash="dot", line_color="#64748b")
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 30, "b": 40}, height=420, template="plotly_white",
        legend={"orientation": "h", "y": -0.15}, yaxis={"title": view.metric.unit}, hovermode="closest")
    return figure.to_json()


def secondary_figure(view: queries.ChartView) -> str | None:
    if not view.secondary:
        return None
    x = [s.start.isoformat() for s in view.secondary]
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=x, y=[s.ucl for s in view.secondary], mode="lines", name=_("UCL"),
                                line={"color": "#dc2626", "dash": "dash", "shape": "hvh"}))
    figure.add_trace(go.Scatter(x=x, y=[s.center for s in view.secondary], mode="lines", name=_("Centre line"),
                                line={"color": "#16a34a", "shape": "hvh"}))
    figure.add_trace(go.Scatter(x=x, y=[s.value for s in view.secondary], mode="lines+markers",
                                name=view.secondary_name, line={"color": "#7c3aed"},
                                marker={"color": ["#dc2626" if s.out_of_control else "#7c3aed"
                                                  for s in view.secondary]}))
    figure.update_layout(margin={"l": 50, "r": 10, "t": 10, "b": 40}, height=220, template="plotly_white",
                         showlegend=False)
    return figure.to_json()


def cycle_link(chart: ControlChart, signal: ChartSignal) -> str:
    """Where "Start a PDCA cycle" goes: the cycle form, prefilled with the chart, the signal and the metric."""
    try:
        base = reverse("web:cycle_new")
    except NoReverseMatch:
        base = "/improvement/cycles/new/"
    return base + "?" + urlencode({"chart": chart.pk, "signal": signal.pk, "metric": chart.metric_key})


def _detail_context(request: HttpRequest, chart: ControlChart) -> dict[str, Any]:
    view = queries.chart_view(chart, start=_date(request.GET.get("start")), end=_date(request.GET.get("end")))
    rows = []
    for row in reversed(view.signals):
        rows.append({"row": row, "description": _(row.description),
                     "cycle_url": cycle_link(chart, row.signal) if row.signal else None})
    return {
        "chart": chart, "view": view, "figure": chart_figure(view), "secondary": secondary_figure(view),
        "signal_rows": rows, "can_change": can(request.user, "improvement", "change"),
        "scope": chart.filters or {}, "limits": view.limits,
    }


@login_required
@domain_pages
def control_chart_detail(request: HttpRequest, chart_id: int) -> HttpResponse:
    chart = queries.get_chart_for(request.user, chart_id)
    try:
        context = _detail_context(request, chart)
    except DomainError as error:
        return render(request, "improvement/charts/detail.html", {"chart": chart, "error": error.message},
                      status=422 if error.status == 422 else 200)
    return render(request, "improvement/charts/detail.html", context)


@login_required
@domain_pages
@require_POST
def control_chart_signal(request: HttpRequest, chart_id: int, signal_id: int, action: str) -> HttpResponse:
    """Acknowledge or dismiss one signal; htmx swaps its row."""
    chart = queries.get_chart_for(request.user, chart_id)
    signal = queries.get_signal_for(request.user, signal_id, chart=chart)
    move = {"acknowledge": services.acknowledge_signal, "dismiss": services.dismiss_signal}.get(action)
    error = None
    if move is None:
        from loopcrm.core.errors import NotFound

        raise NotFound(_("No such action."))
    try:
        signal = move(signal, by=request.user)
    except DomainError as problem:
        if isinstance(problem, PermissionDenied):
            raise
        error = problem.message
    if not request.htmx:
        return redirect("web:control_chart_detail", chart_id=chart.pk)
    row = {"row": queries.SignalRow(signal.bucket, signal.rule, signal.rule_number, signal.description,
                                    signal.value, signal),
           "description": _(signal.description), "cycle_url": cycle_link(chart, signal), "error": error}
    return render(request, "improvement/charts/_signal_row.html", {
        "item": row, "chart": chart, "can_change": can(request.user, "improvement", "change")},
        status=409 if error else 200)


# --- Pareto -----------------------------------------------------------------------------------------


class ParetoForm(ScopeFields):
    start = forms.DateField(label=gettext_lazy("From"), widget=DATE, required=False)
    end = forms.DateField(label=gettext_lazy("To"), widget=DATE, required=False)
    level = forms.ChoiceField(label=gettext_lazy("Group by"), required=False, choices=[
        ("branch", gettext_lazy("Branch (fishbone)")), ("cause", gettext_lazy("Cause")),
        ("sub_cause", gettext_lazy("Sub-cause"))])

    field_order = ["start", "end", "level", *DIMENSION_FIELDS]


def pareto_figure(view: queries.ParetoView) -> str:
    labels = [b.label for b in view.bars]
    figure = go.Figure()
    figure.add_trace(go.Bar(x=labels, y=[b.count for b in view.bars], name=_("Complaints"),
                            marker={"color": ["#2563eb" if b.vital_few else "#93c5fd" for b in view.bars]}))
    figure.add_trace(go.Scatter(x=labels, y=[b.cumulative_percent for b in view.bars], name=_("Cumulative %"),
                                yaxis="y2", mode="lines+markers", line={"color": "#dc2626"}))
    figure.update_layout(
        margin={"l": 50, "r": 50, "t": 20, "b": 80}, height=400, template="plotly_white",
        yaxis={"title": _("Complaints")},
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "range": [0, 105]},
        legend={"orientation": "h", "y": -0.3},
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2", "y0": 80, "y1": 80,
                 "line": {"dash": "dot", "color": "#64748b"}}])
    return figure.to_json()


@login_required
@domain_pages
def pareto(request: HttpRequest) -> HttpResponse:
    _need_view(request.user)
    today = timezone.localdate()
    form = ParetoForm(request.GET or None, user=request.user,
                      initial={"start": today - dt.timedelta(days=90), "end": today, "level": "branch"})
    start, end, level, scope = today - dt.timedelta(days=90), today, "branch", {}
    if request.GET and form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        level = form.cleaned_data.get("level") or level
        scope = form.scope()
    context: dict[str, Any] = {"form": form}
    try:
        view = queries.pareto_of_complaints(request.user, start=start, end=end, level=level, filters=scope)
    except DomainError as error:
        _form_error(form, error)
    else:
        context.update(view=view, figure=pareto_figure(view) if view.bars else None)
    return render(request, "improvement/charts/pareto.html", context)
