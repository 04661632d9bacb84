"""Demo SLA configuration: the Shanghai service desk's business calendar with China's public holidays
and 调休 make-up working days (2025–2026, as the State Council announced them), a round-the-clock
calendar for the VIP hotline, and four SLA policies. Runs before the demo tickets, so their clocks
start on these policies (through the ticket services' start_clocks hook)."""

from __future__ import annotations

import datetime as dt

from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.service.models import BusinessCalendar, SlaPolicy
from loopcrm.service.services import sla_config

D = dt.date
# (first day, last day, name) off; make-up working days (调休上班) with the holiday they belong to.
CHINA_HOLIDAYS = [
    (D(2025, 1, 1), D(2025, 1, 1), "元旦"), (D(2025, 1, 28), D(2025, 2, 4), "春节"),
    (D(2025, 4, 4), D(2025, 4, 6), "清明节"), (D(2025, 5, 1), D(2025, 5, 5), "劳动节"),
    (D(2025, 5, 31), D(2025, 6, 2), "端午节"), (D(2025, 10, 1), D(2025, 10, 8), "国庆节、中秋节"),
    (D(2026, 1, 1), D(2026, 1, 3), "元旦"), (D(2026, 2, 15), D(2026, 2, 23), "春节"),
    (D(2026, 4, 4), D(2026, 4, 6), "清明节"), (D(2026, 5, 1), D(2026, 5, 5), "劳动节"),
    (D(2026, 6, 19), D(2026, 6, 21), "端午节"), (D(2026, 9, 25), D(2026, 9, 27), "中秋节"),
    (D(2026, 10, 1), D(2026, 10, 7), "国庆节"),
]
CHINA_MAKE_UP_DAYS = [
    (D(2025, 1, 26), "春节调休"), (D(2025, 2, 8), "春节调休"), (D(2025, 4, 27), "劳动节调休"),
    (D(2025, 9, 28), "国庆节调休"), (D(2025, 10, 11), "国庆节调休"),
    (D(2026, 1, 4), "元旦调休"), (D(2026, 2, 14), "春节调休"), (D(2026, 2, 28), "春节调休"),
    (D(2026, 5, 9), "劳动节调休"), (D(2026, 9, 20), "国庆节调休"), (D(2026, 10, 10), "国庆节调休"),
]
DESK_HOURS = [["09:00", "12:00"], ["13:00", "18:00"]]


def china_days() -> list[dict]:
    """China's public holidays and make-up working days as calendar days for create_calendar."""
    days = []
    for first, last, name in CHINA_HOLIDAYS:
        day = first
        while day <= last:
            days.append({"date": day, "kind": "holiday", "name": name})
            day += dt.timedelta(days=1)
    days += [{"date": day, "kind": "workday", "name": name, "hours": DESK_HOURS} for day, name in CHINA_MAKE_UP_DAYS]
    return days


def load_sla(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    """Calendars and SLA policies of the demo service desk (seed-independent: configuration, not history)."""
    desk = sla_config.create_calendar(
        by=None, name="上海客服中心 Shanghai service desk", time_zone="Asia/Shanghai",
        weekly_hours={day: DESK_HOURS for day in ("mon", "tue", "wed", "thu", "fri")},
        days=china_days(), is_default=True,
    )
    hotline = sla_config.create_calendar(
        by=None, name="VIP 热线 7×24", time_zone="Asia/Shanghai",
        weekly_hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    policies = [
        sla_config.create_policy(by=None, name="VIP 贵宾", position=10, customer_vip=True, calendar=hotline,
                                 first_response_minutes=30, next_response_minutes=60, resolution_minutes=8 * 60,
                                 warning_percent=75, warning_notify_lead=True, breach_raise_priority=True),
        sla_config.create_policy(by=None, name="紧急 Urgent", position=20, priorities=[4], calendar=desk,
                                 first_response_minutes=60, next_response_minutes=120, resolution_minutes=8 * 60,
                                 breach_raise_priority=False),
        sla_config.create_policy(by=None, name="投诉 Complaints", position=30, kinds=["complaint"], calendar=desk,
                                 first_response_minutes=120, next_response_minutes=240, resolution_minutes=3 * 9 * 60,
                                 breach_raise_priority=True),
        sla_config.create_policy(by=None, name="标准 Standard", position=90, calendar=desk,
                                 first_response_minutes=4 * 60, next_response_minutes=8 * 60,
                                 resolution_minutes=5 * 9 * 60),
    ]
    loader.counts[BusinessCalendar._meta.label_lower] = 2
    loader.counts[SlaPolicy._meta.label_lower] = len(policies)
    loader.say(f"SLA: 2 business calendars ({len(china_days())} holidays and make-up days), "
               f"{len(policies)} policies.")
