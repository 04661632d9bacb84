"""Reads of PDCA cycles and lessons, through one permission door (scope type "improvement").

A cycle belongs to its owner and to its departments (a cross-department team); team members always
see the cycles they work on. Out of scope answers 404, like a missing cycle.
"""

from __future__ import annotations

import re

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.improvement.models import CheckResult, Cycle, CycleAction, CycleEvent, Lesson

BOARD_PHASES = (Cycle.Phase.PLAN, Cycle.Phase.DO, Cycle.Phase.CHECK, Cycle.Phase.ACT, Cycle.Phase.CLOSED)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def cycles_for(user: User, action: str = "view") -> QuerySet[Cycle]:
    """The cycles `user` may see (action "view") or change (action "change")."""
    q = scope_filter(user, "improvement", action, owner="owner", department="departments")
    if q is None:
        return Cycle.objects.none()
    if q == Q():
        return Cycle.objects.all()
    if action == "view":
        q |= Q(members=user)
    return Cycle.objects.filter(pk__in=Cycle.objects.filter(q).values("pk"))


def get_cycle_for(user: User, cycle_id: int, action: str = "view") -> Cycle:
    """The cycle, if `user` may see it (else 404); for "change", a cycle seen but not changeable is a 403."""
    cycle = (cycles_for(user, "view").select_related("owner", "previous", "created_by")
             .prefetch_related("members", "departments").filter(pk=cycle_id).first())
    if cycle is None:
        raise NotFound(_("No such improvement cycle."), field="cycle_id")
    if action != "view" and not cycles_for(user, action).filter(pk=cycle.pk).exists():
        raise PermissionDenied(_("You may see this cycle but not change it."))
    return cycle


def can_change(user: User, cycle: Cycle) -> bool:
    return cycles_for(user, "change").filter(pk=cycle.pk).exists()


def get_action_for(user: User, cycle: Cycle, action_id: int) -> CycleAction:
    row = cycle.actions.select_related("owner", "process_version__definition").filter(pk=action_id).first()
    if row is None:
        raise NotFound(_("No such action in this cycle."), field="action_id")
    return row


def cycle_list_for(user: User, *, phase: str | None = None, metric_key: str | None = None,
                   q: str = "") -> QuerySet[Cycle]:
    rows = cycles_for(user).select_related("owner").annotate(
        actions_total=Count("actions", distinct=True),
        actions_done=Count("actions", filter=Q(actions__status=CycleAction.Status.DONE), distinct=True),
    )
    if phase:
        rows = rows.filter(phase=phase)
    if metric_key:
        rows = rows.filter(metric_key=metric_key)
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(problem__icontains=q))
    return rows.order_by("-updated_at", "-id")


def board_for(user: User, *, per_phase: int = 50) -> dict[str, list[Cycle]]:
    """The PDCA board: the cycles of each phase, most recently touched first (closed: the latest only)."""
    rows = list(cycle_list_for(user).exclude(phase=Cycle.Phase.CLOSED)[: per_phase * 4])
    rows += list(cycle_list_for(user, phase=Cycle.Phase.CLOSED)[:per_phase])
    board: dict[str, list[Cycle]] = {phase.value: [] for phase in BOARD_PHASES}
    for cycle in rows:
        if len(board[cycle.phase]) < per_phase:
            board[cycle.phase].append(cycle)
    return board


def active_cycles_for(user: User, limit: int = 5) -> list[Cycle]:
    """Cycles in progress (Plan to Act), for the quality dashboard."""
    if not can(user, "improvement", "view"):
        return []
    return list(cycle_list_for(user).exclude(phase=Cycle.Phase.CLOSED)[:limit])


def history(cycle: Cycle, *, limit: int = 200) -> list[CycleEvent]:
    return list(cycle.events.select_related("by").order_by("-at", "-id")[:limit])


def latest_check(cycle: Cycle) -> CheckResult | None:
    return cycle.checks.select_related("computed_by").order_by("-computed_at", "-id").first()


def actions_of(cycle: Cycle) -> list[CycleAction]:
    return list(cycle.actions.select_related("owner", "process_version__definition").order_by("due_date", "id"))


def search_terms(text: str) -> list[str]:
    """Words of a search: whitespace-separated; a Chinese run longer than two characters is cut into
    overlapping bigrams (Chinese has no spaces, and word order in a lesson varies)."""
    terms: list[str] = []
    for word in (text or "").lower().split():
        if CJK.search(word) and len(word) > 2:
            terms += [word[i:i + 2] for i in range(len(word) - 1)]
        else:
            terms.append(word)
    return list(dict.fromkeys(terms))[:12]


def lessons_for(user: User, *, q: str = "", tag: str = "", cycle: Cycle | None = None) -> QuerySet[Lesson]:
    """The lessons-learned library: every lesson for whoever may see improvement work, searched by words
    (all must appear in the title, text or tags) and a tag."""
    if not can(user, "improvement", "view"):
        return Lesson.objects.none()
    rows = Lesson.objects.select_related("cycle", "created_by")
    for term in search_terms(q):
        rows = rows.filter(search_text__contains=term)
    if tag:
        rows = rows.filter(search_text__contains=tag.lower())
    if cycle is not None:
        rows = rows.filter(cycle=cycle)
    return rows.order_by("-created_at", "-id")


def get_lesson_for(user: User, lesson_id: int) -> Lesson:
    lesson = lessons_for(user).filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(_("No such lesson."), field="lesson_id")
    return lesson


def cycle_page(cycle: Cycle) -> dict:
    """Everything the cycle page shows, in few queries."""
    return {
        "actions": actions_of(cycle),
        "check": latest_check(cycle),
        "events": history(cycle, limit=50),
        "lessons": list(cycle.lessons.order_by("-created_at")),
        "next_cycles": list(cycle.next_cycles.only("id", "title", "phase")),
    }


__all__ = [
    "actions_of",
    "active_cycles_for",
    "board_for",
    "can_change",
    "cycle_list_for",
    "cycle_page",
    "cycles_for",
    "get_action_for",
    "get_cycle_for",
    "get_lesson_for",
    "history",
    "latest_check",
    "lessons_for",
    "require_planner",
    "search_terms",
]


def require_planner(user: User) -> None:
    """Opening a cycle or writing a lesson needs the 'change' permission on improvement."""
    if not can(user, "improvement", "change"):
        raise PermissionDenied(_("Your role may not plan improvement cycles."))
