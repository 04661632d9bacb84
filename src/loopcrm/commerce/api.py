"""REST endpoints for products and orders (thin): load through queries, call one service, serialise."""

from __future__ import annotations

from ninja import Query, Router, Status

from loopcrm.commerce import queries, services
from loopcrm.commerce.schemas import (
    ORDER_SORTS,
    CategoryFilter,
    CategoryIn,
    CategoryOut,
    OrderDetailOut,
    OrderFilter,
    OrderIn,
    OrderOut,
    OrderStatusIn,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.pagination import paginate
from loopcrm.customers.queries import get_customer_for

router = Router()

# Writes a user may see but not make (a read-only role, another agent's customer) answer 403.
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem}
PRODUCT_SORTS = ("name", "-name", "sku", "id", "-id")


def _page(page) -> dict:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


# --- product categories ---------------------------------------------------------------------

@router.get("/product-categories", response={200: PageOut[CategoryOut], **COMMON_ERRORS},
            url_name="product_categories", summary="List product categories")
def list_categories(request, filters: Query[CategoryFilter]):
    categories = queries.categories_for(request.user)
    return _page(paginate(categories, sort="id", allowed=("id",), cursor=filters.cursor, limit=filters.limit))


@router.post("/product-categories", response={201: CategoryOut, **CHANGE_ERRORS},
             url_name="create_product_category", summary="Create a product category")
def create_category(request, payload: CategoryIn):
    category = services.create_category(by=request.user, **payload.model_dump())
    return Status(201, category)


@router.get("/product-categories/{category_id}", response={200: CategoryOut, **COMMON_ERRORS},
            url_name="product_category", summary="One product category")
def get_category(request, category_id: int):
    return queries.get_category_for(request.user, category_id)


# --- products -------------------------------------------------------------------------------

@router.get("/products", response={200: PageOut[ProductOut], **COMMON_ERRORS}, url_name="products",
            summary="List products")
def list_products(request, filters: Query[ProductFilter]):
    products = queries.filter_products(
        queries.products_for(request.user), q=filters.q, category_id=filters.category_id, is_active=filters.is_active,
    )
    return _page(paginate(products, sort=filters.sort, allowed=PRODUCT_SORTS, cursor=filters.cursor,
                          limit=filters.limit))


@router.post("/products", response={201: ProductOut, **CHANGE_ERRORS}, url_name="create_product",
             summary="Add a product to the catalogue")
def create_product(request, payload: ProductIn):
    product = services.create_product(by=request.user, **payload.model_dump())
    return Status(201, queries.get_product_for(request.user, product.pk))


@router.get("/products/{product_id}", response={200: ProductOut, **COMMON_ERRORS}, url_name="product",
            summary="One product")
def get_product(request, product_id: int):
    return queries.get_product_for(request.user, product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **CHANGE_ERRORS}, url_name="update_product",
              summary="Change a product")
def update_product(request, product_id: int, payload: ProductPatch):
    product = queries.get_product_for(request.user, product_id)
    services.update_product(product, by=request.user, changes=payload.model_dump(exclude_unset=True))
    return queries.get_product_for(request.user, product_id)


# --- orders ---------------------------------------------------------------------------------

@router.get("/orders", response={200: PageOut[OrderOut], **COMMON_ERRORS}, url_name="orders",
            summary="List orders", description="Orders of the customers you may see, newest first by default.")
def list_orders(request, filters: Query[OrderFilter]):
    orders = queries.filter_orders(
        queries.orders_for(request.user), customer_id=filters.customer_id, status=filters.status,
        channel=filters.channel, placed_from=filters.placed_from, placed_to=filters.placed_to, q=filters.q,
    )
    return _page(paginate(orders, sort=filters.sort, allowed=ORDER_SORTS, cursor=filters.cursor,
                          limit=filters.limit))


@router.post("/orders", response={201: OrderDetailOut, **CHANGE_ERRORS}, url_name="create_order",
             summary="Record an order with its lines",
             description="The total is computed from the lines; a client-chosen `number` makes retries safe (409).")
def create_order(request, payload: OrderIn):
    customer = get_customer_for(request.user, payload.customer_id)
    data = payload.model_dump(exclude={"customer_id", "lines"})
    lines = [line.model_dump() for line in payload.lines]
    order = services.create_order(by=request.user, customer=customer, lines=lines, **data)
    return Status(201, queries.get_order_for(request.user, order.pk, with_lines=True))


@router.get("/orders/{order_id}", response={200: OrderDetailOut, **COMMON_ERRORS}, url_name="order",
            summary="One order with its lines")
def get_order(request, order_id: int):
    return queries.get_order_for(request.user, order_id, with_lines=True)


@router.post("/orders/{order_id}/status", response={200: OrderDetailOut, **CHANGE_ERRORS},
             url_name="change_order_status", summary="Move an order along its lifecycle",
             description="pending → paid → shipped → delivered; cancel before shipping; return after delivery. "
                         "Send the `version` you read: a stale one answers 409.")
def change_order_status(request, order_id: int, payload: OrderStatusIn):
    order = queries.get_order_for(request.user, order_id)
    services.change_order_status(order, by=request.user, status=payload.status, version=payload.version,
                                 at=payload.at)
    return queries.get_order_for(request.user, order_id, with_lines=True)
