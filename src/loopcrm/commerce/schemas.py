"""API shapes for products and orders, one per direction. Limits live here so OpenAPI shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field

from loopcrm.commerce.models import Order, OrderChannel
from loopcrm.core.api import BodyId, QueryId, StrictIn

Money = Annotated[
    Decimal, Field(ge=0, max_digits=12, decimal_places=2, description="Decimal; send as a string such as \"19.90\".")
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, such as CNY.")]


# --- products -------------------------------------------------------------------------------

class CategoryRef(Schema):
    id: int
    name: str
    code: str


class CategoryIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    parent_id: BodyId | None = None


class CategoryOut(Schema):
    id: int
    name: str
    code: str
    parent_id: int | None


class CategoryFilter(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")


class ProductIn(StrictIn):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price: Money
    currency: Currency = "CNY"
    category_id: BodyId | None = None
    is_active: bool = True
    description: str = Field("", max_length=10_000)


class ProductPatch(StrictIn):
    sku: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    price: Money | None = None
    currency: Currency | None = None
    category_id: BodyId | None = None
    is_active: bool | None = None
    description: str | None = Field(None, max_length=10_000)


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    category: CategoryRef | None
    is_active: bool
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductFilter(Schema):
    q: str | None = Field(None, max_length=100, description="Part of the name or SKU.")
    category_id: QueryId | None = None
    is_active: bool | None = None
    sort: str = Field("name", description="One of: name, -name, sku, id, -id.")
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")


# --- orders ---------------------------------------------------------------------------------

class OrderLineIn(StrictIn):
    """One line: the product by `product_id` or by `sku`; or neither, with a description and a price."""

    product_id: BodyId | None = None
    sku: str | None = Field(None, min_length=1, max_length=64)
    quantity: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 1
    unit_price: Money | None = Field(None, description="Defaults to the product's price.")
    description: str | None = Field(None, max_length=200)


class OrderIn(StrictIn):
    customer_id: BodyId
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    number: str | None = Field(None, min_length=1, max_length=64, description="Generated when missing.")
    channel: OrderChannel = OrderChannel.OTHER
    status: Order.Status = Order.Status.PENDING
    placed_at: dt.datetime | None = Field(
        None, description="Defaults to now; naive times are read in the server's zone."
    )
    delivered_at: dt.datetime | None = None
    currency: Currency | None = Field(None, description="Defaults to the products' currency.")
    notes: str = Field("", max_length=10_000)


class OrderStatusIn(StrictIn):
    status: Order.Status
    version: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] = Field(
        description="The version you read; a stale one answers 409."
    )
    at: dt.datetime | None = Field(None, description="When it happened; defaults to now.")


class CustomerRef(Schema):
    id: int
    name: str


class OrderOut(Schema):
    id: int
    number: str
    customer: CustomerRef
    channel: str
    status: str
    placed_at: dt.datetime
    delivered_at: dt.datetime | None
    currency: str
    total: Decimal
    version: int


class ProductRef(Schema):
    id: int
    sku: str
    name: str


class OrderLineOut(Schema):
    id: int
    product: ProductRef | None
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class OrderDetailOut(OrderOut):
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(order: Order) -> list:
        return list(order.lines.all())


ORDER_SORTS = ("-placed_at", "placed_at", "-id", "id")


class OrderFilter(Schema):
    customer_id: QueryId | None = None
    status: Order.Status | None = None
    channel: OrderChannel | None = None
    placed_from: dt.datetime | None = Field(None, description="Placed at or after this time.")
    placed_to: dt.datetime | None = Field(None, description="Placed before this time.")
    q: str | None = Field(None, max_length=64, description="Part of the order number.")
    sort: str = Field("-placed_at", description="One of: " + ", ".join(ORDER_SORTS) + ".")
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")
