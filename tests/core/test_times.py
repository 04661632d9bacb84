"""Client times with offsets PostgreSQL refuses, or that overflow, never reach the database."""

import datetime as dt

import pytest

from loopcrm.core.errors import RuleViolation
from loopcrm.core.times import as_utc
from tests import factories
from tests.conftest import ApiClient


def test_an_offset_beyond_postgresqls_range_is_converted_to_utc():
    odd = dt.datetime(2025, 6, 15, 18, 33, tzinfo=dt.timezone(dt.timedelta(hours=23, minutes=6)))
    assert as_utc(odd, field="at") == dt.datetime(2025, 6, 14, 19, 27, tzinfo=dt.UTC)


def test_a_time_pushed_past_year_9999_is_refused_with_the_field():
    edge = dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with pytest.raises(RuleViolation) as caught:
        as_utc(edge, field="placed_to")
    assert caught.value.field == "placed_to"


@pytest.mark.django_db
def test_order_and_interaction_filters_accept_any_offset(org):
    customer = factories.customer("张伟", owner=org.agent)
    factories.order(customer, placed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    api = ApiClient(org.agent)
    orders = api.get("orders", placed_to="7870-06-15T18:33:17+23:06", customer_id=customer.pk)
    touches = api.get("interactions", **{"from": "2020-01-01T00:00:00-23:30"})
    assert orders.status_code == 200 and len(orders.json()["items"]) == 1
    assert touches.status_code == 200
