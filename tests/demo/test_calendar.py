"""The demo's calendar on its own: promotion peaks, the Spring Festival dip, and sampling that follows them."""

from __future__ import annotations

import collections
import datetime as dt
import random
import zoneinfo

from loopcrm.demo.calendar import HISTORY_DAYS, DemoCalendar, day_weight

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_singles_day_and_618_are_peaks_and_the_spring_festival_a_dip():
    ordinary = day_weight(dt.date(2025, 9, 10))  # a Wednesday in September
    assert day_weight(dt.date(2025, 11, 11)) > 5 * ordinary
    assert day_weight(dt.date(2025, 6, 18)) > 3 * ordinary
    assert day_weight(dt.date(2025, 1, 29)) < 0.5 * ordinary  # 春节 2025


def test_days_are_drawn_in_proportion_to_how_busy_they_were():
    calendar = DemoCalendar.ending(dt.date(2026, 3, 15), SHANGHAI)
    rng = random.Random(5)
    months = collections.Counter(calendar.days[calendar.pick_index(rng)].strftime("%Y-%m") for _ in range(30_000))
    assert months["2025-11"] > 1.5 * months["2025-09"]
    assert months["2025-06"] > 1.3 * months["2025-08"]
    assert months["2026-02"] < months["2025-12"]  # the festival month is quiet
    assert months["2025-10"] > months["2024-10"]  # and the business grows


def test_the_history_ends_before_midnight_of_the_reference_day():
    calendar = DemoCalendar.ending(dt.date(2026, 3, 15), SHANGHAI)
    assert len(calendar.days) == HISTORY_DAYS and calendar.days[-1] == dt.date(2026, 3, 14)
    assert calendar.now == dt.datetime(2026, 3, 15, tzinfo=SHANGHAI)
    late = dt.datetime(2026, 3, 14, 23, 30, tzinfo=SHANGHAI)
    moved = calendar.within_hours(random.Random(1), late)
    assert moved.date() == dt.date(2026, 3, 15) and moved.hour >= 8  # so a call at 23:30 would be tomorrow
