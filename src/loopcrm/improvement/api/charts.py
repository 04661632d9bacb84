"""REST endpoints of control points (thin): /api/v1/control-charts… and /api/v1/pareto."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from loopcrm.accounts.queries import users_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, BodyId, PageOut, StrictIn
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.improvement.models import ChartSignal, ControlChart
from loopcrm.improvement.queries import charts as queries
from loopcrm.improvement.services import charts as services

router = Router()

Name = Annotated[str, Field(min_length=1, max_length=200)]
MetricKey = Annotated[str, Field(min_length=1, max_length=64)]
Filters = Annotated[dict[str, Any], Field(max_length=9)]


# --- schemas ---------------------------------------------------------------------------------------


class ChartIn(StrictIn):
    name: Name
    metric_key: MetricKey
    baseline_start: dt.date
    baseline_end: dt.date
    filters: Filters = Field(default_factory=dict, description="Dimension filters, e.g. {\"region\": \"广东\"}.")
    chart_type: ControlChart.Type | None = Field(None, description="Empty: chosen from the metric's kind.")
    grain: ControlChart.Grain = ControlChart.Grain.DAY
    exclude_out_of_control: bool = False
    rule_set: ControlChart.RuleSet = ControlChart.RuleSet.WESTERN_ELECTRIC
    lsl: float | None = None
    usl: float | None = Field(None, description="Upper specification limit; for times, the SLA target.")
    owner_id: BodyId | None = None
    is_active: bool = True


class ChartPatch(StrictIn):
    name: Name | None = None
    metric_key: MetricKey | None = None
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None
    filters: Filters | None = None
    chart_type: ControlChart.Type | None = None
    grain: ControlChart.Grain | None = None
    exclude_out_of_control: bool | None = None
    rule_set: ControlChart.RuleSet | None = None
    lsl: float | None = None
    usl: float | None = None
    owner_id: BodyId | None = None
    is_active: bool | None = None


class LimitsOut(Schema):
    chart: str
    center: float
    spread: float | None = None
    baseline_points: int = 0
    excluded: list[int] = Field(default_factory=list, description="Baseline positions left out (beyond 3σ).")


class ChartOut(Schema):
    id: int
    name: str
    metric_key: str
    filters: dict[str, Any]
    chart_type: str
    grain: str
    baseline_start: dt.date
    baseline_end: dt.date
    exclude_out_of_control: bool
    limits: LimitsOut | None
    limits_computed_at: dt.datetime | None
    rule_set: str
    lsl: float | None
    usl: float | None
    owner_id: int
    is_active: bool
    last_evaluated_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_limits(obj: ControlChart) -> dict | None:
        return obj.limits or None


class SignalOut(Schema):
    id: int
    chart_id: int
    bucket: dt.date
    rule: str = Field(description="WE1–WE4 (Western Electric) or N1–N8 (Nelson).")
    rule_number: int
    description: str
    value: float | None
    status: str
    notified_at: dt.datetime | None
    status_changed_by_id: int | None
    status_changed_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_description(obj: ChartSignal) -> str:
        return _(obj.description)


class PointOut(Schema):
    start: dt.date
    value: float | None
    n: int
    center: float
    ucl: float
    lcl: float | None
    sigma: float
    zone: str | None = Field(description="C within 1σ, B 1–2σ, A 2–3σ, out beyond 3σ; null for a gap.")
    in_baseline: bool
    excluded: bool
    rules: list[str]


class ComputedSignalOut(Schema):
    bucket: dt.date
    rule: str
    rule_number: int
    description: str
    value: float | None
    signal_id: int | None = Field(description="The stored signal; null for a pattern inside the baseline.")
    status: str | None


class SecondaryOut(Schema):
    start: dt.date
    value: float | None
    center: float
    ucl: float
    lcl: float
    out_of_control: bool


class CapabilityOut(Schema):
    mean: float
    sigma_within: float
    sigma_overall: float | None
    lsl: float | None
    usl: float | None
    cp: float | None
    cpu: float | None
    cpl: float | None
    cpk: float | None
    pp: float | None
    ppu: float | None
    ppl: float | None
    ppk: float | None


class ComputedOut(Schema):
    chart_id: int
    metric_key: str
    unit: str
    chart_type: str
    rule_set: str
    start: dt.date
    end: dt.date
    scale: float = Field(description="Factor from the chart's statistic to the metric's unit (100 for %).")
    limits: LimitsOut
    points: list[PointOut]
    signals: list[ComputedSignalOut]
    secondary_name: str
    secondary: list[SecondaryOut]
    capability: CapabilityOut | None


class EvaluationOut(Schema):
    chart_id: int
    new_signal_ids: list[int]
    points: int


class WindowParams(Schema):
    start: dt.date | None = None
    end: dt.date | None = None


class ChartListParams(Schema):
    metric: Annotated[str, Field(max_length=64)] | None = None
    active: bool | None = None
    cursor: Annotated[str, Field(max_length=500)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] | None = None


class SignalListParams(Schema):
    status: ChartSignal.Status | None = None
    open: bool | None = Field(None, description="Only new and acknowledged signals.")
    cursor: Annotated[str, Field(max_length=500)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] | None = None


class ParetoParams(Schema):
    start: dt.date
    end: dt.date
    level: Annotated[str, Field(max_length=20)] = Field("branch", description="branch, cause or sub_cause")
    department: int | None = None
    team: int | None = None
    agent: int | None = None
    category: int | None = None
    channel: Annotated[str, Field(max_length=100)] | None = None
    customer_tier: Annotated[str, Field(max_length=100)] | None = None
    region: Annotated[str, Field(max_length=100)] | None = None


class ParetoBarOut(Schema):
    key: str
    label: str
    count: float
    percent: float
    cumulative_percent: float
    vital_few: bool


class ParetoOut(Schema):
    level: str
    start: dt.date
    end: dt.date
    total: int
    unclassified: int
    bars: list[ParetoBarOut]


# --- helpers ---------------------------------------------------------------------------------------


def _owner(request, owner_id: int | None):
    if owner_id is None:
        return None
    owner = users_for(request.user).filter(pk=owner_id).first()
    if owner is None:
        raise RuleViolation(_("No such user (#%(id)s).") % {"id": owner_id}, field="owner_id")
    return owner


def _page(page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def computed_out(view: queries.ChartView) -> dict[str, Any]:
    c = view.capability
    return {
        "chart_id": view.chart.pk, "metric_key": view.chart.metric_key, "unit": view.metric.unit,
        "chart_type": view.chart.chart_type, "rule_set": view.chart.rule_set, "start": view.start, "end": view.end,
        "scale": view.scale, "limits": view.limits.to_dict(),
        "points": [{**p.__dict__, "sigma": (p.ucl - p.center) / 3} for p in view.points],
        "signals": [{"bucket": r.bucket, "rule": r.rule, "rule_number": r.rule_number,
                     "description": _(r.description), "value": r.value,
                     "signal_id": r.signal.pk if r.signal else None,
                     "status": r.signal.status if r.signal else None} for r in view.signals],
        "secondary_name": view.secondary_name, "secondary": [s.__dict__ for s in view.secondary],
        "capability": None if c is None else c.__dict__,
    }


# --- charts ----------------------------------------------------------------------------------------


@router.get("/control-charts", response={200: PageOut[ChartOut], **COMMON_ERRORS}, url_name="control_charts",
            summary="List control charts", description="By name; filter by metric or whether active.")
def list_charts(request, params: Query[ChartListParams]):
    rows = queries.charts_for(request.user)
    if params.metric:
        rows = rows.filter(metric_key=params.metric)
    if params.active is not None:
        rows = rows.filter(is_active=params.active)
    return _page(paginate(rows, sort="id", allowed=("id",), cursor=params.cursor, limit=params.limit))


@router.post("/control-charts", response={201: ChartOut, **WRITE_ERRORS}, url_name="control_chart_create",
             summary="Create a control chart",
             description="Attach a chart to a registry metric and scope; phase I limits are computed from the "
                         "baseline at once.")
def create_chart(request, payload: ChartIn):
    data = payload.dict()
    owner = _owner(request, data.pop("owner_id"))
    chart = services.create_chart(services.ChartSpec(**data, owner=owner), by=request.user)
    return Status(201, chart)


@router.get("/control-charts/signals", response={200: PageOut[SignalOut], **COMMON_ERRORS},
            url_name="control_chart_signals_all", summary="Signals of every chart you may see",
            description="Newest first.")
def list_all_signals(request, params: Query[SignalListParams]):
    rows = queries.signals_for(request.user)
    if params.status:
        rows = rows.filter(status=params.status)
    if params.open:
        rows = rows.filter(status__in=services.OPEN)
    return _page(paginate(rows, sort="-id", allowed=("-id",), cursor=params.cursor, limit=params.limit))


@router.get("/control-charts/{chart_id}", response={200: ChartOut, **COMMON_ERRORS}, url_name="control_chart")
def get_chart(request, chart_id: int):
    return queries.get_chart_for(request.user, chart_id)


@router.patch("/control-charts/{chart_id}", response={200: ChartOut, **WRITE_ERRORS},
              url_name="control_chart_update", summary="Change a control chart",
              description="A change to the metric, scope, type, grain or baseline recomputes the limits.")
def update_chart(request, chart_id: int, payload: ChartPatch):
    chart = queries.get_chart_for(request.user, chart_id, "change")
    data = payload.dict(exclude_unset=True)
    if "owner_id" in data:
        owner = _owner(request, data.pop("owner_id"))
        if owner is None:
            raise RuleViolation(_("A chart needs an owner."), field="owner_id")
        data["owner"] = owner
    for required in ("name", "metric_key", "baseline_start", "baseline_end", "grain", "rule_set",
                     "exclude_out_of_control", "is_active"):
        if required in data and data[required] is None:
            raise RuleViolation(_("“%(field)s” cannot be empty.") % {"field": required}, field=required)
    if "chart_type" in data and data["chart_type"] is None:
        data["chart_type"] = ""
    return services.update_chart(chart, by=request.user, **data)


@router.delete("/control-charts/{chart_id}", response={204: None, **WRITE_ERRORS},
               url_name="control_chart_delete", summary="Delete a control chart and its signals")
def delete_chart(request, chart_id: int):
    chart = queries.get_chart_for(request.user, chart_id, "change")
    services.delete_chart(chart, by=request.user)
    return Status(204, None)


@router.post("/control-charts/{chart_id}/recompute", response={200: ChartOut, **WRITE_ERRORS},
             url_name="control_chart_recompute", summary="Recompute the phase I limits from the baseline")
def recompute(request, chart_id: int):
    chart = queries.get_chart_for(request.user, chart_id, "change")
    return services.recompute_limits(chart, by=request.user)


@router.post("/control-charts/{chart_id}/evaluate", response={200: EvaluationOut, **WRITE_ERRORS},
             url_name="control_chart_evaluate", summary="Evaluate the chart now",
             description="What the nightly task does for one chart: new signals are stored once and mailed to "
                         "the owner.")
def evaluate(request, chart_id: int):
    chart = queries.get_chart_for(request.user, chart_id, "change")
    result = services.evaluate_chart(chart)
    return {"chart_id": result.chart_id, "new_signal_ids": result.new_signals, "points": result.points}


@router.get("/control-charts/{chart_id}/computed", response={200: ComputedOut, **COMMON_ERRORS},
            url_name="control_chart_computed", summary="The chart as drawn",
            description="Points in the metric's unit with their centre line, limits and zone per point, the "
                        "signals with the rule that fired, the moving-range or S chart, and the capability.")
def computed(request, chart_id: int, params: Query[WindowParams]):
    chart = queries.get_chart_for(request.user, chart_id)
    return computed_out(queries.chart_view(chart, start=params.start, end=params.end))


@router.get("/control-charts/{chart_id}/signals", response={200: PageOut[SignalOut], **COMMON_ERRORS},
            url_name="control_chart_signals", summary="Signals of one chart", description="Newest first.")
def list_signals(request, chart_id: int, params: Query[SignalListParams]):
    chart = queries.get_chart_for(request.user, chart_id)
    rows = queries.signals_for(request.user).filter(chart=chart)
    if params.status:
        rows = rows.filter(status=params.status)
    if params.open:
        rows = rows.filter(status__in=services.OPEN)
    return _page(paginate(rows, sort="-id", allowed=("-id",), cursor=params.cursor, limit=params.limit))


@router.post("/control-charts/{chart_id}/signals/{signal_id}/acknowledge", response={200: SignalOut, **WRITE_ERRORS},
             url_name="control_chart_signal_acknowledge", summary="Acknowledge a signal")
def acknowledge(request, chart_id: int, signal_id: int):
    chart = queries.get_chart_for(request.user, chart_id)
    signal = queries.get_signal_for(request.user, signal_id, chart=chart)
    return services.acknowledge_signal(signal, by=request.user)


@router.post("/control-charts/{chart_id}/signals/{signal_id}/dismiss", response={200: SignalOut, **WRITE_ERRORS},
             url_name="control_chart_signal_dismiss", summary="Dismiss a signal")
def dismiss(request, chart_id: int, signal_id: int):
    chart = queries.get_chart_for(request.user, chart_id)
    signal = queries.get_signal_for(request.user, signal_id, chart=chart)
    return services.dismiss_signal(signal, by=request.user)


# --- Pareto ----------------------------------------------------------------------------------------


@router.get("/pareto", response={200: ParetoOut, **COMMON_ERRORS}, url_name="pareto",
            summary="Pareto of complaint root causes",
            description="Complaints opened in the window that you may see, by fishbone branch, cause or "
                        "sub-cause, largest first, with cumulative percent and the vital few (first 80 %).")
def pareto(request, params: Query[ParetoParams]):
    filters = {k: v for k, v in params.dict().items() if k not in ("start", "end", "level") and v is not None}
    view = queries.pareto_of_complaints(request.user, start=params.start, end=params.end, level=params.level,
                                        filters=filters)
    return {"level": view.level, "start": view.start, "end": view.end, "total": view.total,
            "unclassified": view.unclassified,
            "bars": [{**bar.__dict__, "key": str(key)} for bar, key in zip(view.bars, view.keys, strict=True)]}
