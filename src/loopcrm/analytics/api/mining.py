"""REST endpoints of process mining (thin): parse the filters, load the event log, mine, serialise.
Mounted at /api/v1/ (paths /process-mining/…). Durations are seconds."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from loopcrm.analytics import mining
from loopcrm.analytics.queries import eventlog as queries
from loopcrm.core.api import COMMON_ERRORS
from loopcrm.core.errors import RuleViolation

router = Router(tags=["process mining"])
MAX_TOP = 100


class MiningParams(Schema):
    start: str | None = Field(None, description="First day tickets were opened (YYYY-MM-DD); "
                                                "default: 89 days before `end`.")
    end: str | None = Field(None, description="Last day, inclusive (YYYY-MM-DD); default: today.")
    process: str | None = Field(None, description="Standard process key, e.g. repair.")
    version: str | None = Field(None, description="Version number of that process; default: all its versions "
                                                   "(conformance: the current one).")
    kind: str | None = Field(None, description="Ticket kind, e.g. complaint.")
    category: str | None = Field(None, description="Ticket category id (with its sub-categories).")
    department: str | None = Field(None, description="Department id (with the departments below it).")
    team: str | None = Field(None, description="Team id: tickets assigned to its members.")
    view: str | None = Field(None, description="lifecycle (default: opened, routed, assigned, statuses, steps), "
                                               "all (also replies, notes, SLA events…) "
                                               "or steps (process steps only).")


class TopParams(MiningParams):
    top: str | None = Field(None, description="How many to list (1–100; default 10).")


class StatsOut(Schema):
    n: int
    total: float
    mean: float | None
    median: float | None
    p90: float | None


class NodeOut(Schema):
    activity: str
    name: str
    events: int
    cases: int
    starts: int
    ends: int
    duration: StatsOut
    target: float | None = Field(description="The step's target duration (seconds), when it is a step.")


class EdgeOut(Schema):
    source: str
    target: str
    count: int
    cases: int
    duration: StatsOut


class DfgOut(Schema):
    filters: dict[str, str]
    cases: int
    events: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class BottleneckOut(Schema):
    kind: str
    source: str
    target: str
    name: str
    cases: int
    duration: StatsOut
    per_case: float
    share: float
    target_seconds: float | None
    over_target: int
    over_target_share: float | None
    median_vs_target: float | None


class BottlenecksOut(Schema):
    filters: dict[str, str]
    cases: int
    items: list[BottleneckOut]


class ReworkOut(Schema):
    activity: str
    name: str
    cases: int
    repeats: int
    self_loops: int
    share: float


class PingPongOut(Schema):
    a: int
    b: int
    count: int
    cases: int


class ReworkReportOut(Schema):
    filters: dict[str, str]
    cases: int
    cases_with_rework: int
    reopened_cases: int
    reopenings: int
    activities: list[ReworkOut]
    queue_ping_pong: list[PingPongOut] = Field(description="Queue A → B → A hand-overs (a, b: queue ids).")
    queue_ping_pong_cases: int
    agent_ping_pong: list[PingPongOut] = Field(description="Agent A → B → A re-assignments (a, b: user ids).")
    agent_ping_pong_cases: int


class VariantOut(Schema):
    activities: list[str]
    names: list[str]
    cases: int
    share: float
    duration: StatsOut


class VariantsOut(Schema):
    filters: dict[str, str]
    cases: int
    distinct: int
    top: list[VariantOut]
    other_cases: int
    other_variants: int


class StepConformanceOut(Schema):
    activity: str
    name: str
    mandatory: bool
    observed: int
    skipped: int
    out_of_order: int


class ConformanceOut(Schema):
    filters: dict[str, str]
    process: str
    version: int
    cases: int
    fitness: float
    conforming: int
    conforming_share: float
    steps: list[StepConformanceOut]


def _stats(stats: mining.Stats) -> dict[str, Any]:
    return {"n": stats.n, "total": stats.total, "mean": stats.mean, "median": stats.median, "p90": stats.p90}


def _load(request, params: MiningParams) -> tuple[queries.MiningFilter, queries.Loaded]:
    filters = queries.parse_filters(params.dict())
    return filters, queries.load_for(request.user, filters)


def _top(raw: str | None) -> int:
    if not raw:
        return 10
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise RuleViolation(_("top is a whole number from 1 to %(max)s.") % {"max": MAX_TOP}, field="top")
    return int(raw)


def serialise_dfg(filters, loaded: queries.Loaded, graph: mining.Dfg) -> dict[str, Any]:
    names, targets = loaded.vocabulary.names, loaded.vocabulary.targets
    return {"filters": filters.as_params(), "cases": graph.cases, "events": graph.events,
            "nodes": [{"activity": n.activity, "name": names.get(n.activity, n.activity), "events": n.events,
                       "cases": n.cases, "starts": n.starts, "ends": n.ends, "duration": _stats(n.duration),
                       "target": targets.get(n.activity)} for n in graph.nodes],
            "edges": [{"source": e.source, "target": e.target, "count": e.count, "cases": e.cases,
                       "duration": _stats(e.duration)} for e in graph.edges]}


@router.get("/process-mining/dfg", response={200: DfgOut, **COMMON_ERRORS}, url_name="process_mining_dfg",
            summary="Directly-follows graph",
            description="Activities with event and case counts and duration (median/mean/p90), and the transitions "
                        "between them with counts and waiting time. Needs 'view' on improvement.")
def process_dfg(request, params: Query[MiningParams]):
    filters, loaded = _load(request, params)
    return serialise_dfg(filters, loaded, mining.dfg(loaded.log))


@router.get("/process-mining/bottlenecks", response={200: BottlenecksOut, **COMMON_ERRORS},
            url_name="process_mining_bottlenecks", summary="Bottleneck ranking",
            description="Activities and transitions by total time spent, time per case, and for steps the share of "
                        "occurrences over the step's target and median ÷ target.")
def process_bottlenecks(request, params: Query[TopParams]):
    top = _top(params.top)
    filters, loaded = _load(request, params)
    names = loaded.vocabulary.names
    items = mining.bottlenecks(loaded.log, targets=loaded.vocabulary.targets, limit=top)
    return {"filters": filters.as_params(), "cases": loaded.log.n_cases,
            "items": [{**{k: getattr(b, k) for k in ("kind", "source", "target", "cases", "per_case", "share",
                                                     "target_seconds", "over_target", "over_target_share",
                                                     "median_vs_target")},
                       "name": names.get(b.source, b.source) if b.kind == "activity"
                       else f"{names.get(b.source, b.source)} → {names.get(b.target, b.target)}",
                       "duration": _stats(b.duration)} for b in items]}


def serialise_rework(filters, loaded: queries.Loaded) -> dict[str, Any]:
    report = mining.rework(loaded.log, reopen=[queries.REOPEN])
    queues, queue_cases = mining.ping_pong(*loaded.queues)
    agents, agent_cases = mining.ping_pong(*loaded.agents)
    names = loaded.vocabulary.names

    def pp(rows):
        return [{"a": p.a, "b": p.b, "count": p.count, "cases": p.cases} for p in rows[:MAX_TOP]]

    return {"filters": filters.as_params(), "cases": loaded.log.n_cases,
            "cases_with_rework": report.cases_with_rework, "reopened_cases": report.reopened_cases,
            "reopenings": report.reopenings,
            "activities": [{"activity": r.activity, "name": names.get(r.activity, r.activity), "cases": r.cases,
                            "repeats": r.repeats, "self_loops": r.self_loops, "share": r.share}
                           for r in report.activities],
            "queue_ping_pong": pp(queues), "queue_ping_pong_cases": queue_cases,
            "agent_ping_pong": pp(agents), "agent_ping_pong_cases": agent_cases}


@router.get("/process-mining/rework", response={200: ReworkReportOut, **COMMON_ERRORS},
            url_name="process_mining_rework", summary="Rework, loops and ping-pong",
            description="Activities repeated within a ticket, self-loops, reopenings, and tickets bounced between "
                        "queues or agents and back (A → B → A).")
def process_rework(request, params: Query[MiningParams]):
    filters, loaded = _load(request, params)
    return serialise_rework(filters, loaded)


@router.get("/process-mining/variants", response={200: VariantsOut, **COMMON_ERRORS},
            url_name="process_mining_variants", summary="Process variants",
            description="Distinct activity sequences with their ticket counts and throughput time; the top N, the "
                        "rest summed as other.")
def process_variants(request, params: Query[TopParams]):
    top = _top(params.top)
    filters, loaded = _load(request, params)
    result = mining.variants(loaded.log, top=top)
    names = loaded.vocabulary.names
    return {"filters": filters.as_params(), "cases": result.total_cases, "distinct": result.distinct,
            "top": [{"activities": list(v.activities), "names": [names.get(a, a) for a in v.activities],
                     "cases": v.cases, "share": v.share, "duration": _stats(v.duration)} for v in result.top],
            "other_cases": result.other_cases, "other_variants": result.other_variants}


def conformance_of(filters: queries.MiningFilter, loaded: queries.Loaded) -> mining.Conformance:
    if not loaded.vocabulary.expected:
        raise RuleViolation(_("Choose a standard process to check conformance against."), field="process")
    return mining.conformance(loaded.log, loaded.vocabulary.expected, finished=loaded.finished)


@router.get("/process-mining/conformance", response={200: ConformanceOut, **COMMON_ERRORS},
            url_name="process_mining_conformance", summary="Conformance to the standard process",
            description="Each ticket against the standard version's ordered steps: mandatory steps skipped (in open "
                        "tickets only once a later step is reached), steps out of order, fitness per step and overall. "
                        "Needs `process`.")
def process_conformance(request, params: Query[MiningParams]):
    filters = queries.parse_filters(params.dict())
    if not filters.process:
        raise RuleViolation(_("Choose a standard process to check conformance against."), field="process")
    loaded = queries.load_for(request.user, filters)
    result = conformance_of(filters, loaded)
    version = queries.standard_version(filters)
    names = loaded.vocabulary.names
    return {"filters": filters.as_params(), "process": filters.process, "version": version.number if version else 0,
            "cases": result.cases, "fitness": result.fitness, "conforming": result.conforming,
            "conforming_share": result.conforming_share,
            "steps": [{"activity": s.activity, "name": names.get(s.activity, s.activity), "mandatory": s.mandatory,
                       "observed": s.observed, "skipped": s.skipped, "out_of_order": s.out_of_order}
                      for s in result.steps]}
