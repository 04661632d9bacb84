"""The metric registry's daily roll-up: closed days read from it plus the rest live equal the live computation.

A seeded random service desk over three weeks: tickets of both departments and none, assigned inside and
outside their department (an agent's scope is "my department, or assigned to me"), opened at random
minutes including around local midnight, with random milestones, reopenings, repeats and SLA clocks in
every state. The roll-up is refreshed as of a day in the middle, so each window has closed days (from the
roll-up) and open ones (live). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from loopcrm.analytics import registry
from loopcrm.analytics.metrics import dashboard, rollup
from loopcrm.analytics.models import DailyFact, RollupState
from loopcrm.analytics.tasks import rebuild_rollup, refresh_rollup
from loopcrm.service.models import SlaClock, Ticket, TicketEvent
from loopcrm.service.services import sla_config
from loopcrm.service.services.events import record_event
from tests import factories

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
FIRST_DAY, TODAY = dt.date(2026, 3, 1), dt.date(2026, 3, 21)
ROLLED_AS_OF = dt.date(2026, 3, 14)  # the refresh's "today": days up to 13 March are rolled
KEYS = ["ticket_volume", "first_response_minutes", "resolution_minutes", "sla_attainment", "reopen_rate",
        "repeat_complaint_rate", "complaint_rate_orders"]


def random_desk(org, seed: int = 7, tickets: int = 160) -> list[Ticket]:
    rng = random.Random(seed)
    customers = [factories.customer(f"c{n}", owner=org.agent) for n in range(4)]
    calendar = sla_config.create_calendar(by=None, name="24/7", time_zone="Asia/Shanghai", weekly_hours={
        day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    policy = sla_config.create_policy(by=None, name="Standard", first_response_minutes=60, calendar=calendar)
    people = [org.agent, org.other_agent, org.lead, None]
    departments = [org.service, org.sales_east, org.head, None]
    made: list[Ticket] = []
    for _ in range(tickets):
        day = FIRST_DAY + dt.timedelta(days=rng.randrange((TODAY - FIRST_DAY).days + 1))
        minute = rng.choice([0, 1, 23 * 60 + 59, rng.randrange(24 * 60)])  # midnight edges, local
        opened = dt.datetime.combine(day, dt.time(), tzinfo=SH) + dt.timedelta(minutes=minute)
        assignee = rng.choice(people)
        # Mostly the assignee's own department, sometimes another one (seen by the assignee through "owner").
        department = assignee.department if assignee and rng.random() < 0.7 else rng.choice(departments)
        first = rng.choice([None, rng.randrange(1, 600)])
        resolved = rng.choice([None, None, rng.randrange(30, 5000)])
        reopened = rng.random() < 0.15
        ticket = Ticket.objects.create(
            subject="问题", customer=rng.choice(customers), assignee=assignee, department=department,
            kind=rng.choice(["complaint", "inquiry", "repair"]), channel=rng.choice(["phone", "email"]),
            opened_at=opened, first_response_at=opened + dt.timedelta(minutes=first) if first else None,
            resolved_at=opened + dt.timedelta(minutes=resolved) if resolved else None, reopen_count=int(reopened),
            repeat_of=rng.choice(made) if made and rng.random() < 0.2 else None,
            status=Ticket.Status.RESOLVED if resolved else Ticket.Status.OPEN)
        for metric in rng.sample([SlaClock.Metric.FIRST_RESPONSE, SlaClock.Metric.RESOLUTION], rng.randrange(3)):
            state = rng.choice(list(SlaClock.State))
            SlaClock.objects.create(
                ticket=ticket, metric=metric, policy=policy, calendar=calendar, target_minutes=60, state=state,
                started_at=opened + dt.timedelta(minutes=rng.randrange(0, 3)), due_at=opened + dt.timedelta(hours=1),
                breached=state == SlaClock.State.BREACHED or rng.random() < 0.2)
        made.append(ticket)
    return made


@pytest.fixture
def desk(org):
    return random_desk(org)


def figures(key, *, user=None, grain="day", filters=None, dimension=None, start=dt.date(2026, 3, 3), end=TODAY):
    """Everything a reader can get of a metric: (value, numerator, denominator, n, stdev) per bucket."""
    def point(p):
        return (p.value, p.numerator, p.denominator, p.n, p.stdev)

    if dimension is not None:
        return {cut.key: ([point(p) for p in cut.points], point(cut.total))
                for cut in registry.cuts(key, dimension, start=start, end=end, grain=grain, filters=filters, user=user,
                                         limit=50)}
    if grain is None:
        return point(registry.total(key, start=start, end=end, filters=filters, user=user))
    return [point(p) for p in registry.series(key, start=start, end=end, grain=grain, filters=filters, user=user)]


def approx(figure):
    """Sums are added in another order from the roll-up: equal up to float rounding."""
    if isinstance(figure, dict):
        return {key: approx(value) for key, value in figure.items()}
    if isinstance(figure, list | tuple):
        return type(figure)(approx(value) for value in figure)
    return pytest.approx(figure, rel=1e-9, abs=1e-9) if isinstance(figure, float) else figure


def all_figures(org, cases):
    return [figures(key, **kwargs) for key, kwargs in cases(org)]


def cases(org):
    users = [None, org.admin, org.agent, org.other_agent, org.lead, org.exec]
    for key in KEYS:
        for user in users:
            for grain in ("day", "week", "month", None):
                yield key, {"user": user, "grain": grain}
        if key == "complaint_rate_orders":
            continue  # cut by customer dimensions only
        for dimension in ("department", "agent", "team"):
            yield key, {"user": org.agent, "dimension": dimension}
            yield key, {"dimension": dimension, "grain": "week"}
        yield key, {"filters": {"department": org.service.pk}}
        yield key, {"user": org.other_agent, "filters": {"agent": org.agent.pk}}
        yield key, {"filters": {"team": org.hotline.pk}, "grain": None}
        yield key, {"filters": {"channel": "phone"}}  # not a roll-up dimension: live all along


def test_rolled_days_plus_live_days_equal_the_live_computation_for_every_cut_bucket_and_user(desk, org):
    live = all_figures(org, cases)
    done = rollup.refresh(today=ROLLED_AS_OF)
    assert {d.source for d in done} == {"tickets.opened_at", "clocks.started_at"}
    assert all(d.rebuilt and d.rolled_through == ROLLED_AS_OF - dt.timedelta(days=1) for d in done)
    assert DailyFact.objects.filter(source="tickets.opened_at").exists()

    assert all_figures(org, cases) == approx(live)


def test_the_roll_up_is_what_answers_closed_days(desk, org):
    """Given a refreshed roll-up, when its rows are altered, the closed days' figures follow them (so the
    equality above is the roll-up's, not the live statement's) and today's do not."""
    rollup.refresh(today=ROLLED_AS_OF)
    layout = rollup.layouts()["tickets.opened_at"]
    volume = layout.slot("ticket_volume", "num")
    before = figures("ticket_volume")
    DailyFact.objects.filter(source=layout.key, day=dt.date(2026, 3, 5)).update(**{f"v{volume}": 1000.0})
    after = figures("ticket_volume")
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [2]  # 5 March, the third day of the window
    assert after[2][0] >= 1000.0


def test_a_changed_definition_or_another_time_zone_is_not_read_from_the_roll_up(desk, org):
    live = figures("first_response_minutes", grain="week")
    rollup.refresh(today=ROLLED_AS_OF)
    DailyFact.objects.update(v0=1e6, v1=1e6, v2=1e6, v3=1e6, v4=1e6, v5=1e6)
    RollupState.objects.update(layout="another definition")
    assert figures("first_response_minutes", grain="week") == approx(live)

    RollupState.objects.update(layout=rollup.fingerprint(rollup.layouts()["tickets.opened_at"]))
    with timezone.override("Europe/Berlin"):  # a reader whose days are other days: live
        berlin_live = figures("ticket_volume")
        RollupState.objects.update(zone="UTC")
        assert figures("ticket_volume") == berlin_live


def test_a_late_change_to_a_closed_day_is_picked_up_by_the_refresh(desk, org):
    """Given the roll-up through 13 March, when a ticket opened between 5 and 12 March is resolved and reassigned later
    (leaving ticket events), then the next refresh re-rolls that day only and the figures equal live again."""
    rollup.refresh(today=ROLLED_AS_OF)
    ticket = (Ticket.objects.filter(opened_at__date__range=(dt.date(2026, 3, 5), dt.date(2026, 3, 12)),
                                    resolved_at__isnull=True, assignee=org.agent, department=org.service,
                                    sla_clocks__isnull=False).order_by("opened_at").first())
    assert ticket is not None
    ticket.resolved_at, ticket.reopen_count, ticket.assignee = ticket.opened_at + dt.timedelta(hours=5), 1, \
        org.other_agent
    ticket.department = org.sales_east
    ticket.save(update_fields=["resolved_at", "reopen_count", "assignee", "department", "updated_at"])
    SlaClock.objects.filter(ticket=ticket).update(state=SlaClock.State.MET, breached=False)
    record_event(ticket, TicketEvent.Kind.STATUS, by=org.agent, field="status", old="open", new="resolved")
    record_event(ticket, TicketEvent.Kind.ASSIGNED, by=org.agent, old=org.agent.pk, new=org.other_agent.pk)
    # The pure live computation, with the roll-up set aside.
    state = list(RollupState.objects.values())
    RollupState.objects.all().delete()
    live = [figures(key, user=user) for key in KEYS for user in (None, org.agent, org.other_agent)]
    RollupState.objects.bulk_create([RollupState(**row) for row in state])
    assert [figures(key, user=user) for key in KEYS for user in (None, org.agent, org.other_agent)] != approx(live)

    done = rollup.refresh(today=ROLLED_AS_OF)

    assert [d.days for d in done] == [1, 1]  # the ticket's opening day (and its clocks' start day) only
    assert [figures(key, user=user) for key in KEYS for user in (None, org.agent, org.other_agent)] == approx(live)


def test_new_closed_days_roll_forward_and_a_full_rebuild_catches_changes_without_events(desk, org):
    rollup.refresh(today=ROLLED_AS_OF)
    live = figures("resolution_minutes", user=org.agent)
    result = refresh_rollup()  # the scheduler's job: up to yesterday of the real today
    assert {s["rolled_through"] for s in result.values()} == {(timezone.localdate() - dt.timedelta(days=1)).isoformat()}
    assert figures("resolution_minutes", user=org.agent) == approx(live)

    Ticket.objects.filter(opened_at__date=dt.date(2026, 3, 6)).delete()  # leaves no event
    RollupState.objects.all().delete()
    live = figures("resolution_minutes", user=org.agent)
    rebuild_rollup()
    assert figures("resolution_minutes", user=org.agent) == approx(live)
    assert RollupState.objects.filter(rebuilt_at__isnull=False).count() == 2


def test_the_dashboard_reads_closed_days_from_the_roll_up_in_two_statements(desk, org, django_assert_num_queries):
    """The dashboard's window ends today: tickets and clocks each cost a roll-up read plus today's live rows."""
    args = {"start": dt.date(2026, 3, 8), "end": ROLLED_AS_OF, "user": org.agent}
    live = dashboard.dashboard(**args)
    rollup.refresh(today=ROLLED_AS_OF)
    # roll-up state; tickets: roll-up + today live; clocks: roll-up + today live; orders; answers
    with django_assert_num_queries(7):
        rolled = dashboard.dashboard(**args)
    def cards(board):
        return [[(p.value, p.numerator, p.denominator, p.n, p.stdev) for p in (k.current, k.previous, *k.points)]
                for k in board.kpis]

    assert cards(rolled) == approx(cards(live))
