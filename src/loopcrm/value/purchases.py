"""Purchase rules counted from the recompute's summary: "ordered in the last N days" and "bought category X in
the last N days", exact at any moment after the recompute.

The summary (`LastPurchase`) holds each customer's latest counted order, overall and per product category,
among the orders placed up to the run's `orders_until` as they stood when the run read them. A customer is
*settled* when nothing written since can have changed that: none of their orders was written (created,
moved on in its status) since the run started, less a margin for transactions still open then (an order's
`updated_at` is taken before it commits); none is placed after `orders_until`; they neither took in a
duplicate nor were merged away since. For settled customers the summary gives the rule's answer; the few
unsettled ones are asked of the orders with the rule's own query. A product moved to another category since
the run sends category counts back to the orders altogether, until the next recompute.

Everything here is exact, not an estimate: tests/value/test_purchases.py compares each count with the rule's
query over the customers after orders are placed, paid, cancelled, returned and merged since the run.
"""

# ruff: noqa: S608 — table names come from model metadata; values are parameters.
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q

from loopcrm.commerce.models import Order, OrderLine, Product
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.customers.models import Customer
from loopcrm.value.models import LastPurchase, ValueRun
from loopcrm.value.segments import category_ids, compile_rule

# Longer than any transaction that writes an order: one that took its `updated_at` before the run started but
# committed after the run read the orders is still seen as written since.
OPEN_TRANSACTION_MARGIN = dt.timedelta(minutes=10)
COUNTED_FIELDS = ("ordered", "bought_category")
# Customers written since the run beyond which the count asks the orders instead (and the most ids one
# statement carries as parameters: SQLite takes 32,766).
MAX_UNSETTLED = 20_000


# --- the summary, written by the recompute -----------------------------------------------------------

@dataclass(frozen=True)
class Refreshed:
    """What a refresh of the summary did, and the product categories it filed purchases under."""

    scope: str  # "customers": those the last summary may be wrong about; "all": rebuilt
    written: int  # customers re-read, or rows written
    categories: dict[str, int | None]  # each product's category (by product id) as the summary files it


def refresh(at: dt.datetime) -> Refreshed:
    """Bring the summary to the counted orders placed up to `at` (in the caller's transaction): only the
    customers the last summary may be wrong about when it can be kept, else all of it."""
    # Read before the rows: a product moved meanwhile then shows as moved to the counts (never the reverse).
    categories = {str(pk): category for pk, category in Product.objects.values_list("pk", "category_id")}
    previous = snapshot()
    unsettled = None
    if previous is not None and at >= previous.orders_until and not _products_moved(previous):
        unsettled = _unsettled(previous)
    if unsettled is None:
        return Refreshed("all", _rebuild(at), categories)
    ids = sorted(unsettled)
    table = LastPurchase._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5_000):
            part = ids[start:start + 5_000]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f"DELETE FROM {table} WHERE customer_id IN ({marks})", part)
            for sql, params in _statements(at, f"o.customer_id IN ({marks})", part):
                cursor.execute(sql, params)
    return Refreshed("customers", len(ids), categories)


def _rebuild(at: dt.datetime) -> int:
    """Replace the whole summary. Returns the number of rows."""
    table = LastPurchase._meta.db_table
    statements = _statements(at, "TRUE", [])
    if connection.vendor == "postgresql":
        from loopcrm.value import bulk

        return bulk.reload(table, statements)
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        for sql, params in statements:
            cursor.execute(sql, params)
            rows += cursor.rowcount
    return rows


def _statements(at: dt.datetime, which: str, which_params: list) -> list[tuple[str, list]]:
    """INSERT … SELECT of the last purchase overall and per category of the customers `which` selects (a
    condition on the order `o`), counting orders placed up to `at` of customers not merged away."""
    table = LastPurchase._meta.db_table
    orders, lines = Order._meta.db_table, OrderLine._meta.db_table
    products, customers = Product._meta.db_table, Customer._meta.db_table
    marks = ", ".join(["%s"] * len(SPENDING_STATUSES))
    # Merged customers are few: a hashed list of them, not a join with every customer.
    counted = (f"o.status IN ({marks}) AND o.placed_at <= %s AND ({which}) AND o.customer_id NOT IN "
               f"(SELECT m.id FROM {customers} m WHERE m.merged_into_id IS NOT NULL)")
    params = [*SPENDING_STATUSES, at, *which_params]
    return [
        (f"INSERT INTO {table} (customer_id, category_id, last_at) "
         f"SELECT o.customer_id, NULL, MAX(o.placed_at) FROM {orders} o WHERE {counted} GROUP BY o.customer_id",
         params),
        (f"INSERT INTO {table} (customer_id, category_id, last_at) "
         f"SELECT o.customer_id, p.category_id, MAX(o.placed_at) FROM {lines} l "
         f"JOIN {orders} o ON o.id = l.order_id JOIN {products} p ON p.id = l.product_id "
         f"WHERE p.category_id IS NOT NULL AND {counted} GROUP BY o.customer_id, p.category_id",
         params),
    ]


def _products_moved(snap: Snapshot) -> bool:
    """Whether a product sits in another category than the summary files its purchases under (then the rows of
    its buyers are wrong). Only products written since the run are compared; one created since has no
    purchase in the summary (its orders are written since, so their customers are unsettled)."""
    edited = Product.objects.filter(updated_at__gte=snap.written_since).values_list("pk", "category_id")
    if snap.categories is None:
        return edited.exists()
    return any(str(pk) in snap.categories and snap.categories[str(pk)] != category for pk, category in edited)


# --- counts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    """What the last finished recompute's summary stands for."""

    orders_until: dt.datetime  # orders placed up to this moment were read
    written_since: dt.datetime  # orders written from this moment on may not be in it
    categories: dict[str, int | None] | None  # each product's category as the summary files its purchases


def snapshot() -> Snapshot | None:
    """What the summary stands for: the last run that wrote it (None before any). A run still writing its own
    has no `orders_until` yet; until it commits, the summary readers see is the one before."""
    run = (ValueRun.objects.filter(orders_until__isnull=False)
           .only("started_at", "orders_until", "purchase_categories").first())
    if run is None:
        return None
    return Snapshot(orders_until=run.orders_until, written_since=run.started_at - OPEN_TRANSACTION_MARGIN,
                    categories=run.purchase_categories)


def _unsettled(snap: Snapshot) -> set[int] | None:
    """Ids of the customers the summary may be wrong about (None: too many to list, count the orders)."""
    written = Order.objects.filter(Q(updated_at__gte=snap.written_since) | Q(placed_at__gt=snap.orders_until))
    merged = Customer.objects.filter(merged_into__isnull=False, updated_at__gte=snap.written_since)
    ids = set(written.values_list("customer_id", flat=True).distinct()[: MAX_UNSETTLED + 1])
    for duplicate, kept in merged.values_list("pk", "merged_into_id")[: MAX_UNSETTLED + 1]:
        ids |= {duplicate, kept}
    return ids if len(ids) <= MAX_UNSETTLED else None


def _summary_condition(rule: Any) -> tuple[list[int] | None, int] | None:
    """(category ids or None for any order, days) when `rule` is a summary-counted purchase condition."""
    if not (isinstance(rule, dict) and set(rule) == {"field", "op", "value"} and rule["field"] in COUNTED_FIELDS
            and rule["op"] == "in_last_days" and isinstance(rule["value"], dict)):
        return None
    value = rule["value"]
    days = value.get("days")
    if isinstance(days, bool) or not isinstance(days, int):
        return None
    if rule["field"] == "ordered":
        return None, days
    code = value.get("category")
    ids = category_ids(code) if isinstance(code, str) else None
    return (ids, days) if ids else None


def purchase_count(rule: Any, *, at: dt.datetime) -> int | None:
    """The number of live customers matching `rule` at `at` when it is one summary-counted purchase condition
    and the summary can answer (else None: count the rule's own query). Validates the rule first."""
    live = compile_rule(rule, at=at)  # RuleViolation for a malformed rule, as the plain count would raise
    condition = _summary_condition(rule)
    snap = snapshot() if condition is not None else None
    if condition is None or snap is None or at < snap.orders_until:
        return None
    categories, days = condition
    if categories is not None and _products_moved(snap):
        return None
    unsettled = _unsettled(snap)
    if unsettled is None:
        return None
    ids = sorted(unsettled)
    rows = LastPurchase.objects.filter(last_at__gte=at - dt.timedelta(days=days)).exclude(customer_id__in=ids)
    if categories is None:
        settled = rows.filter(category__isnull=True).count()  # one row per customer
    elif len(categories) == 1:
        settled = rows.filter(category_id=categories[0]).count()
    else:
        settled = rows.filter(category_id__in=categories).values("customer_id").distinct().count()
    if not ids:
        return settled
    return settled + Customer.objects.filter(pk__in=ids, merged_into__isnull=True).filter(live).count()
