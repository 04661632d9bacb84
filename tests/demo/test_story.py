"""Story: a quality manager opens a freshly loaded demo and the improvement engine finds, on its own,
what the demo's history holds (demo/story.py): the slow diagnosis step, Guangdong's rising
complaints, and a finished PDCA cycle whose change really cut complaints' first response.

One small load (300 customers, reference day Wednesday 18 November 2026) is shared by the tests and
rolled back at the end.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from loopcrm.demo import load_demo
from loopcrm.demo.story import REGION_PROVINCE, SLOW_STEP, cycle_windows, rise_start
from loopcrm.service.models import ProcessVersion

TODAY = dt.date(2026, 11, 18)


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    messages: list[str] = []
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                summary = load_demo(customers=300, seed=5, progress=messages.append, today=TODAY)
                yield summary, messages
                raise _Rollback
        except _Rollback:
            pass


pytestmark = pytest.mark.django_db


def _bottlenecks(**filters):
    from loopcrm.analytics import mining
    from loopcrm.analytics.queries import eventlog

    loaded = eventlog.load(eventlog.MiningFilter(start=TODAY - dt.timedelta(days=180), end=TODAY, **filters))
    return mining.bottlenecks(loaded.log, targets=loaded.vocabulary.targets)


def test_the_slow_diagnosis_is_the_top_bottleneck_of_the_repair_process(demo):
    process, step = SLOW_STEP
    ranked = _bottlenecks(process=process, view="steps")
    top = ranked[0]
    assert (top.kind, top.name) == ("activity", f"step:{step}")
    assert top.median_vs_target > 2
    # the only step of the process whose typical duration is over its target
    over = [row.name for row in ranked if row.median_vs_target is not None and row.median_vs_target > 1.2]
    assert over == [f"step:{step}"]
    # also on the full lifecycle view, where time goes among the process's steps
    lifecycle = [row for row in _bottlenecks(process=process)
                 if row.kind == "activity" and row.name.startswith("step:")]
    assert lifecycle[0].name == f"step:{step}"


def test_the_rise_of_guangdong_complaints_fires_run_rules_on_its_control_chart(demo):
    from loopcrm.demo.improvement import REGION_CHART
    from loopcrm.improvement.models import ControlChart

    chart = ControlChart.objects.get(name=REGION_CHART)
    assert chart.filters == {"region": REGION_PROVINCE} and chart.grain == "week"
    assert chart.baseline_end < rise_start(_calendar()).date()
    signals = list(chart.signals.order_by("bucket", "rule"))
    assert signals, "the chart has no signal"
    assert all(signal.bucket >= rise_start(_calendar()).date() - dt.timedelta(days=7) for signal in signals)
    rules = {signal.rule for signal in signals}
    assert rules & {"WE2", "WE3", "WE4"}, rules  # a run rule, not only a point beyond the limits
    assert all(signal.is_open for signal in signals)  # waiting for the quality manager


def test_the_finished_cycle_shows_a_significant_improvement_in_first_response(demo):
    from loopcrm.demo.improvement import CYCLE_TITLE
    from loopcrm.improvement.models import Cycle

    cycle = Cycle.objects.get(title=CYCLE_TITLE)
    assert cycle.phase == "closed" and cycle.decision == "standardise"
    (before_start, before_end), (after_start, after_end) = cycle_windows(_calendar())
    assert (cycle.baseline_start, cycle.baseline_end, cycle.after_start, cycle.after_end) == (
        before_start, before_end, after_start, after_end)
    action = cycle.actions.get()
    assert action.status == "done"
    assert (action.process_version.definition.key, action.process_version.number) == ("complaint", 2)
    check = cycle.checks.order_by("-computed_at").first()
    assert check.significant and check.improved
    assert check.p_value < 0.01
    assert check.after_value < 30 < check.before_value
    assert "mann" in check.test.lower() or "welch" in check.test.lower()
    assert check.sustained_shift  # and the daily series stays below the baseline level
    # standardising published the changed process again as the current one
    assert ProcessVersion.objects.get(definition__key="complaint", is_current=True).number == 3


def test_the_demo_reports_its_story(demo):
    summary, messages = demo
    assert summary is not None
    assert any(message.strip().startswith("Improvement:") for message in messages)


def _calendar():
    import zoneinfo

    from loopcrm.demo.calendar import DemoCalendar

    return DemoCalendar.ending(TODAY, zoneinfo.ZoneInfo("Asia/Shanghai"))
