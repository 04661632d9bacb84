"""The PostgreSQL fast path of the recompute reads the same history and writes the same rows as the portable one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection, transaction

from loopcrm.commerce.models import Order
from loopcrm.value import bulk, services
from loopcrm.value.models import CustomerValue
from tests import factories

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's")


def test_cents_round_like_python_formatting():
    rng = np.random.default_rng(5)
    values = np.concatenate([
        rng.uniform(0, 10_000, 20_000).round(3),  # many exact half cents in decimal, not in binary
        np.array([2.675, 1.005, 0.125, 0.375, 1e7 + 0.005, 123456789.125, 0.0, 0.004999, 99.995]),
        rng.uniform(0, 1e9, 2_000),
    ])
    expected = [int(Decimal(f"{value:.2f}") * 100) for value in values]
    assert bulk.cents(values).tolist() == expected
    assert bulk.cents(np.array([np.nan])).tolist() == [0]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f"
                                              else a == b))


@postgresql_only
def test_history_in_one_statement_equals_the_portable_queries(org, shop):
    # Given a second order on the loyal customer's last day (same day, later) and one at the very same moment
    last = Order.objects.filter(customer=shop.loyal).order_by("-placed_at").first()
    factories.order(shop.loyal, lines=[(shop.products["cup"], 1)], placed_at=last.placed_at + dt.timedelta(hours=1))
    factories.order(shop.fresh, lines=[(shop.products["cup"], 1)],
                    placed_at=Order.objects.filter(customer=shop.fresh).get().placed_at)
    since = shop.at - dt.timedelta(days=365)
    # When both paths read the history
    fast = services._History(**bulk.history(shop.at, since))
    portable = services._history_portable(shop.at, since)
    # Then every column agrees, NaN for NaN
    for name in bulk.HISTORY_FIELDS:
        assert _same(getattr(fast, name), getattr(portable, name)), name
    assert fast.customer.size == 16
    assert _same(bulk.customer_ids(), services._customer_ids())


def _columns(customers: list[int], at: dt.datetime) -> services._Columns:
    n = len(customers)
    nan = np.nan
    pick = np.arange(n)
    scored = pick % 3 != 0
    r = np.where(scored, 1 + pick % 5, 0).astype(np.int8)
    money = np.array([2.675, 1.005, 0.0, 123456789.125, 99.995, 10.5, 1e-9, 7.125] * n)[:n]
    seconds = np.array([1_700_000_000.123456, nan, 1_600_000_000.0, 1_750_000_000.999999] * n)[:n]
    segments = np.array(["champions", "", "lost", "cant_lose", "new", "potential_loyalist"] * n, dtype=object)[:n]
    return services._Columns(
        customer=np.array(customers, dtype=np.int64), recency=np.where(scored, pick * 7.0, nan),
        frequency=pick.astype(np.int64), monetary=money, r=r, f=r, m=(6 - r) * (r > 0), segment=segments,
        tier=np.array(["high", "medium", "low", ""] * n, dtype=object)[:n], vip=pick % 2 == 0,
        clv=np.where(pick % 4 == 1, nan, money * 3), p_alive=np.where(pick % 5 == 2, nan, 1 / (pick + 1.0)),
        expected=np.where(pick % 5 == 2, nan, pick / 3.0),
        stage=np.array(["prospect", "new", "active", "at_risk", "churned", "won_back"] * n, dtype=object)[:n],
        first=seconds, last=seconds[::-1].copy(), lifetime_orders=pick * 2, lifetime_spend=money * 2 + 0.005, at=at)


def _stored() -> list[tuple]:
    return list(CustomerValue.objects.order_by("customer_id").values_list(*services.FIELDS))


@postgresql_only
def test_binary_copy_writes_the_rows_the_orm_writes(org):
    # Given value columns with every awkward value: NULLs, half cents, big sums, all codes, microseconds
    customers = [factories.customer().pk for _ in range(24)]
    columns = _columns(customers, dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC))
    # When the ORM writes them, then the bulk path replaces them
    with transaction.atomic():
        services._write_portable(columns, lambda *args: None)
    expected = _stored()
    with transaction.atomic():
        bulk.replace_values(columns, lambda *args: None)
    # Then the table holds the same rows, and its indexes are back
    assert _stored() == expected
    assert len(expected) == 24 and expected[1][10] is None and expected[3][3] == Decimal("123456789.12")
    names = {name for name, _sql in bulk._secondary_indexes(CustomerValue._meta.db_table)}
    assert {"value_tier_idx", "value_stage_tier_idx", "value_segment_idx", "value_rfm_idx", "value_clv_idx",
            "value_p_alive_idx", "value_vip_idx"} <= names
