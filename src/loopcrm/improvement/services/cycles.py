"""PDCA cycles: plan with a baseline computed on the spot, act through the phases under their rules,
compute the Check from live data, and standardise or adjust.

Every write takes `by=` and leaves a CycleEvent (the cycle's history) and an audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.analytics import registry, stats
from loopcrm.core import audit
from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.improvement.models import CheckResult, Cycle, CycleAction, CycleEvent, Lesson
from loopcrm.service.models import ProcessVersion

Phase = Cycle.Phase
SUSTAINED_RUN = 8  # points in a row on one side of the centre line: Nelson rule 2 / Western Electric rule 4
EDITABLE = ("title", "problem", "target_value", "hypothesis", "after_start", "after_end")
REPLAN = ("metric_key", "filters", "baseline_start", "baseline_end")
MAX_WINDOW_DAYS = 3 * 366

# The moves a cycle may make; forward moves have rules (below), backward moves are always allowed
# before the decision.
MOVES = {
    Phase.PLAN: {Phase.DO},
    Phase.DO: {Phase.PLAN, Phase.CHECK},
    Phase.CHECK: {Phase.DO, Phase.ACT},
    Phase.ACT: {Phase.CHECK},
    Phase.CLOSED: set(),
}


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def record_event(cycle: Cycle, kind: str, *, by: User | None, at: dt.datetime | None = None,
                 detail: dict | None = None, note: str = "") -> CycleEvent:
    return CycleEvent.objects.create(cycle=cycle, kind=kind, by=by if getattr(by, "pk", None) else None,
                                     at=_now(at), detail=detail or {}, note=(note or "")[:500])


def _locked(cycle: Cycle) -> Cycle:
    return Cycle.objects.select_for_update().get(pk=cycle.pk)


def _metric(key: str) -> registry.Metric:
    try:
        return registry.get(key)
    except DomainError as error:
        raise RuleViolation(_("There is no metric “%(key)s” in the registry.") % {"key": key},
                            field="metric_key") from error


def _check_filters(metric: registry.Metric, filters: dict | None) -> dict:
    return registry.clean_filters(metric, filters)


def _check_window(start: dt.date | None, end: dt.date | None, *, field: str, today: dt.date) -> None:
    if start is None or end is None:
        raise RuleViolation(_("Give both the first and the last day of the window."), field=field)
    if end < start:
        raise RuleViolation(_("The window ends before it starts."), field=field.replace("start", "end"))
    if (end - start).days > MAX_WINDOW_DAYS:
        raise RuleViolation(_("A window can span at most three years."), field=field.replace("start", "end"))
    if start > today:
        raise RuleViolation(_("The window starts in the future."), field=field)


def _baseline(cycle: Cycle) -> None:
    point = registry.total(cycle.metric_key, start=cycle.baseline_start, end=cycle.baseline_end,
                           filters=cycle.filters or None)
    cycle.baseline_value = point.value
    cycle.baseline_n = point.n


@transaction.atomic
def plan_cycle(*, title: str, metric_key: str, baseline_start: dt.date, baseline_end: dt.date, by: User,
               problem: str = "", filters: dict | None = None, target_value: float | None = None,
               hypothesis: str = "", owner: User | None = None, members: Iterable[User] = (),
               departments: Iterable[Department] = (), source_chart: Any = None, source_signal: Any = None,
               previous: Cycle | None = None, after_start: dt.date | None = None, after_end: dt.date | None = None,
               at: dt.datetime | None = None) -> Cycle:
    """Open a cycle in Plan: the baseline of the metric over its window and scope is computed now and kept."""
    at = _now(at)
    title = (title or "").strip()
    if not title:
        raise RuleViolation(_("Give the cycle a title."), field="title")
    metric = _metric(metric_key)
    filters = _check_filters(metric, filters)
    today = timezone.localdate(at)
    _check_window(baseline_start, baseline_end, field="baseline_start", today=today)
    if after_start or after_end:
        _check_after(baseline_end, after_start, after_end)
    cycle = Cycle(title=title[:200], problem=problem or "", metric_key=metric.key, filters=filters,
                  baseline_start=baseline_start, baseline_end=baseline_end, target_value=target_value,
                  hypothesis=hypothesis or "", owner=owner or by, previous=previous, after_start=after_start,
                  after_end=after_end, created_by=by)
    if source_signal is not None and source_chart is None:
        source_chart = source_signal.chart
    if source_signal is not None and source_signal.chart_id != getattr(source_chart, "pk", None):
        raise RuleViolation(_("The signal is not one of this control chart's."), field="source_signal_id")
    cycle.source_chart, cycle.source_signal = source_chart, source_signal
    _baseline(cycle)
    cycle.save()
    cycle.members.set(list(members))
    cycle.departments.set(list(departments))
    if source_signal is not None and source_signal.is_open:
        from loopcrm.improvement.services.charts import mark_cycle_opened

        mark_cycle_opened(source_signal, by=by, at=at)
    record_event(cycle, CycleEvent.Kind.PLANNED, by=by, at=at,
                 detail={"metric": metric.key, "baseline": cycle.baseline_value, "n": cycle.baseline_n})
    audit.record(action="create", obj=cycle, by=by, at=at,
                 changes=audit.snapshot(cycle, ["metric_key", "filters", "baseline_start", "baseline_end",
                                                "baseline_value", "target_value", "owner"]))
    return cycle


def _check_after(baseline_end: dt.date, start: dt.date | None, end: dt.date | None) -> None:
    if start is None or end is None:
        raise RuleViolation(_("Give both the first and the last day of the after window."), field="after_start")
    if end < start:
        raise RuleViolation(_("The window ends before it starts."), field="after_end")
    if start <= baseline_end:
        raise RuleViolation(_("The after window must start after the baseline window ends."), field="after_start")


@transaction.atomic
def update_cycle(cycle: Cycle, *, by: User, at: dt.datetime | None = None, members: Iterable[User] | None = None,
                 departments: Iterable[Department] | None = None, **changes: Any) -> Cycle:
    """Edit a cycle. The metric, scope and baseline window change only in Plan (the baseline is recomputed)."""
    at = _now(at)
    cycle = _locked(cycle)
    if cycle.phase == Phase.CLOSED:
        raise RuleViolation(_("This cycle is closed."), field="phase")
    unknown = set(changes) - set(EDITABLE) - set(REPLAN) - {"owner"}
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                            field=sorted(unknown)[0])
    before = audit.snapshot(cycle, [*EDITABLE, *REPLAN, "owner", "baseline_value"])
    replan = {name: value for name, value in changes.items() if name in REPLAN}
    if replan and cycle.phase != Phase.PLAN:
        raise RuleViolation(_("The metric, scope and baseline can only change in Plan."), field=sorted(replan)[0])
    if "title" in changes and not (changes["title"] or "").strip():
        raise RuleViolation(_("Give the cycle a title."), field="title")
    if "owner" in changes and changes["owner"] is None:
        raise RuleViolation(_("A cycle needs an owner."), field="owner")
    for name, value in changes.items():
        setattr(cycle, name, value)
    if replan:
        metric = _metric(cycle.metric_key)
        cycle.filters = _check_filters(metric, cycle.filters)
        _check_window(cycle.baseline_start, cycle.baseline_end, field="baseline_start", today=timezone.localdate(at))
        _baseline(cycle)
    if cycle.after_start or cycle.after_end:
        _check_after(cycle.baseline_end, cycle.after_start, cycle.after_end)
    cycle.save()
    if members is not None:
        cycle.members.set(list(members))
    if departments is not None:
        cycle.departments.set(list(departments))
    diff = audit.diff(before, audit.snapshot(cycle, [*EDITABLE, *REPLAN, "owner", "baseline_value"]))
    if diff or members is not None or departments is not None:
        record_event(cycle, CycleEvent.Kind.UPDATED, by=by, at=at, detail={"changed": sorted(diff)})
        audit.record(action="update", obj=cycle, by=by, at=at, changes=diff)
    return cycle


def _after_has_data(cycle: Cycle) -> bool:
    point = registry.total(cycle.metric_key, start=cycle.after_start, end=cycle.after_end,
                           filters=cycle.filters or None)
    return point.n > 0


@transaction.atomic
def move_phase(cycle: Cycle, *, to: str, by: User, at: dt.datetime | None = None, note: str = "") -> Cycle:
    """Move a cycle to another phase under the rules: Plan → Do needs a baseline with data; Check needs a
    finished action and an after window with data; Act needs a computed Check. Closing is what Act does."""
    at = _now(at)
    cycle = _locked(cycle)
    try:
        target = Phase(to)
    except ValueError as error:
        raise RuleViolation(_("There is no phase “%(phase)s”.") % {"phase": to}, field="phase") from error
    if target == cycle.phase:
        return cycle
    if target not in MOVES[Phase(cycle.phase)]:
        raise RuleViolation(_("A cycle cannot move from %(from)s to %(to)s.")
                            % {"from": cycle.get_phase_display(), "to": target.label}, field="phase")
    if target == Phase.DO and not cycle.baseline_n:
        raise RuleViolation(_("The baseline window has no data for this metric and scope; choose another window."),
                            field="baseline_start")
    if target == Phase.CHECK and cycle.phase == Phase.DO:
        if not cycle.actions.filter(status=CycleAction.Status.DONE).exists():
            raise RuleViolation(_("Finish at least one action before the Check."), field="actions")
        if not (cycle.after_start and cycle.after_end):
            raise RuleViolation(_("Set the after window before the Check."), field="after_start")
        if not _after_has_data(cycle):
            raise RuleViolation(_("The after window has no data yet for this metric and scope."), field="after_end")
    if target == Phase.ACT and not cycle.checks.exists():
        raise RuleViolation(_("Compute the Check before acting on it."), field="check")
    old = cycle.phase
    cycle.phase = target
    cycle.save(update_fields=["phase", "updated_at"])
    record_event(cycle, CycleEvent.Kind.PHASE, by=by, at=at, detail={"from": old, "to": target.value}, note=note)
    audit.record(action="update", obj=cycle, by=by, at=at, changes={"phase": [old, target.value]}, note=note)
    return cycle


# --- Do: actions -------------------------------------------------------------------------------

ACTION_FIELDS = ("title", "owner", "due_date", "status", "process_version", "note")


def _check_open(cycle: Cycle) -> None:
    if cycle.phase == Phase.CLOSED:
        raise RuleViolation(_("This cycle is closed."), field="phase")


@transaction.atomic
def add_action(cycle: Cycle, *, title: str, by: User, owner: User | None = None, due_date: dt.date | None = None,
               status: str = CycleAction.Status.TODO, process_version: ProcessVersion | None = None, note: str = "",
               at: dt.datetime | None = None) -> CycleAction:
    at = _now(at)
    cycle = _locked(cycle)
    _check_open(cycle)
    title = (title or "").strip()
    if not title:
        raise RuleViolation(_("Give the action a title."), field="title")
    if status not in CycleAction.Status.values:
        raise RuleViolation(_("There is no status “%(status)s”.") % {"status": status}, field="status")
    action = CycleAction.objects.create(cycle=cycle, title=title[:200], owner=owner, due_date=due_date, status=status,
                                        process_version=process_version, note=note or "",
                                        done_at=at if status == CycleAction.Status.DONE else None)
    cycle.save(update_fields=["updated_at"])
    record_event(cycle, CycleEvent.Kind.ACTION_ADDED, by=by, at=at, detail={"action": action.pk, "title": action.title})
    audit.record(action="create", obj=action, by=by, at=at, changes=audit.snapshot(action, ACTION_FIELDS))
    return action


@transaction.atomic
def update_action(action: CycleAction, *, by: User, at: dt.datetime | None = None, **changes: Any) -> CycleAction:
    at = _now(at)
    action = CycleAction.objects.select_for_update().get(pk=action.pk)
    _check_open(action.cycle)
    unknown = set(changes) - set(ACTION_FIELDS)
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                            field=sorted(unknown)[0])
    if "title" in changes and not (changes["title"] or "").strip():
        raise RuleViolation(_("Give the action a title."), field="title")
    if "status" in changes and changes["status"] not in CycleAction.Status.values:
        raise RuleViolation(_("There is no status “%(status)s”.") % {"status": changes["status"]}, field="status")
    before = audit.snapshot(action, ACTION_FIELDS)
    for name, value in changes.items():
        setattr(action, name, value.strip() if name == "title" else value)
    if action.status == CycleAction.Status.DONE and action.done_at is None:
        action.done_at = at
    elif action.status != CycleAction.Status.DONE:
        action.done_at = None
    action.save()
    diff = audit.diff(before, audit.snapshot(action, ACTION_FIELDS))
    if diff:
        action.cycle.save(update_fields=["updated_at"])
        record_event(action.cycle, CycleEvent.Kind.ACTION_UPDATED, by=by, at=at,
                     detail={"action": action.pk, "title": action.title, "changed": sorted(diff)})
        audit.record(action="update", obj=action, by=by, at=at, changes=diff)
    return action


@transaction.atomic
def delete_action(action: CycleAction, *, by: User, at: dt.datetime | None = None) -> None:
    at = _now(at)
    _check_open(action.cycle)
    cycle = action.cycle
    record_event(cycle, CycleEvent.Kind.ACTION_DELETED, by=by, at=at,
                 detail={"action": action.pk, "title": action.title})
    audit.record(action="delete", obj=action, by=by, at=at, changes=audit.snapshot(action, ACTION_FIELDS))
    action.delete()
    cycle.save(update_fields=["updated_at"])


# --- Check ---------------------------------------------------------------------------------------


def sustained_shift(values: list[float | None], *, centre: float, better: registry.Better,
                    run: int = SUSTAINED_RUN) -> str | None:
    """"better" or "worse" when `run` non-empty points in a row fall on one side of `centre`, else None.

    The run rule of SPC (Nelson 2 / Western Electric 4) read over the after window: the shift is sustained,
    not one good day. Empty buckets neither break nor extend a run; a point on the centre line breaks it.
    """
    streak, side = 0, 0
    for value in values:
        if value is None:
            continue
        here = (value > centre) - (value < centre)
        streak = streak + 1 if here and here == side else (1 if here else 0)
        side = here
        if streak >= run:
            higher = side > 0
            return "better" if higher == (better == registry.Better.HIGHER) else "worse"
    return None


def chart_shift(cycle: Cycle, metric: registry.Metric) -> str | bool | None:
    """Does the daily series of the after window show a sustained shift against the baseline's level?

    The centre line is the baseline total (its mean for times, its rate for rates). Answers "better",
    "worse", None for no shift, or False when there is nothing to judge (no baseline value).
    """
    if cycle.baseline_value is None or not cycle.after_start or not cycle.after_end:
        return False
    points = registry.series(cycle.metric_key, start=cycle.after_start, end=cycle.after_end,
                             grain=registry.Grain.DAY, filters=cycle.filters or None)
    return sustained_shift([p.value for p in points], centre=cycle.baseline_value, better=metric.better)


def label(text: str | None) -> str:
    """A name from analytics.stats (a test, an effect, an interval) in the active language."""
    return _(text) if text else ""


def translate(message: dict | stats.Message) -> str:
    """A stats message in the active language (its msgid is in the improvement catalogue)."""
    if isinstance(message, stats.Message):
        message = message.as_dict()
    text, params = message.get("text", ""), dict(message.get("params") or {})
    if not text:
        return ""
    if isinstance(params.get("test"), str):  # the name of a test is itself a msgid
        params["test"] = _(params["test"])
    translated = _(text)
    try:
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return text % params if params else text


@transaction.atomic
def compute_check(cycle: Cycle, *, by: User | None, at: dt.datetime | None = None) -> CheckResult:
    """The Check: registry samples of the baseline window vs the after window, through `stats.compare`,
    plus whether the daily series shows a sustained shift. Stored as a CheckResult; computing again adds one."""
    at = _now(at)
    cycle = _locked(cycle)
    if not (cycle.after_start and cycle.after_end):
        raise RuleViolation(_("Set the after window before the Check."), field="after_start")
    if cycle.phase in (Phase.PLAN, Phase.CLOSED):
        raise RuleViolation(_("The Check is computed once the cycle is under way (Do, Check or Act)."), field="phase")
    metric = _metric(cycle.metric_key)
    filters = cycle.filters or None
    before = registry.samples(cycle.metric_key, start=cycle.baseline_start, end=cycle.baseline_end, filters=filters)
    after = registry.samples(cycle.metric_key, start=cycle.after_start, end=cycle.after_end, filters=filters)
    check = stats.compare(before, after, metric.better)
    shift = chart_shift(cycle, metric)
    data = check.as_dict()
    data["shift_direction"] = shift or None
    data["sustained_shift"] = None if shift is False else shift is not None
    data["metric"] = {"key": metric.key, "unit": metric.unit, "better": metric.better.value, "kind": metric.kind.value}
    data["windows"] = {"before": [cycle.baseline_start.isoformat(), cycle.baseline_end.isoformat()],
                       "after": [cycle.after_start.isoformat(), cycle.after_end.isoformat()]}
    result = CheckResult.objects.create(
        cycle=cycle, computed_at=at, computed_by=by if getattr(by, "pk", None) else None, test=check.test,
        p_value=check.p_value, effect=check.effect, ci_low=check.ci_low, ci_high=check.ci_high,
        before_value=check.before, after_value=check.after, significant=check.significant, improved=check.improved,
        sustained_shift=data["sustained_shift"], explanation=str(check.explanation), data=_json_safe(data))
    cycle.save(update_fields=["updated_at"])
    record_event(cycle, CycleEvent.Kind.CHECKED, by=by, at=at,
                 detail={"check": result.pk, "test": check.test, "p": check.p_value, "improved": check.improved})
    return result


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return value


# --- Act -----------------------------------------------------------------------------------------


def _check_act(cycle: Cycle) -> None:
    if cycle.phase != Phase.ACT:
        raise RuleViolation(_("Move the cycle to Act first."), field="phase")
    if not cycle.checks.exists():
        raise RuleViolation(_("Compute the Check before acting on it."), field="check")


def _search_text(title: str, text: str, tags: Iterable[str]) -> str:
    return " ".join([title, text, *tags]).lower()


def _tags(tags: Iterable[str] | None) -> list[str]:
    seen: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip()[:40]
        if tag and tag not in seen:
            seen.append(tag)
    return seen[:20]


@transaction.atomic
def add_lesson(*, title: str, text: str, by: User, cycle: Cycle | None = None, tags: Iterable[str] | None = None,
               at: dt.datetime | None = None) -> Lesson:
    """Record a lesson learned in the library."""
    at = _now(at)
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise RuleViolation(_("Give the lesson a title."), field="lesson_title")
    if not text:
        raise RuleViolation(_("Write what was learned."), field="lesson_text")
    tags = _tags(tags)
    lesson = Lesson.objects.create(cycle=cycle, title=title[:200], text=text, tags=tags, created_by=by,
                                   search_text=_search_text(title, text, tags))
    if cycle is not None:
        record_event(cycle, CycleEvent.Kind.LESSON, by=by, at=at, detail={"lesson": lesson.pk, "title": lesson.title})
    audit.record(action="create", obj=lesson, by=by, at=at, changes={"title": lesson.title, "tags": tags})
    return lesson


@transaction.atomic
def update_lesson(lesson: Lesson, *, by: User, title: str | None = None, text: str | None = None,
                  tags: Iterable[str] | None = None, at: dt.datetime | None = None) -> Lesson:
    at = _now(at)
    lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
    if title is not None:
        if not title.strip():
            raise RuleViolation(_("Give the lesson a title."), field="title")
        lesson.title = title.strip()[:200]
    if text is not None:
        if not text.strip():
            raise RuleViolation(_("Write what was learned."), field="text")
        lesson.text = text.strip()
    if tags is not None:
        lesson.tags = _tags(tags)
    lesson.search_text = _search_text(lesson.title, lesson.text, lesson.tags)
    lesson.save()
    audit.record(action="update", obj=lesson, by=by, at=at, changes={"title": lesson.title, "tags": lesson.tags})
    return lesson


@transaction.atomic
def standardise(cycle: Cycle, *, by: User, lesson_title: str = "", lesson_text: str, tags: Iterable[str] | None = None,
                note: str = "", at: dt.datetime | None = None) -> list[ProcessVersion]:
    """Act: the change worked, make it the standard. Each process version a finished action changed is
    published again as the current version of its process (change note naming the cycle), the lesson is
    recorded, and the cycle closes. Returns the versions published."""
    from loopcrm.service.services.processes import publish_version, specs_of

    at = _now(at)
    cycle = _locked(cycle)
    _check_act(cycle)
    if not (lesson_text or "").strip():
        raise RuleViolation(_("Write what was learned."), field="lesson_text")
    versions = list(ProcessVersion.objects.filter(
        cycle_actions__cycle=cycle, cycle_actions__status=CycleAction.Status.DONE,
    ).select_related("definition").distinct().order_by("pk"))
    published: list[ProcessVersion] = []
    seen: set[int] = set()
    for version in versions:
        if version.definition_id in seen:
            continue
        seen.add(version.definition_id)
        change_note = (_("Standardised by improvement cycle #%(id)s “%(title)s”.")
                       % {"id": cycle.pk, "title": cycle.title})
        if note:
            change_note = f"{change_note} {note}"
        published.append(publish_version(version.definition, steps=specs_of(version), change_note=change_note,
                                         by=by, at=at))
    add_lesson(title=lesson_title or cycle.title, text=lesson_text, tags=tags, cycle=cycle, by=by, at=at)
    _close(cycle, Cycle.Decision.STANDARDISE, note=note, by=by, at=at)
    record_event(cycle, CycleEvent.Kind.STANDARDISED, by=by, at=at,
                 detail={"versions": [v.pk for v in published]}, note=note)
    return published


def _close(cycle: Cycle, decision: str, *, note: str, by: User, at: dt.datetime) -> None:
    old = cycle.phase
    cycle.decision, cycle.decision_note, cycle.phase, cycle.closed_at = decision, note or "", Phase.CLOSED, at
    cycle.save(update_fields=["decision", "decision_note", "phase", "closed_at", "updated_at"])
    audit.record(action="update", obj=cycle, by=by, at=at,
                 changes={"phase": [old, Phase.CLOSED.value], "decision": [None, decision]}, note=note)


@transaction.atomic
def adjust(cycle: Cycle, *, by: User, note: str = "", lesson_text: str = "", tags: Iterable[str] | None = None,
           at: dt.datetime | None = None) -> Cycle:
    """Act: not there yet. Close this cycle with the decision and open the next one, linked to it and
    prefilled: same metric, scope, target, owner and team; its baseline is this cycle's after window."""
    at = _now(at)
    cycle = _locked(cycle)
    _check_act(cycle)
    if lesson_text.strip():
        add_lesson(title=cycle.title, text=lesson_text, tags=tags, cycle=cycle, by=by, at=at)
    _close(cycle, Cycle.Decision.ADJUST, note=note, by=by, at=at)
    round_no = 2
    walker = cycle
    while walker.previous_id is not None and round_no < 50:
        walker = walker.previous
        round_no += 1
    base_title = cycle.title.split(" · ")[0]
    following = plan_cycle(
        title=f"{base_title} · " + _("round %(n)s") % {"n": round_no}, metric_key=cycle.metric_key,
        baseline_start=cycle.after_start or cycle.baseline_start, baseline_end=cycle.after_end or cycle.baseline_end,
        by=by, problem=cycle.problem, filters=cycle.filters, target_value=cycle.target_value,
        hypothesis="", owner=cycle.owner, members=cycle.members.all(), departments=cycle.departments.all(),
        source_chart=cycle.source_chart, source_signal=cycle.source_signal,
        previous=cycle, at=at)
    record_event(cycle, CycleEvent.Kind.ADJUSTED, by=by, at=at, detail={"next": following.pk}, note=note)
    return following


@transaction.atomic
def delete_cycle(cycle: Cycle, *, by: User, at: dt.datetime | None = None) -> None:
    """Delete a cycle that never left Plan (later, its history is the record: close it instead)."""
    at = _now(at)
    cycle = _locked(cycle)
    if cycle.phase != Phase.PLAN or cycle.checks.exists():
        raise RuleViolation(_("Only a cycle still in Plan can be deleted."), field="phase")
    audit.record(action="delete", obj=cycle, by=by, at=at, changes={"title": cycle.title})
    cycle.delete()
