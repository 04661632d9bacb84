"""The improvement story the demo's service history tells, in one place: when things happened.

Three things are planted in the tickets so that the improvement engine finds them on its own:

- a slow step: "diagnose" in the after-sales repair process takes about three times its target
  (the engineers' remote check waits for a free engineer) — the top bottleneck of process mining;
- a regional problem: over the last RISE_WEEKS weeks the courier's South China hub fell behind and
  late-delivery complaints from Guangdong rise week by week — a run rule on the control chart of
  complaints in that region, whose limits come from the weeks before;
- a finished improvement: before complaint process v2, complaints waited for the complaints team's
  call back (first response after about two and a half hours); v2 (published VERSION_TWO_WEEKS_AGO
  weeks ago) has the agent who takes the complaint acknowledge and call within 30 minutes. The PDCA
  cycle that made that change compares first response times before and after and finds it significant.
"""

from __future__ import annotations

import datetime as dt

from loopcrm.demo.calendar import DemoCalendar

SLOW_STEP = ("repair", "diagnose")
SLOW_FACTOR = 3.0  # the slow step takes about this many times its target

REGION_PROVINCE = "广东省"
RISE_WEEKS = 9
REGION_BASELINE_WEEKS = 26  # the chart's phase I: the half year before the rise

VERSION_TWO_WEEKS_AGO = 20
CYCLE_WINDOW_WEEKS = 12  # before and after windows of the PDCA cycle's Check
SETTLE_DAYS = 7  # the first week after the change is left out of the after window

# Median minutes to the first response to a complaint, on any channel: the complaints team's call back
# (before v2) and the first agent's acknowledgement call (v2).
COMPLAINT_FIRST_RESPONSE = {1: 150.0, 2: 15.0}


def version_two_at(calendar: DemoCalendar) -> dt.datetime:
    """When the complaint process v2 was published (a Monday morning, VERSION_TWO_WEEKS_AGO weeks back)."""
    day = calendar.today - dt.timedelta(weeks=VERSION_TWO_WEEKS_AGO)
    day -= dt.timedelta(days=day.weekday())
    return calendar.at(day, 9)


def rise_start(calendar: DemoCalendar) -> dt.datetime:
    """Monday 00:00 of the first week of the Guangdong rise."""
    day = calendar.today - dt.timedelta(weeks=RISE_WEEKS)
    day -= dt.timedelta(days=day.weekday())
    return calendar.at(day)


def cycle_windows(calendar: DemoCalendar) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(before, after) windows of the demo cycle's Check, as inclusive (start, end) days."""
    change = version_two_at(calendar).astimezone(calendar.tz).date()
    before = (change - dt.timedelta(weeks=CYCLE_WINDOW_WEEKS), change - dt.timedelta(days=1))
    after_start = change + dt.timedelta(days=SETTLE_DAYS)
    return before, (after_start, after_start + dt.timedelta(weeks=CYCLE_WINDOW_WEEKS) - dt.timedelta(days=1))


def region_baseline(calendar: DemoCalendar) -> tuple[dt.date, dt.date]:
    """The control chart's baseline (phase I) days: the REGION_BASELINE_WEEKS weeks before the rise."""
    start = rise_start(calendar).date()
    return start - dt.timedelta(weeks=REGION_BASELINE_WEEKS), start - dt.timedelta(days=1)
