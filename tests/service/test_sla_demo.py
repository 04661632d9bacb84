"""The demo's SLA configuration loads, and its calendar knows the 2026 Spring Festival and its 调休 days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.sla import load_sla
from loopcrm.service.businesstime import add_business_time
from loopcrm.service.models import BusinessCalendar, SlaPolicy
from loopcrm.service.queries.sla import pure_calendar

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")


def test_the_demo_desk_skips_the_spring_festival_and_works_the_make_up_saturday():
    loader = Loader(calendar=DemoCalendar.ending(dt.date(2026, 11, 23), SH), progress=lambda message: None)
    load_sla(loader, staff=None, calendar=loader.calendar, seed=1)
    desk = BusinessCalendar.objects.get(is_default=True)
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["VIP 贵宾", "紧急 Urgent", "投诉 Complaints",
                                                                      "标准 Standard"]
    friday = dt.datetime(2026, 2, 13, 17, tzinfo=SH)
    # Friday 17:00 + 2 h: an hour on Friday, an hour on Saturday 14 Feb (调休), then the festival is off.
    assert add_business_time(friday, dt.timedelta(hours=2), pure_calendar(desk)) == dt.datetime(2026, 2, 14, 10,
                                                                                                tzinfo=SH)
    assert add_business_time(friday, dt.timedelta(hours=10), pure_calendar(desk)) == dt.datetime(2026, 2, 24, 10,
                                                                                                 tzinfo=SH)
