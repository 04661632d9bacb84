"""Reading the daily roll-up: which part of a dashboard's window it can answer exactly, and its counts.

A window is split into the whole local days inside it (read from AnswerDay / InvitationDay) and the
partial days at either end (read from the answers themselves, a day at most each). The roll-up is used
only when it is built in the configured zone and the user's scope is one of its dimensions: everything
(ALL) or a department subtree (DEPARTMENT — plus, read live, the user's own answers outside the subtree,
which that scope also shows). Own and team scopes, the agent filter and breakdowns by agent, team or
organisation are not roll-up dimensions: queries reads those from the answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import Scope, scope_for
from loopcrm.feedback.models import (
    METRIC_SCORES,
    AgentDay,
    AnswerDay,
    InvitationDay,
    RollupState,
    Survey,
    score_column,
)
from loopcrm.service.models import TicketCategory

# Breakdown dimensions the roll-up holds (name -> its column; the same name on Response).
ROLLED_UP = {"agent": "agent_id", "department": "department_id", "category": "category_id", "channel": "channel",
             "touchpoint": "touchpoint", "tier": "tier", "survey": "survey_id"}


@dataclass
class Tally:
    """How many complete answers, and how many gave each score of each metric."""

    responses: int = 0
    scores: dict[str, dict[int, int]] = field(default_factory=lambda: {"nps": {}, "csat": {}, "ces": {}})

    def add_scores(self, nps: int | None, csat: int | None, ces: int | None, n: int) -> None:
        self.responses += n
        for metric, score in (("nps", nps), ("csat", csat), ("ces", ces)):
            if score is not None:
                self.scores[metric][score] = self.scores[metric].get(score, 0) + n

    def add(self, other: Tally) -> None:
        self.responses += other.responses
        for metric, counts in other.scores.items():
            for score, n in counts.items():
                self.scores[metric][score] = self.scores[metric].get(score, 0) + n

    def distribution(self) -> dict[str, dict[int, int]]:
        return {metric: {score: n for score, n in sorted(counts.items()) if n}
                for metric, counts in self.scores.items()}


@dataclass(frozen=True)
class Plan:
    """How to read a window: whole days [first_day, end_day) from the roll-up, `edges` from the answers;
    `departments` narrows the roll-up to a scope (None: all); `correction` is what the scope shows beyond
    those departments (read from the answers over the whole days only: the edges already read the full scope)."""

    zone: ZoneInfo
    first_day: dt.date
    end_day: dt.date
    edges: tuple[tuple[dt.datetime, dt.datetime], ...]
    departments: QuerySet | None
    correction: Q | None
    agent_id: int | None = None  # own scope: only this agent's answers (AgentDay only)


def is_built() -> bool:
    state = RollupState.objects.filter(pk=1).values_list("zone", flat=True).first()
    return state == settings.TIME_ZONE


def plan(user: User, since: dt.datetime, until: dt.datetime, *, agents: bool = False) -> Plan | None:
    """How the roll-up answers the window for this user, or None when it cannot answer exactly.
    `agents`: the read can use AgentDay, so an own scope (the user's answers as agent) is a dimension."""
    scope = scope_for(user, "feedback", "view")
    departments, correction, agent_id = None, None, None
    if scope == Scope.OWN and agents:
        agent_id = user.pk
    elif scope == Scope.DEPARTMENT and user.department_id is not None:
        path = user.department.path
        departments = Department.objects.filter(path__startswith=path).values("pk")
        correction = Q(agent_id=user.pk) & ~Q(department__path__startswith=path)
    elif scope != Scope.ALL:
        return None
    zone = ZoneInfo(settings.TIME_ZONE)
    first_day = since.astimezone(zone).date()
    if dt.datetime.combine(first_day, dt.time(0), tzinfo=zone) < since:
        first_day += dt.timedelta(days=1)
    end_day = until.astimezone(zone).date()
    first = dt.datetime.combine(first_day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(end_day, dt.time(0), tzinfo=zone)
    if first >= end or not is_built():
        return None
    edges = tuple((a, b) for a, b in ((since, first), (end, until)) if a < b)
    return Plan(zone=zone, first_day=first_day, end_day=end_day, edges=edges, departments=departments,
                correction=correction, agent_id=agent_id)


def _narrowed(rows: QuerySet, plan_: Plan, *, survey_id: int | None, department_id: int | None) -> QuerySet:
    rows = rows.filter(day__gte=plan_.first_day, day__lt=plan_.end_day)
    if survey_id is not None:
        rows = rows.filter(survey_id=survey_id)
    if department_id is not None:  # a department deleted since is no longer anyone's (as SET_NULL did)
        rows = rows.filter(department_id__in=Department.objects.filter(pk=department_id).values("pk"))
    if plan_.departments is not None:
        rows = rows.filter(department_id__in=plan_.departments)
    return rows


SUMS = {"responses": Sum("responses"), **{score_column(metric, score): Sum(score_column(metric, score))
                                          for metric, scores in METRIC_SCORES.items() for score in scores}}


def table_for(plan_: Plan, filters: Any, group: str | None):
    """AnswerDay, or AgentDay when the read is about agents (which then allows only survey and department
    filters); None when neither holds what is asked."""
    if group != "agent_id" and filters.agent_id is None and plan_.agent_id is None:
        return AnswerDay
    if any(value is not None for value in (filters.channel, filters.touchpoint, filters.tier, filters.category)):
        return None
    if group not in (None, "day", *AgentDay.KEY):
        return None
    return AgentDay


def answer_tallies(plan_: Plan, filters: Any, group: str | None) -> dict[Any, Tally] | None:
    """The whole days' tallies, per value of `group` (a ROLLED_UP column or "day"; None: one group); None when
    the roll-up does not hold this combination of filters and group."""
    table = table_for(plan_, filters, group)
    if table is None:
        return None
    rows = _narrowed(table.objects.all(), plan_, survey_id=filters.survey_id, department_id=filters.department_id)
    if table is AgentDay:
        if filters.agent_id is not None:  # a user deleted since is no longer anyone's (as SET_NULL did)
            rows = rows.filter(agent_id__in=User.objects.filter(pk=filters.agent_id).values("pk"))
        if plan_.agent_id is not None:
            rows = rows.filter(agent_id=plan_.agent_id)
        return _tallies(rows, group)
    exact = {"channel": filters.channel, "touchpoint": filters.touchpoint, "tier": filters.tier}
    rows = rows.filter(**{key: value for key, value in exact.items() if value is not None})
    if filters.category is not None:
        rows = rows.filter(category_id__in=TicketCategory.objects.filter(code=filters.category).values("pk"))
    return _tallies(rows, group)


def _tallies(rows: QuerySet, group: str | None) -> dict[Any, Tally]:
    grouped = rows.values(group).annotate(**SUMS).order_by() if group else [rows.aggregate(**SUMS)]
    result: dict[Any, Tally] = {}
    for row in grouped:
        if not row["responses"]:
            continue
        tally = result.setdefault(row[group] if group else None, Tally())
        tally.responses += row["responses"]
        for metric, scores in METRIC_SCORES.items():
            for score in scores:
                n = row[score_column(metric, score)]
                if n:
                    tally.scores[metric][score] = tally.scores[metric].get(score, 0) + n
    return result


def invitation_counts(plan_: Plan, filters: Any) -> tuple[int, int]:
    """Invitations sent on the whole days, and how many of them were answered."""
    rows = _narrowed(InvitationDay.objects.all(), plan_, survey_id=filters.survey_id,
                     department_id=filters.department_id)
    counts = rows.aggregate(sent=Sum("sent"), answered=Sum("answered"))
    return counts["sent"] or 0, counts["answered"] or 0


def labels(dimension: str, keys: set[Any]) -> dict[Any, str | None]:
    """Names of rolled-up ids (agents, departments, categories, surveys); ids that no longer exist are left out
    (the caller reads them as none)."""
    models = {"agent_id": (User, "display_name"), "department_id": (Department, "name"),
              "category_id": (TicketCategory, "name"), "survey_id": (Survey, "name")}
    if dimension not in models:
        return {key: key for key in keys}
    model, name = models[dimension]
    ids = [key for key in keys if key]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", name))
