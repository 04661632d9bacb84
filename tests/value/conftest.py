"""A small shop for the value stories: a catalogue in two categories and customers with dated orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from loopcrm.commerce.models import Order, ProductCategory
from loopcrm.customers.models import Customer, Tag
from tests import factories

AT = timezone.make_aware(dt.datetime(2026, 11, 1, 12, 0))


def days_ago(n: float) -> dt.datetime:
    return AT - dt.timedelta(days=n)


@dataclass
class Shop:
    at: dt.datetime
    tea: ProductCategory
    green: ProductCategory
    cups: ProductCategory
    products: dict
    loyal: Customer  # many orders, recent
    fresh: Customer  # one order 10 days ago
    lapsed: Customer  # orders long ago
    returner: Customer  # bought, gone 400 days, back 20 days ago
    prospect: Customer  # no order
    cancelled_only: Customer  # only a cancelled order
    others: list


@pytest.fixture
def shop(org) -> Shop:
    tea = ProductCategory.objects.create(name="Tea 茶", code="tea")
    green = ProductCategory.objects.create(name="Green tea 绿茶", code="green-tea", parent=tea)
    cups = ProductCategory.objects.create(name="Cups", code="cups")
    p = {
        "longjing": factories.product("龙井", price="200.00", category=green),
        "puer": factories.product("普洱", price="150.00", category=tea),
        "cup": factories.product("Cup", price="30.00", category=cups),
        "pot": factories.product("Teapot", price="300.00", category=cups),
    }
    vip_tag = Tag.objects.create(name="wholesale")
    loyal = factories.customer("张伟", owner=org.agent, province="浙江省", city="杭州市")
    loyal.tags.add(vip_tag)
    for n in (300, 240, 180, 120, 60, 30, 5):
        factories.order(loyal, lines=[(p["longjing"], 1), (p["cup"], 2)], placed_at=days_ago(n))
    fresh = factories.customer("Amy Chen", owner=org.agent)
    factories.order(fresh, lines=[(p["cup"], 1)], placed_at=days_ago(10))
    lapsed = factories.customer("李静", owner=org.other_agent)
    for n in (700, 650, 600):
        factories.order(lapsed, lines=[(p["puer"], 1), (p["pot"], 1)], placed_at=days_ago(n))
    returner = factories.customer("王磊", owner=org.agent)
    factories.order(returner, lines=[(p["puer"], 1)], placed_at=days_ago(500))
    factories.order(returner, lines=[(p["longjing"], 1), (p["cup"], 1)], placed_at=days_ago(20))
    prospect = factories.customer("赵敏", owner=org.agent)
    cancelled_only = factories.customer("Bob Li", owner=org.agent)
    factories.order(cancelled_only, lines=[(p["pot"], 3)], placed_at=days_ago(3), status=Order.Status.CANCELLED)
    others = []
    for i in range(12):
        customer = factories.customer(owner=org.other_agent if i % 2 else org.agent)
        for k in range(1 + i % 4):
            lines = [(p["longjing"], 1), (p["cup"], 1)] if k % 2 == 0 else [(p["puer"], 1)]
            factories.order(customer, lines=lines, placed_at=days_ago(15 + 37 * i + 61 * k))
        others.append(customer)
    return Shop(at=AT, tea=tea, green=green, cups=cups, products=p, loyal=loyal, fresh=fresh, lapsed=lapsed,
                returner=returner, prospect=prospect, cancelled_only=cancelled_only, others=others)
