"""On PostgreSQL, searching part of an order number can be served by the trigram index of commerce/0002.

The question is whether the index CAN serve the condition, so plain scans are discouraged for the
test transaction; at scale the planner weighs it against the sort index (bench/ measures that).
"""

from __future__ import annotations

import pytest
from django.db import connection

from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import search_orders

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def test_the_order_number_search_can_use_its_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = search_orders(Order.objects.all(), "0042").explain()
    assert "order_number_trgm_idx" in plan, plan
