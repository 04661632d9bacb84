"""The Django admin for the catalogue and orders: saves go through the services and their rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from loopcrm.commerce import services
from loopcrm.commerce.models import Order, Product
from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    client = Client()
    client.force_login(org.admin)
    return client


def test_every_commerce_admin_page_opens(admin_client, org, shop):
    order = services.create_order(by=org.admin, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])
    for page in ["/admin/commerce/product/", "/admin/commerce/product/add/",
                 f"/admin/commerce/product/{shop.mug.pk}/change/", "/admin/commerce/productcategory/",
                 f"/admin/commerce/productcategory/{shop.cups.pk}/change/", "/admin/commerce/order/",
                 f"/admin/commerce/order/{order.pk}/change/"]:
        assert admin_client.get(page).status_code == 200, page
    assert admin_client.get("/admin/commerce/order/add/").status_code == 403


def test_a_product_saved_in_the_admin_obeys_the_catalogue_rules(admin_client, shop):
    data = {"sku": "TEA-1", "name": "龙井", "price": "128.00", "currency": "CNY", "is_active": "on",
            "description": "", "category": shop.cups.pk}
    assert admin_client.post("/admin/commerce/product/add/", data).status_code == 302
    product = Product.objects.get(sku="TEA-1")
    assert product.price == Decimal("128.00")
    assert AuditEntry.objects.filter(object_type="commerce.product", object_id=str(product.pk)).exists()
    response = admin_client.post("/admin/commerce/product/add/", {**data, "sku": "tea-1"})
    assert response.status_code == 200 and "already used" in response.content.decode()
    response = admin_client.post(f"/admin/commerce/product/{product.pk}/change/", {**data, "currency": "rmb"})
    assert response.status_code == 200 and Product.objects.get(pk=product.pk).currency == "CNY"


def test_orders_move_along_from_the_admin_through_the_service(admin_client, org, shop):
    order = services.create_order(by=org.admin, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}])
    admin_client.post("/admin/commerce/order/", {"action": "mark_paid", "_selected_action": [order.pk]})
    admin_client.post("/admin/commerce/order/", {"action": "mark_delivered", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert (order.status, order.version) == (Order.Status.PAID, 2)  # delivered straight from paid is refused
