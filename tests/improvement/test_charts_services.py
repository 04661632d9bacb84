"""Control points as stories: 赵敏, the quality manager, watches first response time and ticket volume."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.improvement import tasks
from loopcrm.improvement.models import ChartSignal, ControlChart
from loopcrm.improvement.queries import charts as queries
from loopcrm.improvement.services import charts as services
from tests.improvement import charts_support as data


@pytest.fixture
def zhao(org):
    return data.quality_manager(org)


def spec(**overrides) -> services.ChartSpec:
    values = {"name": "First response 首次响应", "metric_key": "first_response_minutes",
              "baseline_start": data.day(data.BASELINE[0]), "baseline_end": data.day(data.BASELINE[1])}
    return services.ChartSpec(**{**values, **overrides})


def test_a_chart_on_a_duration_metric_is_an_individuals_chart_with_limits_from_its_baseline(zhao):
    data.steady_then_shift()
    chart = services.create_chart(spec(usl=90), by=zhao)
    assert chart.chart_type == ControlChart.Type.XMR
    assert chart.owner == zhao
    assert chart.limits["chart"] == "xmr"
    # Daily means alternate 62/60 minutes: centre 61, moving range 2.
    assert chart.limits["center"] == pytest.approx(61, abs=1e-3)
    assert chart.limits["spread"] == pytest.approx(2, abs=1e-3)
    assert chart.limits["baseline_points"] == 28
    assert AuditEntry.objects.filter(object_type__icontains="controlchart", action="create").exists()


def test_count_metrics_get_a_c_chart_and_the_type_can_be_overridden(zhao):
    data.steady_then_shift()
    volume = services.create_chart(spec(name="Volume", metric_key="ticket_volume"), by=zhao)
    assert volume.chart_type == ControlChart.Type.C
    assert volume.limits["center"] == pytest.approx(5.5)
    xbar = services.create_chart(spec(chart_type="xbar_s"), by=zhao)
    assert xbar.chart_type == ControlChart.Type.XBAR_S


@pytest.mark.parametrize(("overrides", "field"), [
    ({"metric_key": "nope"}, "metric_key"),
    ({"chart_type": "p"}, "chart_type"),
    ({"chart_type": "zz"}, "chart_type"),
    ({"filters": {"touchpoint": "store"}}, "filters.touchpoint"),
    ({"filters": {"agent": "abc"}}, "filters.agent"),
    ({"grain": "hour"}, "grain"),
    ({"rule_set": "mine"}, "rule_set"),
    ({"name": "  "}, "name"),
    ({"lsl": 50, "usl": 40}, "lsl"),
    ({"baseline_end": dt.date(2000, 1, 1)}, "baseline_end"),
])
def test_bad_input_names_the_field_and_writes_nothing(zhao, overrides, field):
    data.steady_then_shift()
    with pytest.raises(RuleViolation) as error:
        services.create_chart(spec(**overrides), by=zhao)
    assert error.value.field == field
    assert not ControlChart.objects.exists()


def test_a_baseline_without_data_is_refused(zhao):
    with pytest.raises(RuleViolation, match="baseline has 0 period"):
        services.create_chart(spec(), by=zhao)


def test_an_agent_may_not_create_charts(org):
    data.steady_then_shift()
    with pytest.raises(PermissionDenied):
        services.create_chart(spec(), by=org.agent)
    assert not ControlChart.objects.exists()


def test_evaluation_finds_the_shift_stores_each_signal_once_and_mails_the_owner(
        zhao, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    chart = services.create_chart(spec(), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.evaluate_chart(chart)
    signals = ChartSignal.objects.filter(chart=chart)
    assert first.new_signals and signals.count() == len(first.new_signals)
    # The shift starts 12 days ago: every one of those days is beyond 3 sigma.
    beyond = sorted(s.bucket for s in signals.filter(rule="WE1"))
    assert beyond == [data.day(offset) for offset in range(data.SHIFT_FROM, 0)]
    assert signals.filter(rule="WE4").exists()
    assert all(s.bucket > chart.baseline_end for s in signals)
    assert signals.filter(rule="WE1").first().value == pytest.approx(100, abs=1e-3)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["quality@example.com"]
    assert "WE1" in mail.outbox[0].body and f"/improvement/charts/{chart.pk}/" in mail.outbox[0].body
    assert not signals.filter(notified_at__isnull=True).exists()

    with django_capture_on_commit_callbacks(execute=True):
        again = services.evaluate_chart(chart)
    assert again.new_signals == []
    assert ChartSignal.objects.filter(chart=chart).count() == signals.count()
    assert len(mail.outbox) == 1
    assert tasks.notify_chart_owner.call(chart_id=chart.pk, signal_ids=first.new_signals) == 0  # mailed once


def test_the_nightly_task_evaluates_active_charts_only(zhao, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    active = services.create_chart(spec(), by=zhao)
    services.create_chart(spec(name="Paused", is_active=False), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        found = tasks.evaluate_control_charts.call()
    assert found == ChartSignal.objects.count() > 0
    assert set(ChartSignal.objects.values_list("chart", flat=True)) == {active.pk}


def test_changing_the_baseline_recomputes_the_limits(zhao):
    data.steady_then_shift()
    chart = services.create_chart(spec(), by=zhao)
    chart = services.update_chart(chart, by=zhao, baseline_start=data.day(-20), baseline_end=data.day(-1))
    assert chart.limits["center"] > 61
    renamed = services.update_chart(chart, by=zhao, name="Renamed")
    assert renamed.limits == chart.limits
    with pytest.raises(RuleViolation) as error:
        services.update_chart(chart, by=zhao, colour="red")
    assert error.value.field == "colour"


def test_acknowledge_dismiss_and_cycle_opened(zhao, org, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    chart = services.create_chart(spec(), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluate_chart(chart)
    first, second, third = ChartSignal.objects.filter(chart=chart).order_by("bucket", "rule")[:3]
    assert services.acknowledge_signal(first, by=zhao).status == "acknowledged"
    assert services.acknowledge_signal(first, by=zhao).status == "acknowledged"  # twice is fine
    assert services.dismiss_signal(first, by=zhao).status == "dismissed"
    with pytest.raises(Conflict):
        services.acknowledge_signal(first, by=zhao)
    assert services.mark_cycle_opened(second, by=zhao).status == "cycle_opened"
    with pytest.raises(PermissionDenied):
        services.dismiss_signal(third, by=org.agent)
    third.refresh_from_db()
    assert third.status == "new" and third.status_changed_by is None
    assert [s.pk for s in queries.open_signals_for(zhao, limit=100)].count(third.pk) == 1
    assert first.pk not in [s.pk for s in queries.open_signals_for(zhao, limit=100)]


def test_the_computed_chart_marks_signals_and_capability(zhao, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    chart = services.create_chart(spec(usl=90), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluate_chart(chart)
    view = queries.chart_view(chart)
    assert view.start == chart.baseline_start and view.end == data.day(-1)
    assert len(view.points) == 60
    assert view.points[0].in_baseline and not view.points[-1].in_baseline
    assert view.points[-1].value == pytest.approx(100, abs=1e-3)
    assert "WE1" in view.points[-1].rules
    assert view.points[0].ucl == pytest.approx(61 + 3 * 2 / 1.128, abs=1e-3)
    stored = [row for row in view.signals if row.signal is not None]
    assert stored and all(row.bucket > chart.baseline_end for row in stored)
    assert view.capability.cpk == pytest.approx((90 - 61) / (3 * 2 / 1.128), abs=1e-3)
    assert view.capability.cp is None  # one-sided: the SLA target as the upper limit
    assert view.secondary_name


def test_a_p_chart_shows_the_metric_in_percent(zhao):
    customer = data.factories.customer("Ma Li")
    from loopcrm.service.models import Ticket

    rows = []
    for offset in range(-40, -10):
        for i in range(10):
            rows.append(Ticket(subject="x", customer=customer, opened_at=data.noon(offset),
                               resolved_at=data.noon(offset), reopen_count=1 if i < (2 if offset % 2 else 1) else 0))
    Ticket.objects.bulk_create(rows)
    chart = services.create_chart(spec(name="Reopen", metric_key="reopen_rate", baseline_start=data.day(-40),
                                       baseline_end=data.day(-11)), by=zhao)
    assert chart.chart_type == "p"
    assert chart.limits["center"] == pytest.approx(0.15)
    view = queries.chart_view(chart, end=data.day(-11))
    assert view.scale == 100
    assert view.points[0].center == pytest.approx(15)
    assert view.points[0].value in (pytest.approx(10), pytest.approx(20))


def test_pareto_of_complaint_causes(zhao, org):
    causes = data.complaints_with_causes()
    branch = queries.pareto_of_complaints(zhao, start=data.day(-7), end=data.day(-1))
    assert [(b.label, b.count) for b in branch.bars] == [("Partner / logistics", 9), ("People", 2)]
    assert branch.total == 11 and branch.unclassified == 1
    assert branch.keys == ["partner", "people"]
    top = queries.pareto_of_complaints(zhao, start=data.day(-7), end=data.day(-1), level="cause")
    assert [(b.label, b.count) for b in top.bars] == [("Logistics 物流", 9), ("Rude agent 态度差", 2)]
    subs = queries.pareto_of_complaints(zhao, start=data.day(-7), end=data.day(-1), level="sub_cause")
    assert [(b.label, b.count, b.vital_few) for b in subs.bars] == [
        ("Late delivery 延迟送达", 6, True), ("Damaged parcel 包裹破损", 3, True), ("Rude agent 态度差", 2, False)]
    assert subs.keys[0] == causes["late"].pk
    assert queries.pareto_of_complaints(zhao, start=data.day(-3), end=data.day(-1)).bars == []
    with pytest.raises(RuleViolation) as error:
        queries.pareto_of_complaints(zhao, start=data.day(-3), end=data.day(-1), level="leaf")
    assert error.value.field == "level"
    # An agent of another department sees none of these (unassigned, no department) complaints.
    assert queries.pareto_of_complaints(org.other_agent, start=data.day(-7), end=data.day(-1)).total == 0


def test_rising_complaints_in_one_region_fire_a_rule_on_a_u_chart(zhao):
    """Complaints per 1,000 orders in 广东: about 50 ‰ for four weeks, then 300 ‰ for the last five days."""
    from loopcrm.service.models import Ticket

    canton = data.factories.customer("黄磊", province="广东")
    elsewhere = data.factories.customer("Li Wei", province="北京")
    complaints = []
    for offset in range(-40, 0):
        for i in range(20):
            data.factories.order(canton if i % 2 else elsewhere, placed_at=data.noon(offset))
        per_day = 3 if offset >= -5 else (1 if offset % 2 else 0)
        complaints += [Ticket(subject="投诉", customer=canton, kind=Ticket.Kind.COMPLAINT, opened_at=data.noon(offset))
                       for _ in range(per_day)]
    Ticket.objects.bulk_create(complaints)
    chart = services.create_chart(spec(name="Complaints 广东", metric_key="complaint_rate_orders",
                                       filters={"region": "广东"}, baseline_start=data.day(-40),
                                       baseline_end=data.day(-13)), by=zhao)
    assert chart.chart_type == ControlChart.Type.U
    assert chart.limits["center"] == pytest.approx(14 / 280)  # 14 complaints over 28 days of 10 orders
    result = services.evaluate_chart(chart)
    fired = ChartSignal.objects.filter(pk__in=result.new_signals)
    assert {s.bucket for s in fired.filter(rule="WE1")} == {data.day(offset) for offset in range(-5, 0)}
    assert fired.filter(rule="WE1").first().value == pytest.approx(300)  # in ‰, the metric's unit
    view = queries.chart_view(chart)
    assert view.scale == 1000 and view.points[0].center == pytest.approx(50)


def test_a_chart_a_cycle_was_opened_from_is_kept(zhao, django_capture_on_commit_callbacks):
    from loopcrm.improvement.services import cycles

    data.steady_then_shift()
    chart = services.create_chart(spec(), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluate_chart(chart)
    signal = ChartSignal.objects.filter(chart=chart, rule="WE1").first()
    cycles.plan_cycle(title="Faster first response", metric_key="first_response_minutes",
                        baseline_start=data.day(-60), baseline_end=data.day(-33), source_signal=signal, by=zhao)
    signal.refresh_from_db()
    assert signal.status == "cycle_opened"
    with pytest.raises(Conflict):
        services.delete_chart(chart, by=zhao)
    assert ControlChart.objects.filter(pk=chart.pk).exists()
