"""The dashboards' daily roll-up: every figure read through it equals the figure read from the answers
themselves, for random answers, every filter, every scope and windows cut mid-day; deleting answers
(a customer erased) counts them down; concurrent answers lose no increment; a rebuild repairs damage.
Run on SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.models import F
from django.utils import timezone

from loopcrm.customers.services import delete_customer
from loopcrm.feedback import queries, rollup, services
from loopcrm.feedback.models import AnswerDay, Invitation, Response, RollupState, SurveyKind, Trigger
from loopcrm.feedback.services import rollup as rollup_services
from loopcrm.service.models import Ticket, TicketCategory
from tests import factories
from tests.feedback.conftest import make_survey

NOW = timezone.now().replace(microsecond=0)


def answer(survey, customer, score, *, at, agent=None, department=None, category=None, channel="phone",
           touchpoint="") -> Response:
    """One complete answer through the token, about a ticket with these dimensions."""
    ticket = Ticket.objects.create(subject="咨询", customer=customer, assignee=agent, department=department,
                                   category=category, channel=channel, status=Ticket.Status.RESOLVED,
                                   opened_at=at - dt.timedelta(days=1), resolved_at=at - dt.timedelta(hours=2))
    invitation = services.invite(survey, customer, trigger=Trigger.MANUAL, send_after=at - dt.timedelta(hours=1),
                                 at=at - dt.timedelta(hours=1),
                                 source=services.invitations.Source(ticket=ticket, touchpoint=touchpoint))
    invitation = services.invitations.send_invitation(invitation, at=at - dt.timedelta(hours=1))
    rating = survey.current_version.questions.get(position=1)
    token = services.invitations.make_token(invitation)
    return services.save_answers(token, {f"q{rating.pk}": score}, submit=True, at=at)


@pytest.fixture
def world(org, settings):
    """Three surveys, two categories, and ~150 answers (plus unanswered invitations) spread over 40 days,
    some on local midnight; agents answer for departments not their own too."""
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    rollup_services.rebuild()  # built (empty) before the answers: from here on it is kept by the services
    rng = random.Random(4)
    surveys = [make_survey(org.admin, kind) for kind in (SurveyKind.NPS, SurveyKind.CSAT, SurveyKind.CES)]
    categories = [TicketCategory.objects.create(name="物流 Delivery", code="delivery"),
                  TicketCategory.objects.create(name="安装 Installation", code="installation")]
    zone = ZoneInfo(settings.TIME_ZONE)
    midnight = dt.datetime.combine(NOW.astimezone(zone).date() - dt.timedelta(days=3), dt.time(0), tzinfo=zone)
    customers = [factories.customer(f"客户{n}", email=f"c{n}@example.com") for n in range(40)]
    for n in range(150):
        survey = rng.choice(surveys)
        rating = survey.current_version.questions.get(position=1)
        at = NOW - dt.timedelta(seconds=rng.randrange(60, 40 * 86400))
        if n % 15 == 0:
            at = midnight + dt.timedelta(seconds=rng.choice([-1, 0, 1]))
        answer(survey, rng.choice(customers), rng.randint(rating.scale_min, rating.scale_max), at=at,
               agent=rng.choice([org.agent, org.lead, org.other_agent, None]),
               department=rng.choice([org.service, org.sales_east, org.head, None]),
               category=rng.choice([*categories, None]), channel=rng.choice(["phone", "email"]),
               touchpoint=rng.choice(["", "hotline", "delivery"]))
    for n in range(20):  # sent, never answered
        invitation = services.invite(surveys[0], customers[n], trigger=Trigger.MANUAL, send_after=NOW,
                                     at=NOW - dt.timedelta(days=n))
        services.invitations.send_invitation(invitation, at=NOW - dt.timedelta(days=n, hours=n))
    return {"surveys": surveys, "categories": categories, "customers": customers, "midnight": midnight}


def live(read):
    """The same read with the roll-up switched off (as before it is built): from the answers alone."""
    state = RollupState.objects.get()
    RollupState.objects.all().delete()
    try:
        return read()
    finally:
        state.save()


def figures(user, filters) -> dict:
    out = {
        "summary": dataclasses.asdict(queries.summary(user, filters, minimum=1)),
        "rate": dataclasses.asdict(queries.response_rate(user, filters)),
        "distribution": queries.distribution(user, filters, "nps"),
    }
    for by in rollup.ROLLED_UP:
        rows = [row.as_dict() for row in queries.breakdown(user, filters, by, minimum=1)]
        out[f"by_{by}"] = sorted(rows, key=lambda row: str(row["key"]))
    for period in ("day", "week", "month"):
        out[f"trend_{period}"] = [row.as_dict() for row in queries.trend(user, filters, period=period, minimum=1)]
    return out


def windows(world):
    midnight = world["midnight"]
    return [
        {},
        {"since": NOW - dt.timedelta(days=20, hours=5, minutes=7), "until": NOW - dt.timedelta(hours=9)},
        {"since": midnight, "until": midnight + dt.timedelta(days=2)},
        {"since": midnight - dt.timedelta(seconds=1), "until": midnight + dt.timedelta(days=1, seconds=1)},
        {"since": midnight + dt.timedelta(hours=1), "until": midnight + dt.timedelta(hours=20)},  # no whole day
    ]


def test_every_figure_from_the_roll_up_equals_the_answers_for_every_filter_and_scope(org, world):
    assert AnswerDay.objects.exists()
    service_dept, category = org.service, world["categories"][0]
    filters = [{}, {"survey_id": world["surveys"][0].pk}, {"department_id": service_dept.pk},
               {"department_id": org.head.pk}, {"channel": "email"}, {"touchpoint": "hotline"}, {"tier": ""},
               {"category": category.code}, {"category": "no-such-code"}, {"agent_id": org.agent.pk}]
    checked = 0
    for user in (org.admin, org.lead, org.agent, org.exec):
        for window in windows(world):
            for extra in filters:
                chosen = queries.MetricFilter(**window, **extra)
                assert figures(user, chosen) == live(lambda chosen=chosen, user=user: figures(user, chosen)), (
                    user.username, window, extra)
                checked += 1
    assert checked == 4 * 5 * 10


def test_the_roll_up_is_what_answers_the_admin_and_a_department_lead(org, world):
    window = (NOW - dt.timedelta(days=30), NOW)
    assert rollup.plan(org.admin, *window) is not None
    lead_plan = rollup.plan(org.lead, *window)
    assert lead_plan is not None and lead_plan.correction is not None  # the lead's own answers elsewhere, live
    assert rollup.plan(org.agent, *window) is None  # own scope: not a dimension of invitations, read live
    assert rollup.plan(org.agent, *window, agents=True).agent_id == org.agent.pk  # answers: AgentDay


def test_a_deleted_customer_is_counted_down_in_the_same_transaction(org, world):
    customer = next(c for c in world["customers"] if Response.objects.filter(customer=c, is_complete=True).exists())
    Ticket.objects.filter(customer=customer).update(customer=world["customers"][-1])  # tickets stay for the books
    before = queries.summary(org.admin, queries.MetricFilter()).scores.as_dict()
    delete_customer(customer, by=org.admin)
    assert rollup_services.check() == set()
    after = queries.summary(org.admin, queries.MetricFilter()).scores.as_dict()
    assert after == live(lambda: queries.summary(org.admin, queries.MetricFilter()).scores.as_dict())
    assert after != before
    assert figures(org.admin, queries.MetricFilter()) == live(lambda: figures(org.admin, queries.MetricFilter()))


def test_a_deleted_department_reads_as_none_like_its_answers(org, world):
    from loopcrm.accounts.models import Department

    empty = factories.department("临时 Temporary", code="temp", parent=org.head)
    survey = world["surveys"][0]
    answer(survey, world["customers"][0], 3, at=NOW - dt.timedelta(days=5), department=empty)
    Ticket.objects.filter(department=empty).update(department=org.service)
    Department.objects.filter(pk=empty.pk).delete()  # SET_NULL on the answers; the roll-up keeps the old id
    for extra in ({}, {"department_id": empty.pk}):
        chosen = queries.MetricFilter(**extra)
        assert figures(org.admin, chosen) == live(lambda chosen=chosen: figures(org.admin, chosen))


def test_a_damaged_roll_up_is_found_and_repaired_by_the_nightly_refresh(org, world):
    day = AnswerDay.objects.order_by("day").first().day
    AnswerDay.objects.filter(day=day).update(nps_9=F("nps_9") + 5, responses=F("responses") + 5)
    AnswerDay.objects.filter(day=day + dt.timedelta(days=1)).delete()
    damaged = rollup_services.check()
    assert day in damaged
    report = rollup_services.refresh()
    assert report["days_repaired"] == len(damaged)
    assert rollup_services.check() == set()
    assert figures(org.admin, queries.MetricFilter()) == live(lambda: figures(org.admin, queries.MetricFilter()))


def test_a_new_time_zone_is_read_live_until_rebuilt(org, world, settings):
    settings.TIME_ZONE = "Europe/London"
    with timezone.override(ZoneInfo("Europe/London")):
        assert rollup.plan(org.admin, NOW - dt.timedelta(days=30), NOW) is None
        call_command("feedback_rollup", "refresh")
        assert RollupState.objects.get().zone == "Europe/London"
        assert rollup.plan(org.admin, NOW - dt.timedelta(days=30), NOW) is not None
        chosen = queries.MetricFilter(since=NOW - dt.timedelta(days=25, hours=3), until=NOW)
        assert figures(org.admin, chosen) == live(lambda: figures(org.admin, chosen))


def test_the_check_command_fails_on_a_difference(org, world):
    call_command("feedback_rollup", "check")
    AnswerDay.objects.update(responses=F("responses") + 1)
    with pytest.raises(Exception, match="days differ"):
        call_command("feedback_rollup", "check")
    call_command("feedback_rollup", "rebuild")
    call_command("feedback_rollup", "check")


@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_on_one_day_lose_no_increment(org, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    rollup_services.rebuild()
    survey = make_survey(org.admin, SurveyKind.NPS)
    rating = survey.current_version.questions.get(position=1)
    at = NOW - dt.timedelta(hours=1)
    tokens = []
    for n in range(16):
        invitation = services.invite(survey, factories.customer(f"并发{n}", email=f"p{n}@example.com"),
                                     trigger=Trigger.MANUAL, send_after=at, at=at)
        tokens.append(services.invitations.make_token(services.invitations.send_invitation(invitation, at=at)))
    barrier = threading.Barrier(8)
    errors = []

    def work(mine):
        try:
            barrier.wait()
            for token in mine:
                for attempt in range(50):
                    try:
                        services.save_answers(token, {f"q{rating.pk}": 9}, submit=True, at=at)
                        break
                    except OperationalError as error:  # SQLite busy: a client's retry after 503
                        if "locked" not in str(error).lower() or attempt == 49:
                            raise
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(tokens[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    row = AnswerDay.objects.get(survey_id=survey.pk)
    assert (row.responses, row.nps_9) == (16, 16)
    assert Invitation.objects.filter(survey=survey, answered_at__isnull=False).count() == 16
    assert rollup_services.check() == set()


def test_the_nightly_job_builds_a_missing_roll_up(org, world):
    from loopcrm.feedback.tasks import refresh_rollup

    RollupState.objects.all().delete()
    AnswerDay.objects.all().delete()
    assert rollup.plan(org.admin, NOW - dt.timedelta(days=30), NOW) is None  # read live meanwhile
    refresh_rollup.enqueue()
    assert rollup.plan(org.admin, NOW - dt.timedelta(days=30), NOW) is not None
    assert rollup_services.check() == set()


def test_a_department_readers_own_answer_outside_it_counts_once_on_a_partial_day(org, settings):
    """The lead's own answer for another department, in the window's partial first day: read once (by the
    edge), not a second time by the scope's correction — a double count that showed only at some hours."""
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    rollup_services.rebuild()
    survey = make_survey(org.admin, SurveyKind.NPS)
    zone = ZoneInfo(settings.TIME_ZONE)
    midnight = dt.datetime.combine(NOW.astimezone(zone).date() - dt.timedelta(days=5), dt.time(0), tzinfo=zone)
    customer = factories.customer("客户甲", email="jia@example.com")
    answer(survey, customer, 9, at=midnight + dt.timedelta(hours=3), agent=org.lead, department=org.head)
    answer(survey, customer, 2, at=midnight + dt.timedelta(days=1, hours=3), agent=org.lead, department=org.head)
    window = queries.MetricFilter(since=midnight + dt.timedelta(hours=1), until=midnight + dt.timedelta(days=3))
    assert rollup.plan(org.lead, window.since, window.until) is not None  # the roll-up path is taken
    summary = queries.summary(org.lead, window, minimum=1)
    assert summary.scores.nps.n == 2
    assert queries.response_rate(org.lead, window).sent == 2
    assert figures(org.lead, window) == live(lambda: figures(org.lead, window))
