"""The metric registry on a hand-built week (tests/analytics/registry_data.py): each KPI against the value
worked out by hand, buckets and gaps, totals, samples for the PDCA Check, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.analytics import registry
from loopcrm.analytics.registry import Grain, MetricKind
from loopcrm.core.errors import RuleViolation
from tests.analytics.registry_data import END, START, build_desk

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = {
    "ticket_volume", "complaint_rate_orders", "complaint_rate_customers", "first_response_minutes",
    "resolution_minutes", "sla_attainment", "reopen_rate", "repeat_complaint_rate", "csat", "nps", "ces",
    "closed_loop_rate", "closed_loop_minutes", "churn_rate", "retention_rate", "repeat_purchase_rate", "average_clv",
}


@pytest.fixture
def desk(org):
    return build_desk(org)


def week_total(key, **kw):
    return registry.total(key, start=START, end=END, **kw)


def day(key, **kw):
    return registry.series(key, start=START, end=END, grain=Grain.DAY, **kw)


def test_every_contract_metric_is_defined_once_with_a_name_unit_and_dimensions():
    keys = [metric.key for metric in registry.metrics()]
    assert set(keys) >= CONTRACT_KEYS
    assert len(keys) == len(set(keys))
    for metric in registry.metrics():
        assert str(metric.name) and metric.unit and metric.dimensions
        assert set(metric.dimensions) <= set(registry.DIMENSIONS)
    assert registry.get("csat").kind == MetricKind.RATE
    assert "touchpoint" in registry.get("csat").dimensions
    assert "touchpoint" not in registry.get("first_response_minutes").dimensions


def test_an_unknown_metric_is_not_found():
    with pytest.raises(registry.UnknownMetric) as error:
        registry.get("happiness")
    assert error.value.status == 404


def test_ticket_volume_counts_each_day_and_the_empty_day_is_zero(desk):
    points = day("ticket_volume")
    assert [p.start for p in points] == [START + dt.timedelta(days=i) for i in range(7)]
    assert [p.value for p in points] == [2, 0, 2, 0, 0, 0, 0]
    assert week_total("ticket_volume").value == 4


def test_first_response_minutes_per_day_with_gaps_and_spread(desk):
    points = day("first_response_minutes")
    assert points[0].value == pytest.approx(60) and points[0].n == 2
    assert points[0].stdev == pytest.approx(42.426, abs=1e-3)  # sqrt(((30-60)² + (90-60)²) / 1)
    assert points[1].value is None and points[1].n == 0  # the gap on 3 March
    assert points[2].value == pytest.approx(120) and points[2].stdev is None
    total = week_total("first_response_minutes")
    assert total.value == pytest.approx(80) and total.n == 3 and total.numerator == pytest.approx(240)


def test_resolution_reopen_and_repeat_complaints(desk):
    assert week_total("resolution_minutes").value == pytest.approx(210)
    reopen = week_total("reopen_rate")
    assert (reopen.numerator, reopen.denominator, reopen.value) == (1, 2, pytest.approx(50))
    repeat = week_total("repeat_complaint_rate")
    assert (repeat.numerator, repeat.denominator, repeat.value) == (1, 2, pytest.approx(50))


def test_sla_attainment_counts_decided_clocks_only(desk):
    point = week_total("sla_attainment")
    assert (point.numerator, point.denominator, point.value) == (2, 4, pytest.approx(50))


def test_complaint_rates_per_thousand_orders_and_customers(desk):
    orders = week_total("complaint_rate_orders")
    assert (orders.numerator, orders.denominator, orders.value) == (2, 4, pytest.approx(500))
    assert [p.value for p in day("complaint_rate_orders")][:3] == [pytest.approx(500), None, pytest.approx(500)]
    customers = week_total("complaint_rate_customers")
    assert (customers.numerator, customers.denominator, customers.value) == (2, 8, pytest.approx(250))
    assert day("complaint_rate_customers")[2].denominator == 8


def test_csat_nps_ces(desk):
    csat = week_total("csat")
    assert (csat.numerator, csat.denominator) == (2, 3) and csat.value == pytest.approx(200 / 3)
    nps = week_total("nps")
    assert nps.value == pytest.approx(25) and nps.n == 4
    assert nps.stdev == pytest.approx(((3 * 100**2 - 100**2 / 4) / 3) ** 0.5)
    assert week_total("ces").value == pytest.approx(3)


def test_closed_loop_rate_and_time(desk):
    rate = week_total("closed_loop_rate")
    assert (rate.numerator, rate.denominator) == (1, 2)
    minutes = week_total("closed_loop_minutes")
    assert minutes.value == pytest.approx(30) and minutes.n == 1


def test_churn_retention_repeat_purchase_and_clv(desk):
    churn, kept = week_total("churn_rate"), week_total("retention_rate")
    assert (churn.numerator, churn.denominator, churn.value) == (1, 2, pytest.approx(50))
    assert (kept.numerator, kept.denominator, kept.value) == (1, 2, pytest.approx(50))
    days = day("churn_rate")
    assert (days[3].numerator, days[3].denominator) == (1, 4)  # 5 March
    assert (days[4].numerator, days[4].denominator, days[4].value) == (0, 3, 0)
    repeat = week_total("repeat_purchase_rate")
    assert (repeat.numerator, repeat.denominator) == (2, 4)
    assert week_total("average_clv").value == pytest.approx(1000)


def test_week_and_month_buckets_start_on_monday_and_the_first(desk):
    weeks = registry.series("ticket_volume", start=dt.date(2026, 2, 25), end=END, grain=Grain.WEEK)
    assert [(p.start, p.value) for p in weeks] == [(dt.date(2026, 2, 23), 0), (dt.date(2026, 3, 2), 4)]
    months = registry.series("first_response_minutes", start=dt.date(2026, 1, 15), end=END, grain="month")
    assert [p.start for p in months] == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert [p.value for p in months] == [None, None, pytest.approx(80)]


def test_filters_narrow_numerator_and_denominator(desk, org):
    assert week_total("ticket_volume", filters={"department": org.service.pk}).value == 2
    assert week_total("first_response_minutes", filters={"kind": "complaint"}).value == pytest.approx(75)
    assert week_total("ticket_volume", filters={"agent": str(org.other_agent.pk)}).value == 2
    assert week_total("ticket_volume", filters={"region": "北京市"}).value == 2
    beijing = week_total("complaint_rate_orders", filters={"region": "北京市"})
    assert (beijing.numerator, beijing.denominator) == (1, 1)
    assert week_total("csat", filters={"agent": org.agent.pk}).value == pytest.approx(100)
    assert week_total("average_clv", filters={"customer_tier": "high"}).value == pytest.approx(1000)


def test_cut_by_a_dimension_ranks_by_volume_and_labels_by_name(desk, org):
    by_agent = registry.series_by("ticket_volume", "agent", start=START, end=END)
    assert set(by_agent) == {"王芳", "Tom Baker"}
    assert [p.value for p in by_agent["王芳"]][:3] == [2, 0, 0]
    cuts = registry.cuts("first_response_minutes", "region", start=START, end=END, grain="week")
    assert [(c.label, c.total.value) for c in cuts] == [("上海市", pytest.approx(60)), ("北京市", pytest.approx(120))]
    kinds = registry.series_by("ticket_volume", "kind", start=START, end=END)
    assert set(kinds) == {"Complaint", "Inquiry"}
    churn = registry.cuts("churn_rate", "customer_tier", start=START, end=END)
    assert {c.key: (c.total.numerator, c.total.denominator) for c in churn}["low"] == (1, 1)


def test_scope_an_agent_sees_their_department_only(desk, org):
    assert week_total("ticket_volume", user=org.agent).value == 2
    assert week_total("ticket_volume", user=org.other_agent).value == 2
    assert week_total("ticket_volume", user=org.exec).value == 4
    assert week_total("sla_attainment", user=org.agent).denominator == 3  # t1 twice, t2
    assert week_total("first_response_minutes", user=org.other_agent).value == pytest.approx(120)


def test_samples_give_what_each_test_needs(desk):
    rate = registry.samples("sla_attainment", start=START, end=END)
    assert (rate.kind, rate.successes, rate.trials) == (MetricKind.RATE, 2, 4)
    durations = registry.samples("first_response_minutes", start=START, end=END)
    assert sorted(durations.values) == pytest.approx([30, 90, 120])
    nps = registry.samples("nps", start=START, end=END)
    assert sorted(nps.values) == [-100, 0, 100, 100]
    counts = registry.samples("ticket_volume", start=START, end=END)
    assert counts.values == [2, 0, 2, 0, 0, 0, 0]
    loop = registry.samples("closed_loop_minutes", start=START, end=END)
    assert loop.values == pytest.approx([30])


@pytest.mark.parametrize(("call", "field"), [
    (lambda: registry.series("csat", start=END, end=START), "end"),
    (lambda: registry.series("csat", start="2026-03-01", end=END), "start"),
    (lambda: registry.series("csat", start=START, end=END, grain="hour"), "grain"),
    (lambda: registry.series("csat", start=START, end=END, filters={"kind": "complaint"}), "filters.kind"),
    (lambda: registry.series("csat", start=START, end=END, filters={"agent": "x"}), "filters.agent"),
    (lambda: registry.series_by("csat", "colour", start=START, end=END), "by"),
    (lambda: registry.series("csat", start=dt.date(2020, 1, 1), end=END), "grain"),
])
def test_bad_input_names_the_field(db, call, field):
    with pytest.raises(RuleViolation) as error:
        call()
    assert error.value.field == field


def test_the_dashboard_of_eight_kpis_is_four_queries_one_per_table(desk, django_assert_num_queries):
    from loopcrm.analytics.metrics import dashboard

    with django_assert_num_queries(5):  # the roll-up state (none here), tickets, SLA clocks, orders, answers
        board = dashboard.dashboard(start=dt.date(2026, 3, 4), end=END)
    assert [k.metric.key for k in board.kpis] == list(dashboard.DASHBOARD_KEYS)
    volume = board.kpis[0]
    assert (volume.current.value, volume.previous.value, volume.direction) == (2, 2, "same")
    assert [p.value for p in volume.points] == [2, 0, 0, 0, 0]


def test_many_metrics_of_one_table_share_one_query(desk, django_assert_num_queries):
    with django_assert_num_queries(2):  # the roll-up's state, the tickets
        series = registry.many(["ticket_volume", "first_response_minutes", "reopen_rate"], start=START, end=END)
    assert series["ticket_volume"][0].value == 2 and series["first_response_minutes"][0].value == pytest.approx(60)
