"""Who may see and change which orders, persona by persona. Every denial leaves everything as it was.

张伟 is a Service-department customer owned by the agent 王芳; 李雷 is a Service customer with no
owner; Acme East belongs to Tom Baker in Sales East. Agents and leads see every customer's orders
(decision 0008) but record and move along only those of customers they may change; the sales rep
陈刚 (Sales East, a team of his own) sees none of them.
"""

from __future__ import annotations

import pytest

from loopcrm.commerce import services
from loopcrm.commerce.models import Order, OrderLine
from loopcrm.core.models import AuditEntry
from tests.commerce.util import ok, problem

pytestmark = pytest.mark.django_db

PERSONAS = ["admin", "lead", "agent", "other_agent", "east_rep", "exec"]


def state() -> tuple:
    return (Order.objects.count(), OrderLine.objects.count(), AuditEntry.objects.count(),
            sorted(Order.objects.values_list("id", "status", "version")))


@pytest.fixture
def orders(org, shop):
    return {
        "zhang": services.create_order(by=org.admin, customer=shop.zhang, lines=[{"product_id": shop.mug.pk}]),
        "li": services.create_order(by=org.admin, customer=shop.li, lines=[{"product_id": shop.mug.pk}]),
        "acme": services.create_order(by=org.admin, customer=shop.acme, lines=[{"product_id": shop.mug.pk}]),
    }


SEES = {
    "admin": {"zhang", "li", "acme"},
    "lead": {"zhang", "li", "acme"},
    "agent": {"zhang", "li", "acme"},
    "other_agent": {"zhang", "li", "acme"},
    "east_rep": set(),
    "exec": {"zhang", "li", "acme"},
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_lists_and_reads_exactly_the_orders_in_scope(api_as, orders, persona):
    client = api_as(persona)
    listed = {item["id"] for item in ok(client.get("orders"))["items"]}
    assert listed == {orders[name].pk for name in SEES[persona]}
    for name, order in orders.items():
        response = client.get(f"orders/{order.pk}")
        if name in SEES[persona]:
            ok(response)
        else:
            problem(response, 404)


# What recording an order for a customer answers: 201, 403 (visible, not yours to change), 404 (invisible).
CREATE = {
    "admin": {"zhang": 201, "li": 201, "acme": 201},
    "lead": {"zhang": 201, "li": 403, "acme": 403},
    "agent": {"zhang": 201, "li": 403, "acme": 403},
    "other_agent": {"zhang": 403, "li": 403, "acme": 201},
    "east_rep": {"zhang": 404, "li": 404, "acme": 404},
    "exec": {"zhang": 403, "li": 403, "acme": 403},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("customer", ["zhang", "li", "acme"])
def test_who_may_record_an_order_for_whom(api_as, shop, orders, persona, customer):
    client = api_as(persona)
    expected = CREATE[persona][customer]
    before = state()
    response = client.post("orders", {"customer_id": getattr(shop, customer).pk,
                                      "lines": [{"product_id": shop.mug.pk}]})
    if expected == 201:
        ok(response, 201)
        assert Order.objects.count() == before[0] + 1
    else:
        problem(response, expected)
        assert state() == before


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("customer", ["zhang", "li", "acme"])
def test_who_may_move_whose_order_along(api_as, orders, persona, customer):
    client = api_as(persona)
    expected = CREATE[persona][customer]
    order = orders[customer]
    before = state()
    response = client.post(f"orders/{order.pk}/status", {"status": "paid", "version": 1})
    if expected == 201:
        assert ok(response)["status"] == "paid"
        assert Order.objects.get(pk=order.pk).version == 2
    else:
        problem(response, expected)
        assert state() == before
