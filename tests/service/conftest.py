"""Fixtures of the service-desk stories: a hotline queue in the Service department, categories, customers.

Builds on the `org` personas (tests/conftest.py): 王芳 (agent) and 李娜 (lead) work the Service
department's hotline queue; Tom Baker (other_agent) sits in Sales East with its own queue.
"""

from __future__ import annotations

import pytest

from loopcrm.customers.models import Customer
from loopcrm.service.models import Queue, Ticket, TicketCategory
from loopcrm.service.services import categories as category_services
from loopcrm.service.services import tickets as ticket_services
from tests import factories


@pytest.fixture
def hotline_queue(org) -> Queue:
    """The Service department's hotline queue (manual assignment), worked by the agent and the lead."""
    return category_services.create_queue(name="Hotline 热线", code="hotline", department=org.service,
                                          strategy=Queue.Strategy.MANUAL, members=[org.agent, org.lead], by=None)


@pytest.fixture
def east_queue(org) -> Queue:
    """Sales East's queue, worked by Tom Baker."""
    return category_services.create_queue(name="East 华东", code="east", department=org.sales_east,
                                          strategy=Queue.Strategy.MANUAL, members=[org.other_agent], by=None)


@pytest.fixture
def delivery(org) -> TicketCategory:
    """Delivery › Late delivery."""
    parent = category_services.create_category(name="配送 Delivery", code="delivery", by=None)
    return category_services.create_category(name="延迟送达 Late delivery", code="late-delivery", parent=parent,
                                             by=None)


@pytest.fixture
def zhang(org) -> Customer:
    """张伟, a customer of the Service department (owned by the agent), with an email address."""
    return factories.customer("张伟", owner=org.agent, email="zhang.wei@example.com")


@pytest.fixture
def east_customer(org) -> Customer:
    """A customer of Sales East (owned by Tom Baker)."""
    return factories.customer("陈静", owner=org.other_agent)


@pytest.fixture
def open_ticket(org, hotline_queue):
    """open_ticket(customer, **overrides) -> a ticket opened by the agent in the hotline queue."""

    def make(customer: Customer, **overrides) -> Ticket:
        values = {"subject": "冰箱不制冷 Fridge not cooling", "by": org.agent, "channel": "phone",
                  "description": "客户来电：冰箱不制冷。", "queue": hotline_queue}
        values.update(overrides)
        return ticket_services.open_ticket(customer=customer, **values)

    return make
