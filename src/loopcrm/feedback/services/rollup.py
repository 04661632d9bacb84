"""The daily roll-up of answers and invitations the dashboards read (models.AnswerDay, InvitationDay).

Every write that counts or uncounts an answer or an invitation changes the roll-up in the SAME
transaction, by an UPSERT that adds to the counters (`INSERT … ON CONFLICT … DO UPDATE SET n = n +
excluded.n`): concurrent answers on the same day and dimensions never lose an increment (PostgreSQL
locks the row; SQLite serialises writers). A rebuild (back-fill, time-zone change, repair) takes the
roll-up tables in EXCLUSIVE mode on PostgreSQL: writers that already counted are waited for (their
answers are then in the rebuild's reads) and writers that have not yet counted wait for the rebuild
(their answers were not in its reads), so nothing is counted twice or lost. `refresh` (the nightly job)
builds the roll-up when it is missing or in another zone, else compares it with the answers in one
snapshot and rebuilds only the days that differ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from loopcrm.feedback.models import (
    METRIC_SCORES,
    AgentDay,
    AnswerDay,
    Invitation,
    InvitationDay,
    Response,
    RollupState,
    score_column,
)

SCORE_COLUMNS = [score_column(metric, score) for metric, scores in METRIC_SCORES.items() for score in scores]
ANSWER_COUNTERS = ["responses", *SCORE_COLUMNS]
INVITATION_COUNTERS = ["sent", "answered"]


def zone() -> ZoneInfo:
    """The organisation's time zone: the roll-up's days are its calendar days."""
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, zone()).date()


def _add(table: str, key: dict[str, object], counters: dict[str, int]) -> None:
    """Add `counters` to the row of `key`, creating it if needed (one statement, safe under concurrency)."""
    counters = {name: value for name, value in counters.items() if value}
    if not counters:
        return
    quote = connection.ops.quote_name
    columns = [*key, *counters]
    updates = ", ".join(f"{quote(name)} = {quote(table)}.{quote(name)} + excluded.{quote(name)}" for name in counters)
    # Names come from the models' own columns (never from input); the values are parameters.
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({', '.join(quote(c) for c in key)}) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*key.values(), *counters.values()])


def _answer_key(response: Response) -> dict[str, object]:
    return {"day": local_day(response.answered_at), "survey_id": response.survey_id,
            "department_id": response.department_id or 0, "category_id": response.category_id or 0,
            "channel": response.channel or "", "touchpoint": response.touchpoint or "", "tier": response.tier or ""}


def _answer_counters(response: Response, sign: int) -> dict[str, int]:
    counters = {"responses": sign}
    for metric, scores in METRIC_SCORES.items():
        score = getattr(response, metric)
        if score is not None and score in scores:
            counters[score_column(metric, score)] = sign
    return counters


def count_response(response: Response, *, sign: int = 1) -> None:
    """Count a complete answer into its day (sign=-1 takes it out again). Call inside the writing transaction."""
    if not response.is_complete or response.answered_at is None:
        return
    counters = _answer_counters(response, sign)
    _add(AnswerDay._meta.db_table, _answer_key(response), counters)
    _add(AgentDay._meta.db_table, {"day": local_day(response.answered_at), "survey_id": response.survey_id,
                                   "agent_id": response.agent_id or 0,
                                   "department_id": response.department_id or 0}, counters)


def count_invitation(invitation: Invitation, *, sent: int = 0, answered: int = 0) -> None:
    """Count an invitation sent (and later its answer) on the day it was sent."""
    if invitation.sent_at is None:
        return
    key = {"day": local_day(invitation.sent_at), "survey_id": invitation.survey_id,
           "department_id": invitation.department_id or 0}
    _add(InvitationDay._meta.db_table, key, {"sent": sent, "answered": answered})


def uncount_deleted_response(response: Response) -> None:
    """A complete answer is being deleted (its customer erased, an import undone): take it out."""
    count_response(response, sign=-1)


def uncount_deleted_invitation(invitation: Invitation) -> None:
    count_invitation(invitation, sent=-1 if invitation.sent_at else 0, answered=-1 if invitation.answered_at else 0)


# --- rebuild and repair ---------------------------------------------------------------------------

def _lock_tables() -> None:
    """Writers wait while the roll-up is rebuilt (PostgreSQL; SQLite has one writer at a time anyway)."""
    if connection.vendor == "postgresql":
        tables = ", ".join(model._meta.db_table for model in (AnswerDay, AgentDay, InvitationDay))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")


def _range_filter(days: list[dt.date] | None, column: str) -> Q:
    if days is None:
        return Q()
    zone_ = zone()
    condition = Q(pk__in=[])
    for day in sorted(set(days)):
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone_)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone_)
        condition |= Q(**{f"{column}__gte": start, f"{column}__lt": end})
    return condition


def _answer_counts() -> dict[str, Count]:
    counters = {"responses": Count("*")}
    for metric, scores in METRIC_SCORES.items():
        for score in scores:
            counters[score_column(metric, score)] = Count(metric, filter=Q(**{metric: score}))
    return counters


def _source(model, days: list[dt.date] | None) -> QuerySet:
    """The rows `model` should hold, as ONE grouped SELECT over the answers (AnswerDay, AgentDay) or the
    invitations (InvitationDay): its columns are model.KEY (as k_<name>, NULL stored as 0 or "") then the
    counters, in that order — what the rebuild inserts and the check compares."""
    if model is InvitationDay:
        rows = Invitation.objects.filter(_range_filter(days, "sent_at"), sent_at__isnull=False)
        column, counters = "sent_at", {"sent": Count("*"), "answered": Count("answered_at")}
    else:
        rows = Response.objects.filter(_range_filter(days, "answered_at"), is_complete=True, answered_at__isnull=False)
        column, counters = "answered_at", _answer_counts()
    keys = {"k_day": TruncDate(column, tzinfo=zone())}
    for name in model.KEY[1:]:
        keys[f"k_{name}"] = Coalesce(F(name), Value(0 if name.endswith("_id") else ""))
    return rows.annotate(**keys).values(*keys).annotate(**counters).order_by()


def _counter_names(model) -> list[str]:
    return INVITATION_COUNTERS if model is InvitationDay else ANSWER_COUNTERS


def live_days(model, days: list[dt.date] | None = None) -> dict[tuple, dict[str, int]]:
    """The rows `model` should hold, computed from the answers or invitations (all days, or only `days`)."""
    counters = _counter_names(model)
    return {tuple(row[f"k_{name}"] for name in model.KEY): {name: row[name] for name in counters}
            for row in _source(model, days)}


def _stored(model, counters: list[str], days: list[dt.date] | None) -> dict[tuple, dict[str, int]]:
    rows = model.objects.all() if days is None else model.objects.filter(day__in=sorted(set(days)))
    result = {}
    for row in rows.values(*model.KEY, *counters):
        if any(row[name] for name in counters):  # rows counted down to nothing are the same as no row
            result[tuple(row[name] for name in model.KEY)] = {name: row[name] for name in counters}
    return result


def _write(model, days: list[dt.date] | None) -> int:
    """Replace the rows of `days` (or all) by what the answers say: DELETE, then INSERT … SELECT in the database."""
    (model.objects.all() if days is None else model.objects.filter(day__in=sorted(set(days)))).delete()
    select, params = _source(model, days).query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in (*model.KEY, *_counter_names(model)))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {select}", params)
        return cursor.rowcount


@dataclass
class RollupReport:
    """What a rebuild or a check did."""

    rebuilt: bool = False
    days_repaired: list[dt.date] = field(default_factory=list)
    answer_rows: int = 0
    agent_rows: int = 0
    invitation_rows: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"rebuilt": self.rebuilt, "days_repaired": len(self.days_repaired),
                "answer_rows": self.answer_rows, "agent_rows": self.agent_rows,
                "invitation_rows": self.invitation_rows}


@transaction.atomic
def rebuild(*, days: list[dt.date] | None = None, at: dt.datetime | None = None) -> RollupReport:
    """Recompute the roll-up from the answers and invitations: every day (back-fill, a new time zone) or only
    `days` (repair). Marks the roll-up built in the current zone when every day was rebuilt."""
    at = at or timezone.now()
    _lock_tables()
    report = RollupReport(rebuilt=days is None, days_repaired=sorted(set(days or [])))
    report.answer_rows = _write(AnswerDay, days)
    report.agent_rows = _write(AgentDay, days)
    report.invitation_rows = _write(InvitationDay, days)
    if days is None:
        RollupState.objects.update_or_create(pk=1, defaults={"zone": settings.TIME_ZONE, "built_at": at,
                                                             "checked_at": at})
    return report


def _differing_days(stored: dict[tuple, dict[str, int]], computed: dict[tuple, dict[str, int]]) -> set[dt.date]:
    return {key[0] for key in stored.keys() | computed.keys() if stored.get(key) != computed.get(key)}


def check() -> set[dt.date]:
    """The days whose roll-up differs from the answers, compared in one snapshot (PostgreSQL: REPEATABLE READ)."""
    outermost = not connection.in_atomic_block  # inside a caller's transaction, its snapshot rules
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        pairs = [(_stored(model, _counter_names(model), None), live_days(model))
                 for model in (AnswerDay, AgentDay, InvitationDay)]
    differing: set[dt.date] = set()
    for stored, computed in pairs:
        differing |= _differing_days(stored, computed)
    return differing


def refresh(*, at: dt.datetime | None = None) -> dict[str, object]:
    """The nightly job: build the roll-up if it is missing or in another time zone, else repair the days
    that differ from the answers (normally none)."""
    at = at or timezone.now()
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.zone != settings.TIME_ZONE:
        return rebuild(at=at).as_dict()
    days = sorted(check())
    report = rebuild(days=days, at=at) if days else RollupReport()
    RollupState.objects.filter(pk=1).update(checked_at=at)
    return report.as_dict()
