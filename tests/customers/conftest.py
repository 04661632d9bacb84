"""Fixtures for the customer stories: a few customers of the Service department and an organisation."""

from __future__ import annotations

import pytest

from loopcrm.customers.models import Customer
from tests import factories


@pytest.fixture
def agents_customer(org) -> Customer:
    """张伟, a person owned by the agent (王芳) in the Service department."""
    return factories.customer("张伟", owner=org.agent, phone="+8613800138000", phone_raw="138 0013 8000",
                              email="zhang.wei@example.com")


@pytest.fixture
def acme(org) -> Customer:
    """An organisation customer owned by the agent."""
    return factories.customer("上海顶点科技有限公司 Acme", owner=org.agent, kind=Customer.Kind.ORGANISATION,
                              email="info@acme.example.cn")

