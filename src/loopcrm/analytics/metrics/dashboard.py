"""The quality manager's dashboard: eight KPIs, this period against the one before, with a sparkline each.

The additive KPIs are computed in one pass: one query per source over both periods by day, then
summed into the two windows and re-bucketed for the sparkline. Others fall back to the registry's
`total` and `series`. Slots let higher apps (control-chart signals, PDCA cycles) add a card without
this app importing them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _

from loopcrm.analytics import registry
from loopcrm.analytics.metrics import sql
from loopcrm.analytics.metrics.engine import Agg, Query, compute, point_values
from loopcrm.core.errors import RuleViolation

DASHBOARD_KEYS = ("ticket_volume", "first_response_minutes", "resolution_minutes", "sla_attainment",
                  "reopen_rate", "complaint_rate_orders", "csat", "nps")
MAX_DAYS = 366


@dataclass(frozen=True)
class Kpi:
    """One card: the metric now and in the period before, whether that is better or worse, and a sparkline."""

    metric: registry.Metric
    current: registry.Point
    previous: registry.Point
    points: list[registry.Point]
    ignored: tuple[str, ...] = ()  # filters this metric cannot be cut by (shown, not applied)

    @property
    def change(self) -> float | None:
        if self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value

    @property
    def change_percent(self) -> float | None:
        change = self.change
        if change is None or not self.previous.value:
            return None
        return 100.0 * change / abs(self.previous.value)

    @property
    def direction(self) -> str:
        """"better", "worse", "same", or "" when either period has no value."""
        change = self.change
        if change is None:
            return ""
        if abs(change) < 1e-9:
            return "same"
        rising_is_good = self.metric.better == registry.Better.HIGHER
        return "better" if (change > 0) == rising_is_good else "worse"


@dataclass(frozen=True)
class Dashboard:
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    grain: registry.Grain
    filters: dict
    kpis: list[Kpi] = field(default_factory=list)


def default_grain(start: dt.date, end: dt.date) -> registry.Grain:
    days = (end - start).days + 1
    return registry.Grain.DAY if days <= 62 else registry.Grain.WEEK if days <= 190 else registry.Grain.MONTH


def dashboard(*, start: dt.date, end: dt.date, grain: registry.Grain | str | None = None, filters: dict | None = None,
              user=None, keys: tuple[str, ...] = DASHBOARD_KEYS) -> Dashboard:
    """The KPIs of [start, end] against the same number of days just before, cut by `filters` where each
    metric allows (a filter a metric cannot take is listed on its card as not applied)."""
    registry.clean_window(start, end)
    if (end - start).days + 1 > MAX_DAYS:
        raise RuleViolation(_("The dashboard covers at most a year."), field="end")
    grain = registry.clean_grain(grain) if grain else default_grain(start, end)
    length = dt.timedelta(days=(end - start).days + 1)
    previous_start, previous_end = start - length, start - dt.timedelta(days=1)
    metrics = [registry.get(key) for key in keys]
    given = {name: value for name, value in (filters or {}).items() if value not in (None, "", [])}
    for name in given:
        if name not in registry.DIMENSIONS:
            raise RuleViolation(_("There is no dimension “%(dimension)s”.") % {"dimension": name},
                                field=f"filters.{name}")
    # Metrics that take the same filters and add up are computed together.
    batches: dict[tuple, list[registry.Metric]] = defaultdict(list)
    fallback = []
    for metric in metrics:
        applied = registry.clean_filters(metric, {k: v for k, v in given.items() if k in metric.dimensions})
        if registry._formula(metric.key).additive:
            batches[tuple(sorted(applied.items()))].append(metric)
        else:
            fallback.append(metric)
    kpis: dict[str, Kpi] = {}
    for applied, batch in batches.items():
        formulas = {metric.key: registry._formula(metric.key) for metric in batch}
        query = Query(start=previous_start, end=end, grain="day", filters=dict(applied), user=user)
        groups = compute(formulas, query)
        for metric in batch:
            formula = formulas[metric.key]
            now, before, buckets = Agg(), Agg(), defaultdict(Agg)
            for (_dim, day), agg in groups[metric.key].items():
                if day >= start:
                    now.add(agg)
                    buckets[sql.bucket_of(day, grain.value)].add(agg)
                else:
                    before.add(agg)
            if formula.denominator is None:  # a count: one unit of exposure per bucket, not per day
                for agg in buckets.values():
                    agg.denominator = 1.0
            kpis[metric.key] = Kpi(
                metric=metric, current=_point(formula, start, now),
                previous=_point(formula, previous_start, before),
                points=[_point(formula, bucket, buckets.get(bucket))
                        for bucket in sql.buckets(start, end, grain.value)],
                ignored=tuple(name for name in given if name not in metric.dimensions))
    for metric in fallback:
        applied = {k: v for k, v in given.items() if k in metric.dimensions}
        kpis[metric.key] = Kpi(
            metric=metric,
            current=registry.total(metric.key, start=start, end=end, filters=applied, user=user),
            previous=registry.total(metric.key, start=previous_start, end=previous_end, filters=applied, user=user),
            points=registry.series(metric.key, start=start, end=end, grain=grain, filters=applied, user=user),
            ignored=tuple(name for name in given if name not in metric.dimensions))
    return Dashboard(start=start, end=end, previous_start=previous_start, previous_end=previous_end, grain=grain,
                     filters=given, kpis=[kpis[key] for key in keys])


def _point(formula, start: dt.date, agg: Agg | None) -> registry.Point:
    value, numerator, denominator, n, stdev = point_values(formula, agg)
    return registry.Point(start=start, value=value, numerator=numerator, denominator=denominator, n=n, stdev=stdev)


# --- slots other apps fill ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """A card another app adds to the dashboard: its template and the context it needs for a user."""

    name: str
    template: str
    context: Callable[[object], dict] | None = None


# "signals": open control-chart signals; "cycles": PDCA cycles in progress. Apps above analytics register
# their provider (e.g. in AppConfig.ready); until then the template is included with an empty context
# when it exists, and left out when it does not.
SLOTS: dict[str, Slot] = {
    "signals": Slot("signals", "improvement/_dashboard_signals.html"),
    "cycles": Slot("cycles", "improvement/_dashboard_cycles.html"),
}


def register_slot(name: str, template: str, context: Callable[[object], dict] | None = None) -> None:
    SLOTS[name] = Slot(name, template, context)


def slots_for(user) -> list[tuple[str, str, dict]]:
    """(name, template, context) of every slot whose template exists."""
    out = []
    for slot in SLOTS.values():
        try:
            get_template(slot.template)
        except TemplateDoesNotExist:
            continue
        out.append((slot.name, slot.template, slot.context(user) if slot.context else {}))
    return out
