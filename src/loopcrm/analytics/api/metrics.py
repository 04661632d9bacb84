"""REST endpoints of the metric registry (thin): the catalogue, a metric's series (optionally cut by a
dimension), its total over a window, and the quality dashboard's KPIs. Reading needs the "improvement"
view permission; the rows behind each number are those the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from loopcrm.accounts.permissions import can
from loopcrm.analytics import registry
from loopcrm.analytics.metrics import dashboard as dashboards
from loopcrm.core.api import COMMON_ERRORS, QueryId
from loopcrm.core.errors import PermissionDenied

router = Router()
DEFAULT_DAYS = 30


class MetricOut(Schema):
    key: str
    name: str
    description: str
    unit: str
    better: registry.Better
    kind: registry.MetricKind
    dimensions: list[str]


class PointOut(Schema):
    start: dt.date
    value: float | None
    numerator: float
    denominator: float
    n: int
    stdev: float | None = None


class CutOut(Schema):
    key: str | int | None
    label: str
    total: PointOut
    points: list[PointOut]


class SeriesOut(Schema):
    metric: MetricOut
    start: dt.date
    end: dt.date
    grain: registry.Grain
    filters: dict[str, str | int]
    points: list[PointOut]
    by: str | None = None
    cuts: list[CutOut] = Field(default_factory=list)


class TotalOut(Schema):
    metric: MetricOut
    start: dt.date
    end: dt.date
    filters: dict[str, str | int]
    total: PointOut


class KpiOut(Schema):
    metric: MetricOut
    current: PointOut
    previous: PointOut
    change: float | None
    change_percent: float | None
    direction: Literal["better", "worse", "same", ""]
    ignored_filters: list[str]
    points: list[PointOut]


class DashboardOut(Schema):
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    grain: registry.Grain
    filters: dict[str, str | int]
    kpis: list[KpiOut]


class FilterParams(Schema):
    """The window (default: the last 30 days) and the dimensions to narrow by (ids or codes)."""

    start: dt.date | None = None
    end: dt.date | None = None
    department: QueryId | None = None
    team: QueryId | None = None
    agent: QueryId | None = None
    category: QueryId | None = None
    kind: str | None = Field(None, max_length=50)
    channel: str | None = Field(None, max_length=50)
    touchpoint: str | None = Field(None, max_length=50)
    customer_tier: str | None = Field(None, max_length=50)
    region: str | None = Field(None, max_length=100)

    def window(self) -> tuple[dt.date, dt.date]:
        end = self.end or timezone.localdate()
        return self.start or end - dt.timedelta(days=DEFAULT_DAYS - 1), end

    def filters(self) -> dict:
        return {name: getattr(self, name) for name in registry.DIMENSIONS if getattr(self, name) is not None}


class SeriesParams(FilterParams):
    grain: str = Field("day", max_length=10, description="day, week or month")
    by: str | None = Field(None, max_length=50, description="a dimension to cut by (the largest groups)")
    limit: int = Field(registry.DEFAULT_CUTS, ge=1, le=50)


class DashboardParams(FilterParams):
    grain: str | None = Field(None, max_length=10, description="of the sparklines; default from the window")


def _may_view(user) -> None:
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see quality metrics."))


def metric_out(metric: registry.Metric) -> dict:
    return {"key": metric.key, "name": str(metric.name), "description": str(metric.description), "unit": metric.unit,
            "better": metric.better, "kind": metric.kind, "dimensions": list(metric.dimensions)}


@router.get("/metrics", response={200: list[MetricOut], **COMMON_ERRORS}, url_name="metric_list")
def list_metrics(request: HttpRequest):
    """Every metric of the registry: key, name, unit, which direction is better, kind, dimensions."""
    _may_view(request.user)
    return [metric_out(metric) for metric in registry.metrics()]


@router.get("/metrics/dashboard", response={200: DashboardOut, **COMMON_ERRORS}, url_name="metric_dashboard")
def metric_dashboard(request: HttpRequest, params: Query[DashboardParams]):
    """The quality dashboard's eight KPIs: the window against the same number of days before, with sparklines."""
    _may_view(request.user)
    start, end = params.window()
    board = dashboards.dashboard(start=start, end=end, grain=params.grain, filters=params.filters(),
                                 user=request.user)
    return {
        "start": board.start, "end": board.end, "previous_start": board.previous_start,
        "previous_end": board.previous_end, "grain": board.grain, "filters": board.filters,
        "kpis": [{"metric": metric_out(kpi.metric), "current": kpi.current, "previous": kpi.previous,
                  "change": kpi.change, "change_percent": kpi.change_percent, "direction": kpi.direction,
                  "ignored_filters": list(kpi.ignored), "points": kpi.points} for kpi in board.kpis],
    }


@router.get("/metrics/{key}", response={200: MetricOut, **COMMON_ERRORS}, url_name="metric_detail")
def get_metric(request: HttpRequest, key: str):
    _may_view(request.user)
    return metric_out(registry.get(key))


@router.get("/metrics/{key}/series", response={200: SeriesOut, **COMMON_ERRORS}, url_name="metric_series")
def metric_series(request: HttpRequest, key: str, params: Query[SeriesParams]):
    """The metric per day, week or month over the window (every bucket; empty ones have value null),
    and with `by`, the same per value of that dimension for its largest groups."""
    _may_view(request.user)
    metric = registry.get(key)
    start, end = params.window()
    filters = params.filters()
    points = registry.series(key, start=start, end=end, grain=params.grain, filters=filters, user=request.user)
    cuts = []
    if params.by:
        cuts = [{"key": cut.key, "label": cut.label, "total": cut.total, "points": cut.points}
                for cut in registry.cuts(key, params.by, start=start, end=end, grain=params.grain, filters=filters,
                                         user=request.user, limit=params.limit)]
    return {"metric": metric_out(metric), "start": start, "end": end, "grain": params.grain, "filters": filters,
            "points": points, "by": params.by, "cuts": cuts}


@router.get("/metrics/{key}/total", response={200: TotalOut, **COMMON_ERRORS}, url_name="metric_total")
def metric_total(request: HttpRequest, key: str, params: Query[FilterParams]):
    """The metric over the whole window, with what it is made of (numerator, denominator, cases)."""
    _may_view(request.user)
    metric = registry.get(key)
    start, end = params.window()
    filters = params.filters()
    total = registry.total(key, start=start, end=end, filters=filters, user=request.user)
    return {"metric": metric_out(metric), "start": start, "end": end, "filters": filters, "total": total}
