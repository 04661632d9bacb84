"""The journey map from the database: the hand-built journey of tests/analytics/journey_data.py, through SQL."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.analytics.queries import journey as queries
from loopcrm.core.errors import PermissionDenied, RuleViolation
from tests.analytics.journey_data import WINDOW, build_journey

pytestmark = pytest.mark.django_db


def journey_of(org, **params):
    return queries.journey_map_for(org.exec, queries.parse_filters({**WINDOW, **params}))


def figures(cell):
    return {"customers": cell.customers, "volume": cell.volume, "orders": cell.orders, "tickets": cell.tickets,
            "complaint_rate": cell.complaint_rate, "csat": cell.csat, "nps": cell.nps, "ces": cell.ces,
            "hours": cell.hours}


def test_every_source_lands_in_its_stage_and_touchpoint(org):
    build_journey(org)
    journey = journey_of(org)
    assert journey.customers == 3
    assert set(journey.cells) == {
        ("awareness", "website"), ("awareness", "social"), ("awareness", "email"), ("purchase", "website"),
        ("purchase", "store"), ("delivery", "delivery"), ("service", "hotline"), ("loyalty", "wechat"),
    }
    assert figures(journey.cell("awareness", "website"))["volume"] == 2
    assert figures(journey.cell("awareness", "email"))["volume"] == 1  # 01:00 on 1 January in Shanghai
    assert figures(journey.cell("purchase", "website")) == {
        "customers": 1, "volume": 0, "orders": 1, "tickets": 0, "complaint_rate": 0.0, "csat": None, "nps": None,
        "ces": None, "hours": None}
    # Both deliveries (48 h and 24 h), 张伟's CSAT 5 about his order, and Tom's complaint before his arrived.
    assert figures(journey.cell("delivery", "delivery")) == {
        "customers": 2, "volume": 0, "orders": 0, "tickets": 1, "complaint_rate": 50.0, "csat": 100.0,
        "nps": None, "ces": None, "hours": 36.0}
    # 张伟's phoned complaint: one timeline touch, resolved in 10 h, answered NPS 3 (detractor) and CES 6.
    assert figures(journey.cell("service", "hotline")) == {
        "customers": 1, "volume": 1, "orders": 0, "tickets": 1, "complaint_rate": 100.0, "csat": None,
        "nps": -100.0, "ces": 6.0, "hours": 10.0}
    assert journey.cell("loyalty", "wechat").nps == 100.0


def test_drop_off_through_sql(org):
    build_journey(org)
    by_stage = {d.stage: d for d in journey_of(org).drop_offs}
    # Awareness: 张伟 bought a day later, Tom three days later; 李静 went no further.
    assert (by_stage["awareness"].reached, by_stage["awareness"].continued) == (3, 2)
    assert by_stage["awareness"].hours_to_next == pytest.approx(48.0)
    # Purchase → delivery: 48 h for 张伟; Tom's complaint an hour after buying is already delivery.
    assert (by_stage["purchase"].continued, by_stage["purchase"].hours_to_next) == (2, 24.5)
    # Delivery: 张伟 on to service 48 h later; Tom to loyalty 71 h after his complaint.
    assert (by_stage["delivery"].rate, by_stage["delivery"].hours_to_next) == (0.0, 59.5)
    assert (by_stage["service"].reached, by_stage["service"].rate) == (1, 100.0)


def test_filters_cut_every_source(org):
    build_journey(org)
    high = journey_of(org, tier="high")
    assert high.customers == 1 and high.cell("awareness", "social") is None
    assert high.cell("delivery", "delivery").hours == 48.0
    beijing = journey_of(org, region="北京市")
    assert beijing.customers == 1 and beijing.cell("delivery", "delivery").complaint_rate == 100.0
    phone = journey_of(org, channel="phone")
    assert set(phone.cells) == {("service", "hotline")}
    assert (phone.cell("service", "hotline").volume, phone.cell("service", "hotline").nps) == (1, -100.0)
    wechat = journey_of(org, channel="wechat")
    assert set(wechat.cells) == {("loyalty", "wechat")}
    assert journey_of(org, segment="champions").customers == 0
    assert journey_of(org, start="2026-01-01", end="2026-01-01").customers == 1  # 李静's early touch only


def test_five_grouped_queries_whatever_the_size(org, django_assert_num_queries):
    build_journey(org)
    with django_assert_num_queries(5):
        queries.journey.build(queries.facts(queries.parse_filters(WINDOW)))


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2026-13-01"}, "start"), ({"end": "soon"}, "end"),
    ({"start": "2026-02-01", "end": "2026-01-01"}, "start"),
    ({"start": "2020-01-01", "end": "2026-01-01"}, "start"), ({"tier": "gold"}, "tier"),
    ({"segment": "vips"}, "segment"), ({"channel": "fax"}, "channel"),
])
def test_bad_filters_name_the_field(params, field):
    with pytest.raises(RuleViolation) as error:
        queries.parse_filters(params)
    assert error.value.field == field


def test_default_period_is_the_last_ninety_days():
    filters = queries.parse_filters({}, today=dt.date(2026, 3, 31))
    assert (filters.start, filters.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def test_roles_without_improvement_view_are_refused(org):
    sales = org.agent
    sales.role = "sales"
    with pytest.raises(PermissionDenied):
        queries.journey_map_for(sales, queries.parse_filters(WINDOW))
