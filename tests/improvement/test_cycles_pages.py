"""The PDCA pages: board, planning prefilled from a metric, the cycle page with its sections, htmx action
edits, computing the Check, acting on it, and the lessons library — in English and Chinese."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.accounts.models import Role
from loopcrm.improvement.models import Cycle, CycleAction, Lesson
from loopcrm.improvement.services import cycles as services
from tests import factories
from tests.improvement import cycles_support as data


@pytest.fixture
def quality(org):
    return factories.user("zhoumin", role=Role.QUALITY_MANAGER, department=org.head, display_name="周敏")


@pytest.fixture
def browser(quality):
    client = Client()
    client.force_login(quality)
    return client


def planned(by, **overrides):
    windows = data.windows()
    values = {"title": "Faster first response", "metric_key": "first_response_minutes",
              "baseline_start": windows["baseline_start"], "baseline_end": windows["baseline_end"]}
    values.update(overrides)
    return services.plan_cycle(by=by, **values)


def test_board_shows_cycles_by_phase(browser, quality):
    data.slow_then_fast()
    planned(quality, title="Plan me")
    moving = planned(quality, title="Doing it")
    services.move_phase(moving, to="do", by=quality)
    page = browser.get(reverse("web:cycle_board"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Plan me" in html and "Doing it" in html and 'data-phase="do"' in html
    assert reverse("web:cycle_new") in html


def test_new_cycle_is_prefilled_from_the_query(browser):
    filters = json.dumps({"kind": "complaint"})
    page = browser.get(reverse("web:cycle_new"), {"metric": "first_response_minutes", "filters": filters})
    form = page.context["form"]
    assert form.initial["metric_key"] == "first_response_minutes"
    assert json.loads(form.initial["filters"]) == {"kind": "complaint"}


def test_planning_through_the_form(browser, quality):
    data.slow_then_fast()
    windows = data.windows()
    response = browser.post(reverse("web:cycle_new"), {
        "title": "Faster first response", "metric_key": "first_response_minutes",
        "baseline_start": windows["baseline_start"].isoformat(), "baseline_end": windows["baseline_end"].isoformat(),
        "target_value": "30", "owner": quality.pk, "filters": ""})
    cycle = Cycle.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:cycle_detail", args=[cycle.pk])
    assert cycle.baseline_n == 224


def test_planning_error_is_shown_on_its_field(browser):
    response = browser.post(reverse("web:cycle_new"), {
        "title": "x", "metric_key": "first_response_minutes", "baseline_start": data.day(-10).isoformat(),
        "baseline_end": data.day(-20).isoformat()})
    assert response.status_code == 200
    assert response.context["form"].errors["baseline_end"]
    assert not Cycle.objects.exists()


def test_cycle_page_actions_check_and_act(browser, quality):
    data.slow_then_fast()
    definition, pilot = data.process_with_pilot(quality)
    cycle = planned(quality)
    services.move_phase(cycle, to="do", by=quality)
    url = reverse("web:cycle_detail", args=[cycle.pk])
    assert "Not computed yet" in browser.get(url).content.decode()

    # htmx: add an action, answered with the actions fragment only
    response = browser.post(reverse("web:cycle_action_add", args=[cycle.pk]),
                            {"new-title": "Triage at intake", "new-status": "todo",
                             "new-process_version": pilot.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Triage at intake" in fragment and "<html" not in fragment
    action = CycleAction.objects.get()
    response = browser.post(reverse("web:cycle_action_update", args=[cycle.pk, action.pk]), {"status": "done"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 200
    action.refresh_from_db()
    assert action.status == "done"
    spare = services.add_action(cycle, title="Spare idea", by=quality)
    response = browser.post(reverse("web:cycle_action_update", args=[cycle.pk, spare.pk]), {"delete": "1"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Spare idea" not in response.content.decode()
    assert list(cycle.actions.all()) == [action]

    windows = data.windows()
    services.update_cycle(cycle, after_start=windows["after_start"], after_end=windows["after_end"], by=quality)
    assert browser.post(reverse("web:cycle_move", args=[cycle.pk]), {"phase": "check"}).status_code == 302
    response = browser.post(reverse("web:cycle_check", args=[cycle.pk]))
    assert response.status_code == 302
    html = browser.get(url).content.decode()
    assert "Improved: a significant change in the better direction." in html
    assert "Mann–Whitney U test" in html and 'id="fig-before-after"' in html

    assert browser.post(reverse("web:cycle_move", args=[cycle.pk]), {"phase": "act"}).status_code == 302
    response = browser.post(reverse("web:cycle_act", args=[cycle.pk]), {
        "decision": "standardise", "lesson_title": "Triage first", "lesson_text": "Triage halves the wait.",
        "tags": "triage, 流程"})
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.decision == "standardise"
    assert Lesson.objects.get().tags == ["triage", "流程"]
    assert definition.versions.filter(is_current=True).get().number == 3


def test_a_refused_move_says_why(browser, quality):
    data.slow_then_fast()
    cycle = planned(quality)
    services.move_phase(cycle, to="do", by=quality)
    response = browser.post(reverse("web:cycle_move", args=[cycle.pk]), {"phase": "check"})
    assert response.status_code == 422
    assert "Finish at least one action before the Check." in response.content.decode()


def test_the_check_reads_in_chinese(browser, quality):
    data.slow_then_fast()
    cycle = planned(quality)
    services.move_phase(cycle, to="do", by=quality)
    services.add_action(cycle, title="分诊", status="done", by=quality)
    windows = data.windows()
    services.update_cycle(cycle, after_start=windows["after_start"], after_end=windows["after_end"], by=quality)
    services.compute_check(cycle, by=quality)
    html = browser.get(reverse("web:cycle_detail", args=[cycle.pk]), headers={"Accept-Language": "zh-hans"}) \
        .content.decode()
    assert "检查" in html and "改进" in html
    assert "The metric improved" not in html and "Values per case" not in html  # analytics.stats' messages
    assert "Mann–Whitney U test" not in html  # the test's name too


def test_every_check_message_of_stats_has_chinese():
    import ast
    from pathlib import Path

    from django.utils import translation
    from django.utils.translation import gettext

    from loopcrm.analytics import stats

    tree = ast.parse(Path(stats.__file__).read_text(encoding="utf-8"))
    msgids = {node.args[0].value for node in ast.walk(tree) if isinstance(node, ast.Call)
              and getattr(node.func, "id", "") == "_" and node.args and isinstance(node.args[0], ast.Constant)}
    assert len(msgids) >= 10
    with translation.override("zh-hans"):
        untranslated = [msgid for msgid in msgids if gettext(msgid) == msgid]
    assert sorted(untranslated) == ["Cohen's h", "Cramér's V", "Hedges' g"]  # names, the same in Chinese


def test_agents_read_but_do_not_change(org, quality):
    data.slow_then_fast()
    cycle = planned(quality)
    client = Client()
    client.force_login(org.agent)
    html = client.get(reverse("web:cycle_detail", args=[cycle.pk])).content.decode()
    assert "Faster first response" in html and 'id="action-form"' not in html
    assert client.post(reverse("web:cycle_move", args=[cycle.pk]), {"phase": "do"}).status_code == 403
    assert client.get(reverse("web:cycle_new")).status_code == 403
    assert Cycle.objects.get().phase == "plan"


def test_lesson_library_search(browser, quality):
    services.add_lesson(title="分诊先行", text="把分诊放在受理之前，首次响应时间减半。", by=quality)
    services.add_lesson(title="Refund script", text="A script cut repeat complaints.", by=quality)
    html = browser.get(reverse("web:lesson_library"), {"q": "首次响应"}).content.decode()
    assert "分诊先行" in html and "Refund script" not in html
    fragment = browser.get(reverse("web:lesson_library"), {"q": "refund"}, headers={"HX-Request": "true"})
    assert "Refund script" in fragment.content.decode() and "<html" not in fragment.content.decode()


def test_dashboard_fragment_lists_cycles_in_progress(rf, quality):
    from django.template.loader import render_to_string

    from loopcrm.improvement.queries.cycles import active_cycles_for

    data.slow_then_fast()
    planned(quality, title="In progress")
    html = render_to_string("improvement/_dashboard_cycles.html", {"cycles": active_cycles_for(quality, 5)})
    assert "In progress" in html


@pytest.mark.parametrize("cycles", [1, 8])
def test_board_and_cycle_page_queries_do_not_grow_with_cycles_or_actions(browser, quality, org, cycles,
                                                                         django_assert_max_num_queries):
    data.slow_then_fast(per_day=1)
    made = [planned(quality, title=f"Cycle {i}", members=[org.agent, org.lead], departments=[org.service])
            for i in range(cycles)]
    for cycle in made:
        services.move_phase(cycle, to="do", by=quality)
        for n in range(cycles):
            services.add_action(cycle, title=f"Action {n}", owner=org.agent, status="done", by=quality)
    with django_assert_max_num_queries(6):
        assert browser.get(reverse("web:cycle_board")).status_code == 200
    with django_assert_max_num_queries(17):  # 2 are the registry's series, 1 the pinned fishbones, 1 the roll-up state
        assert browser.get(reverse("web:cycle_detail", args=[made[-1].pk])).status_code == 200


def test_editing_a_cycle_sets_the_after_window(browser, quality, org):
    data.slow_then_fast()
    cycle = planned(quality, members=[org.agent])
    services.move_phase(cycle, to="do", by=quality)
    url = reverse("web:cycle_edit", args=[cycle.pk])
    form = browser.get(url).context["form"]
    assert form.fields["metric_key"].disabled  # past Plan the metric, scope and baseline stay
    windows = data.windows()
    response = browser.post(url, {
        "title": "Faster first response, round one", "metric_key": "first_response_minutes",
        "baseline_start": windows["baseline_start"].isoformat(), "baseline_end": windows["baseline_end"].isoformat(),
        "owner": "", "members": [org.agent.pk, org.lead.pk], "after_start": windows["after_start"].isoformat(),
        "after_end": windows["after_end"].isoformat()})
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert (cycle.title, cycle.after_start, cycle.owner) == ("Faster first response, round one",
                                                              windows["after_start"], quality)
    assert set(cycle.members.all()) == {org.agent, org.lead}


def test_the_cycle_page_lists_its_pinned_fishbones(browser, quality):
    from loopcrm.improvement.queries import fishbone as fishbone_queries
    from loopcrm.improvement.services import diagrams

    data.slow_then_fast()
    cycle = planned(quality)
    assert "No fishbone pinned yet." in browser.get(reverse("web:cycle_detail", args=[cycle.pk])).content.decode()
    drawn = fishbone_queries.fishbone(quality, fishbone_queries.FishboneScope(), effect="投诉回电慢")
    pin = diagrams.pin_fishbone(cycle, drawn, by=quality)
    page = browser.get(reverse("web:cycle_detail", args=[cycle.pk])).content.decode()
    assert reverse("web:fishbone_pin_detail", args=[pin.pk]) in page and "投诉回电慢" in page
