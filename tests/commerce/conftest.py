"""The shop the commerce stories are told in.

Customers of the Service department: 张伟 (owned by the agent 王芳) and 李雷 (no owner yet).
A customer of Sales East: Acme East (owned by Tom Baker, the other agent). A small catalogue in
CNY and one product sold in USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from loopcrm.commerce.models import Product, ProductCategory
from loopcrm.customers.models import Customer
from tests import factories


@dataclass
class Shop:
    zhang: Customer
    li: Customer
    acme: Customer
    cups: ProductCategory
    mug: Product
    teapot: Product
    kettle_usd: Product


@pytest.fixture
def shop(org) -> Shop:
    cups = ProductCategory.objects.create(name="杯具 Cups", code="cups")
    return Shop(
        zhang=factories.customer("张伟", owner=org.agent),
        li=factories.customer("李雷", department=org.service),
        acme=factories.customer("Acme East 华东贸易", owner=org.other_agent),
        cups=cups,
        mug=factories.product("马克杯 Mug", price="19.99", category=cups),
        teapot=factories.product("紫砂壶 Teapot", price="268.00"),
        kettle_usd=Product.objects.create(sku="US-KETTLE", name="Kettle", price=Decimal("45.50"), currency="USD"),
    )
