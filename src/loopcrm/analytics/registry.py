"""The metric registry: every KPI defined once, computed in SQL on live data.

Dashboards, control charts and PDCA cycles all read KPIs through this module; nothing computes a
KPI a second way. A metric knows its key, names, unit, which direction is better, its kind (which
decides the control chart and the statistical test that fit it) and the dimensions it can be cut by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from loopcrm.core.errors import NotFound, RuleViolation

if TYPE_CHECKING:
    from loopcrm.analytics.metrics.engine import Agg, Formula, Query


class MetricKind(StrEnum):
    RATE = "rate"  # successes / trials per bucket (p-chart; two-proportion z or chi-square)
    COUNT = "count"  # events per bucket, exposure in `denominator` (c/u-chart; daily counts compared)
    DURATION = "duration"  # one value per case, in minutes (XmR / X̄–S; Mann–Whitney U or Welch t)
    SCORE = "score"  # one value per answer, e.g. CSAT 1–5, NPS as −100/0/100 (XmR / X̄–S; U or Welch)


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


DIMENSIONS = (
    "department", "team", "agent", "category", "kind", "channel", "touchpoint", "customer_tier", "region",
)


@dataclass(frozen=True)
class Metric:
    key: str  # "first_response_minutes", "complaint_rate_orders", "csat", …
    name: str  # lazily translated (English source, Chinese in the locale)
    unit: str  # "min", "%", "‰", "score", "tickets"…
    better: Better
    kind: MetricKind
    dimensions: tuple[str, ...]  # the subset of DIMENSIONS this metric can be cut by
    description: str = ""


@dataclass(frozen=True)
class Point:
    """One bucket of a series. `value` is None when the bucket has no data (n == 0)."""

    start: dt.date
    value: float | None
    numerator: float  # successes (rate), events (count), sum of values (duration/score)
    denominator: float  # trials (rate), exposure (count), number of cases (duration/score)
    n: int  # cases behind the point
    stdev: float | None = None  # within-bucket sample standard deviation (duration/score), for X̄–S


@dataclass(frozen=True)
class Samples:
    """What a statistical test needs for one window: raw values, or successes out of trials."""

    kind: MetricKind
    values: list[float] = field(default_factory=list)  # duration/score: one per case; count: per day
    successes: int = 0  # rate
    trials: int = 0  # rate


# --- the functions everyone codes against ----------------------------------------------------------

MAX_WINDOW_DAYS = 3700  # ten years
MAX_BUCKETS = 1200  # a day grain over about three years
DEFAULT_CUTS = 8
MIN_DATE, MAX_DATE = dt.date(1970, 1, 1), dt.date(2999, 12, 31)


class UnknownMetric(NotFound):
    """No metric has that key (404)."""


@dataclass(frozen=True)
class Cut:
    """One value of a dimension (an agent, a region…) with its series and its total over the window."""

    key: object
    label: str
    points: list[Point]
    total: Point


_CATALOG: dict[str, tuple[Metric, Formula]] = {}


def _engine():
    """The SQL side, imported when first used: the types above stay importable before Django is set up."""
    from loopcrm.analytics.metrics import engine

    return engine


def _catalog() -> dict[str, tuple[Metric, Formula]]:
    if not _CATALOG:
        from loopcrm.analytics.metrics.catalog import _definitions
        from loopcrm.analytics.metrics.sources import SOURCES

        for key, name, unit, better, kind, dimensions, description, formula in _definitions():
            if dimensions is None:
                known = set(DIMENSIONS)
                for source in formula.sources():
                    known &= set(SOURCES[source].dimensions)
                dimensions = tuple(d for d in DIMENSIONS if d in known)
            _CATALOG[key] = (Metric(key=key, name=name, unit=unit, better=better, kind=kind,
                                    dimensions=tuple(dimensions), description=description), formula)
    return _CATALOG


def metrics() -> list[Metric]:
    """Every metric, in display order."""
    return [metric for metric, _formula in _catalog().values()]


def get(key: str) -> Metric:
    """The metric with `key`; UnknownMetric (404) when there is none."""
    found = _catalog().get(key) if isinstance(key, str) else None
    if found is None:
        raise UnknownMetric(_("There is no metric “%(key)s”.") % {"key": key}, field="key")
    return found[0]


def _formula(key: str) -> Formula:
    get(key)
    return _catalog()[key][1]


def clean_grain(grain) -> Grain:
    try:
        return Grain(grain)
    except ValueError:
        raise RuleViolation(_("The grain must be day, week or month."), field="grain") from None


def clean_window(start, end, grain: Grain | None = None) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise RuleViolation(_("Give the %(name)s as a date (YYYY-MM-DD).") % {"name": name}, field=name)
    for name, value in (("start", start), ("end", end)):
        if not MIN_DATE <= value <= MAX_DATE:
            raise RuleViolation(_("Give a %(name)s between %(low)s and %(high)s.")
                                % {"name": name, "low": MIN_DATE, "high": MAX_DATE}, field=name)
    if end < start:
        raise RuleViolation(_("The window ends before it starts."), field="end")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise RuleViolation(_("A window can span at most ten years."), field="end")
    from loopcrm.analytics.metrics import sql

    if grain is not None and len(sql.buckets(start, end, grain.value)) > MAX_BUCKETS:
        raise RuleViolation(_("Too many points: choose a coarser grain or a shorter window."), field="grain")


def clean_filters(metric: Metric, filters: dict | None) -> dict:
    """Filters the metric can be cut by, with ids as integers; RuleViolation naming `filters.<dimension>`."""
    from loopcrm.analytics.metrics.sources import ID_DIMENSIONS

    out = {}
    for name, value in (filters or {}).items():
        if value in (None, "", []):
            continue
        field = f"filters.{name}"
        if name not in metric.dimensions:
            raise RuleViolation(_("The metric “%(metric)s” cannot be cut by “%(dimension)s”.")
                                % {"metric": metric.key, "dimension": name}, field=field)
        if name in ID_DIMENSIONS:
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = 0
            if isinstance(value, bool) or not 0 < value < 2**63:
                raise RuleViolation(_("“%(dimension)s” takes an id.") % {"dimension": name}, field=field)
        elif not isinstance(value, str) or len(value) > 100:
            raise RuleViolation(_("“%(dimension)s” takes a code.") % {"dimension": name}, field=field)
        out[name] = value
    return out


def clean_dimension(metric: Metric, dimension: str) -> str:
    if dimension not in metric.dimensions:
        raise RuleViolation(_("The metric “%(metric)s” cannot be cut by “%(dimension)s”.")
                            % {"metric": metric.key, "dimension": dimension}, field="by")
    return dimension


def _point(formula: Formula, start: dt.date, agg: Agg | None) -> Point:
    value, numerator, denominator, n, stdev = _engine().point_values(formula, agg)
    return Point(start=start, value=value, numerator=numerator, denominator=denominator, n=n, stdev=stdev)


def _query(key: str, start, end, grain, filters, user, dimension=None) -> tuple[Metric, Formula, Query]:
    metric = get(key)
    grain = clean_grain(grain) if grain is not None else None
    clean_window(start, end, grain)
    filters = clean_filters(metric, filters)
    if dimension is not None:
        clean_dimension(metric, dimension)
    return metric, _catalog()[key][1], _engine().Query(start=start, end=end, grain=grain.value if grain else None,
                                             filters=filters, user=user, dimension=dimension)


def series(key: str, *, start: dt.date, end: dt.date, grain: Grain | str = Grain.DAY, filters: dict | None = None,
           user=None) -> list[Point]:
    """The metric per bucket, every bucket from `start` to `end` inclusive; empty buckets have value None."""
    return many([key], start=start, end=end, grain=grain, filters=filters, user=user)[key]


def many(keys: list[str], *, start: dt.date, end: dt.date, grain: Grain | str = Grain.DAY,
         filters: dict | None = None, user=None) -> dict[str, list[Point]]:
    """Several metrics' series at once: metrics reading the same table share one query."""
    queries = [_query(key, start, end, grain, filters, user) for key in keys]
    query = queries[0][2] if queries else None
    if query is None:
        return {}
    formulas = {key: formula for key, (_metric, formula, _q) in zip(keys, queries, strict=True)}
    groups = _engine().compute(formulas, query)
    return {key: [_point(formulas[key], bucket, groups[key].get((None, bucket))) for bucket in query.buckets()]
            for key in keys}


def total(key: str, *, start: dt.date, end: dt.date, filters: dict | None = None, user=None) -> Point:
    """The metric over the whole window, as one point starting at `start`."""
    _metric, formula, query = _query(key, start, end, None, filters, user)
    return _point(formula, start, _engine().compute({key: formula}, query)[key].get((None, start)))


def cuts(key: str, dimension: str, *, start: dt.date, end: dt.date, grain: Grain | str = Grain.DAY,
         filters: dict | None = None, user=None, limit: int = DEFAULT_CUTS) -> list[Cut]:
    """The metric per value of `dimension` (the `limit` largest by cases), each with series and total."""
    engine = _engine()
    _metric, formula, query = _query(key, start, end, grain, filters, user, dimension)
    groups = engine.compute({key: formula}, query)[key]
    totals: dict[object, Agg] = {}
    for (value, _bucket), agg in groups.items():
        totals.setdefault(value, engine.Agg()).add(agg)
    if not formula.additive:  # a stock or churn: the window's total is not the sum of its buckets
        whole = engine.Query(start=start, end=end, grain=None, filters=query.filters, user=user, dimension=dimension)
        totals = {value: agg for (value, _bucket), agg in engine.compute({key: formula}, whole)[key].items()}
    ranked = sorted(totals, key=lambda value: (-engine.point_values(formula, totals[value])[3], str(value)))[:limit]
    names = labels(dimension, ranked)
    return [Cut(key=value, label=names[value], total=_point(formula, start, totals[value]),
                points=[_point(formula, bucket, groups.get((value, bucket))) for bucket in query.buckets()])
            for value in ranked]


def series_by(key: str, dimension: str, *, start: dt.date, end: dt.date, grain: Grain | str = Grain.DAY,
              filters: dict | None = None, user=None, limit: int = DEFAULT_CUTS) -> dict[str, list[Point]]:
    """label -> series for the `limit` values of `dimension` with the most cases."""
    return {cut.label: cut.points for cut in cuts(key, dimension, start=start, end=end, grain=grain, filters=filters,
                                                  user=user, limit=limit)}


def samples(key: str, *, start: dt.date, end: dt.date, filters: dict | None = None, user=None) -> Samples:
    """What a statistical test needs for the window: successes of trials (rate), one value per case
    (duration, score), or one count per day (count)."""
    metric, formula, query = _query(key, start, end, None, filters, user)
    if metric.kind == MetricKind.RATE:
        point = total(key, start=start, end=end, filters=filters, user=user)
        return Samples(kind=metric.kind, successes=int(point.numerator), trials=int(point.denominator))
    if metric.kind == MetricKind.COUNT:
        points = series(key, start=start, end=end, grain=Grain.DAY, filters=filters, user=user)
        return Samples(kind=metric.kind, values=[p.value for p in points if p.value is not None])
    from loopcrm.analytics.metrics import sql

    engine = _engine()
    term = formula.denominator
    low, high = sql.bounds(start, end)
    rows = (engine.scoped_rows(term.source, query, engine.category_paths(query.filters))
            .filter(formula.case_where, **{f"{term.date}__gte": low, f"{term.date}__lt": high})
            .annotate(case_value=formula.case_value()).order_by(term.date, "pk"))
    return Samples(kind=metric.kind, values=[float(v) for v in rows.values_list("case_value", flat=True)])


def labels(dimension: str, values: list) -> dict[object, str]:
    """What to call each value of a dimension (names for ids, translated choices for codes)."""
    from loopcrm.accounts.models import Department, Team, User
    from loopcrm.commerce.models import OrderChannel
    from loopcrm.core.choices import Channel, Touchpoint
    from loopcrm.service.models import Ticket, TicketCategory
    from loopcrm.value.models import Tier

    present = [value for value in values if value not in (None, "")]
    if dimension == "agent":
        names = {user.pk: str(user.display_name or user.username) for user in User.objects.filter(pk__in=present)}
    elif dimension in ("department", "team", "category"):
        model = {"department": Department, "team": Team, "category": TicketCategory}[dimension]
        names = dict(model.objects.filter(pk__in=present).values_list("pk", "name"))
    else:
        choices = {"kind": Ticket.Kind, "channel": None, "touchpoint": Touchpoint, "customer_tier": Tier}.get(dimension)
        known: dict = {}
        if dimension == "channel":
            known = {**dict(OrderChannel.choices), **dict(Channel.choices)}
        elif choices is not None:
            known = dict(choices.choices)
        names = {value: str(known.get(value, value)) for value in present}
    out, seen = {}, set()
    for value in values:
        label = names.get(value) or str(_("(none)"))
        if label in seen:
            label = f"{label} ({value})"
        seen.add(label)
        out[value] = label
    return out
