"""REST endpoints of PDCA cycles and the lessons library (thin): /api/v1/cycles… and /api/v1/lessons…"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.apps import apps
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, BodyId, PageOut, StrictIn
from loopcrm.core.errors import NotFound, RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.improvement.models import CheckResult, Cycle, CycleAction
from loopcrm.improvement.queries import cycles as queries
from loopcrm.improvement.services import cycles as services
from loopcrm.service.models import ProcessVersion

router = Router()

Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
Note = Annotated[str, Field(max_length=500)]
Tags = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)]
Filters = Annotated[dict[str, Any], Field(max_length=9)]


# --- schemas ---------------------------------------------------------------------------------

class CycleIn(StrictIn):
    title: Title
    metric_key: Annotated[str, Field(min_length=1, max_length=60)]
    baseline_start: dt.date
    baseline_end: dt.date
    problem: LongText = ""
    filters: Filters = Field(default_factory=dict)
    target_value: float | None = None
    hypothesis: LongText = ""
    owner_id: BodyId | None = None
    member_ids: Annotated[list[BodyId], Field(max_length=50)] = Field(default_factory=list)
    department_ids: Annotated[list[BodyId], Field(max_length=50)] = Field(default_factory=list)
    after_start: dt.date | None = None
    after_end: dt.date | None = None
    source_chart_id: BodyId | None = None
    source_signal_id: BodyId | None = None
    previous_id: BodyId | None = None


class CyclePatch(StrictIn):
    title: Title | None = None
    problem: LongText | None = None
    metric_key: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    filters: Filters | None = None
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None
    target_value: float | None = None
    hypothesis: LongText | None = None
    owner_id: BodyId | None = None
    member_ids: Annotated[list[BodyId], Field(max_length=50)] | None = None
    department_ids: Annotated[list[BodyId], Field(max_length=50)] | None = None
    after_start: dt.date | None = None
    after_end: dt.date | None = None


class PhaseIn(StrictIn):
    phase: Cycle.Phase
    note: Note = ""


class ActionIn(StrictIn):
    title: Title
    owner_id: BodyId | None = None
    due_date: dt.date | None = None
    status: CycleAction.Status = CycleAction.Status.TODO
    process_version_id: BodyId | None = None
    note: LongText = ""


class ActionPatch(StrictIn):
    title: Title | None = None
    owner_id: BodyId | None = None
    due_date: dt.date | None = None
    status: CycleAction.Status | None = None
    process_version_id: BodyId | None = None
    note: LongText | None = None


class StandardiseIn(StrictIn):
    lesson_title: Annotated[str, Field(max_length=200)] = ""
    lesson_text: Annotated[str, Field(min_length=1, max_length=10_000)]
    tags: Tags = Field(default_factory=list)
    note: Note = ""


class AdjustIn(StrictIn):
    note: Note = ""
    lesson_text: LongText = ""
    tags: Tags = Field(default_factory=list)


class LessonIn(StrictIn):
    title: Title
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    tags: Tags = Field(default_factory=list)
    cycle_id: BodyId | None = None


class LessonPatch(StrictIn):
    title: Title | None = None
    text: Annotated[str, Field(min_length=1, max_length=10_000)] | None = None
    tags: Tags | None = None


class ActionOut(Schema):
    id: int
    cycle_id: int
    title: str
    owner_id: int | None
    due_date: dt.date | None
    status: str
    process_version_id: int | None
    note: str
    done_at: dt.datetime | None


class CycleOut(Schema):
    id: int
    title: str
    problem: str
    metric_key: str
    filters: dict[str, Any]
    baseline_start: dt.date
    baseline_end: dt.date
    baseline_value: float | None
    baseline_n: int
    target_value: float | None
    hypothesis: str
    owner_id: int
    member_ids: list[int]
    department_ids: list[int]
    phase: str
    after_start: dt.date | None
    after_end: dt.date | None
    decision: str
    decision_note: str
    previous_id: int | None
    source_chart_id: int | None = None
    source_signal_id: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_member_ids(obj: Cycle) -> list[int]:
        return sorted(user.pk for user in obj.members.all())

    @staticmethod
    def resolve_department_ids(obj: Cycle) -> list[int]:
        return sorted(department.pk for department in obj.departments.all())

    @staticmethod
    def resolve_source_chart_id(obj: Cycle) -> int | None:
        return obj.source_chart_id

    @staticmethod
    def resolve_source_signal_id(obj: Cycle) -> int | None:
        return obj.source_signal_id


class MessageOut(Schema):
    text: str
    params: dict[str, Any]


class CheckOut(Schema):
    id: int
    cycle_id: int
    computed_at: dt.datetime
    test: str
    test_name: str
    why: str
    p_value: float | None
    statistic: float | None
    df: float | None
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    effect: float | None
    effect_label: str
    relative_change: float | None
    effect_size: float | None
    effect_size_name: str
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    significant: bool
    improved: bool | None
    sustained_shift: bool | None = Field(description="8 days in a row on one side of the baseline level in the "
                                                     "after window; null when there is nothing to judge")
    shift_direction: str | None = Field(description='"better" or "worse" when there is a sustained shift')
    power: float | None
    min_n_per_group: int | None
    warnings: list[str]
    explanation: str


class EventOut(Schema):
    id: int
    at: dt.datetime
    by_id: int | None
    kind: str
    detail: dict[str, Any]
    note: str


class LessonOut(Schema):
    id: int
    cycle_id: int | None
    title: str
    text: str
    tags: list[str]
    created_by_id: int | None
    created_at: dt.datetime


class CycleListParams(Schema):
    phase: Cycle.Phase | None = None
    metric: Annotated[str, Field(max_length=60)] | None = None
    q: Annotated[str, Field(max_length=200)] = ""
    cursor: Annotated[str, Field(max_length=500)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] | None = None


class LessonListParams(Schema):
    q: Annotated[str, Field(max_length=200)] = ""
    tag: Annotated[str, Field(max_length=40)] = ""
    cursor: Annotated[str, Field(max_length=500)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] | None = None


# --- helpers ---------------------------------------------------------------------------------

def _one(queryset, pk: int | None, field: str, what: str):
    if pk is None:
        return None
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise RuleViolation(_("No such %(what)s (#%(id)s).") % {"what": what, "id": pk}, field=field)
    return row


def _many(queryset, pks: list[int], field: str, what: str) -> list:
    rows = list(queryset.filter(pk__in=pks))
    missing = sorted(set(pks) - {row.pk for row in rows})
    if missing:
        raise RuleViolation(_("No such %(what)s (#%(id)s).") % {"what": what, "id": missing[0]}, field=field)
    return rows


def _source(model: str, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    try:
        model_class = apps.get_model("improvement", model)
    except LookupError as error:
        raise RuleViolation(_("Control charts are not available."), field=field) from error
    return _one(model_class.objects.all(), pk, field, model.lower())


def _cycle_refs(request, data: dict[str, Any]) -> dict[str, Any]:
    """Ids of the input as the rows they name; an unknown id is a 422 on its field."""
    user = request.user
    if "owner_id" in data:
        data["owner"] = _one(users_for(user), data.pop("owner_id"), "owner_id", _("user"))
        if data["owner"] is None:
            data.pop("owner")
    if "member_ids" in data:
        pks = data.pop("member_ids")
        data["members"] = None if pks is None else _many(users_for(user), pks, "member_ids", _("user"))
    if "department_ids" in data:
        pks = data.pop("department_ids")
        data["departments"] = None if pks is None else _many(departments_for(user), pks, "department_ids",
                                                             _("department"))
    if "source_chart_id" in data:
        data["source_chart"] = _source("ControlChart", data.pop("source_chart_id"), "source_chart_id")
    if "source_signal_id" in data:
        data["source_signal"] = _source("ChartSignal", data.pop("source_signal_id"), "source_signal_id")
    if "previous_id" in data:
        pk = data.pop("previous_id")
        data["previous"] = None if pk is None else _one(queries.cycles_for(user), pk, "previous_id", _("cycle"))
    return data


def _action_refs(request, data: dict[str, Any]) -> dict[str, Any]:
    if "owner_id" in data:
        data["owner"] = _one(users_for(request.user), data.pop("owner_id"), "owner_id", _("user"))
    if "process_version_id" in data:
        data["process_version"] = _one(ProcessVersion.objects.all(), data.pop("process_version_id"),
                                       "process_version_id", _("process version"))
    return data


def check_out(result: CheckResult) -> dict[str, Any]:
    data = result.data or {}
    return {
        **{key: data.get(key) for key in ("statistic", "df", "before", "after", "relative_change", "effect_size",
                                          "power", "min_n_per_group")},
        **{key: services.label(data.get(key)) for key in ("test_name", "effect_label", "effect_size_name",
                                                           "ci_method")},
        "n_before": data.get("n_before") or 0, "n_after": data.get("n_after") or 0,
        "id": result.pk, "cycle_id": result.cycle_id, "computed_at": result.computed_at, "test": result.test,
        "why": services.translate(data.get("why") or {}), "p_value": result.p_value, "effect": result.effect,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "significant": result.significant,
        "improved": result.improved, "sustained_shift": result.sustained_shift,
        "shift_direction": data.get("shift_direction"),
        "warnings": [services.translate(w) for w in data.get("warnings") or []],
        "explanation": services.translate(data.get("explanation") or {}) or result.explanation,
    }


def _page(page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


# --- cycles ----------------------------------------------------------------------------------

@router.get("/cycles", response={200: PageOut[CycleOut], **COMMON_ERRORS}, url_name="cycles",
            summary="List improvement cycles", description="Newest first; filter by phase, metric or words.")
def list_cycles(request, params: Query[CycleListParams]):
    rows = queries.cycles_for(request.user).prefetch_related("members", "departments")
    if params.phase:
        rows = rows.filter(phase=params.phase)
    if params.metric:
        rows = rows.filter(metric_key=params.metric)
    if params.q:
        rows = queries.cycle_list_for(request.user, q=params.q).prefetch_related("members", "departments") \
            .filter(pk__in=rows.values("pk"))
    return _page(paginate(rows, sort="-id", allowed=("-id",), cursor=params.cursor, limit=params.limit))


@router.post("/cycles", response={201: CycleOut, **WRITE_ERRORS}, url_name="plan_cycle",
             summary="Plan a cycle",
             description="Opens a cycle in Plan; the baseline of the metric over the window and scope is computed "
                         "now and stored (`baseline_value`, `baseline_n`).")
def plan_cycle(request, payload: CycleIn):
    queries.require_planner(request.user)
    data = _cycle_refs(request, payload.model_dump())
    data["members"] = data.get("members") or []
    data["departments"] = data.get("departments") or []
    return Status(201, services.plan_cycle(by=request.user, **data))


@router.get("/cycles/{cycle_id}", response={200: CycleOut, **COMMON_ERRORS}, url_name="cycle",
            summary="One cycle")
def get_cycle(request, cycle_id: int):
    return queries.get_cycle_for(request.user, cycle_id)


@router.patch("/cycles/{cycle_id}", response={200: CycleOut, **WRITE_ERRORS}, url_name="update_cycle",
              summary="Change a cycle",
              description="Metric, scope and baseline window change only in Plan (the baseline is recomputed).")
def update_cycle(request, cycle_id: int, payload: CyclePatch):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    data = _cycle_refs(request, payload.model_dump(exclude_unset=True))
    return services.update_cycle(cycle, by=request.user, **data)


@router.delete("/cycles/{cycle_id}", response={204: None, **WRITE_ERRORS}, url_name="delete_cycle",
               summary="Delete a cycle still in Plan")
def delete_cycle(request, cycle_id: int):
    services.delete_cycle(queries.get_cycle_for(request.user, cycle_id, "change"), by=request.user)
    return Status(204, None)


@router.post("/cycles/{cycle_id}/phase", response={200: CycleOut, **WRITE_ERRORS}, url_name="move_cycle",
             summary="Move a cycle to another phase",
             description="Do needs a baseline with data; Check needs a done action and an after window with data; "
                         "Act needs a computed Check. A refused move answers 422 naming the field at fault.")
def move_cycle(request, cycle_id: int, payload: PhaseIn):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    return services.move_phase(cycle, to=payload.phase, by=request.user, note=payload.note)


@router.get("/cycles/{cycle_id}/history", response={200: list[EventOut], **COMMON_ERRORS}, url_name="cycle_history",
            summary="A cycle's history", description="Who did what and when, newest first (at most 200).")
def cycle_history(request, cycle_id: int):
    return queries.history(queries.get_cycle_for(request.user, cycle_id))


@router.get("/cycles/{cycle_id}/actions", response={200: list[ActionOut], **COMMON_ERRORS}, url_name="cycle_actions",
            summary="A cycle's actions")
def list_actions(request, cycle_id: int):
    return queries.actions_of(queries.get_cycle_for(request.user, cycle_id))


@router.post("/cycles/{cycle_id}/actions", response={201: ActionOut, **WRITE_ERRORS}, url_name="add_cycle_action",
             summary="Add an action")
def add_action(request, cycle_id: int, payload: ActionIn):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    return Status(201, services.add_action(cycle, by=request.user, **_action_refs(request, payload.model_dump())))


@router.patch("/cycles/{cycle_id}/actions/{action_id}", response={200: ActionOut, **WRITE_ERRORS},
              url_name="update_cycle_action", summary="Change an action")
def update_action(request, cycle_id: int, action_id: int, payload: ActionPatch):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    action = queries.get_action_for(request.user, cycle, action_id)
    return services.update_action(action, by=request.user,
                                  **_action_refs(request, payload.model_dump(exclude_unset=True)))


@router.delete("/cycles/{cycle_id}/actions/{action_id}", response={204: None, **WRITE_ERRORS},
               url_name="delete_cycle_action", summary="Delete an action")
def delete_action(request, cycle_id: int, action_id: int):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    services.delete_action(queries.get_action_for(request.user, cycle, action_id), by=request.user)
    return Status(204, None)


@router.post("/cycles/{cycle_id}/check", response={201: CheckOut, **WRITE_ERRORS}, url_name="compute_cycle_check",
             summary="Compute the Check",
             description="Before (baseline window) vs after window on the cycle's metric and scope, from live data: "
                         "the test that fits (two-proportion z / chi-square for rates, Mann–Whitney U / Welch t for "
                         "times) with why, p-value, effect, confidence interval, power warning and whether the daily "
                         "series shows a sustained shift. Each computation is stored.")
def compute_check(request, cycle_id: int):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    return Status(201, check_out(services.compute_check(cycle, by=request.user)))


@router.get("/cycles/{cycle_id}/check", response={200: CheckOut, **COMMON_ERRORS}, url_name="cycle_check",
            summary="The latest computed Check")
def latest_check(request, cycle_id: int):
    result = queries.latest_check(queries.get_cycle_for(request.user, cycle_id))
    if result is None:
        raise NotFound(_("The Check has not been computed yet."), field="check")
    return check_out(result)


@router.post("/cycles/{cycle_id}/standardise", response={200: CycleOut, **WRITE_ERRORS},
             url_name="standardise_cycle", summary="Act: standardise",
             description="Publishes the process versions the done actions changed as the new standard, records the "
                         "lesson and closes the cycle.")
def standardise(request, cycle_id: int, payload: StandardiseIn):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    services.standardise(cycle, by=request.user, **payload.model_dump())
    return queries.get_cycle_for(request.user, cycle_id)


@router.post("/cycles/{cycle_id}/adjust", response={201: CycleOut, **WRITE_ERRORS}, url_name="adjust_cycle",
             summary="Act: adjust and go round again",
             description="Closes the cycle and opens the next one linked to it, prefilled; answers the new cycle.")
def adjust(request, cycle_id: int, payload: AdjustIn):
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    return Status(201, services.adjust(cycle, by=request.user, **payload.model_dump()))


# --- lessons ---------------------------------------------------------------------------------

@router.get("/lessons", response={200: PageOut[LessonOut], **COMMON_ERRORS}, url_name="lessons",
            summary="Search the lessons-learned library",
            description="Every word must appear in the title, text or tags (Chinese is matched by character pairs).")
def list_lessons(request, params: Query[LessonListParams]):
    rows = queries.lessons_for(request.user, q=params.q, tag=params.tag)
    return _page(paginate(rows, sort="-id", allowed=("-id",), cursor=params.cursor, limit=params.limit))


@router.post("/lessons", response={201: LessonOut, **WRITE_ERRORS}, url_name="add_lesson", summary="Record a lesson")
def add_lesson(request, payload: LessonIn):
    queries.require_planner(request.user)
    data = payload.model_dump()
    cycle_id = data.pop("cycle_id")
    cycle = queries.get_cycle_for(request.user, cycle_id, "change") if cycle_id else None
    return Status(201, services.add_lesson(by=request.user, cycle=cycle, **data))


@router.get("/lessons/{lesson_id}", response={200: LessonOut, **COMMON_ERRORS}, url_name="lesson",
            summary="One lesson")
def get_lesson(request, lesson_id: int):
    return queries.get_lesson_for(request.user, lesson_id)


@router.patch("/lessons/{lesson_id}", response={200: LessonOut, **WRITE_ERRORS}, url_name="update_lesson",
              summary="Change a lesson")
def update_lesson(request, lesson_id: int, payload: LessonPatch):
    lesson = queries.get_lesson_for(request.user, lesson_id)
    queries.require_planner(request.user)
    return services.update_lesson(lesson, by=request.user, **payload.model_dump(exclude_unset=True))


