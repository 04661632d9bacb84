"""Demo improvement engine: the control charts and the finished PDCA cycle of the demo's story.

Made through the improvement services, as the quality manager would have made them at the time
(each service is given the story's moment as `at=`; created/updated stamps are set to it afterwards):

- a control chart of complaints per 1,000 customers in Guangdong, weekly, limits from the half year
  before the South China hub's backlog, evaluated as of the demo's now: its run rules fire on the
  last weeks (the signals wait for the quality manager, who can open a cycle from them);
- a control chart of complaints' first response time, weekly, limits from before complaint process v2;
- the cycle "投诉首次响应提速 Faster first response to complaints": planned the morning v2 was
  published, its action (publishing v2, linked to that version) done, the Check computed on the
  after window (first response of complaints before vs after), and standardised with a lesson.

The improvement tables come from migrations the integrator adds; until they exist (a database
migrated before them) this step says so and does nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from loopcrm.accounts.models import Role
from loopcrm.core.errors import DomainError
from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.story import REGION_PROVINCE, cycle_windows, region_baseline, version_two_at
from loopcrm.service.models import ProcessVersion

REGION_CHART = "广东客诉率 Guangdong complaints per 1,000 customers"
RESPONSE_CHART = "投诉首次响应 First response to complaints"
CYCLE_TITLE = "投诉首次响应提速 Faster first response to complaints"
COMPLAINTS = {"kind": "complaint"}


def improvement_tables_exist() -> bool:
    from loopcrm.improvement.models import ControlChart, Cycle

    tables = set(connection.introspection.table_names())
    return {ControlChart._meta.db_table, Cycle._meta.db_table} <= tables


def _stamp(model, pk: int, at: dt.datetime) -> None:
    """Date a row made through a service to the story's moment (auto_now stamps say load time otherwise)."""
    model.objects.filter(pk=pk).update(created_at=at, updated_at=at)


def load_improvement(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    """Charts and the finished cycle (deterministic: no randomness; everything follows demo/story.py)."""
    if not improvement_tables_exist():
        loader.say("Improvement engine: its tables do not exist yet (migrations pending); demo charts and cycle "
                   "skipped.")
        return
    from loopcrm.improvement.models import ChartSignal, ControlChart, Cycle
    from loopcrm.improvement.services import charts

    quality = (staff.by_role(Role.QUALITY_MANAGER) or staff.by_role(Role.ADMINISTRATOR))[0]
    leads = staff.by_role(Role.TEAM_LEAD)
    service = staff.departments.get("cs")
    region = response = None
    check = None
    try:
        with transaction.atomic():
            region = _region_chart(calendar, quality)
    except DomainError as error:  # a demo too small for limits (no complaints in Guangdong's baseline)
        loader.say(f"Improvement: no {REGION_PROVINCE} chart ({error.message})")
    try:
        with transaction.atomic():
            response, check = _finished_cycle(calendar, quality, leads, service)
    except DomainError as error:
        loader.say(f"Improvement: no first-response chart and cycle ({error.message})")

    charts_made = [chart for chart in (region, response) if chart is not None]
    found = [charts.evaluate_chart(chart, at=calendar.now) for chart in charts_made]
    loader.counts[ControlChart._meta.label_lower] = len(charts_made)
    loader.counts[Cycle._meta.label_lower] = Cycle.objects.count()
    loader.counts[ChartSignal._meta.label_lower] = ChartSignal.objects.count()
    region_signals = len(found[0].new_signals) if region is not None else 0
    outcome = "no cycle"
    if check is not None:
        p_value = "n/a" if check.p_value is None else f"{check.p_value:.2g}"
        outcome = (f"1 finished PDCA cycle (Check: {check.test}, p = {p_value}, "
                   f"{'improved' if check.improved else 'not improved'})")
    loader.say(f"Improvement: {len(charts_made)} control charts ({region_signals} signals on {REGION_PROVINCE}'s "
               f"complaints), {outcome}.")


def _morning(calendar: DemoCalendar, day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=calendar.tz)


def _region_chart(calendar: DemoCalendar, quality):
    """The regional control point, set up when the baseline half year had ended."""
    from loopcrm.improvement.models import ControlChart
    from loopcrm.improvement.services import charts

    start, end = region_baseline(calendar)
    at = _morning(calendar, end + dt.timedelta(days=1))
    region = charts.create_chart(charts.ChartSpec(
        name=REGION_CHART, metric_key="complaint_rate_customers", filters={"region": REGION_PROVINCE},
        grain=ControlChart.Grain.WEEK, baseline_start=start, baseline_end=end, owner=quality,
    ), by=quality, at=at)
    _stamp(ControlChart, region.pk, at)
    return region


def _finished_cycle(calendar: DemoCalendar, quality, leads, service):
    """The first-response chart and the cycle that improved it, from Plan to standardised."""
    from loopcrm.improvement.models import ChartSignal, ControlChart, Cycle
    from loopcrm.improvement.services import charts, cycles

    def morning(day: dt.date, hour: int = 9) -> dt.datetime:
        return _morning(calendar, day, hour)

    # The first-response control point, with limits from the weeks before complaint process v2.
    change = version_two_at(calendar)
    (before_start, before_end), (after_start, after_end) = cycle_windows(calendar)
    planned_at = change - dt.timedelta(minutes=30)
    response = charts.create_chart(charts.ChartSpec(
        name=RESPONSE_CHART, metric_key="first_response_minutes", filters=COMPLAINTS,
        grain=ControlChart.Grain.WEEK, baseline_start=before_start, baseline_end=before_end, owner=quality,
    ), by=quality, at=planned_at)
    _stamp(ControlChart, response.pk, planned_at)

    # The cycle: Plan the morning v2 went out, Do = publishing v2, Check on the after window, Act = standardise.
    version = (ProcessVersion.objects.filter(definition__key="complaint", published_at__gte=change)
               .order_by("number").first())
    cycle = cycles.plan_cycle(
        title=CYCLE_TITLE, metric_key="first_response_minutes", filters=COMPLAINTS,
        baseline_start=before_start, baseline_end=before_end, after_start=after_start, after_end=after_end,
        problem="投诉客户要等两个多小时才接到投诉组回电，首次响应经常超出 SLA。"
                "Complaining customers wait over two hours for the complaints team's call back; first response "
                "often breaches the SLA.",
        hypothesis="由受理坐席在 30 分钟内致电致歉，首次响应时间将降到 30 分钟以内。"
                   "If the agent who takes the complaint calls back within 30 minutes, first response falls "
                   "below 30 minutes.",
        target_value=30.0, owner=quality, members=leads, departments=[service] if service else [],
        source_chart=response, by=quality, at=planned_at,
    )
    cycles.move_phase(cycle, to=Cycle.Phase.DO, by=quality, at=planned_at + dt.timedelta(minutes=5))
    cycles.add_action(cycle, title="发布投诉处理流程 v2：受理即致电 Publish complaint process v2: call at once",
                      by=quality, owner=leads[0] if leads else quality, due_date=change.date(),
                      status="done", process_version=version, at=change)
    checked_at = morning(after_end + dt.timedelta(days=1), 10)
    cycles.move_phase(cycle, to=Cycle.Phase.CHECK, by=quality, at=checked_at)
    check = cycles.compute_check(cycle, by=quality, at=checked_at)
    # The chart shows the shift too: its signals up to the Check are the change working, acknowledged.
    shifted = charts.evaluate_chart(response, at=checked_at)
    for signal in ChartSignal.objects.filter(pk__in=shifted.new_signals).order_by("pk"):
        charts.acknowledge_signal(signal, by=quality, at=checked_at)
    cycles.move_phase(cycle, to=Cycle.Phase.ACT, by=quality, at=checked_at + dt.timedelta(hours=1))
    standardised_at = checked_at + dt.timedelta(days=1)
    cycles.standardise(
        cycle, by=quality, at=standardised_at,
        lesson_title="投诉受理即致电 Call complaining customers at once",
        lesson_text="受理坐席 30 分钟内致电致歉后，投诉首次响应从两个多小时降到约一刻钟，且持续稳定。"
                    "Once the agent taking a complaint calls within 30 minutes, first response fell from over two "
                    "hours to about a quarter of an hour, and stayed there.",
        tags=["投诉 complaints", "首次响应 first response", "SLA"],
    )
    _stamp(Cycle, cycle.pk, planned_at)
    Cycle.objects.filter(pk=cycle.pk).update(updated_at=standardised_at)
    # The new process is the standard: the first-response chart's limits now come from the after window.
    charts.update_chart(response, by=quality, at=standardised_at, baseline_start=after_start, baseline_end=after_end)

    return response, check
