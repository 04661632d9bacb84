"""The service desk's event log (service.TicketEvent) as arrays for `analytics.mining`.

A case is a ticket. Which activity an event is (stated once, here):

| event kind | activity | key |
| --- | --- | --- |
| created | Opened | `opened` |
| routed | Routed (resource: the queue) | `routed` |
| assigned | Assigned (resource: the agent) | `assigned` |
| escalated | Escalated (a change of queue is also a queue hand-over) | `escalated` |
| field change of the queue | Queue changed (resource: the queue) | `queue_changed` |
| status | the new status (Open, Pending customer, Resolved, Closed, Reopened…) | `status:<code>` |
| step_started + its step_completed | the step's name, lasting from start to completion | `step:<key>` |
| step_completed as skipped, step_overridden | nothing: a skipped step is a step not done | — |

Replies, notes, customer messages, SLA pauses/warnings/breaches and field, tag, follower and
attachment changes are conversation and clock bookkeeping, not steps of the process: left out —
except with `view="all"`, where each is an activity named by its kind (reply, sla_breached…). With
`view="steps"` only the process steps remain (what conformance is checked on).

Cases are the tickets opened in the period that match the filters (process and version, kind,
category and its sub-categories, department and below, team = assigned to one of its members); all
their events are read, also those after the period. On PostgreSQL the events come in slices of
ticket ids, each slice one query returning one bytea of fixed-size binary rows (string_agg of
int8send…) with the activity computed in SQL as a small integer, which NumPy reads without parsing
(~30 bytes held per event; no Python object per event); elsewhere a `values_list(...).iterator()`
feeds the same arrays chunk by chunk. A ticket whose steps were skipped or overridden after they
started: that step is left out (not done); the time it was open shows as a wait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np
from django.db import connection
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, Team
from loopcrm.accounts.permissions import can
from loopcrm.analytics import mining
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.service.models import ProcessDefinition, ProcessStep, ProcessVersion, Ticket, TicketCategory, TicketEvent

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
CHUNK = 20_000
VIEWS = ("lifecycle", "steps", "all")
E = TicketEvent.Kind
POINT_KINDS = {E.CREATED: "opened", E.ROUTED: "routed", E.ASSIGNED: "assigned", E.ESCALATED: "escalated"}
STEP_KINDS = (E.STEP_STARTED, E.STEP_COMPLETED, E.STEP_OVERRIDDEN)
# view="all": every other kind of event is an activity too, named by its kind.
ALL_KINDS = {**POINT_KINDS, **{kind: str(kind) for kind in E.values
                               if kind not in POINT_KINDS and kind != E.STATUS and kind not in STEP_KINDS}}
# What a row is for the step pairing.
POINT, START, COMPLETE, DROP = 0, 1, 2, 3
FINISHED = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
REOPEN = "status:reopened"
QUEUE_CHANGED = "queue_changed"  # a field change of the queue: a hand-over like routing


@dataclass(frozen=True)
class MiningFilter:
    start: dt.date
    end: dt.date
    process: str | None = None  # definition key
    version: int | None = None  # version number of that process
    kind: str | None = None
    category: int | None = None
    department: int | None = None
    team: int | None = None
    view: str = "lifecycle"

    def as_params(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items() if value is not None}


FILTER_FIELDS = ("start", "end", "process", "version", "kind", "category", "department", "team", "view")


def parse_filters(params: Mapping[str, str | None], *, today: dt.date | None = None) -> MiningFilter:
    """The filters from query parameters (API and page alike); RuleViolation names the field at fault."""
    today = today or timezone.localdate()

    def raw(name: str) -> str:
        value = params.get(name)
        return "" if value is None else str(value).strip()

    def date(name: str, default: dt.date) -> dt.date:
        if not raw(name):
            return default
        try:
            return dt.date.fromisoformat(raw(name))
        except ValueError:
            raise RuleViolation(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": raw(name)}, field=name) from None

    def number(name: str) -> int | None:
        if not raw(name):
            return None
        if not raw(name).isdigit() or int(raw(name)) < 1:
            raise RuleViolation(_("%(value)s is not a positive whole number.") % {"value": raw(name)}, field=name)
        return int(raw(name))

    end = date("end", today)
    start = date("start", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise RuleViolation(_("The start must not be after the end."), field="start")
    if (end - start).days >= MAX_DAYS:
        raise RuleViolation(_("The period may be at most three years long."), field="start")
    process = raw("process") or None
    if process and not ProcessDefinition.objects.filter(key=process).exists():
        raise RuleViolation(_("Unknown process: %(value)s.") % {"value": process}, field="process")
    version = number("version")
    if version is not None:
        if not process:
            raise RuleViolation(_("Choose the process of the version."), field="version")
        if not ProcessVersion.objects.filter(definition__key=process, number=version).exists():
            raise RuleViolation(_("The process has no version %(value)s.") % {"value": version}, field="version")
    kind = raw("kind") or None
    if kind and kind not in Ticket.Kind.values:
        raise RuleViolation(_("Unknown ticket kind: %(value)s.") % {"value": kind}, field="kind")
    category, department, team = number("category"), number("department"), number("team")
    if category and not TicketCategory.objects.filter(pk=category).exists():
        raise RuleViolation(_("Unknown category."), field="category")
    if department and not Department.objects.filter(pk=department).exists():
        raise RuleViolation(_("Unknown department."), field="department")
    if team and not Team.objects.filter(pk=team).exists():
        raise RuleViolation(_("Unknown team."), field="team")
    view = raw("view") or "lifecycle"
    if view not in VIEWS:
        raise RuleViolation(_("The view is lifecycle, steps or all."), field="view")
    return MiningFilter(start=start, end=end, process=process, version=version, kind=kind, category=category,
                        department=department, team=team, view=view)


def check_access(user) -> None:
    """Process mining aggregates over every ticket: for roles that may see improvement analysis."""
    if user is not None and not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see process mining."))


def tickets(filters: MiningFilter) -> QuerySet[Ticket]:
    """The cases: tickets opened in the period that match the filters."""
    zone = timezone.get_default_timezone()
    since = dt.datetime.combine(filters.start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    qs = Ticket.objects.filter(opened_at__gte=since, opened_at__lt=until)
    if filters.process:
        qs = qs.filter(process__version__definition__key=filters.process)
        if filters.version:
            qs = qs.filter(process__version__number=filters.version)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.category:
        path = TicketCategory.objects.get(pk=filters.category).path
        qs = qs.filter(category__path__startswith=path) if path else qs.filter(category_id=filters.category)
    if filters.department:
        qs = qs.filter(department__path__startswith=Department.objects.get(pk=filters.department).path)
    if filters.team:
        qs = qs.filter(assignee__teams=filters.team)
    return qs


# --- the activity vocabulary ---------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Activity keys (index = code), their display names, and each step's target (seconds)."""

    keys: list[str]
    names: dict[str, str]
    targets: dict[str, float]
    expected: list[mining.ExpectedStep]  # the standard version's steps, when one process is chosen

    def code(self, key: str) -> int:
        return self.keys.index(key)


def standard_version(filters: MiningFilter) -> ProcessVersion | None:
    if not filters.process:
        return None
    versions = ProcessVersion.objects.filter(definition__key=filters.process)
    if filters.version:
        return versions.filter(number=filters.version).first()
    return versions.filter(is_current=True).first() or versions.order_by("-number").first()


def vocabulary(filters: MiningFilter) -> Vocabulary:
    keys: list[str] = []
    names: dict[str, str] = {}
    if filters.view != "steps":
        kind_names = dict(E.choices)
        keys.append(QUEUE_CHANGED)
        names[QUEUE_CHANGED] = _("Queue changed")
        for kind, key in _point_kinds(filters).items():
            keys.append(key)
            names[key] = str(kind_names[kind])
        for status, label in Ticket.Status.choices:
            keys.append(f"status:{status}")
            names[f"status:{status}"] = str(label)
    targets: dict[str, float] = {}
    standard = standard_version(filters)
    # Step names and targets: the standard version's first, then every other version's (newest first).
    steps = ProcessStep.objects.order_by("-version__is_current", "-version__published_at", "position")
    if filters.process:
        steps = steps.filter(version__definition__key=filters.process)
    ordered = list(standard.steps.order_by("position")) if standard else []
    for step in [*ordered, *steps]:
        key = f"step:{step.key}"
        if key not in names:
            keys.append(key)
            names[key] = step.name
            targets[key] = step.target_minutes * 60.0
    expected = [mining.ExpectedStep(f"step:{s.key}", s.is_mandatory) for s in ordered]
    return Vocabulary(keys, names, targets, expected)


# --- reading ---------------------------------------------------------------------------------------

@dataclass
class Loaded:
    """The event log of the cases, plus what mining needs besides it."""

    log: mining.EventLog
    vocabulary: Vocabulary
    finished: np.ndarray  # ids of the cases that are resolved or closed
    queues: tuple[np.ndarray, np.ndarray]  # (case, queue) hand-overs in time order
    agents: tuple[np.ndarray, np.ndarray]  # (case, agent)


def _point_kinds(filters: MiningFilter) -> dict[str, str]:
    return {} if filters.view == "steps" else ALL_KINDS if filters.view == "all" else POINT_KINDS


def _kinds(filters: MiningFilter) -> list[str]:
    kinds = list(STEP_KINDS)
    if filters.view != "steps":
        kinds += [*_point_kinds(filters), E.STATUS, E.FIELD]
    return sorted({str(k) for k in kinds})


def _sql(filters: MiningFilter, words: Vocabulary, cases: QuerySet[Ticket]) -> tuple[str, list]:
    """One SELECT whose one value is the events of `cases` as a bytea of WIRE rows: case, epoch
    milliseconds, activity code, row role and resource."""
    ticket_sql, ticket_params = cases.values("pk").query.sql_with_params()
    params: list = []
    activity = ["CASE"]
    if QUEUE_CHANGED in words.keys:
        activity.append("WHEN e.kind = %s AND e.field = %s THEN %s")
        params += [str(E.FIELD), "queue", words.code(QUEUE_CHANGED)]
    for kind, key in _point_kinds(filters).items():
        if key in words.keys:
            activity.append("WHEN e.kind = %s THEN %s")
            params += [str(kind), words.code(key)]
    statuses = [(s, words.code(f"status:{s}")) for s in Ticket.Status.values if f"status:{s}" in words.keys]
    if statuses:
        activity.append("WHEN e.kind = %s THEN CASE e.new " + " ".join("WHEN %s THEN %s" for _s in statuses)
                        + " ELSE -1 END")
        params.append(str(E.STATUS))
        for status, code in statuses:
            params += [status, code]
    steps = [(k[5:], words.code(k)) for k in words.keys if k.startswith("step:")]
    if steps:
        activity.append("WHEN e.kind IN (%s, %s, %s) THEN CASE e.step " + " ".join("WHEN %s THEN %s" for _s in steps)
                        + " ELSE -1 END")
        params += [str(k) for k in STEP_KINDS]
        for key, code in steps:
            params += [key, code]
    activity.append("ELSE -1 END")
    role = (f"CASE WHEN e.kind = %s THEN {START} WHEN e.kind = %s AND e.new <> %s THEN {COMPLETE} "
            f"WHEN e.kind IN (%s, %s) THEN {DROP} ELSE {POINT} END")
    params += [str(E.STEP_STARTED), str(E.STEP_COMPLETED), "skipped", str(E.STEP_COMPLETED), str(E.STEP_OVERRIDDEN)]
    resource = ("CASE WHEN e.kind IN (%s, %s, %s) AND e.field = %s AND e.new ~ '^[0-9]{1,18}$' THEN e.new::bigint "
                "WHEN e.kind = %s AND e.new ~ '^[0-9]{1,18}$' THEN -e.new::bigint ELSE 0 END")
    params += [str(E.ROUTED), str(E.ESCALATED), str(E.FIELD), "queue", str(E.ASSIGNED)]
    kinds = _kinds(filters)
    row = (f"int8send(e.ticket_id::int8) || int8send((date_part('epoch', e.at) * 1000)::int8) || "
           f"int4send(({' '.join(activity)})::int4) || int4send(({role})::int4) || int8send(({resource})::int8)")
    # Ordered as the ORM path orders (ticket, time, id): ties in time keep the order events were recorded.
    # Only our own SQL fragments and Django's compiled query are joined here; every value is a parameter.
    sql = (f"SELECT string_agg({row}, ''::bytea ORDER BY e.ticket_id, e.at, e.id) FROM service_ticketevent e "  # noqa: S608
           f"WHERE e.kind IN ({', '.join(['%s'] * len(kinds))}) AND e.ticket_id IN ({ticket_sql})")
    return sql, [*params, *kinds, *ticket_params]


# One row of the log: case, time (seconds), activity code, role (for step pairing), resource.
ROW = np.dtype([("case", np.int64), ("time", np.float64), ("activity", np.int32), ("role", np.int32),
                ("resource", np.int64)])
# The same, as PostgreSQL's int8send/int4send write it (big-endian), 32 bytes an event.
WIRE = np.dtype([("case", ">i8"), ("ms", ">i8"), ("activity", ">i4"), ("role", ">i4"), ("resource", ">i8")])
TICKETS_PER_QUERY = 20_000


def _one_bytea(sql: str, params: list) -> bytes:
    """The single bytea value of `sql` (sent as hex, decoded to bytes by the driver in C)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        value = cursor.fetchone()[0]
    return bytes(value) if value else b""


def _pg_blocks(filters: MiningFilter, words: Vocabulary) -> Iterator[np.ndarray]:
    """The log in slices of TICKETS_PER_QUERY ticket ids: each slice is one query whose one value is a
    bytea of fixed-size binary rows built by string_agg, read by NumPy without parsing (a driver
    reading row by row, COPY included, spends ~10 µs per event in Python)."""
    bounds = tickets(filters).aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return
    for low in range(bounds["lo"], bounds["hi"] + 1, TICKETS_PER_QUERY):
        part = tickets(filters).filter(pk__gte=low, pk__lt=low + TICKETS_PER_QUERY)
        wire = np.frombuffer(_one_bytea(*_sql(filters, words, part)), dtype=WIRE)
        block = np.empty(wire.size, dtype=ROW)
        block["case"], block["time"] = wire["case"], wire["ms"] / 1000
        block["activity"], block["role"], block["resource"] = wire["activity"], wire["role"], wire["resource"]
        yield block


def _python_blocks(filters: MiningFilter, words: Vocabulary) -> Iterator[np.ndarray]:
    """The same rows as _sql through the ORM (SQLite and others), CHUNK rows per block."""
    status_code = {s: words.code(f"status:{s}") for s in Ticket.Status.values if f"status:{s}" in words.keys}
    step_code = {k[5:]: words.code(k) for k in words.keys if k.startswith("step:")}
    point_code = {str(kind): words.code(key) for kind, key in _point_kinds(filters).items() if key in words.keys}
    rows = (TicketEvent.objects.filter(kind__in=_kinds(filters), ticket__in=tickets(filters).values("pk"))
            .order_by("ticket_id", "at", "id").values_list("ticket_id", "at", "kind", "field", "new", "step")
            .iterator(chunk_size=CHUNK))
    block: list[tuple] = []
    for ticket_id, at, kind, field, new, step in rows:
        role, resource = POINT, 0
        if new.isdigit() and kind == E.ASSIGNED:
            resource = -int(new)
        elif new.isdigit() and field == "queue" and kind in (E.ROUTED, E.ESCALATED, E.FIELD):
            resource = int(new)
        if kind == E.FIELD and field == "queue" and QUEUE_CHANGED in words.keys:
            code = words.code(QUEUE_CHANGED)
        elif kind in point_code:
            code = point_code[kind]
        elif kind == E.FIELD:
            code = -1
        elif kind == E.STATUS:
            code = status_code.get(new, -1)
        else:
            code = step_code.get(step, -1)
            role = START if kind == E.STEP_STARTED else COMPLETE if kind == E.STEP_COMPLETED and new != "skipped" \
                else DROP
        block.append((ticket_id, at.timestamp(), code, role, resource))
        if len(block) >= CHUNK:
            yield np.array(block, dtype=ROW)
            block = []
    if block:
        yield np.array(block, dtype=ROW)


def _finished(filters: MiningFilter) -> np.ndarray:
    ids = tickets(filters).filter(status__in=FINISHED).values_list("pk", flat=True)
    if connection.vendor == "postgresql":
        sql, params = ids.query.sql_with_params()
        sql = f"SELECT string_agg(int8send(u.x::int8), ''::bytea) FROM ({sql}) AS u(x)"  # noqa: S608 - Django's SQL
        wire = _one_bytea(sql, list(params))
        return np.frombuffer(wire, dtype=">i8").astype(np.int64)
    return np.fromiter(ids.iterator(chunk_size=CHUNK), dtype=np.int64)


def load(filters: MiningFilter) -> Loaded:
    """Read the event log of the filtered tickets into arrays (bounded memory: ~25 bytes per event)."""
    words = vocabulary(filters)
    if connection.vendor == "postgresql":
        blocks: Iterator[np.ndarray] = _pg_blocks(filters, words)
    else:
        blocks = _python_blocks(filters, words)
    cases, times, codes, roles, resources = [], [], [], [], []
    for block in blocks:
        block = block[block["activity"] >= 0]
        cases.append(block["case"].astype(np.int64))
        times.append(block["time"].astype(np.float64))
        codes.append(block["activity"].astype(np.int32))
        roles.append(block["role"].astype(np.int8))
        resources.append(block["resource"].astype(np.int64))
    if cases:
        case, time, code, role, resource = (np.concatenate(x) for x in (cases, times, codes, roles, resources))
    else:
        case, time, code, role, resource = (np.zeros(0, dt_) for dt_ in (np.int64, float, np.int32, np.int8, np.int64))
    del cases, times, codes, roles, resources
    order = mining.case_time_order(case, time)
    if order is not None:
        case, time, code, role, resource = case[order], time[order], code[order], role[order], resource[order]
    end, dropped = _pair_steps(case, code, role, time)
    keep = ((role == POINT) | (role == START)) & ~dropped
    queue_rows = resource > 0
    agent_rows = resource < 0
    queues = (case[queue_rows], resource[queue_rows])
    agents = (case[agent_rows], -resource[agent_rows])
    log = mining.EventLog(case=case[keep], activity=code[keep], time=time[keep], activities=words.keys, end=end[keep])
    return Loaded(log, words, _finished(filters), queues, agents)


def _pair_steps(case: np.ndarray, code: np.ndarray, role: np.ndarray,
                time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End time of each step start: the next completion of the same step in the same case; +inf when
    not finished; NaN for instant events. And which starts were closed by a skip or an override
    (those steps were not done: left out)."""
    end = np.full(case.size, np.nan)
    dropped = np.zeros(case.size, dtype=bool)
    steps = np.flatnonzero(role != POINT)
    if steps.size == 0:
        return end, dropped
    k = int(code.max()) + 1
    # Events are case- then time-ordered: a stable sort on (case, step) keeps time order inside.
    order = steps[np.argsort(case[steps] * k + code[steps], kind="stable")]
    is_start = role[order] == START
    end[order[is_start]] = np.inf
    nxt = np.zeros(order.size, dtype=bool)
    nxt[:-1] = (is_start[:-1] & (role[order[1:]] != START) & (case[order[1:]] == case[order[:-1]])
                & (code[order[1:]] == code[order[:-1]]))
    closer = order[1:][nxt[:-1]]
    end[order[:-1][nxt[:-1]]] = time[closer]
    dropped[order[:-1][nxt[:-1]][role[closer] == DROP]] = True
    return end, dropped


def load_for(user, filters: MiningFilter) -> Loaded:
    check_access(user)
    return load(filters)
