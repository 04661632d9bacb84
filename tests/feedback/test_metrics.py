"""Metrics through SQL and the API against hand-computed tables; scopes; minimum-sample warnings; breakdowns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopcrm.feedback import queries
from loopcrm.feedback.models import Response, SurveyKind
from tests import factories
from tests.feedback.conftest import answered, make_survey


@pytest.fixture
def table(org, settings):
    """NPS: 50 promoters, 30 passives, 20 detractors over 100 customers (hand-computed NPS 30, 14.05 … 44.20)."""
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    survey = make_survey(org.admin, SurveyKind.NPS)
    scores = [10] * 30 + [9] * 20 + [8] * 15 + [7] * 15 + [5] * 10 + [0] * 10
    for index, score in enumerate(scores):
        customer = factories.customer(f"客户{index}", email=f"c{index}@example.com", department=org.service)
        answered(survey, customer, score, agent=org.agent if index % 2 == 0 else org.lead, department=org.service)
    return survey


def test_nps_with_interval_from_sql_matches_the_hand_computed_table(org, table):
    scores = queries.overall(org.admin, queries.MetricFilter())
    assert scores.nps.n == 100
    assert scores.nps.value == pytest.approx(30.0)
    assert scores.nps.low == pytest.approx(14.05, abs=0.02)
    assert scores.nps.high == pytest.approx(44.20, abs=0.02)


def test_the_api_answers_the_same_and_response_rate(org, table, api_as):
    body = api_as("admin").get("feedback/metrics").json()
    assert body["scores"]["nps"]["value"] == pytest.approx(30.0)
    assert body["scores"]["nps"]["low"] == pytest.approx(14.05, abs=0.02)
    assert body["scores"]["csat"]["value"] is None and body["scores"]["csat"]["n"] == 0
    assert body["response_rate"] == {"sent": 100, "answered": 100, "rate": 100.0}
    assert body["distribution"]["nps"]["10"] == 30


def test_breakdown_by_agent_warns_below_the_minimum(org, table, api_as):
    rows = api_as("admin").get("feedback/metrics/breakdown", by="agent", minimum=60).json()
    assert {row["label"] for row in rows} == {"王芳", "李娜"}
    assert all(row["nps"]["value"] is None and "minimum 60" in row["nps"]["warning"] for row in rows)
    rows = api_as("admin").get("feedback/metrics/breakdown", by="agent", minimum=30).json()
    assert all(row["nps"]["value"] is not None for row in rows)


def test_an_agent_sees_only_answers_about_their_own_tickets(org, table, api_as):
    body = api_as("agent").get("feedback/metrics", minimum=1).json()
    assert body["scores"]["nps"]["n"] == 50
    assert api_as("other_agent").get("feedback/metrics").json()["scores"]["nps"]["n"] == 0


def test_csat_and_ces_from_sql(org, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    csat = make_survey(org.admin, SurveyKind.CSAT)
    ces = make_survey(org.admin, SurveyKind.CES)
    for index, score in enumerate([5, 5, 4, 3, 1]):
        answered(csat, factories.customer(email=f"a{index}@example.com"), score)
    for index, score in enumerate([1, 2, 6, 7]):
        answered(ces, factories.customer(email=f"b{index}@example.com"), score)
    scores = queries.overall(org.admin, queries.MetricFilter(), minimum=1)
    assert scores.csat.value == pytest.approx(60.0)  # 3 of 5 answered 4 or 5
    assert scores.ces.value == pytest.approx(4.0)  # (1+2+6+7)/4
    assert scores.low_effort.value == pytest.approx(50.0)  # 2 of 4 at 3 or below
    assert queries.overall(org.admin, queries.MetricFilter()).csat.warning  # 5 answers < 30


def test_trend_by_month_and_roll_up_to_organisations(org, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    survey = make_survey(org.admin, SurveyKind.NPS)
    company = factories.customer("上海宏达贸易有限公司", kind="organisation", email="info@hongda.example.com")
    now = timezone.now()
    answered(survey, company, 10, at=now - dt.timedelta(days=40))
    answered(survey, company, 3, at=now)
    trend = queries.trend(org.admin, queries.MetricFilter(), period="month", minimum=1)
    assert len(trend) == 2 and trend[0].nps.value == 100 and trend[1].nps.value == -100
    rows = queries.breakdown(org.admin, queries.MetricFilter(), "organisation", minimum=1)
    assert rows[0].label == "上海宏达贸易有限公司" and rows[0].nps.n == 2 and rows[0].nps.value == 0


def test_bad_metric_parameters_are_refused(org, api_as):
    client = api_as("admin")
    assert client.get("feedback/metrics/breakdown", by="shoe_size").status_code == 422
    assert client.get("feedback/metrics/trend", period="year").status_code == 422
    assert client.get("feedback/metrics", since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z").status_code == 422
    assert client.get("feedback/metrics", minimum=0).status_code == 422


def test_latest_scores_of_a_customer(org, customer, nps_survey):
    assert queries.latest_scores_of(customer).empty
    answered(nps_survey, customer, 4, comment="等了一个星期才送到，太慢了")
    latest = queries.latest_scores_of(customer)
    assert latest.nps == 4 and latest.responses == 1
    assert latest.comments[0].sentiment == "negative"


def test_the_dashboard_page_renders_with_figures_and_bounded_queries(org, table, client,
                                                                    django_assert_max_num_queries):
    client.force_login(org.admin)
    with django_assert_max_num_queries(20):
        response = client.get("/feedback/?by=agent")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="fig-trend"' in html and "vendor/plotly.min.js" in html
    assert Response.objects.count() == 100


def test_the_360_slot_fragment_renders_latest_scores(org, customer, nps_survey):
    from django.template.loader import render_to_string

    answered(nps_survey, customer, 9, comment="送货很快，安装师傅很专业")
    html = render_to_string("feedback/_customer_scores.html", {"scores": queries.latest_scores_of(customer)})
    assert ">9<" in html and "安装师傅很专业" in html


def _trend_by_truncation(user, filters, period):
    """The definition: every answer in the day/week/month of its local time (TruncDay/TruncWeek/TruncMonth)."""
    rows = (queries.filter_responses(queries.responses_for(user), filters)
            .annotate(period=queries.PERIODS[period]("answered_at")).values("period")
            .annotate(**queries.AGGREGATES).order_by("period"))
    return [queries.scores_from(row, label=row["period"].date().isoformat(), key=row["period"], minimum=1).as_dict()
            for row in rows]


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_trend_periods_are_the_local_truncations_at_their_edges(org, settings, period):
    """On PostgreSQL the trend places answers by binary search over the local period starts; the periods,
    keys and every figure must equal the per-row time-zone truncation, also a second either side of an edge."""
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    surveys = {kind: make_survey(org.admin, kind) for kind in (SurveyKind.NPS, SurveyKind.CSAT, SurveyKind.CES)}
    zone = timezone.get_current_timezone()
    edges = [dt.datetime(2026, 3, 1, tzinfo=zone), dt.datetime(2026, 3, 2, tzinfo=zone),  # a month start, a Monday
             dt.datetime(2026, 3, 31, tzinfo=zone), dt.datetime(2026, 4, 1, tzinfo=zone)]
    one = dt.timedelta(seconds=1)
    moments = [edge + shift for edge in edges for shift in (-one, dt.timedelta(0), one)]
    scores = {SurveyKind.NPS: [10, 3, 9, 7, 0, 6], SurveyKind.CSAT: [5, 1, 4, 2], SurveyKind.CES: [1, 7, 3, 5, 2]}
    for index, at in enumerate(moments):
        kind = list(scores)[index % 3]
        score = scores[kind][index % len(scores[kind])]
        answered(surveys[kind], factories.customer(email=f"t{index}@example.com"), score, at=at)
    filters = queries.MetricFilter(since=dt.datetime(2026, 2, 20, tzinfo=zone),
                                   until=dt.datetime(2026, 4, 2, tzinfo=zone))
    got = [row.as_dict() for row in queries.trend(org.admin, filters, period=period, minimum=1)]
    assert got == _trend_by_truncation(org.admin, filters, period)
    assert sum(row["nps"]["n"] + row["csat"]["n"] + row["ces"]["n"] for row in got) == len(moments)


def test_period_starts_are_local_day_monday_and_month_starts():
    zone = timezone.get_current_timezone()
    since, until = dt.datetime(2026, 1, 30, 23, tzinfo=zone), dt.datetime(2026, 3, 1, tzinfo=zone)
    assert queries.period_starts(since, until, "month") == [dt.datetime(2026, 1, 1, tzinfo=zone),
                                                            dt.datetime(2026, 2, 1, tzinfo=zone)]
    weeks = queries.period_starts(since, until, "week")
    assert weeks[0] == dt.datetime(2026, 1, 26, tzinfo=zone) and all(start.weekday() == 0 for start in weeks)
    assert len(queries.period_starts(since, until, "day")) == 30  # 30 January … 28 February
