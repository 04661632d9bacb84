"""Business time on working calendars: worked examples, then properties checked by hypothesis.

The calendars: a New York office with a lunch break (DST twice a year), a Shanghai office with the
2026 Spring Festival holidays and its 调休 make-up Saturdays/Sundays, a round-the-clock desk in
London, and a Lord Howe Island desk (half-hour DST) — so the properties meet DST gaps and folds.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loopcrm.service.businesstime import (
    Calendar,
    CalendarError,
    add_business_time,
    business_time_between,
    is_working,
    next_working_instant,
    parse_hours,
    working_intervals,
)

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")

WEEKDAYS_SPLIT = {day: [("09:00", "12:00"), ("13:00", "18:00")] for day in range(5)}

new_york = Calendar("America/New_York", WEEKDAYS_SPLIT, holidays=[dt.date(2026, 7, 3), dt.date(2026, 11, 26)])

# 2026 Spring Festival: 15–23 Feb off; Sat 14 Feb and Sat 28 Feb are make-up working days (调休).
SPRING_FESTIVAL = [dt.date(2026, 2, 15) + dt.timedelta(days=n) for n in range(9)]
MAKE_UP = {dt.date(2026, 2, 14): [("09:00", "12:00"), ("13:30", "18:00")],
           dt.date(2026, 2, 28): [("09:00", "12:00"), ("13:30", "18:00")]}
shanghai = Calendar("Asia/Shanghai", {day: [("09:00", "12:00"), ("13:30", "18:00")] for day in range(5)},
                    holidays=SPRING_FESTIVAL, workdays=MAKE_UP)
round_the_clock = Calendar("Europe/London", {day: [("00:00", "24:00")] for day in range(7)})
lord_howe = Calendar("Australia/Lord_Howe", {day: [("01:00", "03:00"), ("08:00", "20:00")] for day in range(6)},
                     holidays=[dt.date(2026, 1, 1)], workdays={dt.date(2026, 4, 5): [("00:00", "24:00")]})
# Hours that sit on New York's DST changes (02:00 local) to stress the gap and the fold.
ny_night = Calendar("America/New_York", {day: [("00:30", "02:30"), ("02:45", "05:00"), ("22:00", "24:00")]
                                         for day in range(7)})

CALENDARS = [new_york, shanghai, round_the_clock, lord_howe, ny_night]


def at(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


# --- worked examples --------------------------------------------------------------------------------

def test_a_day_of_work_fits_between_nine_and_six_with_lunch_off():
    # Monday 9 March 2026, 10:00 in New York; 8 business hours later is Tuesday 10:00.
    start = at(NY, 2026, 3, 9, 10)
    assert add_business_time(start, 8 * H, new_york) == at(NY, 2026, 3, 10, 10)
    assert add_business_time(start, 3 * H, new_york) == at(NY, 2026, 3, 9, 14)  # lunch skipped
    assert business_time_between(at(NY, 2026, 3, 9, 11), at(NY, 2026, 3, 9, 14), new_york) == 2 * H


def test_friday_evening_rolls_to_monday_morning():
    friday = at(NY, 2026, 3, 6, 17, 30)
    assert add_business_time(friday, H, new_york) == at(NY, 2026, 3, 9, 9, 30)


def test_the_spring_forward_day_has_23_hours_round_the_clock_and_the_fall_back_day_25():
    london = ZoneInfo("Europe/London")
    assert business_time_between(at(london, 2026, 3, 29), at(london, 2026, 3, 30), round_the_clock) == 23 * H
    assert business_time_between(at(london, 2026, 10, 25), at(london, 2026, 10, 26), round_the_clock) == 25 * H


def test_hours_across_the_new_york_clock_changes():
    # 8 March 2026 02:00 -> 03:00. 02:30 does not exist and reads as 03:30 EDT (fold=0, as Java's
    # ZonedDateTime does): 00:30–02:30 holds 2 real hours, 02:45 (03:45 EDT)–05:00 holds 1h15.
    spring = business_time_between(at(NY, 2026, 3, 8), at(NY, 2026, 3, 8, 12), ny_night)
    assert spring == dt.timedelta(hours=3, minutes=15)
    # 1 November 2026 02:00 -> 01:00: 00:30–02:30 holds 3 real hours (01:00–02:00 happens twice).
    autumn = business_time_between(at(NY, 2026, 11, 1), at(NY, 2026, 11, 1, 12), ny_night)
    assert autumn == 3 * H + dt.timedelta(hours=2, minutes=15)


def test_the_spring_festival_is_off_and_the_make_up_saturday_works():
    friday = at(SH, 2026, 2, 13, 17)
    # One hour Friday, then the make-up Saturday 14 Feb from 09:00.
    assert add_business_time(friday, 2 * H, shanghai) == at(SH, 2026, 2, 14, 10)
    assert is_working(at(SH, 2026, 2, 14, 10), shanghai)
    assert not is_working(at(SH, 2026, 2, 16, 10), shanghai)  # a Monday inside the festival
    # Saturday 14 Feb 17:00 + 2h: 1h that day, then nothing until Tuesday 24 Feb 10:00.
    assert add_business_time(at(SH, 2026, 2, 14, 17), 2 * H, shanghai) == at(SH, 2026, 2, 24, 10)
    assert not is_working(at(SH, 2026, 2, 21, 10), shanghai)  # an ordinary Saturday
    assert is_working(at(SH, 2026, 2, 28, 9), shanghai)


def test_zero_duration_and_next_working_instant():
    sunday = at(SH, 2026, 3, 1, 12)
    assert add_business_time(sunday, dt.timedelta(0), shanghai) == sunday
    assert next_working_instant(sunday, shanghai) == at(SH, 2026, 3, 2, 9)
    assert next_working_instant(at(SH, 2026, 3, 2, 9, 30), shanghai) == at(SH, 2026, 3, 2, 9, 30)
    spans = working_intervals(at(SH, 2026, 3, 2, 11), at(SH, 2026, 3, 2, 14), shanghai)
    assert spans == [(at(SH, 2026, 3, 2, 11), at(SH, 2026, 3, 2, 12)),
                     (at(SH, 2026, 3, 2, 13, 30), at(SH, 2026, 3, 2, 14))]


def test_a_pause_does_not_count_and_an_open_pause_runs_to_the_end():
    a, b = at(NY, 2026, 3, 9, 9), at(NY, 2026, 3, 9, 18)
    pauses = [(at(NY, 2026, 3, 9, 10), at(NY, 2026, 3, 9, 11)), (at(NY, 2026, 3, 9, 10, 30), at(NY, 2026, 3, 9, 14))]
    assert business_time_between(a, b, new_york, pauses) == 8 * H - 3 * H  # 10–14 minus lunch
    assert business_time_between(a, b, new_york, [(at(NY, 2026, 3, 9, 17), None)]) == 7 * H


def test_measuring_backwards_is_negative():
    a, b = at(NY, 2026, 3, 9, 9), at(NY, 2026, 3, 9, 11)
    assert business_time_between(b, a, new_york) == -2 * H


@pytest.mark.parametrize(("weekly", "message"), [
    ({0: [("09:00", "08:00")]}, "end after"),
    ({0: [("09:00", "12:00"), ("11:00", "13:00")]}, "overlap"),
    ({0: [("9", "12:00")]}, "HH:MM"),
    ({0: [("09:00", "24:30")]}, "00:00 to 24:00"),
    ({7: [("09:00", "12:00")]}, "weekdays"),
    ({}, "no working hours"),
    ({0: [("09:00",)]}, "start and an end"),
])
def test_bad_calendars_say_what_is_wrong(weekly, message):
    with pytest.raises(CalendarError, match=message):
        Calendar("Asia/Shanghai", weekly)


def test_an_unknown_zone_and_naive_times_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        Calendar("Mars/Olympus_Mons", WEEKDAYS_SPLIT)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(dt.datetime(2026, 3, 9, 9), H, new_york)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(at(NY, 2026, 3, 9, 9), -H, new_york)


def test_a_calendar_with_only_past_make_up_days_has_no_future_working_time():
    only_once = Calendar("UTC", {}, workdays={dt.date(2020, 1, 4): [("09:00", "10:00")]})
    with pytest.raises(CalendarError, match="ten years"):
        add_business_time(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), H, only_once)


def test_parse_hours_accepts_times_and_minutes():
    assert parse_hours([(dt.time(13), "18:00"), (540, 720)]) == ((540, 720), (780, 1080))


# --- properties -------------------------------------------------------------------------------------

calendars = st.sampled_from(CALENDARS)
# Instants from 2025 to 2027, at minute or microsecond resolution, so DST days and the festival are hit.
instants = st.integers(min_value=1_735_689_600 * 10**6, max_value=1_798_761_600 * 10**6).map(
    lambda us: dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us))
minute_instants = st.integers(min_value=29_000_000, max_value=30_000_000).map(
    lambda minutes: dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes))
durations = st.one_of(
    st.integers(min_value=0, max_value=30 * 24 * 60).map(lambda m: dt.timedelta(minutes=m)),
    st.integers(min_value=0, max_value=10**12).map(lambda us: dt.timedelta(microseconds=us)),
)
any_instant = st.one_of(instants, minute_instants)
PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(calendar=calendars, start=any_instant, duration=durations)
def test_adding_then_measuring_round_trips(calendar, start, duration):
    end = add_business_time(start, duration, calendar)
    assert end >= start
    assert business_time_between(start, end, calendar) == duration


@PROPERTY
@given(calendar=calendars, start=any_instant, duration=durations)
def test_the_result_is_the_earliest_such_instant(calendar, start, duration):
    assume(duration > dt.timedelta(0))
    end = add_business_time(start, duration, calendar)
    # One microsecond earlier, less than the duration has passed: the instant just before is working time.
    assert business_time_between(start, end - dt.timedelta(microseconds=1), calendar) < duration
    assert is_working(end - dt.timedelta(microseconds=1), calendar)


@PROPERTY
@given(calendar=calendars, a=any_instant, b=any_instant, c=any_instant)
def test_measuring_is_additive_and_antisymmetric(calendar, a, b, c):
    a, b, c = sorted([a, b, c])
    ab, bc = business_time_between(a, b, calendar), business_time_between(b, c, calendar)
    assert ab + bc == business_time_between(a, c, calendar)
    assert business_time_between(c, a, calendar) == -(ab + bc)
    assert dt.timedelta(0) <= ab <= b - a


@PROPERTY
@given(calendar=calendars, start=any_instant, d1=durations, d2=durations)
def test_adding_is_monotone_and_composes(calendar, start, d1, d2):
    d1, d2 = sorted([d1, d2])
    first, second = add_business_time(start, d1, calendar), add_business_time(start, d2, calendar)
    assert first <= second
    assert add_business_time(first, d2 - d1, calendar) == second


@PROPERTY
@given(calendar=calendars, s1=any_instant, s2=any_instant, duration=durations)
def test_a_later_start_never_ends_earlier(calendar, s1, s2, duration):
    s1, s2 = sorted([s1, s2])
    assert add_business_time(s1, duration, calendar) <= add_business_time(s2, duration, calendar)


@PROPERTY
@given(calendar=calendars, a=any_instant, b=any_instant,
       pauses=st.lists(st.tuples(any_instant, any_instant), max_size=5))
def test_pauses_never_count(calendar, a, b, pauses):
    a, b = sorted([a, b])
    pauses = [tuple(sorted(pair)) for pair in pauses]
    paused = business_time_between(a, b, calendar, pauses)
    plain = business_time_between(a, b, calendar)
    assert dt.timedelta(0) <= paused <= plain
    # Whatever is paused is exactly the working time inside the pauses (overlaps counted once).
    spans = [(max(a, s), min(b, e)) for s, e in _union(pauses) if min(b, e) > max(a, s)]
    inside = sum((business_time_between(s, e, calendar) for s, e in spans), dt.timedelta(0))
    assert plain - paused == inside
    # Pausing the whole span leaves nothing.
    assert business_time_between(a, b, calendar, [(a, b)]) == dt.timedelta(0)


def _union(spans):
    merged = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


@PROPERTY
@given(calendar=calendars, t=any_instant)
def test_working_instants_follow_the_local_rules(calendar, t):
    local = t.astimezone(calendar.zone)
    day = local.date()
    hours = calendar.hours_on(day)
    if day in calendar.holidays and day not in calendar.workdays:
        assert hours == ()
    if day in calendar.workdays:
        assert hours == calendar.workdays[day]
    if not hours:
        assert not is_working(t, calendar)
    # Outside DST's odd hours, working means the wall time lies inside one of the day's intervals.
    minute = local.hour * 60 + local.minute
    if local.utcoffset() == (local - dt.timedelta(hours=3)).utcoffset() == (local + dt.timedelta(hours=3)).utcoffset():
        assert is_working(t, calendar) == any(start <= minute < end for start, end in hours)


@PROPERTY
@given(start=any_instant, duration=durations)
def test_holidays_are_skipped_and_make_up_days_are_used_in_shanghai(start, duration):
    assume(duration > dt.timedelta(0))
    end = add_business_time(start, duration, shanghai)
    last = (end - dt.timedelta(microseconds=1)).astimezone(SH)
    assert last.date() not in shanghai.holidays
    assert last.weekday() < 5 or last.date() in shanghai.workdays


@PROPERTY
@given(start=any_instant, duration=durations)
def test_the_same_rules_hold_with_the_calendar_in_another_zone(start, duration):
    # The Shanghai hours moved to New York: same weekdays, same holidays, but business time lands
    # in New York's hours; nothing in the arithmetic depends on the zone being UTC+8.
    moved = Calendar("America/New_York", {day: shanghai.weekly[day] for day in range(7)},
                     holidays=shanghai.holidays, workdays=shanghai.workdays)
    end = add_business_time(start, duration, moved)
    assert business_time_between(start, end, moved) == duration
    if duration > dt.timedelta(0):
        last = (end - dt.timedelta(microseconds=1)).astimezone(NY)
        assert last.date() not in moved.holidays
        assert last.weekday() < 5 or last.date() in moved.workdays
