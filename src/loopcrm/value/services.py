"""Writes of customer value: the recompute of every customer's value and cross-sell rules, and saved segments.

`recompute_all` is the one path that fills CustomerValue: aggregation happens in the database (one
GROUP BY over orders, one window query for the previous order), the models run on NumPy arrays, and
the rows are replaced in one transaction (PostgreSQL: DELETE + COPY; SQLite: batched inserts).
"""

from __future__ import annotations

import datetime as dt
import logging
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Max, Min, Q, Sum, Window
from django.db.models.functions import Cast, RowNumber, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.commerce.models import Order, OrderLine
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line
from loopcrm.customers.models import Customer
from loopcrm.value import bulk, clv, crosssell, purchases, rfm
from loopcrm.value import rules as value_rules
from loopcrm.value.models import CustomerValue, ProductAssociation, Segment, ValueRun
from loopcrm.value.segments import compile_rule

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DAY = 86_400.0
WEEK = 7 * DAY
CHUNK = 5_000
CENT = Decimal("0.01")


def rules_from_settings() -> value_rules.ValueRules:
    """The value rules: defaults, overridden by settings.LOOPCRM_VALUE = {"window_days": …, "tier": {…}, …}."""
    config: dict[str, Any] = dict(getattr(settings, "LOOPCRM_VALUE", None) or {})
    tier = value_rules.TierRule(**config.pop("tier", {}))
    lifecycle = value_rules.LifecycleRule(**config.pop("lifecycle", {}))
    return value_rules.ValueRules(tier=tier, lifecycle=lifecycle, **config)


@dataclass
class RecomputeResult:
    run_id: int
    customers: int
    buyers: int
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)


def _as_float(values, *, nan: bool = False) -> np.ndarray:
    """Numbers from the database as floats; None is NaN (`nan=True`) or 0."""
    empty = np.nan if nan else 0.0
    return np.array([empty if v is None else float(v) for v in values], dtype=float)


def _customer_ids() -> np.ndarray:
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk").values_list("pk", flat=True)
    chunks, buffer = [], []
    for pk in rows.iterator(chunk_size=20_000):
        buffer.append(pk)
        if len(buffer) >= 200_000:
            chunks.append(np.array(buffer, dtype=np.int64))
            buffer = []
    chunks.append(np.array(buffer, dtype=np.int64))
    return np.concatenate(chunks)


@dataclass
class _History:
    """Per buyer (aligned arrays, sorted by customer id) — what the models need."""

    customer: np.ndarray
    orders: np.ndarray
    spend: np.ndarray
    first: np.ndarray  # epoch seconds
    last: np.ndarray
    days: np.ndarray  # distinct purchase days
    window_orders: np.ndarray
    window_spend: np.ndarray
    window_last: np.ndarray
    previous: np.ndarray  # epoch seconds of the second-latest order (NaN for one-order customers)


class Epoch(Func):
    """Seconds since 1970 of a timestamp, as a float, computed by the database (parsing a million datetimes in
    Python costs more than the whole GROUP BY)."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:
            raise NotImplementedError(f"Epoch is written for PostgreSQL and SQLite, not {connection.vendor}.")
        return super().as_sql(compiler, connection, template=template, **extra)


def _history(at: dt.datetime, since: dt.datetime) -> _History:
    """Each buyer's counted orders up to `at`, summed: on PostgreSQL one statement read as binary rows
    (value.bulk), elsewhere the portable ORM queries."""
    if connection.vendor == "postgresql":
        return _History(**bulk.history(at, since))
    return _history_portable(at, since)


def _history_portable(at: dt.datetime, since: dt.datetime) -> _History:
    """One GROUP BY over counted orders up to `at`, plus one window query for each buyer's previous order."""
    in_window = Q(placed_at__gte=since)
    grouped = (
        Order.objects.filter(status__in=SPENDING_STATUSES, placed_at__lte=at)
        .values("customer_id")
        .annotate(n=Count("id"), spend=Cast(Sum("total"), FloatField()), first=Epoch(Min("placed_at")),
                  last=Epoch(Max("placed_at")), days=Count(TruncDate("placed_at"), distinct=True),
                  wn=Count("id", filter=in_window), wspend=Cast(Sum("total", filter=in_window), FloatField()),
                  wlast=Epoch(Max("placed_at", filter=in_window)))
        .order_by()
        .values_list("customer_id", "n", "spend", "first", "last", "days", "wn", "wspend", "wlast")
    )
    parts: list[list[np.ndarray]] = []
    batch: list[tuple] = []

    def flush() -> None:
        if batch:
            c = list(zip(*batch, strict=True))
            parts.append([np.array(c[0], dtype=np.int64), np.array(c[1], dtype=np.int64), _as_float(c[2]),
                          _as_float(c[3], nan=True), _as_float(c[4], nan=True), np.array(c[5], dtype=np.int64),
                          np.array(c[6], dtype=np.int64), _as_float(c[7]), _as_float(c[8], nan=True)])
            batch.clear()

    # Converted to arrays 50,000 rows at a time: a million buyers never sit in memory as Python objects.
    for row in grouped.iterator(chunk_size=20_000):
        batch.append(row)
        if len(batch) >= 50_000:
            flush()
    flush()
    if parts:
        columns = [np.concatenate([part[i] for part in parts]) for i in range(9)]
    else:
        columns = [np.zeros(0, dtype=np.int64)] * 2 + [np.zeros(0)] * 3 + [np.zeros(0, dtype=np.int64)] * 2 + [
            np.zeros(0)] * 2
    parts.clear()
    order = np.argsort(columns[0], kind="stable")
    columns = [column[order] for column in columns]
    history = _History(customer=columns[0], orders=columns[1], spend=columns[2], first=columns[3], last=columns[4],
                       days=columns[5], window_orders=columns[6], window_spend=columns[7], window_last=columns[8],
                       previous=np.full(columns[0].size, np.nan))
    ranked = (
        Order.objects.filter(status__in=SPENDING_STATUSES, placed_at__lte=at)
        .annotate(position=Window(RowNumber(), partition_by=[F("customer_id")],
                                  order_by=[F("placed_at").desc(), F("id").desc()]))
        .filter(position=2)
        .annotate(seconds=Epoch("placed_at"))
        .values_list("customer_id", "seconds")
    )
    ids, times = array("q"), array("d")
    for customer_id, seconds in ranked.iterator(chunk_size=20_000):
        ids.append(customer_id)
        times.append(seconds)
    if ids:
        where = np.searchsorted(history.customer, np.asarray(ids, dtype=np.int64))
        history.previous[where] = np.asarray(times)
    return history


def _fit(history: _History, now: float, config: value_rules.ValueRules,
         buyers: np.ndarray) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD and Gamma-Gamma on the buyers (a sample when many): P(alive), expected purchases, CLV.

    Returns NaN predictions when the data cannot support a fit (few customers, no repeat buyer).
    """
    n = buyers.size
    x = np.maximum(history.days[buyers] - 1, 0).astype(float)
    t_x = (history.last[buyers] - history.first[buyers]) / WEEK
    T = (now - history.first[buyers]) / WEEK
    t_x = np.minimum(np.maximum(t_x, 0.0), T)
    parameters: dict[str, Any] = {}
    nan = np.full(n, np.nan)
    if n == 0:
        return parameters, nan, nan, nan
    sample = np.arange(n)
    if n > config.fit_sample:
        sample = np.sort(np.random.default_rng(20_261_123).choice(n, size=config.fit_sample, replace=False))
    try:
        model = clv.fit_bgnbd(x[sample], t_x[sample], T[sample])
    except clv.FitError as error:
        parameters["bgnbd"] = {"error": str(error)}
        return parameters, nan, nan, nan
    parameters["bgnbd"] = asdict(model)
    alive = clv.p_alive(model, x, t_x, T)
    expected = clv.expected_purchases(model, config.prediction_days / 7.0, x, t_x, T)
    orders = history.orders[buyers].astype(float)
    mean_spend = history.spend[buyers] / np.maximum(orders, 1.0)
    spend = mean_spend
    try:
        repeat = x[sample] > 0
        spend_model = clv.fit_gamma_gamma(orders[sample][repeat], mean_spend[sample][repeat])
        if spend_model.q > 1:
            spend = np.where(x > 0, clv.expected_spend(spend_model, orders, mean_spend), mean_spend)
        parameters["gamma_gamma"] = asdict(spend_model)
    except clv.FitError as error:
        parameters["gamma_gamma"] = {"error": str(error)}
    value = clv.clv(model, spend, x, t_x, T, horizon_periods=config.clv_months, period_length=365.25 / 12 / 7,
                    discount_rate=config.monthly_discount_rate)
    bad = ~np.isfinite(alive) | ~np.isfinite(expected) | ~np.isfinite(value)
    alive[bad], expected[bad], value[bad] = np.nan, np.nan, np.nan
    return parameters, alive, expected, value


def _money(value: float) -> Decimal | None:
    if value is None or not np.isfinite(value):
        return None
    return Decimal(f"{value:.2f}")


def recompute_all(*, by: User | None = None, at: dt.datetime | None = None,
                  config: value_rules.ValueRules | None = None, progress: Progress | None = None,
                  associations: bool = True) -> RecomputeResult:
    """Recompute every live customer's RFM, tier, CLV, P(alive) and lifecycle stage as of `at` (default now),
    and (unless `associations=False`) the cross-sell rules. Safe to run twice; the last run wins.

    `progress(step, done, total)` is called as the work advances (for the CLI and the task log).
    """
    at = at or timezone.now()
    config = config or rules_from_settings()
    report = progress or (lambda step, done, total: None)
    started = timezone.now()
    clock = dt.datetime.now(dt.UTC)
    since = at - dt.timedelta(days=config.window_days)
    now = at.timestamp()

    report("customers", 0, 1)
    customers = bulk.customer_ids() if connection.vendor == "postgresql" else _customer_ids()
    report("orders", 0, 1)
    with transaction.atomic():
        _more_sort_memory()
        history = _history(at, since)
    total = customers.size
    report("orders", 1, 1)

    # Buyers among live customers; index into history for each customer (-1: no order).
    position = np.searchsorted(history.customer, customers)
    position = np.minimum(position, max(history.customer.size - 1, 0))
    known = history.customer.size > 0
    has = (history.customer[position] == customers) if known else np.zeros(total, dtype=bool)
    row = np.where(has, position, -1)
    buyers = row[has]

    # RFM over the window: only customers with an order in it are scored.
    scored = np.zeros(total, dtype=bool)
    scored[has] = history.window_orders[buyers] > 0
    scored_rows = row[scored]
    recency = np.full(total, np.nan)
    recency[scored] = np.floor((now - history.window_last[scored_rows]) / DAY)
    r = np.zeros(total, dtype=np.int8)
    f = np.zeros(total, dtype=np.int8)
    m = np.zeros(total, dtype=np.int8)
    segment = np.full(total, "", dtype=object)
    if scored.any():
        scores = rfm.score(recency[scored], history.window_orders[scored_rows], history.window_spend[scored_rows])
        r[scored], f[scored], m[scored], segment[scored] = scores.r, scores.f, scores.m, scores.segment
    report("rfm", 1, 1)

    parameters, alive_b, expected_b, clv_b = _fit(history, now, config, buyers)
    alive = np.full(total, np.nan)
    expected = np.full(total, np.nan)
    value = np.full(total, np.nan)
    alive[has], expected[has], value[has] = alive_b, expected_b, clv_b
    report("models", 1, 1)

    # Tiers and the VIP suggestion among buyers, by CLV (when the model fitted) or trailing spend.
    basis_name = config.tier.basis if (config.tier.basis == "spend" or np.isfinite(clv_b).any()) else "spend"
    trailing = np.zeros(total)
    trailing[scored] = history.window_spend[scored_rows]
    basis = np.nan_to_num(value if basis_name == "clv" else trailing, nan=0.0)
    tier = np.full(total, "", dtype=object)
    vip = np.zeros(total, dtype=bool)
    if has.any():
        tier[has] = value_rules.tiers(basis[has], config.tier)
        vip[has] = value_rules.vip_suggestions(basis[has], config.tier.vip_share)
    parameters["tier_basis"] = basis_name

    last_any = np.full(total, np.nan)
    first_any = np.full(total, np.nan)
    previous = np.full(total, np.nan)
    last_any[has] = history.last[buyers]
    first_any[has] = history.first[buyers]
    previous[has] = history.previous[buyers]
    stage = value_rules.lifecycle_stages(
        has_orders=has, first_age_days=(now - first_any) / DAY, recency_days=(now - last_any) / DAY,
        previous_gap_days=(last_any - previous) / DAY, p_alive=alive, rule=config.lifecycle)
    report("lifecycle", 1, 1)

    lifetime_orders = np.zeros(total, dtype=np.int64)
    lifetime_spend = np.zeros(total)
    lifetime_orders[has] = history.orders[buyers]
    lifetime_spend[has] = history.spend[buyers]
    window_orders = np.zeros(total, dtype=np.int64)
    window_orders[scored] = history.window_orders[scored_rows]
    del history

    columns = _Columns(customers, recency, window_orders, trailing, r, f, m, segment, tier, vip, value, alive,
                       expected, stage, first_any, last_any, lifetime_orders, lifetime_spend, at)
    with transaction.atomic():
        _serialise_writers()
        _replace_values(columns, report)
        _analyse()
        run = ValueRun.objects.create(started_at=started, finished_at=timezone.now(), customers=total,
                                      buyers=int(has.sum()), parameters=_jsonable(parameters),
                                      by=by if getattr(by, "pk", None) else None)
        audit.record(action="update", object_type="value.customervalue", object_id="all", by=by,
                     changes={"customers": total, "buyers": int(has.sum())}, note="value recompute", at=started)
    # The purchase summary in a transaction of its own (value readers need not wait for it): the customers
    # whose orders changed since the last one, or all. Until it commits, purchase counts use the last one.
    report("purchases", 0, 1)
    with transaction.atomic():
        _serialise_writers()
        refreshed = purchases.refresh(at)
        run.parameters = {**run.parameters, "purchases": {"refreshed": refreshed.scope, "written": refreshed.written}}
        run.orders_until, run.purchase_categories = at, refreshed.categories
        run.save(update_fields=["orders_until", "purchase_categories", "parameters"])
    report("purchases", 1, 1)
    if connection.vendor == "postgresql":
        bulk.vacuum()
    if associations:
        report("cross-sell", 0, 1)
        recompute_associations(at=at)
        report("cross-sell", 1, 1)
    seconds = (dt.datetime.now(dt.UTC) - clock).total_seconds()
    tiers, stages = _counts(tier[has]), _counts(stage)
    log.info("value recompute: %s customers, %s buyers in %.1f s", total, int(has.sum()), seconds)
    return RecomputeResult(run_id=run.pk, customers=total, buyers=int(has.sum()), seconds=seconds,
                           parameters=run.parameters, tiers=tiers, stages=stages)


def _more_sort_memory() -> None:
    """PostgreSQL: let this transaction's GROUP BY and window sort in memory (the default 4 MB spills to disk)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")


def _analyse() -> None:
    """PostgreSQL: fresh statistics for the rows just copied, so segment counts get a good plan at once."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {CustomerValue._meta.db_table}")


def _serialise_writers() -> None:
    """One recompute writes at a time: on PostgreSQL a second one waits here (a transaction-level advisory lock)
    instead of inserting beside rows it cannot see yet. SQLite's IMMEDIATE transactions already serialise."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('loopcrm.value.recompute'))")


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(values.astype(str), return_counts=True) if values.size else ([], [])
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass
class _Columns:
    customer: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray
    tier: np.ndarray
    vip: np.ndarray
    clv: np.ndarray
    p_alive: np.ndarray
    expected: np.ndarray
    stage: np.ndarray
    first: np.ndarray
    last: np.ndarray
    lifetime_orders: np.ndarray
    lifetime_spend: np.ndarray
    at: dt.datetime


FIELDS = ("customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment", "tier",
          "vip_suggested", "clv", "p_alive", "expected_purchases", "stage", "first_order_at", "last_order_at",
          "lifetime_orders", "lifetime_spend", "computed_at")


def _rows(c: _Columns, start: int, stop: int):
    """The rows [start, stop) as tuples of Python values in FIELDS order."""
    def moment(value: float) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(value, dt.UTC) if np.isfinite(value) else None

    for i in range(start, stop):
        score = int(c.r[i]) > 0
        yield (
            int(c.customer[i]),
            int(c.recency[i]) if np.isfinite(c.recency[i]) else None,
            int(c.frequency[i]),
            Decimal(f"{c.monetary[i]:.2f}"),
            int(c.r[i]) if score else None, int(c.f[i]) if score else None, int(c.m[i]) if score else None,
            c.segment[i], c.tier[i], bool(c.vip[i]), _money(c.clv[i]),
            float(c.p_alive[i]) if np.isfinite(c.p_alive[i]) else None,
            float(c.expected[i]) if np.isfinite(c.expected[i]) else None,
            c.stage[i], moment(c.first[i]), moment(c.last[i]), int(c.lifetime_orders[i]),
            Decimal(f"{c.lifetime_spend[i]:.2f}"), c.at,
        )


def _replace_values(c: _Columns, report: Progress) -> None:
    """Replace every value row by those of `c` (inside the caller's transaction)."""
    if connection.vendor == "postgresql":
        bulk.replace_values(c, report)
        return
    CustomerValue.objects.all().delete()
    _write_portable(c, report)


def _write_portable(c: _Columns, report: Progress) -> None:
    """Batched INSERTs through the ORM (SQLite; on PostgreSQL the reference the bulk path is tested against)."""
    total = c.customer.size
    for start in range(0, total, CHUNK):
        stop = min(start + CHUNK, total)
        CustomerValue.objects.bulk_create(
            [CustomerValue(**dict(zip(FIELDS, values, strict=True))) for values in _rows(c, start, stop)])
        report("write", stop, total)


# --- cross-sell ----------------------------------------------------------------------------------

ASSOCIATION_DAYS = 730


def recompute_associations(*, at: dt.datetime | None = None, days: int = ASSOCIATION_DAYS,
                           min_pair_count: int = 2) -> int:
    """Replace the cross-sell rules with those of the counted orders of the last `days` days.

    A basket is everything one customer bought in that time ("customers who bought X also bought Y"): on
    the demo's time split it predicted next purchases better than single orders (docs/value.md).
    """
    at = at or timezone.now()
    lines = (OrderLine.objects.filter(order__status__in=SPENDING_STATUSES, product__isnull=False,
                                      order__placed_at__gt=at - dt.timedelta(days=days), order__placed_at__lte=at)
             .values_list("order__customer_id", "product_id"))
    baskets, products = array("q"), array("q")  # 16 bytes a line, not two Python ints
    for basket, product in lines.iterator(chunk_size=50_000):
        baskets.append(basket)
        products.append(product)
    found = crosssell.association_rules(baskets, products, min_pair_count=min_pair_count)
    rows = [ProductAssociation(antecedent_id=int(a), consequent_id=int(b), pair_count=int(n), support=float(s),
                               confidence=float(cf), lift=float(lf), computed_at=at)
            for a, b, n, s, cf, lf in zip(found.antecedent, found.consequent, found.pair_count, found.support,
                                          found.confidence, found.lift, strict=True)]
    # Each product's popularity rides along as a rule product → itself: pair_count = its buyers.
    rows += [ProductAssociation(antecedent_id=product, consequent_id=product, pair_count=count,
                                support=count / found.baskets, confidence=1.0, lift=1.0, computed_at=at)
             for product, count in found.popularity.items()]
    with transaction.atomic():
        ProductAssociation.objects.all().delete()
        ProductAssociation.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- segments ------------------------------------------------------------------------------------

SEGMENT_FIELDS = ("name", "description", "rule")


def _segment_values(name: Any, description: Any, rule: Any) -> dict[str, Any]:
    name = clean_line(name, field="name", max_length=100)
    if not name:
        raise RuleViolation(_("A segment needs a name."), field="name")
    description = clean_line(description or "", field="description", max_length=500)
    compile_rule(rule)  # RuleViolation naming the part of the rule at fault
    return {"name": name, "description": description, "rule": rule}


def _require(user: User, action: str) -> None:
    if not can(user, "segment", action):
        raise PermissionDenied(_("Your role may not change segments."), field=None)


@transaction.atomic
def create_segment(*, by: User, name: str, rule: Any, description: str = "") -> Segment:
    """Save a rule over customers under a name; it is the creator's and their department's."""
    _require(by, "change")
    values = _segment_values(name, description, rule)
    segment = Segment.objects.create(owner=by, department=by.department, **values)
    audit.record(action="create", obj=segment, by=by, changes=values)
    return segment


@transaction.atomic
def update_segment(segment: Segment, *, by: User, version: int, changes: dict[str, Any]) -> Segment:
    """Change name, description or rule of a segment; `version` must be the one read (409 otherwise)."""
    current = Segment.objects.select_for_update().get(pk=segment.pk)
    unknown = set(changes) - set(SEGMENT_FIELDS)
    if unknown:
        raise RuleViolation(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    merged = {key: changes.get(key, getattr(current, key)) for key in SEGMENT_FIELDS}
    values = _segment_values(merged["name"], merged["description"], merged["rule"])
    updated = Segment.objects.filter(pk=current.pk, version=version).update(version=F("version") + 1, **values)
    if not updated:
        raise Conflict(_("This segment was changed by someone else; reload it and try again."), field="version",
                       extra={"current_version": current.version})
    before = {key: getattr(current, key) for key in SEGMENT_FIELDS}
    audit.record(action="update", obj=current, by=by, changes=audit.diff(before, values))
    current.refresh_from_db()
    return current


@transaction.atomic
def delete_segment(segment: Segment, *, by: User) -> None:
    audit.record(action="delete", obj=segment, by=by, changes={"name": segment.name})
    segment.delete()


def with_rules(config: value_rules.ValueRules, **changes: Any) -> value_rules.ValueRules:
    """A copy of `config` with some fields changed (for callers that tune one rule)."""
    return replace(config, **changes)
