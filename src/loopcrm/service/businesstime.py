"""Business-time arithmetic on a working calendar: pure Python, no Django.

A calendar is a time zone, weekly working hours (several intervals a day, e.g. 09:00–12:00 and
13:00–18:00), holidays (dates off) and make-up working days (dates that work with their own hours,
even on a weekend — China's 调休 adjusted working days). SLA clocks measure business time on it.

Hours are wall-clock times in the calendar's zone; business time is real elapsed time inside them.
So on the day a zone springs forward, 00:00–24:00 holds 23 hours, and 01:00–03:00 in New York holds
one. A wall time that does not exist (02:30 on that day) is read as PEP 495's fold=0 does (with the
offset before the change); a day's intervals are then made monotone so they never overlap.

Instants are handled as integer microseconds since the epoch, so adding and measuring round-trip
exactly; each day's intervals are computed once per calendar and cached.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

__all__ = [
    "Calendar", "CalendarError", "add_business_time", "business_time_between", "is_working", "next_working_instant",
    "parse_hours", "working_intervals",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_DAY_MINUTES = 24 * 60
# How far we look for working time before deciding the calendar has none (ten years of days).
MAX_DAYS = 3700

Interval = tuple[int, int]  # minutes after local midnight, end exclusive, 0 <= start < end <= 1440


class CalendarError(ValueError):
    """A calendar that cannot be used: bad hours, overlapping intervals, no working time at all."""


def _minutes(value: int | str | dt.time) -> int:
    if isinstance(value, bool):
        raise CalendarError(f"not a time of day: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    if isinstance(value, str):
        hours, sep, minutes = value.strip().partition(":")
        if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2 or len(hours) > 2:
            raise CalendarError(f"not a time of day (HH:MM): {value!r}")
        return int(hours) * 60 + int(minutes)
    raise CalendarError(f"not a time of day: {value!r}")


def parse_hours(intervals: Iterable[Sequence[int | str | dt.time]]) -> tuple[Interval, ...]:
    """Working intervals of one day as sorted (start, end) minutes; "24:00" ends a day.

    Raises CalendarError for a bad time, an empty or reversed interval, or two that overlap.
    """
    result = []
    for item in intervals:
        if len(item) != 2:
            raise CalendarError(f"an interval is a start and an end: {item!r}")
        start, end = _minutes(item[0]), _minutes(item[1])
        if not 0 <= start < _DAY_MINUTES or not 0 < end <= _DAY_MINUTES:
            raise CalendarError(f"times run from 00:00 to 24:00: {item!r}")
        if end <= start:
            raise CalendarError(f"an interval must end after it starts: {item!r}")
        result.append((start, end))
    result.sort()
    for (_, end), (start, _) in itertools.pairwise(result):
        if start < end:
            raise CalendarError("working intervals of one day overlap")
    return tuple(result)


class Calendar:
    """A working calendar. `weekly` maps weekday (Monday 0 … Sunday 6) to that day's intervals.

    `holidays` are dates with no working time; `workdays` maps a date to the hours it works,
    whatever its weekday or holiday status (a make-up working day). Compared by identity; build it
    once and reuse it — it caches each day's intervals.
    """

    __slots__ = ("_days", "holidays", "time_zone", "weekly", "workdays", "zone")

    def __init__(
        self,
        time_zone: str,
        weekly: Mapping[int, Iterable[Sequence[int | str | dt.time]]],
        holidays: Iterable[dt.date] = (),
        workdays: Mapping[dt.date, Iterable[Sequence[int | str | dt.time]]] | None = None,
    ) -> None:
        try:
            self.zone = ZoneInfo(time_zone)
        except (ValueError, KeyError, OSError) as error:  # ZoneInfoNotFoundError is a KeyError
            raise CalendarError(f"unknown time zone: {time_zone!r}") from error
        self.time_zone = time_zone
        for day in weekly:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise CalendarError(f"weekdays are 0 (Monday) to 6 (Sunday): {day!r}")
        self.weekly: tuple[tuple[Interval, ...], ...] = tuple(parse_hours(weekly.get(day, ())) for day in range(7))
        self.holidays = frozenset(holidays)
        self.workdays = {day: parse_hours(hours) for day, hours in (workdays or {}).items()}
        if not any(self.weekly) and not any(self.workdays.values()):
            raise CalendarError("the calendar has no working hours at all")
        self._days: dict[dt.date, tuple[tuple[int, int], ...]] = {}

    def hours_on(self, day: dt.date) -> tuple[Interval, ...]:
        """The working intervals of a local date, in minutes after midnight."""
        if day in self.workdays:
            return self.workdays[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def day(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """The working intervals of a local date as epoch microseconds, sorted and disjoint."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        midnight = dt.datetime(day.year, day.month, day.day)
        zone = self.zone
        result: list[tuple[int, int]] = []
        floor = None
        for start, end in self.hours_on(day):
            start_us = _to_us((midnight + dt.timedelta(minutes=start)).replace(tzinfo=zone))
            end_us = _to_us((midnight + dt.timedelta(minutes=end)).replace(tzinfo=zone))
            if floor is not None and start_us < floor:
                start_us = floor  # a wall time in a DST gap read back too late: keep the day monotone
            if end_us > start_us:
                result.append((start_us, end_us))
                floor = end_us
        if len(self._days) > 50_000:
            self._days.clear()
        self._days[day] = cached = tuple(result)
        return cached

    def local_date(self, us: int) -> dt.date:
        return (_EPOCH + dt.timedelta(microseconds=us)).astimezone(self.zone).date()

    def __repr__(self) -> str:
        return f"Calendar({self.time_zone!r})"


def _to_us(moment: dt.datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"business time needs aware datetimes, got {moment!r}")
    return (moment - _EPOCH) // _US


def _from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_DAY_US = 86_400_000_000


def _first_day(us: int) -> dt.date:
    """A local date no later than the one holding `us`, in any zone (offsets are within ±1 day), found
    without a time-zone conversion: the UTC date, less two days. Days without hours cost a dict lookup."""
    return dt.date.fromordinal(_EPOCH_ORDINAL + us // _DAY_US - 2)


def _intervals_from(calendar: Calendar, start_us: int) -> Iterator[tuple[int, int]]:
    """Working intervals (epoch µs) that end after `start_us`, in order, the first clipped to start there."""
    day = _first_day(start_us)
    empty_days = 0
    one_day = dt.timedelta(days=1)
    while True:
        intervals = calendar.day(day)
        found = False
        for start, end in intervals:
            if end > start_us:
                found = True
                yield (start if start > start_us else start_us), end
        empty_days = 0 if found else empty_days + 1
        if empty_days > MAX_DAYS:
            raise CalendarError("no working time within ten years")
        day += one_day


def add_business_time(start: dt.datetime, duration: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The earliest instant at which `duration` of business time has passed since `start` (UTC).

    A zero duration returns `start` itself (in UTC), working time or not.
    """
    if duration < dt.timedelta(0):
        raise ValueError("a business duration cannot be negative")
    start_us = _to_us(start)
    remaining = duration // _US
    if remaining == 0:
        return _from_us(start_us)
    for interval_start, interval_end in _intervals_from(calendar, start_us):
        available = interval_end - interval_start
        if remaining <= available:
            return _from_us(interval_start + remaining)
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def _between_us(a_us: int, b_us: int, calendar: Calendar) -> int:
    if b_us <= a_us:
        return 0
    total = 0
    day = _first_day(a_us)
    last = _first_day(b_us) + dt.timedelta(days=3)  # the local date of b is at most its UTC date + 1
    one_day = dt.timedelta(days=1)
    while day <= last:
        for start, end in calendar.day(day):
            if end <= a_us:
                continue
            if start >= b_us:
                return total  # days are in order: nothing later can count
            total += (end if end < b_us else b_us) - (start if start > a_us else a_us)
        day += one_day
    return total


def _merged(pauses: Iterable[tuple[dt.datetime, dt.datetime | None]], a_us: int, b_us: int) -> list[tuple[int, int]]:
    """Pauses clipped to [a, b], merged into disjoint sorted spans; an open pause (end None) runs to b."""
    spans = []
    for start, end in pauses:
        s = max(_to_us(start), a_us)
        e = min(_to_us(end) if end is not None else b_us, b_us)
        if e > s:
            spans.append((s, e))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def business_time_between(
    a: dt.datetime, b: dt.datetime, calendar: Calendar,
    pauses: Iterable[tuple[dt.datetime, dt.datetime | None]] = (),
) -> dt.timedelta:
    """Business time from `a` to `b`, not counting time inside `pauses` ((start, end) pairs, end None = open).

    Signed: negative when `b` is before `a` (e.g. the business time by which a due date is past).
    """
    a_us, b_us = _to_us(a), _to_us(b)
    if b_us < a_us:
        return -business_time_between(b, a, calendar, pauses)
    total = _between_us(a_us, b_us, calendar)
    for start, end in _merged(pauses, a_us, b_us):
        total -= _between_us(start, end, calendar)
    return dt.timedelta(microseconds=total)


def is_working(moment: dt.datetime, calendar: Calendar) -> bool:
    """Whether `moment` lies inside working hours (interval start included, end excluded)."""
    us = _to_us(moment)
    day = calendar.local_date(us)
    return any(start <= us < end for d in (day - dt.timedelta(days=1), day) for start, end in calendar.day(d))


def next_working_instant(moment: dt.datetime, calendar: Calendar) -> dt.datetime:
    """`moment` itself if it is working time, else the start of the next working interval."""
    for start, _end in _intervals_from(calendar, _to_us(moment)):
        return _from_us(start)
    raise AssertionError("unreachable")  # pragma: no cover


def working_intervals(
    start: dt.datetime, end: dt.datetime, calendar: Calendar,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The working intervals between `start` and `end`, clipped to them, as UTC datetimes."""
    result = []
    end_us = _to_us(end)
    if end_us <= _to_us(start):
        return result
    for s, e in _intervals_from(calendar, _to_us(start)):
        if s >= end_us:
            break
        result.append((_from_us(s), _from_us(min(e, end_us))))
    return result
