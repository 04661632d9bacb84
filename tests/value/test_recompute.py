"""The recompute fills one value row per live customer from counted orders; tiers, stages and rules follow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loopcrm.core.models import AuditEntry
from loopcrm.customers import services as customer_services
from loopcrm.value import queries, services
from loopcrm.value.models import CustomerValue, ProductAssociation, ValueRun
from loopcrm.value.rules import LifecycleRule, TierRule, ValueRules

pytestmark = pytest.mark.django_db


def test_recompute_writes_one_row_per_customer(org, shop):
    steps = []
    result = services.recompute_all(by=org.admin, at=shop.at, progress=lambda step, done, total: steps.append(step))
    assert result.customers == CustomerValue.objects.count() == 18
    assert result.buyers == 16  # the prospect and the cancelled-only customer have no counted order
    assert {"orders", "rfm", "models", "lifecycle", "write"} <= set(steps)
    run = ValueRun.objects.get()
    assert run.by == org.admin and run.customers == 18
    assert AuditEntry.objects.filter(object_type="value.customervalue", actor=org.admin).exists()

    loyal = queries.value_of(shop.loyal)
    assert loyal.frequency == 7 and loyal.recency_days == 5
    assert loyal.monetary == Decimal("1820.00")  # 7 × (200 + 2 × 30)
    assert loyal.lifetime_orders == 7
    assert (loyal.r_score, loyal.f_score, loyal.m_score) == (5, 5, 5)
    assert loyal.segment == "champions" and loyal.tier == "high"
    assert loyal.computed_at == shop.at

    assert queries.value_of(shop.prospect).stage == "prospect"
    assert queries.tier_of(shop.prospect) is None
    cancelled = queries.value_of(shop.cancelled_only)
    assert cancelled.stage == "prospect" and cancelled.frequency == 0 and cancelled.r_score is None
    assert queries.value_of(shop.fresh).stage == "new"
    lapsed = queries.value_of(shop.lapsed)
    assert lapsed.stage == "churned" and lapsed.r_score is None  # no order in the 365-day window
    assert lapsed.lifetime_spend == Decimal("1350.00")
    assert queries.value_of(shop.returner).stage == "won_back"


def test_recompute_twice_replaces_rows_and_drops_merged_customers(org, shop):
    customer_services.merge_customers(keep=shop.loyal, duplicate=shop.fresh, by=org.admin)
    services.recompute_all(at=shop.at)
    services.recompute_all(at=shop.at)
    assert not CustomerValue.objects.filter(customer=shop.fresh).exists()
    assert queries.value_of(shop.loyal).frequency == 8
    assert ValueRun.objects.count() == 2


def test_tiers_by_trailing_spend_threshold(org, shop):
    config = ValueRules(tier=TierRule(basis="spend", method="threshold", high=1000, medium=200))
    services.recompute_all(at=shop.at, config=config)
    assert queries.tier_of(shop.loyal) == "high"
    assert queries.tier_of(shop.fresh) == "low"  # 30 spent
    assert queries.tier_of(shop.lapsed.pk) == "low"  # nothing in the window


def test_lifecycle_rules_are_configurable(org, shop):
    config = ValueRules(lifecycle=LifecycleRule(new_days=5, at_risk_days=8, churned_days=2000,
                                                at_risk_p_alive=0.0, churned_p_alive=0.0))
    services.recompute_all(at=shop.at, config=config)
    assert queries.value_of(shop.fresh).stage == "at_risk"  # 10 days since the order > 8
    assert queries.value_of(shop.lapsed).stage == "at_risk"


def test_models_fit_and_predict_when_there_is_enough_history(org, shop):
    result = services.recompute_all(at=shop.at)
    assert "r" in result.parameters["bgnbd"]
    loyal = queries.value_of(shop.loyal)
    assert 0 < loyal.p_alive <= 1 and loyal.expected_purchases > 0 and loyal.clv > 0
    assert queries.value_of(shop.prospect).clv is None


def test_recompute_on_an_empty_database(db):
    result = services.recompute_all()
    assert result.customers == 0 and result.buyers == 0


def test_cross_sell_rules_and_recommendations(org, shop):
    services.recompute_all(at=shop.at)
    p = shop.products
    rule = ProductAssociation.objects.get(antecedent=p["longjing"], consequent=p["cup"])
    assert rule.confidence == pytest.approx(1.0) and rule.lift > 1
    # The fresh customer owns a cup: longjing is the best next product, then popular ones.
    picks = queries.recommendations_for(shop.fresh, k=3)
    assert picks[0].product == p["longjing"] and picks[0].because_of == p["cup"]
    assert p["cup"] not in [pick.product for pick in picks]
    assert len(picks) == 3
    # No purchase: the most popular products.
    popular = queries.recommendations_for(shop.prospect, k=2)
    assert [pick.confidence for pick in popular] == [None, None]


def test_summary_counts_and_scope(org, shop):
    services.recompute_all(at=shop.at)
    summary = queries.summary(org.admin, at=shop.at)
    assert summary.customers == 18
    assert sum(summary.tiers.values()) == 16
    assert sum(summary.stages.values()) == 18
    assert sum(map(sum, summary.rfm_grid)) == sum(summary.segments.values())
    assert sum(b["customers"] for b in summary.clv_histogram) == CustomerValue.objects.filter(clv__isnull=False).count()
    assert len(summary.cohorts) == 12 and len(summary.churn) == 12
    for cohort in summary.cohorts:
        if cohort["customers"]:
            assert cohort["retention"][0] == 1.0  # everyone orders in their first month
    # Agents see every customer (decision 0008), so their summary counts all 18; a sales rep counts
    # only their team's customers, and 陈刚's team owns none of the shop's.
    assert queries.summary(org.other_agent, at=shop.at).customers == summary.customers
    assert queries.summary(org.east_rep, at=shop.at).customers == 0


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_at_once_leave_one_row_per_customer(org, shop):
    """Writers take turns (PostgreSQL: advisory lock; SQLite: IMMEDIATE transactions): no duplicate, no error."""
    import threading

    from django.db import connection

    errors = []

    def run():
        try:
            services.recompute_all(at=shop.at, associations=False)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert CustomerValue.objects.count() == 18
    assert ValueRun.objects.count() == 3


def test_value_panel_for_the_360_page(org, shop):
    services.recompute_all(at=shop.at)
    panel = queries.value_panel(shop.fresh, k=3)
    assert panel.value.customer_id == shop.fresh.pk and len(panel.recommendations) == 3


def test_merging_two_valued_customers_drops_the_duplicates_computed_row(org, shop):
    services.recompute_all(at=shop.at)
    customer_services.merge_customers(keep=shop.loyal, duplicate=shop.fresh, by=org.admin)
    assert not CustomerValue.objects.filter(customer=shop.fresh).exists()


def test_value_of_reads_one_row_by_key_without_ordering(org, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    assert queries.value_of(shop.loyal) is None  # before any recompute
    services.recompute_all(by=org.admin, at=shop.at)
    with CaptureQueriesContext(connection) as captured:
        row = queries.value_of(shop.loyal)
    assert len(captured) == 1 and "ORDER BY" not in captured[0]["sql"]
    assert row == queries.value_of(shop.loyal.pk) and row.customer_id == shop.loyal.pk and row.frequency == 7
