"""The journey map on a small hand-built dataset, every expected figure worked out by hand.

Four customers, the moments counted from t0 (1 January 2026, 09:00 UTC):
- c1: website awareness (t0, 2 touches) → website purchase (+1 d) → delivery (+1 d, 48 h from order to
  door, CSAT 5) → a hotline complaint (+5 d, 3 touches, resolved in 10 h, NPS 3 = detractor, CES 6);
- c2: social (t0) and website (+2 h) awareness → store purchase (+3 d) → delivery (+4 d, 24 h, CSAT 2), then nothing;
- c3: social awareness (t0, 4 touches) and a website purchase the day *before* it (−1 d), then nothing;
- c4: a hotline ticket (+10 d, resolved in 2 h, NPS 10 = promoter, CES 2) → WeChat loyalty (+20 d).
"""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.analytics.journey import STAGES, Fact, Measure, build, shades

T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

FACTS = [
    Fact(1, "awareness", "website", T0, touches=2),
    Fact(1, "purchase", "website", T0 + DAY, touches=1, orders=1),
    Fact(1, "delivery", "delivery", T0 + DAY, touches=1, episodes=1, episode_hours=48, csat_n=1, csat_satisfied=1),
    Fact(1, "service", "hotline", T0 + 5 * DAY, touches=3, tickets=1, complaints=1, episodes=1, episode_hours=10,
         nps_n=1, nps_detractors=1, ces_n=1, ces_sum=6),
    Fact(2, "awareness", "website", T0 + dt.timedelta(hours=2), touches=1),
    Fact(2, "awareness", "social", T0, touches=1),
    Fact(2, "purchase", "store", T0 + 3 * DAY, touches=1, orders=1),
    Fact(2, "delivery", "delivery", T0 + 4 * DAY, episodes=1, episode_hours=24, csat_n=1),
    Fact(3, "awareness", "social", T0, touches=4),
    Fact(3, "purchase", "website", T0 - DAY, touches=1, orders=1),
    Fact(4, "service", "hotline", T0 + 10 * DAY, touches=1, tickets=1, episodes=1, episode_hours=2,
         nps_n=1, nps_promoters=1, ces_n=1, ces_sum=2),
    Fact(4, "loyalty", "wechat", T0 + 20 * DAY, touches=1),
]


@pytest.fixture
def journey():
    return build(FACTS)


def test_the_grid_has_a_column_per_stage_and_a_row_per_touchpoint_seen(journey):
    assert journey.stages == STAGES
    assert journey.touchpoints == ("website", "store", "hotline", "delivery", "wechat", "social")
    assert journey.customers == 4
    rows = dict(journey.rows())
    assert [cell is not None for cell in rows["website"]] == [True, False, True, False, False, False, False]


def test_cells_count_customers_touches_orders_and_tickets(journey):
    awareness_web = journey.cell("awareness", "website")
    assert (awareness_web.customers, awareness_web.volume) == (2, 3)
    awareness_social = journey.cell("awareness", "social")
    assert (awareness_social.customers, awareness_social.volume) == (2, 5)
    purchase_web = journey.cell("purchase", "website")
    assert (purchase_web.customers, purchase_web.volume, purchase_web.orders) == (2, 2, 2)
    hotline = journey.cell("service", "hotline")
    assert (hotline.customers, hotline.volume, hotline.tickets, hotline.complaints) == (2, 4, 2, 1)
    assert journey.cell("use", "website") is None


def test_scores_effort_complaints_and_time_per_cell(journey):
    delivery = journey.cell("delivery", "delivery")
    assert delivery.csat == 50.0  # one 5 and one 2: half satisfied
    assert delivery.nps is None and delivery.ces is None
    assert delivery.hours == 36.0  # (48 + 24) / 2
    assert delivery.complaint_rate == 0.0
    hotline = journey.cell("service", "hotline")
    assert hotline.nps == 0.0  # one promoter, one detractor
    assert hotline.ces == 4.0  # (6 + 2) / 2
    assert hotline.complaint_rate == 50.0  # c1 of c1, c4
    assert hotline.hours == 6.0  # (10 + 2) / 2
    assert journey.cell("awareness", "social").hours is None


def test_stage_totals_count_each_customer_once(journey):
    totals = journey.stage_totals
    assert (totals["awareness"].customers, totals["awareness"].volume) == (3, 8)
    assert (totals["purchase"].customers, totals["purchase"].orders) == (3, 3)
    assert totals["delivery"].customers == 2
    assert totals["use"].customers == 0 and totals["use"].csat is None
    assert totals["service"].complaint_rate == 50.0


def test_drop_off_between_consecutive_stages(journey):
    by_stage = {d.stage: d for d in journey.drop_offs}
    assert [d.stage for d in journey.drop_offs] == list(STAGES[:-1])
    assert [d.next_stage for d in journey.drop_offs] == list(STAGES[1:])
    # Awareness: c1 and c2 went on to purchase (24 h and 72 h after t0); c3's purchase came before it.
    awareness = by_stage["awareness"]
    assert (awareness.reached, awareness.continued, awareness.dropped) == (3, 2, 1)
    assert awareness.rate == pytest.approx(100 / 3)
    assert awareness.hours_to_next == pytest.approx((24 + 72) / 2)
    # Nobody considered: no rate rather than 0 %.
    assert (by_stage["consideration"].reached, by_stage["consideration"].rate) == (0, None)
    # Purchase: c1 to delivery at once (0 h), c2 a day later (24 h); c3 went no further.
    purchase = by_stage["purchase"]
    assert (purchase.reached, purchase.continued, purchase.hours_to_next) == (3, 2, 12.0)
    # Delivery: c1 went on to service 4 days later (skipping use); c2 stopped.
    delivery = by_stage["delivery"]
    assert (delivery.reached, delivery.continued, delivery.rate, delivery.hours_to_next) == (2, 1, 50.0, 96.0)
    assert by_stage["use"].reached == 0
    # Service: c4 came back for loyalty 10 days later, c1 did not.
    service = by_stage["service"]
    assert (service.reached, service.continued, service.rate, service.hours_to_next) == (2, 1, 50.0, 240.0)


def test_shades_put_the_worst_cell_at_one():
    journey = build(FACTS)
    complaint = shades(journey, Measure.COMPLAINT_RATE)
    assert complaint[("service", "hotline")] == 1.0
    assert complaint[("awareness", "website")] == 0.0
    csat = shades(journey, "csat")
    assert csat[("delivery", "delivery")] == 0.5  # the only value
    assert csat[("awareness", "website")] is None
    volume = shades(journey, "volume")
    assert volume[("awareness", "social")] == 1.0  # the busiest (5 touches)
    nps = shades(journey, "nps")
    assert nps[("service", "hotline")] == 0.5


def test_facts_for_one_cell_are_summed_and_unknown_codes_handled():
    journey = build([
        Fact(1, "use", "app", T0, touches=1, csat_n=1, csat_satisfied=1),
        Fact(1, "use", "app", T0 - DAY, touches=2, csat_n=1),
        Fact(2, "use", "carrier-pigeon", None, touches=1),
        Fact(3, "nowhere", "app", T0, touches=9),
    ])
    app = journey.cell("use", "app")
    assert (app.customers, app.volume, app.csat) == (1, 3, 50.0)
    assert journey.cell("use", "other").volume == 1
    assert journey.customers == 2


def test_an_empty_window_gives_an_empty_map():
    journey = build([])
    assert journey.customers == 0 and journey.touchpoints == ()
    assert all(d.rate is None for d in journey.drop_offs)
    assert shades(journey, "volume") == {}
