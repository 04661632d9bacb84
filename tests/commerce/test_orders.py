"""Orders: lines priced in Decimal, one currency, a number that is unique, a lifecycle that holds."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from loopcrm.commerce import services
from loopcrm.commerce.models import Order, OrderLine
from loopcrm.commerce.queries import customer_order_summary
from loopcrm.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db

Status = Order.Status


def state() -> tuple:
    """What a refused write must leave untouched."""
    return (Order.objects.count(), OrderLine.objects.count(), AuditEntry.objects.count(),
            sorted(Order.objects.values_list("id", "status", "version", "total")))


def test_an_agent_records_an_order_priced_from_the_catalogue(org, shop):
    order = services.create_order(
        by=org.agent, customer=shop.zhang, channel="phone",
        lines=[{"product_id": shop.mug.pk, "quantity": 3}, {"sku": shop.teapot.sku, "quantity": 1}],
    )
    lines = list(order.lines.order_by("id"))
    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (3, Decimal("19.99"), Decimal("59.97")), (1, Decimal("268.00"), Decimal("268.00")),
    ]
    assert order.total == Decimal("327.97") and order.currency == "CNY"
    assert lines[0].description == shop.mug.name
    assert order.status == Status.PENDING and order.version == 1 and order.created_by == org.agent
    assert re.fullmatch(r"SO\d{8}-[0-9A-F]{8}", order.number)
    assert abs(order.placed_at - timezone.now()) < dt.timedelta(seconds=5)
    entry = AuditEntry.objects.get(object_type="commerce.order", object_id=str(order.pk))
    assert entry.action == "create" and entry.actor == org.agent
    assert entry.changes["total"] == "327.97" and entry.changes["lines"] == 2


def test_money_is_exact_decimal_arithmetic(org, shop):
    # 0.1 + 0.2 is not 0.3 in floating point; here it must be, to the cent.
    order = services.create_order(by=org.admin, customer=shop.zhang, lines=[
        {"description": "Gift wrap", "unit_price": "0.10", "quantity": 1},
        {"description": "Card", "unit_price": Decimal("0.20"), "quantity": 1},
        {"product_id": shop.mug.pk, "unit_price": 0.1, "quantity": 7},
    ])
    order.refresh_from_db()
    assert order.total == Decimal("1.00")
    assert sum(line.amount for line in order.lines.all()) == order.total


def test_an_explicit_price_wins_over_the_catalogue_price(org, shop):
    order = services.create_order(by=org.agent, customer=shop.zhang,
                                  lines=[{"product_id": shop.teapot.pk, "quantity": 2, "unit_price": "199.00"}])
    assert order.total == Decimal("398.00")


def test_the_currency_follows_the_products_and_may_not_be_mixed(org, shop):
    order = services.create_order(by=org.admin, customer=shop.zhang, lines=[{"sku": "US-KETTLE", "quantity": 2}])
    assert (order.currency, order.total) == ("USD", Decimal("91.00"))
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.create_order(by=org.admin, customer=shop.zhang,
                              lines=[{"product_id": shop.mug.pk}, {"sku": "US-KETTLE"}])
    assert caught.value.field == "lines.1.sku" and "one currency" in caught.value.message
    with pytest.raises(RuleViolation):
        services.create_order(by=org.admin, customer=shop.zhang, currency="CNY", lines=[{"sku": "US-KETTLE"}])
    assert state() == before


def test_a_given_order_number_is_kept_and_may_not_be_reused(org, shop):
    order = services.create_order(by=org.agent, customer=shop.zhang, number="TM-2025-0001",
                                  lines=[{"product_id": shop.mug.pk}])
    assert order.number == "TM-2025-0001"
    before = state()
    with pytest.raises(Conflict) as caught:
        services.create_order(by=org.agent, customer=shop.zhang, number="TM-2025-0001",
                              lines=[{"product_id": shop.mug.pk}])
    assert caught.value.field == "number"
    assert state() == before


def test_generated_numbers_are_unique(org, shop):
    numbers = {
        services.create_order(by=org.agent, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}]).number
        for _ in range(25)
    }
    assert len(numbers) == 25


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([{"product_id": 987654}], "lines.0.product_id"),
        ([{"sku": "NO-SUCH-SKU"}], "lines.0.sku"),
        ([{"product_id": 10**30}], "lines.0.product_id"),
        ([{"product_id": "1"}], "lines.0.product_id"),
        ([{"product_id": True}], "lines.0.product_id"),
        ([{"product_id": None, "sku": None, "quantity": 1}], "lines.0.unit_price"),
        ([{"unit_price": "5", "quantity": 1}], "lines.0.description"),
        ([{"sku": "X", "product_id": 1}], "lines.0.sku"),
        ([{"product_id": "MUG", "quantity": 0}], "lines.0.product_id"),
        ([{"sku": "SKU", "qty": 1}], "lines.0.qty"),
        (["a line"], "lines.0"),
        ("not a list", "lines"),
    ],
)
def test_bad_lines_are_refused_by_name_and_nothing_is_written(org, shop, lines, field):
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.create_order(by=org.agent, customer=shop.zhang, lines=lines)
    assert caught.value.field == field
    assert state() == before


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": 0}, "lines.0.quantity"),
        ({"quantity": -2}, "lines.0.quantity"),
        ({"quantity": 2.5}, "lines.0.quantity"),
        ({"quantity": True}, "lines.0.quantity"),
        ({"quantity": 1_000_001}, "lines.0.quantity"),
        ({"unit_price": "-0.01"}, "lines.0.unit_price"),
        ({"unit_price": "0.001"}, "lines.0.unit_price"),
        ({"unit_price": "Infinity"}, "lines.0.unit_price"),
        ({"unit_price": "abc"}, "lines.0.unit_price"),
        ({"unit_price": True}, "lines.0.unit_price"),
        ({"description": "杯\x00子"}, "lines.0.description"),
        ({"description": "x" * 201}, "lines.0.description"),
        ({"quantity": 1_000_000, "unit_price": "9999999999.99"}, "lines"),
    ],
)
def test_bad_quantities_and_prices_are_refused(org, shop, line, field):
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.create_order(by=org.agent, customer=shop.zhang, lines=[{"product_id": shop.mug.pk, **line}])
    assert caught.value.field == field
    assert state() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "telepathy"}, "channel"),
        ({"status": "lost"}, "status"),
        ({"currency": "yuan"}, "currency"),
        ({"notes": "bad\x00note"}, "notes"),
        ({"notes": "n" * 10_001}, "notes"),
        ({"number": ""}, "number"),
        ({"number": "N\x00"}, "number"),
        ({"placed_at": timezone.now() + dt.timedelta(hours=1)}, "placed_at"),
        ({"placed_at": "2025-01-01"}, "placed_at"),
        ({"status": "pending", "delivered_at": timezone.now()}, "delivered_at"),
        ({"status": "delivered", "placed_at": timezone.now() - dt.timedelta(days=1),
          "delivered_at": timezone.now() - dt.timedelta(days=2)}, "delivered_at"),
    ],
)
def test_bad_order_fields_are_refused(org, shop, fields, field):
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.create_order(by=org.agent, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}], **fields)
    assert caught.value.field == field
    assert state() == before


def test_a_naive_placed_at_is_read_in_the_server_time_zone(org, shop):
    order = services.create_order(by=org.agent, customer=shop.zhang, placed_at=dt.datetime(2025, 3, 4, 10, 0),
                                  lines=[{"product_id": shop.mug.pk}])
    assert order.placed_at == dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC)  # Asia/Shanghai is UTC+8


def test_a_past_order_imported_as_delivered_takes_its_placing_time_as_delivery(org, shop):
    placed = timezone.now() - dt.timedelta(days=30)
    order = services.create_order(by=org.admin, customer=shop.zhang, status="delivered", placed_at=placed,
                                  lines=[{"product_id": shop.mug.pk}])
    assert order.delivered_at == placed


def test_who_may_record_orders_for_whom(org, shop):
    rep = org.east_rep
    before = state()
    with pytest.raises(NotFound):  # another team's sales rep does not see the customer: missing
        services.create_order(by=rep, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])
    with pytest.raises(PermissionDenied):  # another department's agent sees it (decision 0008), not theirs
        services.create_order(by=org.other_agent, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])
    with pytest.raises(PermissionDenied):  # a colleague's customer: visible, not the agent's to change
        services.create_order(by=org.agent, customer=shop.li, lines=[{"product_id": shop.mug.pk}])
    with pytest.raises(PermissionDenied):  # read-only role
        services.create_order(by=org.exec, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])
    assert state() == before
    services.create_order(by=org.lead, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])  # team lead


# --- the lifecycle --------------------------------------------------------------------------

def _order(org, shop, **fields):
    return services.create_order(by=org.agent, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}], **fields)


def test_an_order_goes_from_pending_to_delivered_and_back_as_a_return(org, shop):
    order = _order(org, shop)
    for version, status in enumerate([Status.PAID, Status.SHIPPED, Status.DELIVERED, Status.RETURNED], start=1):
        order = services.change_order_status(order, by=org.agent, status=status, version=version)
        assert (order.status, order.version) == (status, version + 1)
    assert order.delivered_at is not None
    trail = AuditEntry.objects.filter(object_type="commerce.order", action="update").order_by("id")
    assert [entry.changes["status"] for entry in trail] == [
        ["pending", "paid"], ["paid", "shipped"], ["shipped", "delivered"], ["delivered", "returned"],
    ]
    assert all(entry.actor == org.agent for entry in trail)


def test_delivery_is_stamped_with_the_given_time(org, shop):
    order = _order(org, shop, placed_at=timezone.now() - dt.timedelta(days=3))
    order = services.change_order_status(order, by=org.agent, status="paid", version=1)
    order = services.change_order_status(order, by=org.agent, status="shipped", version=2)
    when = timezone.now() - dt.timedelta(days=1)
    order = services.change_order_status(order, by=org.agent, status="delivered", version=3, at=when)
    assert order.delivered_at == when


@pytest.mark.parametrize("path", [["cancelled"], ["paid", "cancelled"]])
def test_an_order_may_be_cancelled_before_it_ships(org, shop, path):
    order = _order(org, shop)
    for version, status in enumerate(path, start=1):
        order = services.change_order_status(order, by=org.agent, status=status, version=version)
    assert order.status == Status.CANCELLED


@pytest.mark.parametrize(
    ("path", "then"),
    [
        ([], "shipped"),
        ([], "delivered"),
        ([], "returned"),
        ([], "pending"),
        (["paid", "shipped"], "cancelled"),
        (["paid", "shipped", "delivered"], "cancelled"),
        (["cancelled"], "paid"),
        (["paid", "shipped", "delivered", "returned"], "delivered"),
        (["paid"], "paid"),
    ],
)
def test_transitions_outside_the_lifecycle_are_refused(org, shop, path, then):
    order = _order(org, shop)
    for version, status in enumerate(path, start=1):
        order = services.change_order_status(order, by=org.agent, status=status, version=version)
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.change_order_status(order, by=org.agent, status=then, version=order.version)
    assert caught.value.field == "status"
    assert state() == before


def test_a_stale_version_is_a_conflict_and_changes_nothing(org, shop):
    order = _order(org, shop)
    first_look = Order.objects.get(pk=order.pk)
    second_look = Order.objects.get(pk=order.pk)
    services.change_order_status(first_look, by=org.agent, status="paid", version=first_look.version)
    before = state()
    with pytest.raises(Conflict) as caught:
        services.change_order_status(second_look, by=org.lead, status="cancelled", version=second_look.version)
    assert caught.value.field == "version" and caught.value.extra == {"current_version": 2}
    assert state() == before
    assert Order.objects.get(pk=order.pk).status == Status.PAID


def test_status_changes_respect_the_customer_scope(org, shop):
    order, rep = _order(org, shop), org.east_rep
    before = state()
    with pytest.raises(NotFound):
        services.change_order_status(order, by=rep, status="paid", version=1)
    with pytest.raises(PermissionDenied):  # visible to every agent (decision 0008), changed by its own
        services.change_order_status(order, by=org.other_agent, status="paid", version=1)
    with pytest.raises(PermissionDenied):
        services.change_order_status(order, by=org.exec, status="paid", version=1)
    with pytest.raises(RuleViolation):
        services.change_order_status(order, by=org.agent, status="teleported", version=1)
    with pytest.raises(RuleViolation):
        services.change_order_status(order, by=org.agent, status="paid", version="1")
    with pytest.raises(RuleViolation):
        services.change_order_status(order, by=org.agent, status="paid", version=1,
                                     at=timezone.now() + dt.timedelta(days=1))
    assert state() == before


def test_delivery_before_placing_is_refused(org, shop):
    order = _order(org, shop)
    services.change_order_status(order, by=org.agent, status="paid", version=1)
    services.change_order_status(order, by=org.agent, status="shipped", version=2)
    with pytest.raises(RuleViolation) as caught:
        services.change_order_status(order, by=org.agent, status="delivered", version=3,
                                     at=order.placed_at - dt.timedelta(hours=1))
    assert caught.value.field == "at"


# --- the summary ----------------------------------------------------------------------------

def test_the_order_summary_counts_money_kept_and_is_one_query(org, shop, django_assert_num_queries):
    now = timezone.now()
    for days, status, quantity in [(40, "delivered", 1), (20, "paid", 2), (10, "shipped", 1), (5, "cancelled", 9),
                                   (3, "pending", 9), (2, "delivered", 1)]:
        services.create_order(by=org.admin, customer=shop.zhang, status=status, placed_at=now - dt.timedelta(days=days),
                              lines=[{"product_id": shop.mug.pk, "quantity": quantity}])
    returned = services.create_order(by=org.admin, customer=shop.zhang, status="returned",
                                     placed_at=now - dt.timedelta(days=60), lines=[{"product_id": shop.teapot.pk}])
    services.create_order(by=org.admin, customer=shop.zhang, placed_at=now - dt.timedelta(days=1),
                          status="delivered", lines=[{"sku": "US-KETTLE"}])
    services.create_order(by=org.admin, customer=shop.acme, lines=[{"product_id": shop.teapot.pk}], status="paid")
    with django_assert_num_queries(1):
        summary = customer_order_summary(shop.zhang)
    assert summary.count == 5  # 4 in CNY + 1 in USD; pending, cancelled and returned do not count
    assert summary.currency == "CNY" and summary.total_spend == Decimal("19.99") * 5
    assert summary.spend_by_currency == {"CNY": Decimal("99.95"), "USD": Decimal("45.50")}
    assert summary.first_at == now - dt.timedelta(days=40)
    assert summary.last_at == now - dt.timedelta(days=1)
    assert returned.placed_at < summary.first_at


def test_a_customer_without_orders_has_an_empty_summary(shop):
    summary = customer_order_summary(shop.li)
    assert (summary.count, summary.total_spend, summary.first_at, summary.currency) == (0, Decimal("0.00"), None, None)


# --- recent orders ---------------------------------------------------------------------------

def test_recent_orders_point_at_the_customer_they_were_asked_for_without_joining_it(org, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.commerce.queries import recent_orders
    placed = [_order(org, shop, placed_at=timezone.now() - dt.timedelta(days=days)).pk for days in (3, 1, 2)]
    _order(org, shop) and services.create_order(by=org.admin, customer=shop.li, lines=[{"product_id": shop.mug.pk}])
    by_id = recent_orders(shop.zhang.pk, limit=3)  # an id: the customer is joined
    with CaptureQueriesContext(connection) as queries:
        by_customer = recent_orders(shop.zhang, limit=3)
    assert len(queries) == 1 and "JOIN" not in queries[0]["sql"]
    assert [o.pk for o in by_customer] == [o.pk for o in by_id] == [by_id[0].pk, placed[1], placed[2]]
    with CaptureQueriesContext(connection) as queries:
        assert all(o.customer is shop.zhang for o in by_customer)
        assert {o.customer.name for o in by_id} == {"张伟"}
    assert len(queries) == 0
