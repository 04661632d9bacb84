"""Reads of products and orders. An order is seen through its customer: the customer's scope decides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.commerce.models import Order, OrderLine, Product, ProductCategory
from loopcrm.core.errors import NotFound
from loopcrm.core.text import clean_line
from loopcrm.core.times import as_utc
from loopcrm.customers.models import Customer

# Orders that are money the customer actually spent and kept: what "spend" and "orders" count.
CENT = Decimal("0.01")
SPENDING_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


def orders_for(user: User, action: str = "view") -> QuerySet[Order]:
    """The orders `user` may reach for `action`, with their customer loaded."""
    scope = scope_filter(user, "customer", action, owner="customer__owner", department="customer__department")
    if scope is None:
        return Order.objects.none()
    return Order.objects.filter(scope).select_related("customer")


def get_order_for(user: User, order_id: int, action: str = "view", *, with_lines: bool = False) -> Order:
    """One order in `user`'s scope; anything else — missing or out of scope — is NotFound.

    `with_lines` loads its lines and their products too (one more query).
    """
    orders = orders_for(user, action)
    if with_lines:
        orders = orders.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")))
    order = orders.filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("No such order."), field="order_id")
    return order


def recent_orders(customer: Customer | int, *, limit: int = 10) -> list[Order]:
    """The customer's newest orders (the caller has checked it may see the customer)."""
    if not isinstance(customer, Customer):
        return list(Order.objects.filter(customer_id=customer).select_related("customer")
                    .order_by("-placed_at", "-id")[:limit])
    # The caller holds the customer: each order points at it instead of joining (and building) it again.
    orders = list(Order.objects.filter(customer_id=customer.pk).order_by("-placed_at", "-id")[:limit])
    for order in orders:
        order.customer = customer
    return orders


def products_for(user: User) -> QuerySet[Product]:
    if not can(user, "product", "view"):
        return Product.objects.none()
    return Product.objects.select_related("category")


def get_product_for(user: User, product_id: int) -> Product:
    product = products_for(user).filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."), field="product_id")
    return product


def categories_for(user: User) -> QuerySet[ProductCategory]:
    if not can(user, "product", "view"):
        return ProductCategory.objects.none()
    return ProductCategory.objects.all()


def get_category_for(user: User, category_id: int) -> ProductCategory:
    category = categories_for(user).filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("No such product category."), field="category_id")
    return category


@dataclass(frozen=True)
class OrderSummary:
    """What a customer has bought: orders that were paid and not cancelled or returned.

    `total_spend` is in `currency`; a customer who bought in several currencies has every sum in
    `spend_by_currency`, and `currency` is the one most of their orders used.
    """

    count: int = 0
    total_spend: Decimal = Decimal("0.00")
    currency: str | None = None
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    spend_by_currency: dict[str, Decimal] = field(default_factory=dict)


def customer_order_summary(customer: Customer | int) -> OrderSummary:
    """Order count, spend and first/last purchase of one customer, aggregated by the database (one query)."""
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    rows = list(
        Order.objects.filter(customer_id=customer_id, status__in=SPENDING_STATUSES)
        .values("currency")
        .annotate(n=Count("id"), spend=Sum("total"), first=Min("placed_at"), last=Max("placed_at"))
        .order_by("-n", "currency")
    )
    if not rows:
        return OrderSummary()
    # SQLite sums decimals with a float's worth of places; money has two.
    spend = {row["currency"]: (row["spend"] or Decimal(0)).quantize(CENT) for row in rows}
    main = rows[0]["currency"]
    return OrderSummary(
        count=sum(row["n"] for row in rows),
        total_spend=spend[main],
        currency=main,
        first_at=min(row["first"] for row in rows),
        last_at=max(row["last"] for row in rows),
        spend_by_currency=spend,
    )


def search_orders(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """Orders whose number contains `term`, without regard to case (RuleViolation for a NUL in it)."""
    term = clean_line(term, field="q", max_length=64)
    return queryset.filter(number__icontains=term) if term else queryset



def filter_orders(
    queryset: QuerySet[Order],
    *,
    customer_id: int | None = None,
    status: str | None = None,
    channel: str | None = None,
    placed_from: dt.datetime | None = None,
    placed_to: dt.datetime | None = None,
    q: str | None = None,
) -> QuerySet[Order]:
    """The order-list filters, shared by the API and the pages. Naive times are read in the current zone."""
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if status:
        queryset = queryset.filter(status=status)
    if channel:
        queryset = queryset.filter(channel=channel)
    if placed_from is not None:
        queryset = queryset.filter(placed_at__gte=_aware(placed_from, "placed_from"))
    if placed_to is not None:
        queryset = queryset.filter(placed_at__lt=_aware(placed_to, "placed_to"))
    if q:
        queryset = search_orders(queryset, q)
    return queryset


def filter_products(
    queryset: QuerySet[Product], *, q: str | None = None, category_id: int | None = None, is_active: bool | None = None
) -> QuerySet[Product]:
    term = clean_line(q, field="q", max_length=100)
    if term:
        queryset = queryset.filter(Q(name__icontains=term) | Q(sku__icontains=term))
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


def _aware(value: dt.datetime, field: str = "from") -> dt.datetime:
    return as_utc(value, field=field)

