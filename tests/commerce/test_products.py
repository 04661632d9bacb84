"""The catalogue: an administrator adds and edits products; everyone may read it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loopcrm.commerce import services
from loopcrm.commerce.models import Product, ProductCategory
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_admin_adds_a_product_and_the_audit_trail_says_so(org, shop):
    product = services.create_product(
        by=org.admin, sku="TEA-01", name=" 龙井 Longjing  tea ", price="128.5", category_id=shop.cups.pk,
    )
    assert product.price == Decimal("128.50") and product.currency == "CNY"
    assert product.name == "龙井 Longjing tea"
    entry = AuditEntry.objects.get(object_type="commerce.product", object_id=str(product.pk))
    assert entry.action == "create" and entry.actor == org.admin
    assert entry.changes["sku"] == "TEA-01" and entry.changes["price"] == "128.50"


def test_a_sku_is_unique_without_regard_to_case(org, shop):
    with pytest.raises(Conflict) as caught:
        services.create_product(by=org.admin, sku=shop.mug.sku.lower(), name="Another mug", price="1")
    assert caught.value.field == "sku" and caught.value.extra["existing_id"] == shop.mug.pk
    assert Product.objects.count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sku": "A\x00B"}, "sku"),
        ({"sku": "A B"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"name": ""}, "name"),
        ({"price": "-1"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "lots"}, "price"),
        ({"price": "1e12"}, "price"),
        ({"currency": "rmb"}, "currency"),
        ({"category_id": 10**30}, "category_id"),
        ({"category_id": 987654}, "category_id"),
        ({"description": "x" * 10_001}, "description"),
    ],
)
def test_bad_product_fields_are_refused_by_name(org, fields, field):
    values = {"sku": "OK-1", "name": "Fine", "price": "1.00", **fields}
    with pytest.raises(RuleViolation) as caught:
        services.create_product(by=org.admin, **values)
    assert caught.value.field == field
    assert not Product.objects.exists() and not AuditEntry.objects.filter(object_type="commerce.product").exists()


def test_an_agent_may_not_change_the_catalogue(org, shop):
    with pytest.raises(PermissionDenied):
        services.create_product(by=org.agent, sku="X-1", name="X", price="1")
    with pytest.raises(PermissionDenied):
        services.update_product(shop.mug, by=org.agent, changes={"price": "0.01"})
    shop.mug.refresh_from_db()
    assert shop.mug.price == Decimal("19.99")


def test_updating_a_product_records_only_what_changed(org, shop):
    services.update_product(shop.mug, by=org.admin, changes={"price": "21.00", "name": shop.mug.name})
    shop.mug.refresh_from_db()
    assert shop.mug.price == Decimal("21.00")
    entry = AuditEntry.objects.get(object_type="commerce.product", action="update")
    assert entry.changes == {"price": ["19.99", "21.00"]}


def test_moving_a_sku_onto_another_product_is_a_conflict(org, shop):
    with pytest.raises(Conflict):
        services.update_product(shop.mug, by=org.admin, changes={"sku": shop.teapot.sku})
    with pytest.raises(RuleViolation) as caught:
        services.update_product(shop.mug, by=org.admin, changes={"stock": 5})
    assert caught.value.field == "stock"


def test_a_category_code_is_unique(org):
    services.create_category(by=org.admin, name="茶 Tea", code="tea")
    with pytest.raises(Conflict):
        services.create_category(by=org.admin, name="Tea again", code="TEA")
    with pytest.raises(RuleViolation):
        services.create_category(by=org.admin, name="Bad", code="tea leaves")
    assert ProductCategory.objects.filter(code__iexact="tea").count() == 1
