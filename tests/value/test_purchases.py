"""Purchase rules ("ordered in the last N days", "bought category X in the last N days") are counted from the
recompute's summary for customers whose orders did not change since, and from the orders for the others: the
count always equals the rule's own query over the customers, whatever was ordered, paid, returned or merged
after the run (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.commerce.models import Order, Product
from loopcrm.commerce.services import catalogue, orders
from loopcrm.core.errors import RuleViolation
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer
from loopcrm.value import purchases, queries, services
from loopcrm.value.models import LastPurchase
from tests import factories
from tests.value.conftest import days_ago

pytestmark = pytest.mark.django_db

PURCHASE_RULES = [
    {"field": "ordered", "op": "in_last_days", "value": {"days": 7}},
    {"field": "ordered", "op": "in_last_days", "value": {"days": 30}},
    {"field": "ordered", "op": "in_last_days", "value": {"days": 365}},
    {"field": "bought_category", "op": "in_last_days", "value": {"category": "tea", "days": 90}},  # tea + green
    {"field": "bought_category", "op": "in_last_days", "value": {"category": "green-tea", "days": 30}},
    {"field": "bought_category", "op": "in_last_days", "value": {"category": "cups", "days": 400}},
]
NEGATED_RULES = [
    {"field": "ordered", "op": "not_in_last_days", "value": {"days": 30}},
    {"field": "bought_category", "op": "not_in_last_days", "value": {"category": "tea", "days": 90}},
    {"not": {"field": "ordered", "op": "in_last_days", "value": {"days": 7}}},
]


@pytest.fixture
def settled(org, shop):
    """The shop's history was written long before the nightly recompute, which then ran; one order was already
    booked for two days after it (the run reads orders placed up to its moment only)."""
    factories.order(shop.others[3], lines=[(shop.products["cup"], 1)], placed_at=shop.at + dt.timedelta(days=2))
    for model in (Order, Customer, Product):
        model.objects.update(updated_at=days_ago(30))
    services.recompute_all(at=shop.at)
    return shop


def members(rule, at):
    return set(queries.rule_members(rule, at=at).values_list("pk", flat=True))


def test_the_recompute_writes_each_customers_last_purchase_overall_and_per_category(settled):
    shop = settled
    rows = {(row.category_id, row.last_at) for row in LastPurchase.objects.filter(customer=shop.loyal)}
    assert rows == {(None, days_ago(5)), (shop.green.pk, days_ago(5)), (shop.cups.pk, days_ago(5))}
    returner = {(row.category_id, row.last_at) for row in LastPurchase.objects.filter(customer=shop.returner)}
    assert returner == {(None, days_ago(20)), (shop.green.pk, days_ago(20)), (shop.cups.pk, days_ago(20)),
                        (shop.tea.pk, days_ago(500))}
    # a cancelled order is not a purchase; a prospect has none
    assert not LastPurchase.objects.filter(customer__in=[shop.cancelled_only, shop.prospect]).exists()


@pytest.mark.parametrize("rule", PURCHASE_RULES + NEGATED_RULES)
def test_right_after_the_recompute_the_summary_counts_what_the_orders_say(settled, rule):
    expected = members(rule, settled.at)
    assert queries.rule_count(rule, at=settled.at) == len(expected)
    positive = rule.get("not") or {**rule, "op": "in_last_days"}
    assert purchases.purchase_count(positive, at=settled.at) is not None  # the summary answered


@pytest.mark.parametrize("rule", PURCHASE_RULES + NEGATED_RULES)
def test_counts_stay_exact_after_orders_change_and_customers_merge_since_the_run(org, settled, rule):
    shop = settled
    later = shop.at + dt.timedelta(days=3)
    cup, longjing = shop.products["cup"], shop.products["longjing"]
    # Given, after the run: the prospect orders a cup, and green tea is paid for but still pending elsewhere
    orders.create_order(by=org.admin, customer=shop.prospect, lines=[{"product_id": cup.pk}],
                        status=Order.Status.PAID, placed_at=shop.at + dt.timedelta(days=1))
    orders.create_order(by=org.admin, customer=shop.others[1], lines=[{"product_id": longjing.pk}],
                        status=Order.Status.PENDING, placed_at=shop.at + dt.timedelta(days=1))
    # the fresh customer returns their only order, and a paper order from before the run is typed in late
    only = Order.objects.get(customer=shop.fresh)
    orders.change_order_status(only, by=org.admin, status=Order.Status.RETURNED, version=only.version)
    orders.create_order(by=org.admin, customer=shop.lapsed, lines=[{"product_id": longjing.pk}],
                        status=Order.Status.DELIVERED, placed_at=shop.at - dt.timedelta(days=2))
    # the returner is found to be a duplicate of the loyal customer (their orders move without being written)
    customer_services.merge_customers(keep=shop.others[2], duplicate=shop.returner, by=org.admin)

    # When the rule is counted later on, Then it is what the orders say, and the summary was used
    for at in (shop.at, later):
        expected = members(rule, at)
        assert queries.rule_count(rule, at=at) == len(expected)
    positive = rule.get("not") or {**rule, "op": "in_last_days"}
    assert purchases.purchase_count(positive, at=later) is not None


def test_the_changes_after_the_run_are_ones_the_summary_alone_would_miss(org, settled):
    # A guard for the test above: after these changes the summary by itself is wrong, the count is not.
    shop = settled
    rule = {"field": "ordered", "op": "in_last_days", "value": {"days": 30}}
    orders.create_order(by=org.admin, customer=shop.prospect, lines=[{"product_id": shop.products["cup"].pk}],
                        status=Order.Status.PAID, placed_at=shop.at - dt.timedelta(days=1))
    only = Order.objects.get(customer=shop.fresh)
    orders.change_order_status(only, by=org.admin, status=Order.Status.RETURNED, version=only.version)
    customer_services.merge_customers(keep=shop.lapsed, duplicate=shop.returner, by=org.admin)
    expected = members(rule, shop.at)
    assert {shop.prospect.pk, shop.lapsed.pk} <= expected
    assert not {shop.fresh.pk, shop.returner.pk} & expected
    summary_alone = set(LastPurchase.objects.filter(category__isnull=True, last_at__gte=days_ago(30))
                        .values_list("customer_id", flat=True))
    assert summary_alone != expected
    assert queries.rule_count(rule, at=shop.at) == len(expected)


def test_a_product_moved_to_another_category_since_the_run_sends_category_counts_to_the_orders(org, settled):
    shop = settled
    rule = {"field": "bought_category", "op": "in_last_days", "value": {"category": "cups", "days": 30}}
    before = queries.rule_count(rule, at=shop.at)
    # A new price alone leaves the categories as the summary files them
    catalogue.update_product(shop.products["cup"], by=org.admin, changes={"price": "35.00"})
    assert purchases.purchase_count(rule, at=shop.at) == before
    # When the cup moves to the tea category after the run
    catalogue.update_product(shop.products["cup"], by=org.admin, changes={"category_id": shop.tea.pk})
    # Then the summary (which filed cups under cups) is not used for categories, and the count follows the catalogue
    assert purchases.purchase_count(rule, at=shop.at) is None
    assert queries.rule_count(rule, at=shop.at) == len(members(rule, shop.at)) < before
    ordered = {"field": "ordered", "op": "in_last_days", "value": {"days": 30}}
    assert purchases.purchase_count(ordered, at=shop.at) == len(members(ordered, shop.at))


def test_without_a_summary_or_before_the_run_the_orders_answer(org, shop):
    rule = {"field": "ordered", "op": "in_last_days", "value": {"days": 30}}
    assert purchases.purchase_count(rule, at=shop.at) is None  # no recompute yet
    assert queries.rule_count(rule, at=shop.at) == len(members(rule, shop.at))
    services.recompute_all(at=shop.at)
    earlier = shop.at - dt.timedelta(days=1)
    assert purchases.purchase_count(rule, at=earlier) is None  # the summary knows nothing of that day
    assert queries.rule_count(rule, at=earlier) == len(members(rule, earlier))


def test_malformed_purchase_rules_are_refused_as_before(settled):
    with pytest.raises(RuleViolation):
        queries.rule_count({"field": "bought_category", "op": "in_last_days",
                            "value": {"category": "nope", "days": 30}}, at=settled.at)
    with pytest.raises(RuleViolation):
        queries.rule_count({"field": "ordered", "op": "in_last_days", "value": {"days": 0}}, at=settled.at)
    with pytest.raises(RuleViolation):
        queries.rule_count({"field": "ordered", "op": "not_in_last_days", "value": {"days": 5000}}, at=settled.at)


@pytest.mark.parametrize("rule", [
    {"field": "tier", "op": "ne", "value": "low"},
    {"field": "stage", "op": "not_in", "value": ["churned", "prospect"]},
    {"not": {"all": [{"field": "r_score", "op": "gte", "value": 3}, {"field": "clv", "op": "gte", "value": 100}]}},
    {"field": "p_alive", "op": "ne", "value": 0.5},
])
def test_negations_of_value_rules_are_all_live_customers_minus_the_complement(org, settled, rule):
    # Given a customer added and one merged away after the run (neither has a value row)
    new = Customer.objects.create(name="孙丽")
    customer_services.merge_customers(keep=settled.loyal, duplicate=settled.others[4], by=org.admin)
    # Then the negation counts them as the rule's query does
    expected = members(rule, settled.at)
    assert new.pk in expected
    assert queries.rule_count(rule, at=settled.at) == len(expected)


def straightforward_summary(at):
    """The summary computed the plain way: each live customer's latest counted order up to `at`, overall and
    per product category."""
    from django.db.models import Max

    from loopcrm.commerce.models import OrderLine
    from loopcrm.commerce.queries import SPENDING_STATUSES

    counted = Order.objects.filter(status__in=SPENDING_STATUSES, placed_at__lte=at, customer__merged_into__isnull=True)
    rows = {(c, None, last) for c, last in counted.values("customer_id").annotate(last=Max("placed_at"))
            .values_list("customer_id", "last")}
    lines = (OrderLine.objects.filter(order__in=counted, product__category__isnull=False)
             .values("order__customer_id", "product__category_id").annotate(last=Max("order__placed_at"))
             .values_list("order__customer_id", "product__category_id", "last"))
    return rows | set(lines)


def summary():
    return set(LastPurchase.objects.values_list("customer_id", "category_id", "last_at"))


def test_the_next_recompute_rewrites_only_the_customers_whose_orders_changed(org, settled):
    shop = settled
    assert summary() == straightforward_summary(shop.at)
    # Given orders placed, returned and moved by a merge after the first run
    orders.create_order(by=org.admin, customer=shop.prospect, lines=[{"product_id": shop.products["cup"].pk}],
                        status=Order.Status.PAID, placed_at=shop.at + dt.timedelta(days=1))
    only = Order.objects.get(customer=shop.fresh)
    orders.change_order_status(only, by=org.admin, status=Order.Status.RETURNED, version=only.version)
    customer_services.merge_customers(keep=shop.lapsed, duplicate=shop.returner, by=org.admin)
    # When the nightly recompute runs again, two days later
    later = shop.at + dt.timedelta(days=2)
    result = services.recompute_all(at=later)
    # Then it rewrote those customers only (and the one whose order was booked ahead), and the summary is exact
    assert result.parameters["purchases"]["refreshed"] == "customers"
    assert result.parameters["purchases"]["written"] == len(
        {shop.prospect.pk, shop.fresh.pk, shop.lapsed.pk, shop.returner.pk, shop.others[3].pk})
    assert summary() == straightforward_summary(later)
    rule = {"field": "ordered", "op": "in_last_days", "value": {"days": 30}}
    assert purchases.purchase_count(rule, at=later) == len(members(rule, later))


def test_a_recompute_after_a_product_edit_or_of_an_earlier_day_rewrites_it_all(org, settled):
    shop = settled
    catalogue.update_product(shop.products["puer"], by=org.admin, changes={"category_id": shop.cups.pk})
    result = services.recompute_all(at=shop.at + dt.timedelta(days=1))
    assert result.parameters["purchases"]["refreshed"] == "all"
    assert summary() == straightforward_summary(shop.at + dt.timedelta(days=1))
    earlier = shop.at - dt.timedelta(days=10)
    Product.objects.update(updated_at=days_ago(30))
    result = services.recompute_all(at=earlier)
    assert result.parameters["purchases"]["refreshed"] == "all"
    assert summary() == straightforward_summary(earlier)
