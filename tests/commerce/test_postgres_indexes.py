"""On PostgreSQL, searching part of an order number is served by the trigram index of commerce/0002."""

from __future__ import annotations

import pytest
from django.db import connection

from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import filter_orders, orders_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def test_the_order_number_search_can_use_its_index(org):
    # Whether the index CAN serve the condition (at scale the planner weighs it against the sort index).
    queryset = filter_orders(orders_for(org.admin), q="0042").order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queryset.explain()
    assert "order_number_trgm_idx" in plan, plan
    assert Order.objects.count() == 0
