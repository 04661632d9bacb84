"""The demo's sense of time: a fixed reference "now" and how busy each day of the last two years was.

Pure (no Django): the weights make orders cluster around 618 (June 18) and 双十一 (November 11), dip
around the Spring Festival, lean a little towards weekends and grow year on year.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

HISTORY_DAYS = 730

# 春节 (first day of the lunar year); the weeks around it are quiet: shops close, couriers rest.
SPRING_FESTIVAL = {
    2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1), 2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29), 2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26), 2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3), 2031: dt.date(2031, 1, 23), 2032: dt.date(2032, 2, 11),
}


def day_weight(day: dt.date) -> float:
    """How busy a day is for orders, relative to an ordinary weekday (1.0)."""
    weight = 1.0
    if day.month == 11 and day.day <= 11:  # 双十一 pre-sales build up to the 11th
        weight = 10.0 if day.day == 11 else 1.6 + 0.25 * day.day
    elif day.month == 11 and day.day <= 13:
        weight = 2.0
    elif day.month == 6 and day.day <= 18:  # 618
        weight = 6.0 if day.day == 18 else 1.3 + 0.15 * day.day
    elif day.month == 12 and 10 <= day.day <= 12:  # 双十二, a smaller echo
        weight = 2.2
    festival = SPRING_FESTIVAL.get(day.year) or SPRING_FESTIVAL.get(day.year + 1)
    if festival is not None:
        offset = (day - festival).days
        if -10 <= offset <= 7:
            weight *= 0.25 if -3 <= offset <= 5 else 0.55
    if day.weekday() >= 5:
        weight *= 1.15
    return weight


@dataclass(frozen=True)
class DemoCalendar:
    """Days [today - HISTORY_DAYS, today), their cumulative order weights and timezone-aware instants."""

    today: dt.date
    tz: dt.tzinfo
    days: tuple[dt.date, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def ending(cls, today: dt.date, tz: dt.tzinfo) -> DemoCalendar:
        days = tuple(today - dt.timedelta(days=HISTORY_DAYS - i) for i in range(HISTORY_DAYS))
        total, cumulative = 0.0, []
        for i, day in enumerate(days):
            growth = 0.75 + 0.5 * i / HISTORY_DAYS  # the business grew about 65 % over two years
            total += day_weight(day) * growth
            cumulative.append(total)
        return cls(today=today, tz=tz, days=days, cumulative=tuple(cumulative))

    @property
    def now(self) -> dt.datetime:
        """The reference "now": midnight at the start of `today`. Nothing in the demo happens after it."""
        return self.at(self.today)

    @property
    def start(self) -> dt.datetime:
        return self.at(self.days[0])

    def at(self, day: dt.date, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=self.tz)

    def index(self, moment: dt.datetime) -> int:
        """The position of `moment`'s day in `days`, clamped to the history."""
        offset = (moment.astimezone(self.tz).date() - self.days[0]).days
        return min(max(offset, 0), HISTORY_DAYS - 1)

    def pick_index(self, rng: random.Random, first: int = 0, last: int = HISTORY_DAYS - 1) -> int:
        """The index of a day in days[first..last], drawn in proportion to how busy the days were."""
        low = self.cumulative[first - 1] if first > 0 else 0.0
        point = low + rng.random() * (self.cumulative[last] - low)
        return min(bisect.bisect_left(self.cumulative, point, first, last + 1), last)

    def order_time(self, rng: random.Random, day: dt.date) -> dt.datetime:
        """An order's moment on `day`: lunchtime and evening peaks, and the midnight rush on 11/11."""
        if day.month == 11 and day.day == 11 and rng.random() < 0.3:
            hour = 0
        else:
            hour = rng.choices(range(24), weights=_ORDER_HOURS)[0]
        return self.at(day, hour, rng.randrange(60), rng.randrange(60))

    def office_time(self, rng: random.Random, day: dt.date) -> dt.datetime:
        """A moment in service-desk hours (08:30–21:00), when people call, chat and visit."""
        minute = rng.randrange(8 * 60 + 30, 21 * 60)
        return self.at(day, minute // 60, minute % 60, rng.randrange(60))

    def within_hours(self, rng: random.Random, moment: dt.datetime, opens: int = 8 * 60 + 30,
                     closes: int = 21 * 60) -> dt.datetime:
        """`moment` if it falls between `opens` and `closes` (minutes of the day), else soon after the next opening."""
        local = moment.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        if opens <= minute < closes:
            return moment
        day = local.date() if minute < opens else local.date() + dt.timedelta(days=1)
        start = opens + rng.randrange(90)
        return self.at(day, start // 60, start % 60, rng.randrange(60))

    def clamp(self, moment: dt.datetime) -> dt.datetime:
        """Keep a moment before the reference now (a minute before, at the latest)."""
        latest = self.now - dt.timedelta(minutes=1)
        return moment if moment < latest else latest


_ORDER_HOURS = (
    2, 1, 0.5, 0.3, 0.2, 0.3, 0.6, 1.5, 3, 4.5, 5.5, 6, 6.5, 5.5, 5, 5, 5, 5, 5.5, 6.5, 8, 9, 8, 5,
)
