"""Control points: attach a control chart to a registry metric, keep its phase I limits, evaluate it.

Evaluating a chart reads the metric through the registry (never a second KPI computation), runs
the chart's rule set against the stored limits and keeps one signal per bucket and rule; new
signals alert the chart's owner by mail after commit. Signals are acknowledged, dismissed, or
turned into a PDCA cycle.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.analytics import registry, spc
from loopcrm.analytics.registry import Grain, MetricKind
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, DomainError, PermissionDenied, RuleViolation
from loopcrm.improvement.models import ChartSignal, ControlChart

logger = logging.getLogger(__name__)

MAX_BUCKETS = 3 * 366 + 31  # one chart computes at most ~3 years of daily points at a time
MIN_BASELINE_POINTS = 2

# Which chart fits which kind of metric; the first is the default.
CHART_TYPES_FOR_KIND: dict[MetricKind, tuple[str, ...]] = {
    MetricKind.RATE: (ControlChart.Type.P, ControlChart.Type.U, ControlChart.Type.XMR),
    MetricKind.COUNT: (ControlChart.Type.C, ControlChart.Type.U, ControlChart.Type.XMR),
    MetricKind.DURATION: (ControlChart.Type.XMR, ControlChart.Type.XBAR_S),
    MetricKind.SCORE: (ControlChart.Type.XMR, ControlChart.Type.XBAR_S),
}
# The run rules' descriptions come from the pure SPC module in English; marked here so the catalog
# carries them and pages, mails and the API translate them when shown.
RULE_DESCRIPTIONS = (
    gettext_noop("One point beyond 3 sigma"),
    gettext_noop("Two of three consecutive points beyond 2 sigma on the same side"),
    gettext_noop("Four of five consecutive points beyond 1 sigma on the same side"),
    gettext_noop("Eight consecutive points on the same side of the centre line"),
    gettext_noop("Nine points in a row on the same side of the centre line"),
    gettext_noop("Six points in a row steadily increasing or decreasing"),
    gettext_noop("Fourteen points in a row alternating up and down"),
    gettext_noop("Two of three points in a row beyond 2 sigma on the same side"),
    gettext_noop("Four of five points in a row beyond 1 sigma on the same side"),
    gettext_noop("Fifteen points in a row within 1 sigma of the centre line"),
    gettext_noop("Eight points in a row beyond 1 sigma, on either side"),
)
LIMIT_FIELDS = ("metric_key", "filters", "chart_type", "grain", "baseline_start", "baseline_end",
                "exclude_out_of_control")
EDITABLE = ("name", *LIMIT_FIELDS, "rule_set", "lsl", "usl", "owner", "is_active")
AUDITED = (*(f for f in EDITABLE if f != "owner"), "owner_id")


# --- from registry points to SPC observations -------------------------------------------------------


def observations(chart_type: str, points: list[registry.Point]) -> tuple[list[spc.Observation], float]:
    """The SPC observations of a registry series, and the factor from the chart's statistic to the
    metric's unit (a p chart plots proportions; a metric in % or ‰ shows them ×100 or ×1000)."""
    kind = spc.ChartType(chart_type)
    out: list[spc.Observation] = []
    scale = 1.0
    scale_found = False
    for point in points:
        if kind in (spc.ChartType.P, spc.ChartType.U):
            if point.denominator and point.denominator > 0:
                ratio = point.numerator / point.denominator
                out.append(spc.Observation(ratio, float(point.denominator)))
                if not scale_found and ratio > 0 and point.value is not None:
                    scale, scale_found = point.value / ratio, True
            else:
                out.append(spc.Observation(None, 0.0))
        elif kind is spc.ChartType.C:
            # A period without events counted zero of them: that is data on a c chart, not a gap.
            out.append(spc.Observation(float(point.numerator or 0)))
        elif kind is spc.ChartType.XMR:
            out.append(spc.Observation(point.value))
        else:
            out.append(spc.Observation(point.value, float(point.n), point.stdev))
    if scale_found:
        scale = _tidy_scale(scale)
    return out, scale


def _tidy_scale(scale: float) -> float:
    for nice in (1.0, 100.0, 1000.0, 10000.0):
        if abs(scale - nice) <= 1e-6 * nice:
            return nice
    return scale


def last_complete_bucket(grain: str, today: dt.date) -> dt.date:
    """The last day of the last bucket that has ended before `today`."""
    if grain == Grain.WEEK:
        return today - dt.timedelta(days=today.weekday() + 1)
    if grain == Grain.MONTH:
        return today.replace(day=1) - dt.timedelta(days=1)
    return today - dt.timedelta(days=1)


def fetch_series(chart: ControlChart, *, start: dt.date, end: dt.date) -> list[registry.Point]:
    """The chart's metric over [start, end] in its scope, as the system sees it (the chart's scope
    is its filters, not the viewer's)."""
    return registry.series(chart.metric_key, start=start, end=end, grain=Grain(chart.grain),
                           filters=chart.filters or None, user=None)


def bucket_span(grain: str, start: dt.date, end: dt.date) -> int:
    days = (end - start).days + 1
    return days if grain == Grain.DAY else days // 7 + 1 if grain == Grain.WEEK else days // 28 + 1


# --- writes -----------------------------------------------------------------------------------------


@dataclass
class ChartSpec:
    """What a user chooses for a chart; None for chart_type picks the one that fits the metric."""

    name: str
    metric_key: str
    baseline_start: dt.date
    baseline_end: dt.date
    filters: dict[str, Any] | None = None
    chart_type: str | None = None
    grain: str = ControlChart.Grain.DAY
    exclude_out_of_control: bool = False
    rule_set: str = ControlChart.RuleSet.WESTERN_ELECTRIC
    lsl: float | None = None
    usl: float | None = None
    owner: User | None = None
    is_active: bool = True


def _may_change(user: User) -> None:
    if not can(user, "improvement", "change"):
        raise PermissionDenied(_("Your role may not change control charts."))


def _metric(key: str) -> registry.Metric:
    try:
        return registry.get(key)
    except DomainError as error:
        raise RuleViolation(_("Unknown metric “%(key)s”.") % {"key": key}, field="metric_key") from error


def _validate(chart: ControlChart) -> None:
    if not (chart.name or "").strip():
        raise RuleViolation(_("Give the chart a name."), field="name")
    metric = _metric(chart.metric_key)
    if not isinstance(chart.filters or {}, dict):
        raise RuleViolation(_("The scope must be an object of dimension filters."), field="filters")
    chart.filters = registry.clean_filters(metric, chart.filters or {})
    if chart.grain not in ControlChart.Grain.values:
        raise RuleViolation(_("Unknown grain “%(grain)s”.") % {"grain": chart.grain}, field="grain")
    if chart.rule_set not in ControlChart.RuleSet.values:
        raise RuleViolation(_("Unknown rule set “%(rules)s”.") % {"rules": chart.rule_set}, field="rule_set")
    fitting = CHART_TYPES_FOR_KIND[metric.kind]
    if not chart.chart_type:
        chart.chart_type = fitting[0]
    if chart.chart_type not in ControlChart.Type.values:
        raise RuleViolation(_("Unknown chart type “%(type)s”.") % {"type": chart.chart_type}, field="chart_type")
    if chart.chart_type not in fitting:
        raise RuleViolation(
            _("A %(type)s chart does not fit a %(kind)s metric; use one of: %(allowed)s.")
            % {"type": chart.chart_type, "kind": metric.kind, "allowed": ", ".join(fitting)}, field="chart_type")
    if chart.baseline_start is None or chart.baseline_end is None or chart.baseline_start > chart.baseline_end:
        raise RuleViolation(_("The baseline must start on or before its end."), field="baseline_end")
    if bucket_span(chart.grain, chart.baseline_start, chart.baseline_end) > MAX_BUCKETS:
        raise RuleViolation(_("The baseline may cover at most three years of days."), field="baseline_start")
    if chart.lsl is not None and chart.usl is not None and chart.lsl >= chart.usl:
        raise RuleViolation(_("The lower specification limit must be below the upper one."), field="lsl")
    if chart.owner_id is None or not chart.owner.is_active:
        raise RuleViolation(_("The owner must be an active user."), field="owner")


def _count_chart_type(chart: ControlChart) -> str:
    """A count with an exposure that varies (complaints per 1,000 orders) wants a u chart, else a c chart."""
    points = fetch_series(chart, start=chart.baseline_start, end=chart.baseline_end)
    exposures = {p.denominator for p in points if p.denominator}
    return ControlChart.Type.U if exposures - {1.0} else ControlChart.Type.C


def compute_limits(chart: ControlChart) -> spc.Limits:
    """Phase I limits of the chart's baseline window (raises when the baseline has too little data)."""
    points = fetch_series(chart, start=chart.baseline_start, end=chart.baseline_end)
    obs, _scale = observations(chart.chart_type, points)
    present = sum(1 for o in obs if o.value is not None and o.size > 0)
    if present < MIN_BASELINE_POINTS:
        raise RuleViolation(
            _("The baseline has %(n)s period(s) with data for this metric and scope; at least %(min)s are needed.")
            % {"n": present, "min": MIN_BASELINE_POINTS}, field="baseline_start")
    return spc.phase_one(chart.chart_type, obs, exclude_out_of_control=chart.exclude_out_of_control)


@transaction.atomic
def create_chart(spec: ChartSpec, *, by: User, at: dt.datetime | None = None) -> ControlChart:
    """A new control point on a metric and scope, with its phase I limits computed now."""
    _may_change(by)
    at = at or timezone.now()
    chart = ControlChart(
        name=(spec.name or "").strip(), metric_key=spec.metric_key, filters=spec.filters or {},
        chart_type=spec.chart_type or "", grain=spec.grain, baseline_start=spec.baseline_start,
        baseline_end=spec.baseline_end, exclude_out_of_control=spec.exclude_out_of_control,
        rule_set=spec.rule_set, lsl=spec.lsl, usl=spec.usl, owner=spec.owner or by, is_active=spec.is_active,
    )
    _validate(chart)
    if not spec.chart_type and registry.get(chart.metric_key).kind == MetricKind.COUNT:
        chart.chart_type = _count_chart_type(chart)
    chart.limits = compute_limits(chart).to_dict()
    chart.limits_computed_at = at
    chart.save()
    audit.record(action="create", obj=chart, by=by, at=at, changes=audit.snapshot(chart, AUDITED))
    return chart


@transaction.atomic
def update_chart(chart: ControlChart, *, by: User, at: dt.datetime | None = None, **changes: Any) -> ControlChart:
    """Change a chart; a change to what the limits depend on recomputes them from the baseline."""
    _may_change(by)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise RuleViolation(_("Unknown field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                            field=sorted(unknown)[0])
    at = at or timezone.now()
    chart = ControlChart.objects.select_for_update().get(pk=chart.pk)
    before = audit.snapshot(chart, AUDITED)
    for name, value in changes.items():
        if name == "name":
            value = (value or "").strip()
        if name == "filters":
            value = value or {}
        setattr(chart, name, value)
    if "metric_key" in changes and "chart_type" not in changes:
        metric = _metric(chart.metric_key)
        if chart.chart_type not in CHART_TYPES_FOR_KIND[metric.kind]:
            chart.chart_type = ""
    _validate(chart)
    if any(before.get(f) != audit.snapshot(chart, [f])[f] for f in LIMIT_FIELDS) or not chart.limits:
        chart.limits = compute_limits(chart).to_dict()
        chart.limits_computed_at = at
    chart.save()
    changed = audit.diff(before, audit.snapshot(chart, AUDITED))
    if changed:
        audit.record(action="update", obj=chart, by=by, at=at, changes=changed)
    return chart


@transaction.atomic
def recompute_limits(chart: ControlChart, *, by: User, at: dt.datetime | None = None) -> ControlChart:
    """Phase I again on the (unchanged) baseline, e.g. once late data for it has arrived."""
    _may_change(by)
    at = at or timezone.now()
    chart = ControlChart.objects.select_for_update().get(pk=chart.pk)
    old = chart.limits
    chart.limits = compute_limits(chart).to_dict()
    chart.limits_computed_at = at
    chart.save(update_fields=["limits", "limits_computed_at", "updated_at"])
    audit.record(action="update", obj=chart, by=by, at=at, changes={"limits": [old, chart.limits]},
                 note="limits recomputed")
    return chart


@transaction.atomic
def delete_chart(chart: ControlChart, *, by: User, at: dt.datetime | None = None) -> None:
    """Remove a chart and its signals (refused while a PDCA cycle was opened from it)."""
    _may_change(by)
    from django.db.models import ProtectedError

    pk = chart.pk
    if getattr(chart, "cycles", None) is not None and chart.cycles.exists():
        raise Conflict(_("A PDCA cycle was opened from this chart; deactivate it instead."), field="id")
    try:
        chart.delete()
    except ProtectedError as error:
        raise Conflict(_("A PDCA cycle was opened from this chart; deactivate it instead."), field="id") from error
    audit.record(action="delete", object_type="improvement.controlchart", object_id=pk, by=by, at=at)


# --- evaluation -------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    chart_id: int
    new_signals: list[int]
    points: int


def stored_limits(chart: ControlChart) -> spc.Limits | None:
    if not chart.limits:
        return None
    limits = spc.Limits.from_dict(chart.limits)
    return limits if limits.chart == chart.chart_type else None


def evaluate_chart(chart: ControlChart, *, at: dt.datetime | None = None) -> Evaluation:
    """Phase II: judge every complete bucket after the baseline against the stored limits; keep one
    signal per bucket and rule (running twice adds nothing) and alert the owner about new ones."""
    at = at or timezone.now()
    today = timezone.localdate(at)
    end = last_complete_bucket(chart.grain, today)
    start = chart.baseline_start
    if bucket_span(chart.grain, start, end) > MAX_BUCKETS:
        start = end - dt.timedelta(days=MAX_BUCKETS - 1 if chart.grain == Grain.DAY else 7 * (MAX_BUCKETS - 1))
    if end <= chart.baseline_end:
        ControlChart.objects.filter(pk=chart.pk).update(last_evaluated_at=at)
        return Evaluation(chart.pk, [], 0)
    limits = stored_limits(chart)
    if limits is None:
        limits = compute_limits(chart)
        ControlChart.objects.filter(pk=chart.pk).update(limits=limits.to_dict(), limits_computed_at=at)
    points = fetch_series(chart, start=start, end=end)
    obs, scale = observations(chart.chart_type, points)
    result = spc.control_chart(chart.chart_type, obs, limits=limits, rule_set=chart.rule_set)
    found = [(points[s.index].start, s) for s in result.signals if points[s.index].start > chart.baseline_end]
    with transaction.atomic():
        ControlChart.objects.select_for_update().filter(pk=chart.pk).first()
        existing = set(ChartSignal.objects.filter(chart=chart, bucket__gt=chart.baseline_end)
                       .values_list("bucket", "rule"))
        fresh = [
            ChartSignal(chart=chart, bucket=bucket, rule=signal.code, rule_number=signal.rule,
                        description=signal.description,
                        value=None if obs[signal.index].value is None else obs[signal.index].value * scale)
            for bucket, signal in found if (bucket, signal.code) not in existing
        ]
        try:
            with transaction.atomic():
                ChartSignal.objects.bulk_create(fresh)
        except IntegrityError:  # another evaluation stored some first (SQLite has no row lock): one by one
            created = []
            for signal in fresh:
                signal.pk = None
                row, made = ChartSignal.objects.get_or_create(
                    chart=chart, bucket=signal.bucket, rule=signal.rule,
                    defaults={"rule_number": signal.rule_number, "description": signal.description,
                              "value": signal.value})
                if made:
                    created.append(row)
            fresh = created
        ids = [signal.pk for signal in fresh if signal.pk is not None]
        if len(ids) < len(fresh):  # a backend that does not return ids from a bulk insert
            ids = list(ChartSignal.objects.filter(chart=chart, notified_at__isnull=True)
                       .exclude(pk__in=ids).values_list("pk", flat=True)) + ids
        ControlChart.objects.filter(pk=chart.pk).update(last_evaluated_at=at)
        if ids:
            from loopcrm.improvement.tasks import notify_chart_owner

            transaction.on_commit(lambda: notify_chart_owner.enqueue(chart_id=chart.pk, signal_ids=ids))
    return Evaluation(chart.pk, ids, len(points))


def evaluate_active_charts(*, at: dt.datetime | None = None) -> list[Evaluation]:
    """Every active chart, one at a time; a chart whose metric fails is skipped, not the whole run."""
    results = []
    for chart in ControlChart.objects.filter(is_active=True).select_related("owner").order_by("id"):
        try:
            results.append(evaluate_chart(chart, at=at))
        except Exception:  # one broken chart (a metric gone, a scope emptied) must not stop the others
            logger.exception("control chart %s could not be evaluated", chart.pk)
    return results


# --- signals ----------------------------------------------------------------------------------------

OPEN = (ChartSignal.Status.NEW, ChartSignal.Status.ACKNOWLEDGED)
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    ChartSignal.Status.ACKNOWLEDGED: (ChartSignal.Status.NEW,),
    ChartSignal.Status.DISMISSED: OPEN,
    ChartSignal.Status.CYCLE_OPENED: OPEN,
}


@transaction.atomic
def _move_signal(signal: ChartSignal, to: str, *, by: User, at: dt.datetime | None) -> ChartSignal:
    _may_change(by)
    at = at or timezone.now()
    signal = ChartSignal.objects.select_for_update().select_related("chart").get(pk=signal.pk)
    if signal.status == to:
        return signal  # asking twice is fine
    if signal.status not in ALLOWED_FROM[to]:
        raise Conflict(_("The signal is %(status)s already.") % {"status": signal.get_status_display()},
                       field="status")
    old = signal.status
    signal.status, signal.status_changed_by, signal.status_changed_at = to, by, at
    signal.save(update_fields=["status", "status_changed_by", "status_changed_at", "updated_at"])
    audit.record(action="update", obj=signal, by=by, at=at, changes={"status": [old, to]})
    return signal


def acknowledge_signal(signal: ChartSignal, *, by: User, at: dt.datetime | None = None) -> ChartSignal:
    """Someone has seen the signal and is looking into it."""
    return _move_signal(signal, ChartSignal.Status.ACKNOWLEDGED, by=by, at=at)


def dismiss_signal(signal: ChartSignal, *, by: User, at: dt.datetime | None = None) -> ChartSignal:
    """Not a special cause worth acting on (a known event, a data fix)."""
    return _move_signal(signal, ChartSignal.Status.DISMISSED, by=by, at=at)


def mark_cycle_opened(signal: ChartSignal, *, by: User, at: dt.datetime | None = None) -> ChartSignal:
    """A PDCA cycle was started from the signal (called by the cycle service)."""
    return _move_signal(signal, ChartSignal.Status.CYCLE_OPENED, by=by, at=at)
