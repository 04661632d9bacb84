"""Reads of control points: the read doors for charts and signals, the computed chart, Pareto of causes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.analytics import registry, spc
from loopcrm.core.api import MAX_ID
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.improvement.models import ChartSignal, ControlChart
from loopcrm.improvement.services import charts as chart_services

# --- read doors -------------------------------------------------------------------------------------


def charts_for(user: User, action: str = "view") -> QuerySet[ControlChart]:
    """Control charts `user` may reach for `action` (scope "improvement", by the chart's owner)."""
    condition = scope_filter(user, "improvement", action, owner="owner", department="owner__department")
    if condition is None:
        return ControlChart.objects.none()
    return ControlChart.objects.filter(condition).select_related("owner")


def get_chart_for(user: User, chart_id: int, action: str = "view", *, field: str = "chart_id") -> ControlChart:
    """One chart; NotFound out of view scope, PermissionDenied when seen but not open to `action`."""
    if isinstance(chart_id, bool) or not isinstance(chart_id, int) or not 0 < chart_id <= MAX_ID:
        raise NotFound(_("No control chart #%(id)s.") % {"id": chart_id}, field=field)
    chart = charts_for(user, action).filter(pk=chart_id).first()
    if chart is not None:
        return chart
    if action != "view" and charts_for(user, "view").filter(pk=chart_id).exists():
        raise PermissionDenied(_("Your role may not change control chart #%(id)s.") % {"id": chart_id}, field=field)
    raise NotFound(_("No control chart #%(id)s.") % {"id": chart_id}, field=field)


def signals_for(user: User, action: str = "view") -> QuerySet[ChartSignal]:
    """Signals of the charts `user` may reach."""
    return ChartSignal.objects.filter(chart__in=charts_for(user, action).values("pk")).select_related("chart")


def get_signal_for(user: User, signal_id: int, action: str = "view", *, chart: ControlChart | None = None,
                   field: str = "signal_id") -> ChartSignal:
    if isinstance(signal_id, bool) or not isinstance(signal_id, int) or not 0 < signal_id <= MAX_ID:
        raise NotFound(_("No signal #%(id)s.") % {"id": signal_id}, field=field)
    rows = signals_for(user, action)
    if chart is not None:
        rows = rows.filter(chart=chart)
    signal = rows.filter(pk=signal_id).first()
    if signal is not None:
        return signal
    if action != "view" and signals_for(user, "view").filter(pk=signal_id).exists():
        raise PermissionDenied(_("Your role may not change signal #%(id)s.") % {"id": signal_id}, field=field)
    raise NotFound(_("No signal #%(id)s.") % {"id": signal_id}, field=field)


def open_signals_for(user: User, limit: int = 10) -> list[ChartSignal]:
    """The newest open (new or acknowledged) signals on active charts, for the quality dashboard."""
    return list(signals_for(user).filter(status__in=chart_services.OPEN, chart__is_active=True)
                .order_by("-bucket", "-id")[:limit])


# --- the computed chart -----------------------------------------------------------------------------


@dataclass
class PlotPoint:
    start: dt.date
    value: float | None
    n: int
    center: float
    ucl: float
    lcl: float | None
    zone: str | None
    in_baseline: bool
    excluded: bool
    rules: list[str] = field(default_factory=list)  # codes of the rules that fired on this point


@dataclass
class SignalRow:
    bucket: dt.date
    rule: str
    rule_number: int
    description: str
    value: float | None
    signal: ChartSignal | None  # the stored signal (phase II); None for a pattern inside the baseline


@dataclass
class SecondaryRow:
    start: dt.date
    value: float | None
    center: float
    ucl: float
    lcl: float
    out_of_control: bool


@dataclass
class ChartView:
    """A chart as drawn: points in the metric's unit with their limits and zones, the signals, capability."""

    chart: ControlChart
    metric: registry.Metric
    start: dt.date
    end: dt.date
    scale: float
    sigma_unit: float  # the chart's sigma for a point of average size, in the metric's unit
    points: list[PlotPoint]
    signals: list[SignalRow]
    secondary: list[SecondaryRow]
    secondary_name: str
    capability: spc.Capability | None
    limits: spc.Limits


def default_window(chart: ControlChart, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    end = max(chart_services.last_complete_bucket(chart.grain, today), chart.baseline_end)
    start = chart.baseline_start
    span = chart_services.MAX_BUCKETS
    if chart_services.bucket_span(chart.grain, start, end) > span:
        days = span - 1 if chart.grain == "day" else 7 * (span - 1) if chart.grain == "week" else 28 * (span - 1)
        start = end - dt.timedelta(days=days)
    return start, end


def chart_view(chart: ControlChart, *, start: dt.date | None = None, end: dt.date | None = None,
               today: dt.date | None = None) -> ChartView:
    """The chart over [start, end] (default: from the baseline to the last complete period)."""
    metric = registry.get(chart.metric_key)
    default_start, default_end = default_window(chart, today=today)
    start, end = start or default_start, end or default_end
    if end < start:
        raise RuleViolation(_("The window ends before it starts."), field="end")
    if chart_services.bucket_span(chart.grain, start, end) > chart_services.MAX_BUCKETS:
        raise RuleViolation(_("Too many points: choose a coarser grain or a shorter window."), field="start")
    points = chart_services.fetch_series(chart, start=start, end=end)
    obs, scale = chart_services.observations(chart.chart_type, points)
    limits = chart_services.stored_limits(chart) or chart_services.compute_limits(chart)
    in_baseline = [chart.baseline_start <= p.start <= chart.baseline_end for p in points]
    first = next((i for i, inside in enumerate(in_baseline) if inside), 0)
    last = max((i for i, inside in enumerate(in_baseline) if inside), default=-1) + 1
    # Stored limits carry the indices of the excluded baseline points relative to the baseline.
    offset_excluded = tuple(first + i for i in limits.excluded) if last else ()
    limits_here = spc.Limits(limits.chart, limits.center, limits.spread, limits.baseline_points, offset_excluded)
    result = spc.control_chart(chart.chart_type, obs, limits=limits_here, baseline=(first, last),
                               rule_set=chart.rule_set)
    stored = {(s.bucket, s.rule): s for s in chart.signals.filter(bucket__gte=start, bucket__lte=end)}
    by_point: dict[int, list[str]] = {}
    rows = []
    for signal in result.signals:
        bucket = points[signal.index].start
        by_point.setdefault(signal.index, []).append(signal.code)
        value = obs[signal.index].value
        rows.append(SignalRow(bucket, signal.code, signal.rule, signal.description,
                              None if value is None else value * scale, stored.get((bucket, signal.code))))
    plot = [PlotPoint(
        start=pt.start, value=None if cp.value is None else cp.value * scale, n=pt.n, center=cp.center * scale,
        ucl=cp.ucl * scale, lcl=None if cp.lcl is None else cp.lcl * scale, zone=cp.zone,
        in_baseline=cp.in_baseline, excluded=cp.excluded, rules=by_point.get(cp.index, []),
    ) for pt, cp in zip(points, result.points, strict=True)]
    secondary = [SecondaryRow(points[s.index].start, None if s.value is None else s.value * scale,
                              s.center * scale, s.ucl * scale, s.lcl * scale, s.out_of_control)
                 for s in result.secondary]
    baseline_obs = [o for o, inside in zip(obs, in_baseline, strict=True) if inside]
    sizes = [o.size for o in baseline_obs if o.value is not None and o.size > 0] or [1.0]
    capability = None
    if chart.lsl is not None or chart.usl is not None:
        # Capability on the baseline alone, with the spec limits in the chart's own unit.
        base = spc.control_chart(chart.chart_type, baseline_obs, limits=spc.Limits(
            limits.chart, limits.center, limits.spread, limits.baseline_points, limits.excluded))
        capability = spc.chart_capability(
            base, baseline_obs, lsl=None if chart.lsl is None else chart.lsl / scale,
            usl=None if chart.usl is None else chart.usl / scale)
        if capability is not None and scale != 1:
            capability = _rescale(capability, scale)
    return ChartView(
        chart=chart, metric=metric, start=start, end=end, scale=scale,
        sigma_unit=limits.sigma(sum(sizes) / len(sizes)) * scale, points=plot, signals=rows,
        secondary=secondary, secondary_name={"xmr": _("Moving range"), "xbar_s": _("Standard deviation")}.get(
            chart.chart_type, ""),
        capability=capability, limits=limits,
    )


def _rescale(c: spc.Capability, scale: float) -> spc.Capability:
    return spc.Capability(
        mean=c.mean * scale, sigma_within=c.sigma_within * scale,
        sigma_overall=None if c.sigma_overall is None else c.sigma_overall * scale,
        lsl=None if c.lsl is None else c.lsl * scale, usl=None if c.usl is None else c.usl * scale,
        cp=c.cp, cpu=c.cpu, cpl=c.cpl, cpk=c.cpk, pp=c.pp, ppu=c.ppu, ppl=c.ppl, ppk=c.ppk)


# --- Pareto of complaint causes ---------------------------------------------------------------------

PARETO_LEVELS = ("branch", "cause", "sub_cause")


@dataclass
class ParetoView:
    level: str
    start: dt.date
    end: dt.date
    bars: list[spc.ParetoBar]
    keys: list[object]  # the branch code or cause id behind each bar
    total: int  # complaints with a root cause
    unclassified: int  # complaints without one


def pareto_of_complaints(user: User | None, *, start: dt.date, end: dt.date, level: str = "branch",
                         filters: dict | None = None, threshold: float = 80.0) -> ParetoView:
    """Complaints opened in [start, end] that `user` may see, by root cause: the fishbone's branches,
    the top-level causes, or the sub-causes; filters as the metric registry's dimensions."""
    from loopcrm.analytics.metrics import engine, sql
    from loopcrm.service.models import RootCause, Ticket

    if user is not None and not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see improvement work."))
    if level not in PARETO_LEVELS:
        raise RuleViolation(_("The level must be one of: %(levels)s.") % {"levels": ", ".join(PARETO_LEVELS)},
                            field="level")
    if end < start:
        raise RuleViolation(_("The window ends before it starts."), field="end")
    if (end - start).days > registry.MAX_WINDOW_DAYS:
        raise RuleViolation(_("A window can span at most ten years."), field="end")
    metric = registry.get("ticket_volume")
    filters = registry.clean_filters(metric, {k: v for k, v in (filters or {}).items() if k != "kind"})
    query = engine.Query(start=start, end=end, grain=None, filters=filters, user=user)
    low, high = sql.bounds(start, end)
    rows = (engine.scoped_rows("tickets", query, engine.category_paths(filters))
            .filter(kind=Ticket.Kind.COMPLAINT, opened_at__gte=low, opened_at__lt=high))
    unclassified = rows.filter(root_cause__isnull=True).count()
    classified = rows.filter(root_cause__isnull=False)
    if level == "branch":
        counted = classified.values(key=F("root_cause__branch")).annotate(n=Count("pk", distinct=True))
        names = dict(RootCause.Branch.choices)
    elif level == "cause":
        from django.db.models.functions import Coalesce

        counted = (classified.annotate(key=Coalesce("root_cause__parent", "root_cause"))
                   .values("key").annotate(n=Count("pk", distinct=True)))
        names = None
    else:
        counted = classified.values(key=F("root_cause")).annotate(n=Count("pk", distinct=True))
        names = None
    counts = {row["key"]: row["n"] for row in counted}
    if names is None:
        names = {pk: str(name) for pk, name in RootCause.objects.filter(pk__in=list(counts)).values_list("pk", "name")}
    labelled = {str(names.get(key, key)): key for key in counts}
    bars = spc.pareto({label: counts[key] for label, key in labelled.items()}, threshold=threshold)
    return ParetoView(level=level, start=start, end=end, bars=bars, keys=[labelled[b.label] for b in bars],
                      total=sum(counts.values()), unclassified=unclassified)
