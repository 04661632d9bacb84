"""What the workbench and the reports read: clock summaries without N+1, "breaching soon", and SLA
attainment per policy, team and agent on a hand-made set of tickets."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.service.models import SlaClock, Ticket
from loopcrm.service.queries.sla import (
    attainment,
    clock_summaries,
    lead_clocks,
    ticket_clocks,
    tickets_breaching_soon,
)
from loopcrm.service.services import sla
from loopcrm.service.services.sla_config import update_calendar
from tests.service.sla_support import calendar, opened, policy, set_status, sh

pytestmark = pytest.mark.django_db

FIRST, NEXT, RESOLUTION = SlaClock.Metric.FIRST_RESPONSE, SlaClock.Metric.NEXT_RESPONSE, SlaClock.Metric.RESOLUTION
MONDAY_10 = sh(2026, 3, 9, 10)
M = dt.timedelta(minutes=1)


def test_summaries_show_remaining_business_time_frozen_while_paused(org):
    policy()
    running, paused, answered = (opened(MONDAY_10) for _ in range(3))
    set_status(paused, Ticket.Status.PENDING, at=sh(2026, 3, 9, 10, 20))
    sla.on_public_reply(answered, by=org.agent, at=sh(2026, 3, 9, 10, 15))

    summaries = clock_summaries([running, paused, answered, 999_999], at=sh(2026, 3, 9, 11, 30))
    assert summaries[999_999] == []
    first, resolution = summaries[running.pk]
    assert (first.metric, resolution.metric) == (FIRST, RESOLUTION)
    assert first.remaining == -30 * M and first.elapsed == 90 * M and first.percent_used == 150
    assert resolution.remaining == dt.timedelta(hours=6, minutes=30)  # due Tuesday 10:00
    assert summaries[paused.pk][0].remaining == 40 * M  # frozen at 10:20
    assert summaries[paused.pk][0].state == SlaClock.State.PAUSED
    met = summaries[answered.pk][0]
    assert (met.state, met.remaining, met.elapsed, met.is_open) == ("met", None, 15 * M, False)
    # Lunch does not count: at 13:00 a clock due at 12:30 business time is as overdue as at 12:00.
    assert ticket_clocks(running, at=sh(2026, 3, 9, 12))[0].remaining == ticket_clocks(
        running, at=sh(2026, 3, 9, 13))[0].remaining == -60 * M


def test_summaries_of_a_page_of_tickets_cost_one_query(org, django_assert_max_num_queries):
    policy()
    tickets = [opened(MONDAY_10 + n * M) for n in range(25)]
    clock_summaries(tickets[:1], at=MONDAY_10)  # the calendar is read once per process
    with django_assert_max_num_queries(1):
        summaries = clock_summaries(tickets, at=sh(2026, 3, 9, 10, 30))
    assert sum(len(clocks) for clocks in summaries.values()) == 50


def test_a_list_shows_the_open_clock_due_first_else_the_last(org, django_assert_max_num_queries):
    policy()
    running, paused, answered = (opened(MONDAY_10) for _ in range(3))
    set_status(paused, Ticket.Status.PENDING, at=sh(2026, 3, 9, 10, 20))
    sla.on_public_reply(answered, by=org.agent, at=sh(2026, 3, 9, 10, 15))
    set_status(answered, Ticket.Status.RESOLVED, at=sh(2026, 3, 9, 10, 30))
    at = sh(2026, 3, 9, 11, 30)
    with django_assert_max_num_queries(1):
        leads = lead_clocks([running, paused, answered, 999_999], at=at)
    every = clock_summaries([running, paused, answered], at=at)
    assert leads[999_999] is None
    assert leads[running.pk] == every[running.pk][0]  # first response: open and due first
    assert leads[paused.pk] == every[paused.pk][0] and leads[paused.pk].remaining == 40 * M
    # Every clock ended: the last one (resolution), as the full summaries give it.
    assert all(clock.remaining is None for clock in every[answered.pk])
    assert leads[answered.pk] == every[answered.pk][-1] and leads[answered.pk].metric == RESOLUTION


def test_a_calendar_change_is_seen_by_the_next_summary(org):
    desk = calendar()
    policy(calendar=desk)
    new = opened(MONDAY_10)
    assert ticket_clocks(new, at=sh(2026, 3, 9, 10, 30))[0].remaining == 30 * M
    update_calendar(desk, by=None, changes={"weekly_hours": {"mon": [["09:00", "10:40"], ["10:50", "18:00"]]}})
    assert ticket_clocks(new, at=sh(2026, 3, 9, 10, 30))[0].remaining == 20 * M


def test_breaching_soon_finds_ticking_clocks_due_within_the_window(org):
    policy()
    soon = opened(MONDAY_10)                              # first response due 11:00
    later = opened(sh(2026, 3, 9, 10, 50))                # due 11:50
    paused = opened(MONDAY_10)
    set_status(paused, Ticket.Status.PENDING, at=sh(2026, 3, 9, 10, 5))
    overdue = opened(sh(2026, 3, 9, 9, 0))                # due 10:00
    sla.check_clock(SlaClock.objects.get(ticket=overdue, metric=FIRST).pk, at=sh(2026, 3, 9, 10, 30))
    answered = opened(MONDAY_10)
    sla.on_public_reply(answered, by=org.agent, at=sh(2026, 3, 9, 10, 10))

    everything = Ticket.objects.all()
    at = sh(2026, 3, 9, 10, 40)
    found = set(tickets_breaching_soon(everything, 30 * M, at).values_list("pk", flat=True))
    assert found == {soon.pk, overdue.pk}
    found = set(tickets_breaching_soon(everything, 30 * M, at, include_breached=False).values_list("pk", flat=True))
    assert found == {soon.pk}
    assert later.pk in set(tickets_breaching_soon(everything, 80 * M, at).values_list("pk", flat=True))


@pytest.fixture
def handmade(org):
    """Four tickets opened Monday 10:00 under two policies, one the week before; checked at 17:00."""
    complaints = policy("Complaints", position=1, kinds=["complaint"])
    everyone = policy("Everyone", position=2)
    t1 = opened(MONDAY_10, kind="complaint", assignee=org.agent)
    sla.on_public_reply(t1, by=org.agent, at=sh(2026, 3, 9, 10, 30))          # 30 min: on time
    set_status(t1, Ticket.Status.RESOLVED, at=sh(2026, 3, 9, 15))             # 4 h: on time
    t2 = opened(MONDAY_10, kind="complaint", assignee=org.agent)
    sla.on_public_reply(t2, by=org.agent, at=sh(2026, 3, 9, 12, 30))          # 2 h: late
    set_status(t2, Ticket.Status.RESOLVED, at=sh(2026, 3, 10, 11))            # 9 h: late
    t3 = opened(MONDAY_10, assignee=org.other_agent)
    sla.on_public_reply(t3, by=org.other_agent, at=sh(2026, 3, 9, 10, 10))    # 10 min: on time
    opened(MONDAY_10)                                                          # nobody answers
    opened(sh(2026, 3, 2, 10), kind="complaint", assignee=org.agent)          # the week before
    sla.check_due_clocks(sh(2026, 3, 9, 17))
    return complaints, everyone


def _table(rows):
    return {(row.name, row.metric): (row.total, row.met, row.breached, row.open, row.attainment, row.avg_minutes)
            for row in rows}


WEEK = {"start": sh(2026, 3, 9), "end": sh(2026, 3, 16)}


def test_attainment_per_policy(org, handmade):
    table = _table(attainment(org.exec, group_by="policy", **WEEK))
    assert table == {
        ("Complaints", FIRST): (2, 1, 1, 0, 50.0, 75.0),
        ("Complaints", RESOLUTION): (2, 1, 1, 0, 50.0, 390.0),
        ("Everyone", FIRST): (2, 1, 1, 0, 50.0, 10.0),
        ("Everyone", RESOLUTION): (2, 0, 0, 2, None, None),
    }


def test_attainment_per_agent_and_team(org, handmade):
    by_agent = _table(attainment(org.exec, group_by="agent", metric=FIRST, **WEEK))
    assert by_agent == {
        ("王芳", FIRST): (2, 1, 1, 0, 50.0, 75.0),
        ("Tom Baker", FIRST): (1, 1, 0, 0, 100.0, 10.0),
        ("Unassigned", FIRST): (1, 0, 1, 0, 0.0, None),
    }
    by_team = _table(attainment(org.exec, group_by="team", metric=FIRST, **WEEK))
    assert by_team == {
        ("Hotline 热线组", FIRST): (2, 1, 1, 0, 50.0, 75.0),
        ("Unassigned", FIRST): (2, 1, 1, 0, 50.0, 10.0),  # no team: Tom Baker's ticket and the unassigned one
    }


def test_attainment_counts_only_tickets_the_reader_may_see_and_the_period(org, handmade):
    mine = _table(attainment(org.other_agent, group_by="agent", **WEEK))
    assert set(mine) == {("Tom Baker", FIRST), ("Tom Baker", RESOLUTION)}
    earlier = _table(attainment(org.exec, group_by="policy", start=sh(2026, 3, 2), end=sh(2026, 3, 9)))
    assert earlier[("Complaints", FIRST)][0] == 1
