"""The aggregation engine: metrics as conditional aggregates, one GROUP BY per source and date column.

A metric is a `Formula` of terms (numerator, denominator, sum of squares), each an aggregate over a
source's rows dated in the window. Terms of several metrics that read the same source and date column
go into ONE query (a dashboard of eight KPIs is four queries), grouped by bucket (TruncDay/Week/Month
in the current time zone) and optionally by one dimension. Python only walks the grouped rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Aggregate, Expression, F, Q

from loopcrm.analytics.metrics import sql
from loopcrm.analytics.metrics.sources import SOURCES, filter_condition
from loopcrm.service.models import TicketCategory

NUMERATOR, DENOMINATOR, SQUARES = "num", "den", "sq"


@dataclass(frozen=True)
class Term:
    """One aggregate over a source's rows whose `date` falls in the window (or, for a stock, before it)."""

    source: str
    date: str
    aggregate: Callable[[], Aggregate]
    stock: bool = False  # rows dated before each bucket starts (e.g. customers on the books), not in it


@dataclass
class Agg:
    """What a bucket adds up to; additive, so buckets sum into a window."""

    numerator: float = 0.0
    denominator: float = 0.0
    squares: float = 0.0
    n: int = 0

    def add(self, other: Agg) -> None:
        self.numerator += other.numerator
        self.denominator += other.denominator
        self.squares += other.squares
        self.n += other.n


Groups = dict[tuple[object, dt.date], Agg]  # (dimension value or None, bucket start) -> aggregate
Custom = Callable[..., Groups]


@dataclass(frozen=True)
class Formula:
    """How a metric is computed: value = scale × numerator / denominator per bucket.

    `denominator=None` means one per bucket (a plain count). `n_from` names the term that counts the
    cases behind a point. `case_value`/`case_where` give one value per case, for statistical tests.
    `custom` replaces the terms for metrics that are not a ratio of two aggregates (churn).
    """

    numerator: Term | None = None
    denominator: Term | None = None
    squares: Term | None = None
    scale: float = 1.0
    n_from: str = DENOMINATOR
    case_value: Callable[[], Expression] | None = None
    case_where: Q = field(default_factory=Q)
    custom: Custom | None = None
    additive: bool = True  # can a window's total be summed from its buckets?

    def terms(self) -> Iterable[tuple[str, Term]]:
        for role, term in ((NUMERATOR, self.numerator), (DENOMINATOR, self.denominator), (SQUARES, self.squares)):
            if term is not None:
                yield role, term

    def sources(self) -> set[str]:
        return {term.source for _role, term in self.terms()}


@dataclass(frozen=True)
class Query:
    """What to compute: a window of days, a grain (None: the whole window), filters, a scope, a cut."""

    start: dt.date
    end: dt.date
    grain: str | None
    filters: dict
    user: object | None
    dimension: str | None = None

    def bucket(self, day: dt.date) -> dt.date:
        return self.start if self.grain is None else sql.bucket_of(day, self.grain)

    def buckets(self) -> list[dt.date]:
        return [self.start] if self.grain is None else sql.buckets(self.start, self.end, self.grain)


def category_paths(filters: dict) -> dict[int, str]:
    if "category" not in filters:
        return {}
    return dict(TicketCategory.objects.filter(pk=filters["category"]).values_list("pk", "path"))


def scoped_rows(source_name: str, query: Query, paths: dict[int, str], dated: tuple | None = None):
    """The source's rows in the user's scope and the filters; `dated=(date, low, high)` says the caller keeps only
    rows dated in [low, high), which lets a source answer with a cheaper, identical statement."""
    source = SOURCES[source_name]
    if dated is not None and source.dated_rows is not None:
        rows = source.dated_rows(query.user, *dated)
    else:
        rows = source.rows(query.user)
    return rows.filter(filter_condition(source, query.filters, paths))


def _group_fields(source_name: str, date: str, query: Query) -> dict[str, Expression]:
    fields: dict[str, Expression] = {}
    if query.grain is not None:
        fields["bucket"] = sql.bucket_expression(date, query.grain)
    if query.dimension is not None:
        fields["dim"] = F(SOURCES[source_name].dimensions[query.dimension])
    return fields


def _alias(index: int, role: str) -> str:
    return f"m{index}_{role}"


def compute(formulas: dict[str, Formula], query: Query) -> dict[str, Groups]:
    """Every formula's aggregates per (dimension value, bucket): one query per (source, date, stock)."""
    paths = category_paths(query.filters)
    low, high = sql.bounds(query.start, query.end)
    out: dict[str, Groups] = {key: defaultdict(Agg) for key in formulas}
    plans: dict[tuple[str, str, bool], list[tuple[str, int, str, Term]]] = defaultdict(list)
    for index, (key, formula) in enumerate(formulas.items()):
        if formula.custom is not None:
            out[key] = formula.custom(query, paths)
            continue
        for role, term in formula.terms():
            plans[(term.source, term.date, term.stock)].append((key, index, role, term))
    rolled = _rolled_plans(plans, query)
    for (source_name, date, stock), items in plans.items():
        aggregates = {_alias(index, role): term.aggregate() for _key, index, role, term in items}
        if stock:
            rows = scoped_rows(source_name, query, paths)
            _stocks(rows, source_name, date, items, aggregates, query, low, high, out)
            continue
        through = rolled.get((source_name, date))
        if through is not None:  # closed days from the daily roll-up, the days after them live
            _add_rolled(source_name, date, query, through, items, out)
            if through >= query.end:
                continue
        live_low = low if through is None else sql.bounds(through + dt.timedelta(days=1), query.end)[0]
        rows = scoped_rows(source_name, query, paths, (date, live_low, high))
        group = _group_fields(source_name, date, query)
        grouped = (rows.filter(**{f"{date}__gte": live_low, f"{date}__lt": high})
                   .values(**group).annotate(**aggregates).order_by())
        if not group:  # a whole-window total without a cut: one row
            grouped = [rows.filter(**{f"{date}__gte": live_low, f"{date}__lt": high}).aggregate(**aggregates)]
        for row in grouped:
            bucket = sql.as_date(row["bucket"]) if "bucket" in row else query.start
            cell = (row.get("dim"), bucket)
            for key, index, role, _term in items:
                _put(out[key][cell], role, row[_alias(index, role)])
    return out


def _rolled_plans(plans, query: Query) -> dict[tuple[str, str], dt.date]:
    """(source, date) -> the last day of the window the daily roll-up answers, for the plans it can answer."""
    from loopcrm.analytics.metrics import rollup

    candidates = {(source, date): items for (source, date, stock), items in plans.items()
                  if not stock and source in rollup.ROLLED}
    if not candidates:
        return {}
    layouts = rollup.layouts()
    states = rollup.states(f"{source}.{date}" for source, date in candidates)
    out = {}
    for (source, date), items in candidates.items():
        key = f"{source}.{date}"
        through = rollup.usable_through(layouts.get(key), states.get(key), query,
                                        [(metric, role) for metric, _index, role, _term in items])
        if through is not None:
            out[(source, date)] = through
    return out


def _add_rolled(source_name: str, date: str, query: Query, through: dt.date, items, out) -> None:
    from loopcrm.analytics.metrics import rollup

    layout = rollup.layouts()[f"{source_name}.{date}"]
    wanted = {_alias(index, role): (key, role) for key, index, role, _term in items}
    for row in rollup.read(layout, query, through, wanted):
        cell = (row.get("dim"), query.bucket(row["day"]))
        for key, index, role, _term in items:
            _put(out[key][cell], role, row[_alias(index, role)])


def _put(agg: Agg, role: str, value) -> None:
    value = float(value or 0)
    if role == NUMERATOR:
        agg.numerator += value
    elif role == DENOMINATOR:
        agg.denominator += value
    else:
        agg.squares += value


def _stocks(rows, source_name, date, items, aggregates, query: Query, low, high, out) -> None:
    """A stock at each bucket's start: what was dated before the window, plus the window's earlier buckets."""
    dim = {"dim": F(SOURCES[source_name].dimensions[query.dimension])} if query.dimension else {}
    before = {row.get("dim"): row for row in rows.filter(**{f"{date}__lt": low}).values(**dim)
              .annotate(**aggregates).order_by()} if dim else {None: rows.filter(**{f"{date}__lt": low})
                                                                .aggregate(**aggregates)}
    during: dict[object, dict[dt.date, dict]] = defaultdict(dict)
    if query.grain is not None:
        group = {**dim, "bucket": sql.bucket_expression(date, query.grain)}
        for row in (rows.filter(**{f"{date}__gte": low, f"{date}__lt": high}).values(**group)
                    .annotate(**aggregates).order_by()):
            during[row.get("dim")][sql.as_date(row["bucket"])] = row
    for dim_value in set(before) | set(during):
        running = {alias: float(before.get(dim_value, {}).get(alias) or 0) for alias in aggregates}
        for bucket in query.buckets():
            for key, index, role, _term in items:
                _put(out[key][(dim_value, bucket)], role, running[_alias(index, role)])
            added = during[dim_value].get(bucket) if dim_value in during else None
            for alias in aggregates:
                running[alias] += float((added or {}).get(alias) or 0)


def point_values(formula: Formula, agg: Agg | None) -> tuple[float | None, float, float, int, float | None]:
    """(value, numerator, denominator, n, stdev) of one bucket; value None when there is nothing to divide by."""
    agg = agg or Agg()
    denominator = 1.0 if formula.denominator is None and formula.custom is None else agg.denominator
    n = int(agg.n if formula.custom is not None else
            (agg.numerator if formula.n_from == NUMERATOR else agg.denominator))
    value = formula.scale * agg.numerator / denominator if denominator else None
    stdev = None
    if formula.squares is not None and n >= 2:
        variance = (agg.squares - agg.numerator * agg.numerator / n) / (n - 1)
        stdev = math.sqrt(max(variance, 0.0))
    return value, agg.numerator, denominator, n, stdev
