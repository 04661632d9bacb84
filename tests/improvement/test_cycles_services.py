"""PDCA cycles through their services: Plan computes the baseline, the phases keep their rules, the
Check is computed from live tickets, Act standardises or goes round again. Told about 质量经理 Zhou Min,
the quality manager, and the personas of tests/conftest.py."""

from __future__ import annotations

import pytest

from loopcrm.accounts.models import Role
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.improvement.models import Cycle, CycleAction, CycleEvent, Lesson
from loopcrm.improvement.queries import cycles as queries
from loopcrm.improvement.services import cycles as services
from loopcrm.service.models import ProcessVersion
from tests import factories
from tests.improvement import cycles_support as data


@pytest.fixture
def quality(org):
    return factories.user("zhoumin", role=Role.QUALITY_MANAGER, department=org.head, display_name="周敏 Zhou Min")


def plan(by, **overrides):
    values = {"title": "Faster first response 首次响应提速", "metric_key": "first_response_minutes",
              "baseline_start": data.day(data.BASELINE[0]), "baseline_end": data.day(data.BASELINE[1]),
              "target_value": 30.0, "hypothesis": "Triage first halves the wait."}
    values.update(overrides)
    return services.plan_cycle(by=by, **values)


def through_do(cycle, by):
    services.move_phase(cycle, to="do", by=by)
    action = services.add_action(cycle, title="Triage step at intake", by=by, owner=by)
    services.update_action(action, status=CycleAction.Status.DONE, by=by)
    services.update_cycle(cycle, after_start=data.day(data.AFTER[0]), after_end=data.day(data.AFTER[1]), by=by)
    return action


def test_plan_computes_the_baseline_on_the_spot(org, quality):
    data.slow_then_fast()
    cycle = plan(quality, members=[org.lead, org.agent], departments=[org.service, org.sales_east])
    assert cycle.phase == Cycle.Phase.PLAN
    assert cycle.baseline_n == 28 * 8
    assert 55 < cycle.baseline_value < 90  # lognormal mean of about 60 · e^(0.18)
    assert cycle.owner == quality
    assert set(cycle.departments.all()) == {org.service, org.sales_east}
    assert cycle.events.get().kind == CycleEvent.Kind.PLANNED


def test_plan_names_the_field_at_fault(quality):
    with pytest.raises(RuleViolation) as error:
        plan(quality, metric_key="happiness")
    assert error.value.field == "metric_key"
    with pytest.raises(RuleViolation) as error:
        plan(quality, baseline_start=data.day(-10), baseline_end=data.day(-20))
    assert error.value.field == "baseline_end"
    with pytest.raises(RuleViolation) as error:
        plan(quality, filters={"colour": "red"})
    assert error.value.field == "filters.colour"
    assert not Cycle.objects.exists()


def test_do_needs_a_baseline_with_data(quality):
    cycle = plan(quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="do", by=quality)
    assert error.value.field == "baseline_start"
    assert Cycle.objects.get().phase == Cycle.Phase.PLAN


def test_check_needs_a_done_action_and_an_after_window_with_data(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    services.move_phase(cycle, to="do", by=quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="check", by=quality)
    assert error.value.field == "actions"
    action = services.add_action(cycle, title="Triage step", by=quality)
    services.update_action(action, status="done", by=quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="check", by=quality)
    assert error.value.field == "after_start"
    services.update_cycle(cycle, after_start=data.day(-5), after_end=data.day(-1), by=quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="check", by=quality)
    assert error.value.field == "after_end"  # no tickets in those days
    services.update_cycle(cycle, after_start=data.day(data.AFTER[0]), after_end=data.day(data.AFTER[1]), by=quality)
    assert services.move_phase(cycle, to="check", by=quality).phase == Cycle.Phase.CHECK


def test_act_needs_a_computed_check(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    through_do(cycle, quality)
    services.move_phase(cycle, to="check", by=quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="act", by=quality)
    assert error.value.field == "check"
    services.compute_check(cycle, by=quality)
    assert services.move_phase(cycle, to="act", by=quality).phase == Cycle.Phase.ACT


def test_no_skipping_phases(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    with pytest.raises(RuleViolation) as error:
        services.move_phase(cycle, to="act", by=quality)
    assert error.value.field == "phase"


def test_the_check_is_computed_from_live_tickets(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    through_do(cycle, quality)
    result = services.compute_check(cycle, by=quality)
    assert result.test == "mann_whitney_u"  # response times are skewed
    assert result.significant and result.improved
    assert result.p_value < 0.001
    assert result.effect < 0 and result.ci_low <= result.effect <= result.ci_high < 0
    assert result.sustained_shift is True  # every day of the after window is under the baseline mean
    assert result.data["shift_direction"] == "better"
    assert result.data["n_before"] == 28 * 8 and result.data["n_after"] == 14 * 8
    assert "skewed" in services.translate(result.data["why"])
    assert cycle.events.filter(kind=CycleEvent.Kind.CHECKED).exists()


def test_a_change_that_did_nothing_is_not_significant(quality):
    data.same_before_and_after()
    cycle = plan(quality)
    through_do(cycle, quality)
    result = services.compute_check(cycle, by=quality)
    assert not result.significant and result.improved is False
    assert result.data["warnings"]  # 3 tickets a day are too few to see a 10 % change


def test_standardise_publishes_the_piloted_process_version_and_records_the_lesson(quality):
    data.slow_then_fast()
    definition, pilot = data.process_with_pilot(quality)
    cycle = plan(quality)
    action = through_do(cycle, quality)
    services.update_action(action, process_version=pilot, by=quality)
    services.move_phase(cycle, to="check", by=quality)
    services.compute_check(cycle, by=quality)
    services.move_phase(cycle, to="act", by=quality)
    versions = services.standardise(cycle, lesson_text="分诊先行，首次响应减半。Triage first halves the wait.",
                                    tags=["triage", "首次响应"], by=quality)
    assert [v.number for v in versions] == [3]
    current = ProcessVersion.objects.get(definition=definition, is_current=True)
    assert current.number == 3 and [s.key for s in current.steps.all()] == ["triage", "acknowledge", "resolve"]
    assert f"#{cycle.pk}" in current.change_note
    cycle.refresh_from_db()
    assert (cycle.phase, cycle.decision) == (Cycle.Phase.CLOSED, Cycle.Decision.STANDARDISE)
    lesson = Lesson.objects.get()
    assert lesson.cycle == cycle and lesson.tags == ["triage", "首次响应"]


def test_adjust_opens_the_next_cycle_prefilled(org, quality):
    data.slow_then_fast()
    cycle = plan(quality, members=[org.agent], filters={})
    through_do(cycle, quality)
    services.compute_check(cycle, by=quality)
    services.move_phase(cycle, to="check", by=quality)
    services.move_phase(cycle, to="act", by=quality)
    following = services.adjust(cycle, note="Target not reached yet", by=quality)
    cycle.refresh_from_db()
    assert cycle.decision == Cycle.Decision.ADJUST and cycle.phase == Cycle.Phase.CLOSED
    assert following.previous == cycle and following.phase == Cycle.Phase.PLAN
    assert (following.metric_key, following.target_value) == (cycle.metric_key, cycle.target_value)
    assert (following.baseline_start, following.baseline_end) == (cycle.after_start, cycle.after_end)
    assert following.baseline_n == 14 * 8
    assert list(following.members.all()) == [org.agent]
    assert "round 2" in following.title


def test_closed_cycles_take_no_more_actions(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    through_do(cycle, quality)
    services.compute_check(cycle, by=quality)
    services.move_phase(cycle, to="check", by=quality)
    services.move_phase(cycle, to="act", by=quality)
    services.standardise(cycle, lesson_text="Done.", by=quality)
    with pytest.raises(RuleViolation):
        services.add_action(cycle, title="One more", by=quality)
    assert cycle.actions.count() == 1


def test_baseline_is_fixed_after_plan(quality):
    data.slow_then_fast()
    cycle = plan(quality)
    services.move_phase(cycle, to="do", by=quality)
    with pytest.raises(RuleViolation) as error:
        services.update_cycle(cycle, baseline_start=data.day(-59), by=quality)
    assert error.value.field == "baseline_start"


# --- who sees and changes what -----------------------------------------------------------------

@pytest.mark.parametrize(("persona", "sees", "changes"), [
    ("admin", True, True), ("lead", True, False), ("agent", True, False), ("exec", True, False),
])
def test_permission_matrix(org, quality, persona, sees, changes):
    data.slow_then_fast()
    cycle = plan(quality)
    user = getattr(org, persona)
    assert queries.cycles_for(user).filter(pk=cycle.pk).exists() is sees
    assert queries.cycles_for(user, "change").filter(pk=cycle.pk).exists() is changes
    if not changes:
        with pytest.raises(PermissionDenied):
            queries.get_cycle_for(user, cycle.pk, "change")


def test_sales_sees_no_improvement_work(org, quality):
    data.slow_then_fast()
    cycle = plan(quality)
    seller = factories.user("seller", role=Role.SALES, department=org.sales_east)
    with pytest.raises(NotFound):
        queries.get_cycle_for(seller, cycle.pk)
    assert not queries.lessons_for(seller).exists()


def test_team_lead_changes_the_cycles_of_the_team(org):
    data.slow_then_fast()
    cycle = plan(org.agent)  # an agent's cycle (the agent is on the lead's Hotline team)
    assert queries.cycles_for(org.lead, "change").filter(pk=cycle.pk).exists()
    assert not queries.cycles_for(org.other_agent, "change").filter(pk=cycle.pk).exists()


# --- board, dashboard and lessons --------------------------------------------------------------

def test_board_groups_cycles_by_phase(quality):
    data.slow_then_fast()
    first = plan(quality, title="One")
    second = plan(quality, title="Two")
    services.move_phase(second, to="do", by=quality)
    board = queries.board_for(quality)
    assert board["plan"] == [first] and board["do"] == [second]
    assert [c.title for c in queries.active_cycles_for(quality, limit=5)] == ["Two", "One"]


def test_lessons_search_in_chinese_and_english(quality):
    services.add_lesson(title="分诊先行", text="把分诊放在受理之前，首次响应时间减半。", tags=["流程"], by=quality)
    services.add_lesson(title="Refund script", text="A clear refund script cut repeat complaints.", tags=["refund"],
                        by=quality)
    assert [lesson.title for lesson in queries.lessons_for(quality, q="首次响应")] == ["分诊先行"]
    assert [lesson.title for lesson in queries.lessons_for(quality, q="响应时间 分诊")] == ["分诊先行"]
    assert [lesson.title for lesson in queries.lessons_for(quality, q="REFUND complaints")] == ["Refund script"]
    assert [lesson.title for lesson in queries.lessons_for(quality, tag="流程")] == ["分诊先行"]
    assert not queries.lessons_for(quality, q="退款").exists()


def test_search_terms_cut_chinese_into_pairs():
    assert queries.search_terms("首次响应 SLA") == ["首次", "次响", "响应", "sla"]


@pytest.mark.parametrize(("values", "better", "expected"), [
    ([4, 6, 4, 6, 4, 6, 4, 6, 4], "lower", None),  # crosses the centre line
    ([4] * 8, "lower", "better"),
    ([6] * 8, "lower", "worse"),
    ([6] * 8, "higher", "better"),
    ([4, 4, 4, None, 4, 4, 4, 4, 4], "lower", "better"),  # an empty day neither breaks nor extends a run
    ([4, 4, 4, 5, 4, 4, 4, 4, 4], "lower", None),  # a point on the centre line breaks it
    ([4] * 7, "lower", None),
])
def test_sustained_shift_is_a_run_of_eight_on_one_side(values, better, expected):
    from loopcrm.analytics.registry import Better

    assert services.sustained_shift(values, centre=5, better=Better(better)) == expected
