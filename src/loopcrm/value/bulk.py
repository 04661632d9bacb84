"""PostgreSQL fast paths of the recompute: reading the per-customer order history and replacing the value rows.

Both move a million rows without a Python object per row. The history is one statement (a window over
each customer's orders, newest first, feeding one GROUP BY), read as binary COPY of fixed-width rows
that NumPy views in place. The value rows go back as binary COPY of fixed-width rows into a temporary
table (NULLs and choice texts travel as sentinels and small codes), then one INSERT … SELECT into the
emptied table with its secondary indexes rebuilt afterwards (a sorted build beats a million inserts
into four low-cardinality B-trees). The same rows as the portable path in services — pinned by
tests/value/test_bulk.py.
"""

# ruff: noqa: S608 — table names come from model metadata and vocabularies from TextChoices; values are parameters.
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.customers.models import Customer
from loopcrm.value.models import CustomerValue, LastPurchase, RfmSegment, Stage, Tier

if TYPE_CHECKING:
    from loopcrm.value.services import _Columns

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header-extension length
TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds: PostgreSQL's timestamp origin


def _fixed_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    """One binary COPY row of non-null fixed-width fields: field count, then (length, value) per field."""
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_len", ">i4"), (name, kind)]
    return np.dtype(layout)


def _copy_out(sql: str, params: list, dtype: np.dtype) -> np.ndarray:
    """Rows of `sql` (every column non-null, fixed width) as a NumPy record array, through binary COPY."""
    buffer = bytearray()
    with connection.cursor() as cursor:
        query = cursor.cursor.mogrify(sql, params)
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            for block in copy:
                buffer += block
    body = memoryview(buffer)[len(HEADER):]
    rows = (len(body) - len(TRAILER)) // dtype.itemsize
    return np.frombuffer(body[: rows * dtype.itemsize], dtype=dtype)


def customer_ids() -> np.ndarray:
    """Ids of the live (not merged) customers, ascending."""
    table = Customer._meta.db_table
    dtype = _fixed_dtype([("id", ">i8")])
    rows = _copy_out(f"SELECT id FROM {table} WHERE merged_into_id IS NULL ORDER BY id", [], dtype)
    return rows["id"].astype(np.int64)


HISTORY_FIELDS = ("customer", "orders", "spend", "first", "last", "days", "window_orders", "window_spend",
                  "window_last", "previous")


def history(at: dt.datetime, since: dt.datetime) -> dict[str, np.ndarray]:
    """Per buyer, sorted by customer id: the columns of services._History (NaN where the portable path has NaN).

    Newest order first per customer: the second row is the previous order, and a purchase day differs
    from the row before exactly once per distinct day — one sort serves the distinct-day count and the
    previous order, where the portable path needs COUNT(DISTINCT) and a second window query.
    """
    table = Order._meta.db_table
    tz = timezone.get_current_timezone_name()
    sql = f"""
        SELECT customer_id,
               count(*)::int8,
               coalesce(sum(total)::float8, 0),
               EXTRACT(EPOCH FROM min(placed_at))::float8,
               EXTRACT(EPOCH FROM max(placed_at))::float8,
               count(*) FILTER (WHERE day IS DISTINCT FROM newer_day)::int8,
               count(*) FILTER (WHERE placed_at >= %s)::int8,
               coalesce(sum(total) FILTER (WHERE placed_at >= %s)::float8, 0),
               coalesce(EXTRACT(EPOCH FROM max(placed_at) FILTER (WHERE placed_at >= %s))::float8, 'NaN'),
               coalesce(EXTRACT(EPOCH FROM max(placed_at) FILTER (WHERE position = 2))::float8, 'NaN')
        FROM (
            SELECT customer_id, total, placed_at, day, lag(day) OVER newest_first AS newer_day,
                   row_number() OVER newest_first AS position
            FROM (SELECT customer_id, total, placed_at, (placed_at AT TIME ZONE %s)::date AS day
                  FROM {table} WHERE status = ANY(%s) AND placed_at <= %s) AS orders
            WINDOW newest_first AS (PARTITION BY customer_id ORDER BY placed_at DESC)
        ) AS counted
        GROUP BY customer_id
        ORDER BY customer_id
    """
    kinds = [">i8", ">i8", ">f8", ">f8", ">f8", ">i8", ">i8", ">f8", ">f8", ">f8"]
    dtype = _fixed_dtype(list(zip(HISTORY_FIELDS, kinds, strict=True)))
    # The (customer, placed_at) index offers this order without a sort, but walks the heap at random:
    # 63 s against 25 s for a sequential scan and one sort (1M customers, 5.7M orders, load ≈ 8).
    # JIT compiles for half a second and gains nothing on a plan this simple.
    settings = ("enable_indexscan", "enable_bitmapscan", "jit")
    with transaction.atomic(), connection.cursor() as cursor:  # SET LOCAL needs a transaction
        for name in settings:
            cursor.execute(f"SET LOCAL {name} = off")
        rows = _copy_out(sql, [since, since, since, tz, list(SPENDING_STATUSES), at], dtype)
        for name in settings:  # the caller's transaction may go on
            cursor.execute(f"SET LOCAL {name} TO DEFAULT")
    return {name: rows[name].astype(np.int64 if kind == ">i8" else np.float64)
            for name, kind in zip(HISTORY_FIELDS, kinds, strict=True)}


# --- writing the value rows ------------------------------------------------------------------------

SEGMENTS = ("", *RfmSegment.values)
TIERS = ("", *Tier.values)
STAGES = tuple(Stage.values)
NO_INT = -(2**31)  # "NULL" for recency; scores use 0


def _codes(values: np.ndarray, vocabulary: tuple[str, ...], name: str) -> np.ndarray:
    """1-based positions of `values` in `vocabulary` (SQL arrays count from 1)."""
    text = values.astype(str)
    order = np.argsort(np.array(vocabulary))
    ranked = np.array(vocabulary)[order]
    at = np.minimum(np.searchsorted(ranked, text), len(ranked) - 1)
    if text.size and not (ranked[at] == text).all():
        raise ValueError(f"Unknown {name} value {sorted(set(text[ranked[at] != text]))[0]!r}.")
    return (order[at] + 1).astype(np.int16)


def cents(values: np.ndarray) -> np.ndarray:
    """Money as whole cents, rounded exactly as `f"{value:.2f}"` rounds the float (NaN → 0).

    `round(value * 100)` agrees except where the product lands within rounding error of half a cent or
    the value is large; those few are formatted by Python itself.
    """
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    scaled = values * 100.0
    out = np.rint(scaled)
    fraction = np.abs(scaled - np.floor(scaled))
    doubtful = (np.abs(fraction - 0.5) < 1e-6) | (np.abs(values) >= 1e7)
    for i in np.flatnonzero(doubtful):
        out[i] = float(Decimal(f"{values[i]:.2f}") * 100)
    return out.astype(np.int64)


def _microseconds(seconds: np.ndarray) -> np.ndarray:
    """Binary timestamptz (µs since 2000-01-01 UTC) of epoch seconds, rounded to the microsecond as
    `datetime.fromtimestamp` rounds them (the float epoch of a stored µs timestamp is within 0.3 µs of it,
    so rounding gives the order's own time back); NaN → 0."""
    known = np.isfinite(seconds)
    out = np.zeros(seconds.size, dtype=np.int64)
    out[known] = np.rint(seconds[known] * 1e6).astype(np.int64) - PG_EPOCH_US
    return out


STAGING = [("customer_id", ">i8", "int8"), ("recency_days", ">i4", "int4"), ("frequency", ">i4", "int4"),
           ("monetary", ">i8", "int8"), ("r", ">i2", "int2"), ("f", ">i2", "int2"), ("m", ">i2", "int2"),
           ("segment", ">i2", "int2"), ("tier", ">i2", "int2"), ("vip", ">i2", "int2"), ("clv", ">i8", "int8"),
           ("has_clv", ">i2", "int2"), ("p_alive", ">f8", "float8"), ("expected", ">f8", "float8"),
           ("stage", ">i2", "int2"), ("first_at", ">i8", "timestamptz"), ("last_at", ">i8", "timestamptz"),
           ("has_first", ">i2", "int2"), ("has_last", ">i2", "int2"), ("lifetime_orders", ">i4", "int4"),
           ("lifetime_spend", ">i8", "int8")]


def _staging_rows(whole: _Columns, part: slice) -> np.ndarray:
    """The binary COPY rows of the value rows in `part`."""
    c = _Part(whole, part)
    n = c.customer.size
    rows = np.zeros(n, dtype=_fixed_dtype([(name, kind) for name, kind, _sql in STAGING]))
    rows["count"] = len(STAGING)
    for name, kind, _sql in STAGING:
        rows[f"{name}_len"] = np.dtype(kind).itemsize
    scored = c.r > 0
    recency_known = np.isfinite(c.recency)
    rows["customer_id"] = c.customer
    rows["recency_days"] = np.where(recency_known, np.nan_to_num(c.recency).astype(np.int64), NO_INT)
    rows["frequency"] = c.frequency
    rows["monetary"] = cents(c.monetary)
    for name, values in (("r", c.r), ("f", c.f), ("m", c.m)):
        rows[name] = np.where(scored, values, 0)
    rows["segment"] = _codes(c.segment, SEGMENTS, "segment")
    rows["tier"] = _codes(c.tier, TIERS, "tier")
    rows["vip"] = c.vip
    rows["clv"] = cents(c.clv)
    rows["has_clv"] = np.isfinite(c.clv)
    rows["p_alive"] = c.p_alive  # NaN → NULL in SQL
    rows["expected"] = c.expected
    rows["stage"] = _codes(c.stage, STAGES, "stage")
    rows["first_at"] = _microseconds(c.first)
    rows["last_at"] = _microseconds(c.last)
    rows["has_first"] = np.isfinite(c.first)
    rows["has_last"] = np.isfinite(c.last)
    rows["lifetime_orders"] = c.lifetime_orders
    rows["lifetime_spend"] = cents(c.lifetime_spend)
    return rows


class _Part:
    """A slice of every column of a _Columns (a view, no copy)."""

    def __init__(self, whole: _Columns, part: slice) -> None:
        self._whole, self._part = whole, part

    def __getattr__(self, name: str) -> np.ndarray:
        return getattr(self._whole, name)[self._part]


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]::text[]"


def replace_values(c: _Columns, report) -> None:
    """Empty the value table and fill it with the rows of `c` (inside the caller's transaction).

    TRUNCATE rather than DELETE: no million dead rows left for VACUUM, and readers wait for the new
    snapshot (seconds, at night) instead of reading a half-written one. The secondary indexes and the
    foreign key to the customer are dropped for the load and restored after it: four sorted index builds
    and one anti-join to check the customers, instead of a million B-tree inserts per index and a million
    row-locking key checks (each of which writes the customer's row). While the key is checked, customer
    writes wait (about a second).
    """
    table = CustomerValue._meta.db_table
    customers = Customer._meta.db_table
    indexes = _secondary_indexes(table)
    keys = _foreign_keys(table)
    total = c.customer.size
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE value_staging ("
                       + ", ".join(f"{name} {sql}" for name, _kind, sql in STAGING) + ") ON COMMIT DROP")
        with cursor.cursor.copy("COPY value_staging FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(HEADER)
            step = 100_000
            for start in range(0, total, step):
                copy.write(_staging_rows(c, slice(start, start + step)).tobytes())
                report("write", min(start + step, total) // 2, total)
            copy.write(TRAILER)
        with _emptied_without_indexes(cursor, table, indexes, keys):
            cursor.execute(f"""
                INSERT INTO {table} (customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment,
                                     tier, vip_suggested, clv, p_alive, expected_purchases, stage, first_order_at,
                                     last_order_at, lifetime_orders, lifetime_spend, computed_at)
                SELECT customer_id, NULLIF(recency_days, {NO_INT}), frequency, monetary * 0.01,
                       NULLIF(r, 0), NULLIF(f, 0), NULLIF(m, 0), ({_array(SEGMENTS)})[segment],
                       ({_array(TIERS)})[tier], vip <> 0, CASE WHEN has_clv <> 0 THEN clv * 0.01 END,
                       NULLIF(p_alive, 'NaN'), NULLIF(expected, 'NaN'), ({_array(STAGES)})[stage],
                       CASE WHEN has_first <> 0 THEN first_at END, CASE WHEN has_last <> 0 THEN last_at END,
                       lifetime_orders, lifetime_spend * 0.01, %s
                FROM value_staging AS staged
                -- a customer merged away since the ids were read gets no row: value rows are live customers' only
                WHERE EXISTS (SELECT 1 FROM {customers} AS customer
                              WHERE customer.id = staged.customer_id AND customer.merged_into_id IS NULL)
                ORDER BY customer_id
            """, [c.at])
        cursor.execute("DROP TABLE value_staging")  # ON COMMIT DROP is for failures: the caller may go on
        report("write", total, total)


@contextmanager
def _emptied_without_indexes(cursor, table: str, indexes: list[tuple[str, str]], keys: list[tuple[str, str]]):
    """Empty `table` and drop its secondary indexes and constraints `keys` for a bulk load in the block; build
    them again after it (the constraints in reverse order: a unique one before the foreign keys that need it)."""
    # TRUNCATE and CREATE INDEX refuse while deferred foreign-key checks are pending in the transaction:
    # run those now, and defer again (as Django declares its keys) at the end.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"TRUNCATE {table}")
    for name, _definition in keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for _name, definition in indexes:
        cursor.execute(definition)
    for name, definition in reversed(keys):
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def reload(table: str, statements: list[tuple[str, list]]) -> int:
    """Empty `table` and fill it with INSERT … SELECT `statements` (inside the caller's transaction), its
    secondary indexes and foreign keys dropped for the load and restored after it, as for the value rows.
    Returns the number of rows inserted."""
    indexes = _secondary_indexes(table)
    keys = _foreign_keys(table) + _foreign_keys(table, kind="u")  # restored in reverse: unique before foreign
    rows = 0
    with connection.cursor() as cursor:
        with _emptied_without_indexes(cursor, table, indexes, keys):
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")  # compiling the big joins costs more than it saves here
            for sql, params in statements:
                cursor.execute(sql, params)
                rows += cursor.rowcount
        cursor.execute(f"ANALYZE {table}")
    return rows


def vacuum() -> None:
    """Mark the fresh rows all-visible (outside any transaction), so counts on the value table read its indexes
    and skip the heap; a no-op inside a transaction, where VACUUM cannot run (autovacuum follows later)."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (CustomerValue, LastPurchase):  # statistics: ANALYZE ran in the write
            cursor.execute(f"VACUUM {model._meta.db_table}")


def _foreign_keys(table: str, *, kind: str = "f") -> list[tuple[str, str]]:
    """(name, definition) of the table's foreign keys (or of its constraints of another `kind`: "u" unique)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = %s ORDER BY conname", [table, kind])
        return list(cursor.fetchall())


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes other than its primary key and constraints."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
            ORDER BY i.relname
        """, [table])
        return list(cursor.fetchall())
