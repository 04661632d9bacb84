"""Process mining of an event log, vectorised with NumPy (no Django, no per-event Python objects).

An event log is three parallel arrays — case id, activity, timestamp (seconds) — plus, optionally,
an end time per event (an activity instance that lasts, e.g. a process step from its start to its
completion; NaN for an instant event, +inf for one started and not finished) and the resource
involved (a queue or an agent). Events are
grouped by case and ordered by time within it (`EventLog.build` sorts them when they are not).

Definitions used throughout (stated once, here):

- **directly follows** a→b: b is the next event after a in the same case. The **transition time**
  is b's timestamp minus the moment a was over (a's end when known, else a's timestamp), clipped at 0.
- an **activity's duration** is end − start for events with an end, else the time until the next
  event of the case (the time spent "at" the activity); the last event of a case with no end has no
  duration. Durations are wall-clock seconds.
- **time per case** for a bottleneck = the activity's total duration ÷ the number of cases in the log:
  how much of an average case's time goes there.
- **rework**: an activity occurring more than once in a case; **self-loop**: a→a; **ping-pong**: a
  resource sequence A→B→A inside a case (after collapsing repeats of the same resource).
- **variant**: the ordered sequence of activities of a case.
- **conformance** against an expected ordered list of steps: a mandatory step missing from a case is
  *skipped* (for an unfinished case only when a later step was already reached); a step whose first
  occurrence comes after the first occurrence of a step expected later is *out of order*. A case's
  fitness is 1 − deviations ÷ (mandatory steps + distinct expected steps observed), clipped to 0..1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# Two odd 64-bit multipliers: a variant is identified by a 64-bit fingerprint of two polynomial hashes
# of its activity codes and its length (a collision among 1M variants: odds about 1 in 30 million).
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


class MiningError(ValueError):
    """The input cannot be mined (mismatched lengths, unknown activity…)."""


@dataclass(frozen=True)
class Stats:
    """Count and spread of durations (seconds); None where there is nothing to measure."""

    n: int
    total: float
    mean: float | None
    median: float | None
    p90: float | None


def _stats(values: np.ndarray) -> Stats:
    values = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if values.size == 0:
        return Stats(0, 0.0, None, None, None)
    median, p90 = np.percentile(values, [50, 90])
    return Stats(int(values.size), float(values.sum()), float(values.mean()), float(median), float(p90))


def _grouped_stats(groups: np.ndarray, values: np.ndarray, n_groups: int) -> list[Stats]:
    """Stats of `values` per group id (0..n_groups-1), NaN values ignored, without per-row Python: a
    mask per group when there are few groups, else one radix/stable sort by group; then a linear-time
    percentile per group."""
    keep = ~np.isnan(values)
    if not keep.all():
        groups, values = groups[keep], values[keep]
    counts = np.bincount(groups, minlength=n_groups)
    totals = np.bincount(groups, weights=values, minlength=n_groups)
    if n_groups <= 24:
        chunks = (values[groups == g] if counts[g] else None for g in range(n_groups))
    else:
        small = np.uint16 if n_groups <= np.iinfo(np.uint16).max else np.int64
        ordered = values[np.argsort(groups.astype(small), kind="stable")]
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        chunks = (ordered[starts[g]:starts[g] + counts[g]] for g in range(n_groups))
    out = []
    for g, chunk in enumerate(chunks):
        n = int(counts[g])
        if n == 0:
            out.append(Stats(0, 0.0, None, None, None))
            continue
        median, p90 = np.percentile(chunk, [50, 90])
        out.append(Stats(n, float(totals[g]), float(totals[g] / n), float(median), float(p90)))
    return out


@dataclass(frozen=True)
class _Unique:
    values: np.ndarray  # sorted distinct keys
    first: np.ndarray  # index of each key's first occurrence (input order)
    inverse: np.ndarray  # input → position in values
    counts: np.ndarray


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and their counts (one stable sort; see _unique)."""
    ordered = np.sort(keys, kind="stable")
    flag = np.ones(ordered.size, dtype=bool)
    flag[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(flag)
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def _unique(keys: np.ndarray) -> _Unique:
    """np.unique's answers from one stable sort: timsort is near-linear on the case-major keys used
    here (events come grouped by case), far faster than a general sort of 10M keys."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    flag = np.ones(ordered.size, dtype=bool)
    flag[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(flag)
    slot = np.cumsum(flag) - 1
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = slot
    return _Unique(ordered[starts], order[starts], inverse, np.diff(np.append(starts, ordered.size)))


@dataclass
class EventLog:
    """Events as arrays, sorted by case then time. `activity` holds codes into `activities` (names)."""

    case: np.ndarray  # int64 case ids
    activity: np.ndarray  # int32 codes
    time: np.ndarray  # float64 seconds
    activities: list[str]
    end: np.ndarray | None = None  # float64 seconds, NaN = no end
    resource: np.ndarray | None = None  # int64, 0 = none
    # derived
    case_start: np.ndarray = field(init=False, repr=False)  # index of each case's first event
    case_index: np.ndarray = field(init=False, repr=False)  # event → 0..n_cases-1
    case_ids: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.case.size
        sizes = {self.activity.size, self.time.size, n}
        sizes |= {a.size for a in (self.end, self.resource) if a is not None}
        if sizes != {n}:
            raise MiningError("case, activity, time (and end, resource) must have the same length.")
        if n and (self.activity.min() < 0 or self.activity.max() >= len(self.activities)):
            raise MiningError("activity codes must index the activity names.")
        if n:
            boundary = np.flatnonzero(self.case[1:] != self.case[:-1]) + 1
            self.case_start = np.concatenate(([0], boundary)).astype(np.int64)
        else:
            self.case_start = np.zeros(0, dtype=np.int64)
        self.case_ids = self.case[self.case_start]
        counts = np.diff(np.append(self.case_start, n))
        self.case_index = np.repeat(np.arange(self.case_start.size, dtype=np.int64), counts)

    @classmethod
    def build(cls, case: Iterable, activity: Iterable, time: Iterable, *, end: Iterable | None = None,
              resource: Iterable | None = None, activities: Sequence[str] | None = None) -> EventLog:
        """From arrays or iterables. `activity` is either names (factorised here) or codes into
        `activities`. `time`/`end` are seconds or numpy datetime64. Sorts by case, then time (stable)."""
        case_a = np.asarray(case if isinstance(case, np.ndarray) else list(case)).astype(np.int64, copy=False)
        act = np.asarray(activity if isinstance(activity, np.ndarray) else list(activity))
        if activities is None:
            names, codes = np.unique(act.astype(str), return_inverse=True)
            activities = [str(x) for x in names]
            act = codes.astype(np.int32)
        else:
            act = act.astype(np.int32, copy=False)
        t = _seconds(time)
        e = _seconds(end) if end is not None else None
        r = np.asarray(resource if isinstance(resource, np.ndarray) else list(resource)).astype(np.int64) \
            if resource is not None else None
        order = case_time_order(case_a, t)
        if order is not None:
            case_a, act, t = case_a[order], act[order], t[order]
            e = e[order] if e is not None else None
            r = r[order] if r is not None else None
        return cls(case=case_a, activity=act, time=t, activities=list(activities), end=e, resource=r)

    @property
    def n_events(self) -> int:
        return int(self.case.size)

    @property
    def n_cases(self) -> int:
        return int(self.case_start.size)

    def code(self, name: str) -> int:
        try:
            return self.activities.index(name)
        except ValueError:
            raise MiningError(f"Unknown activity: {name}") from None

    def _same_case_next(self) -> np.ndarray:
        """Mask over events 0..n-2: the next event belongs to the same case."""
        return self.case[1:] == self.case[:-1]

    def _done_at(self) -> np.ndarray:
        if self.end is None:
            return self.time
        return np.where(np.isfinite(self.end), self.end, self.time)

    def durations(self) -> np.ndarray:
        """Each event's duration (see the module docstring); NaN when there is none."""
        out = np.full(self.n_events, np.nan)
        if self.n_events > 1:
            same = self._same_case_next()
            gap = np.where(same, self.time[1:] - self.time[:-1], np.nan)
            out[:-1] = gap
        if self.end is not None:
            has_end = ~np.isnan(self.end)
            out[has_end] = np.maximum(self.end[has_end] - self.time[has_end], 0.0)
            out[np.isinf(self.end)] = np.nan  # started, not finished: nothing to measure yet
        return out


def case_time_order(case: np.ndarray, time: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts events by case, then time (ties keep their order); None when they
    already are. One stable sort of a packed int64 key (case, milliseconds) when it fits, which is
    near-linear on logs that arrive mostly grouped by case."""
    if case.size < 2:
        return None
    dc = np.diff(case)
    if not (dc < 0).any() and not ((dc == 0) & (np.diff(time) < 0)).any():
        return None
    del dc
    lo, hi = int(case.min()), int(case.max())
    ms = np.round((time - np.nanmin(time)) * 1000)
    case_bits = max(1, (hi - lo).bit_length())
    if lo >= 0 and np.isfinite(ms).all() and (float(ms.max()) < 2.0 ** (62 - case_bits)):
        key = ((case - lo) << (62 - case_bits)) | ms.astype(np.int64)
        return np.argsort(key, kind="stable")
    return np.lexsort((time, case))


def _seconds(values) -> np.ndarray:
    a = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    if a.dtype.kind == "M":
        nat = np.isnat(a)
        out = a.astype("datetime64[us]").astype(np.int64).astype(np.float64) / 1e6
        out[nat] = np.nan
        return out
    if a.dtype == object:
        a = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
    return a.astype(np.float64, copy=False)


# --- directly-follows graph ------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    activity: str
    events: int
    cases: int
    starts: int  # cases that begin with it
    ends: int  # cases that end with it
    duration: Stats


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    count: int
    cases: int
    duration: Stats


@dataclass(frozen=True)
class Dfg:
    cases: int
    events: int
    nodes: list[Node]
    edges: list[Edge]  # most frequent first

    def node(self, activity: str) -> Node:
        return next(n for n in self.nodes if n.activity == activity)

    def edge(self, source: str, target: str) -> Edge | None:
        return next((e for e in self.edges if e.source == source and e.target == target), None)


def _case_group_counts(case_index: np.ndarray, group: np.ndarray, n_groups: int, n_cases: int,
                       cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """Occurrences per (case, group) as dense blocks (cases × groups), a few MB at a time: bincount
    instead of a sort, since `case_index` is sorted."""
    if n_groups == 0 or case_index.size == 0:
        return
    per_block = max(1, cells // n_groups)
    bounds = np.searchsorted(case_index, np.arange(0, n_cases + per_block, per_block))
    for b in range(bounds.size - 1):
        lo, hi = bounds[b], bounds[b + 1]
        if lo == hi:
            continue
        first = b * per_block
        rows = min(per_block, n_cases - first)
        local = (case_index[lo:hi] - first) * n_groups + group[lo:hi]
        yield np.bincount(local, minlength=rows * n_groups).reshape(rows, n_groups)


def _cases_per_group(group: np.ndarray, case_index: np.ndarray, n_groups: int) -> np.ndarray:
    """Distinct cases per group id (`case_index` sorted)."""
    out = np.zeros(n_groups, dtype=np.int64)
    if group.size == 0:
        return out
    for block in _case_group_counts(case_index, group, n_groups, int(case_index[-1]) + 1):
        out += np.count_nonzero(block, axis=0)
    return out


def dfg(log: EventLog) -> Dfg:
    """The directly-follows graph: per activity events, cases and duration; per edge count, cases and
    transition time."""
    k = len(log.activities)
    durations = log.durations()
    events = np.bincount(log.activity, minlength=k)
    cases = _cases_per_group(log.activity, log.case_index, k)
    starts = np.bincount(log.activity[log.case_start], minlength=k)
    last = np.append(log.case_start[1:] - 1, log.n_events - 1) if log.n_cases else np.zeros(0, dtype=np.int64)
    ends = np.bincount(log.activity[last], minlength=k)
    node_stats = _grouped_stats(log.activity, durations, k)
    nodes = [Node(log.activities[a], int(events[a]), int(cases[a]), int(starts[a]), int(ends[a]), node_stats[a])
             for a in range(k) if events[a]]
    edges: list[Edge] = []
    if log.n_events > 1:
        same = log._same_case_next()
        src, dst = log.activity[:-1][same].astype(np.int64), log.activity[1:][same].astype(np.int64)
        wait = np.maximum(log.time[1:][same] - log._done_at()[:-1][same], 0.0)
        pair = src * k + dst
        edge_counts = np.bincount(pair, minlength=k * k)
        uniq = np.flatnonzero(edge_counts)
        slot = np.zeros(k * k, dtype=np.int64)
        slot[uniq] = np.arange(uniq.size)
        inverse = slot[pair]
        edge_counts = edge_counts[uniq]
        edge_cases = _cases_per_group(inverse, log.case_index[:-1][same], uniq.size)
        edge_stats = _grouped_stats(inverse, wait, uniq.size)
        for i, p in enumerate(uniq):
            edges.append(Edge(log.activities[int(p // k)], log.activities[int(p % k)], int(edge_counts[i]),
                              int(edge_cases[i]), edge_stats[i]))
        edges.sort(key=lambda e: (-e.count, e.source, e.target))
    nodes.sort(key=lambda n: (-n.events, n.activity))
    return Dfg(cases=log.n_cases, events=log.n_events, nodes=nodes, edges=edges)


# --- bottlenecks -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bottleneck:
    """Where time goes: an activity (a step) or a transition, ranked by total time."""

    kind: str  # "activity" | "transition"
    name: str  # activity, or "a → b"
    source: str
    target: str
    cases: int
    duration: Stats
    per_case: float  # total ÷ all cases of the log (seconds)
    share: float  # of all measured time, 0..1
    target_seconds: float | None = None
    over_target: int = 0
    over_target_share: float | None = None  # of measured occurrences
    median_vs_target: float | None = None  # median ÷ target


def bottlenecks(log: EventLog, *, targets: Mapping[str, float] | None = None, include_transitions: bool = True,
                limit: int | None = None, graph: Dfg | None = None) -> list[Bottleneck]:
    """Activities (and transitions) by total time spent, with per-case time and, where a target
    (seconds) is given for an activity, how many occurrences took longer and median ÷ target."""
    targets = targets or {}
    k = len(log.activities)
    durations = log.durations()
    graph = graph or dfg(log)
    rows: list[Bottleneck] = []
    grand = 0.0
    measured = ~np.isnan(durations)
    target_of = np.full(k, np.nan)
    for name, seconds in targets.items():
        if name in log.activities and seconds:
            target_of[log.activities.index(name)] = float(seconds)
    over = measured & (durations > target_of[log.activity])  # NaN targets compare False
    over_counts = np.bincount(log.activity[over], minlength=k)
    for node in graph.nodes:
        grand += node.duration.total
    edge_total = sum(e.duration.total for e in graph.edges) if include_transitions else 0.0
    grand += edge_total
    n_cases = max(graph.cases, 1)
    for node in graph.nodes:
        if node.duration.n == 0:
            continue
        a = log.activities.index(node.activity)
        target = None if np.isnan(target_of[a]) else float(target_of[a])
        rows.append(Bottleneck(
            "activity", node.activity, node.activity, node.activity, node.cases, node.duration,
            node.duration.total / n_cases, node.duration.total / grand if grand else 0.0, target,
            int(over_counts[a]) if target else 0,
            (int(over_counts[a]) / node.duration.n) if target else None,
            (node.duration.median / target) if target and node.duration.median is not None else None))
    if include_transitions:
        for edge in graph.edges:
            rows.append(Bottleneck("transition", f"{edge.source} → {edge.target}", edge.source, edge.target,
                                   edge.cases, edge.duration, edge.duration.total / n_cases,
                                   edge.duration.total / grand if grand else 0.0))
    rows.sort(key=lambda b: (-b.duration.total, b.name))
    return rows[:limit] if limit else rows


# --- rework, loops, ping-pong ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rework:
    activity: str
    cases: int  # cases in which it occurs more than once
    repeats: int  # occurrences beyond the first, summed over cases
    self_loops: int  # a → a directly
    share: float  # of the cases that contain the activity


@dataclass(frozen=True)
class PingPong:
    a: int  # resource bounced away from and back to
    b: int
    count: int  # A→B→A patterns
    cases: int


@dataclass(frozen=True)
class ReworkReport:
    activities: list[Rework]  # most cases first
    cases_with_rework: int
    reopened_cases: int
    reopenings: int
    ping_pong: list[PingPong]
    ping_pong_cases: int


def rework(log: EventLog, *, reopen: Sequence[str] = ()) -> ReworkReport:
    """Repeated activities per case, self-loops, reopenings (occurrences of the `reopen` activities)
    and ping-pong between the log's resources."""
    k = len(log.activities)
    cases_rep = np.zeros(k, dtype=np.int64)
    repeats = np.zeros(k, dtype=np.int64)
    cases_with = np.zeros(k, dtype=np.int64)
    case_rework = 0
    for block in _case_group_counts(log.case_index, log.activity, k, log.n_cases):
        again = block > 1
        cases_rep += again.sum(axis=0)
        repeats += np.maximum(block - 1, 0).sum(axis=0)
        cases_with += np.count_nonzero(block, axis=0)
        case_rework += int(again.any(axis=1).sum())
    loops = np.zeros(k, dtype=np.int64)
    if log.n_events > 1:
        same = log._same_case_next() & (log.activity[1:] == log.activity[:-1])
        loops = np.bincount(log.activity[:-1][same], minlength=k)
    rows = [Rework(log.activities[a], int(cases_rep[a]), int(repeats[a]), int(loops[a]),
                   float(cases_rep[a] / cases_with[a]) if cases_with[a] else 0.0)
            for a in range(k) if cases_rep[a] or loops[a]]
    rows.sort(key=lambda r: (-r.cases, -r.repeats, r.activity))
    reopen_codes = [log.activities.index(name) for name in reopen if name in log.activities]
    mask = np.isin(log.activity, reopen_codes)
    reopened_cases = int(np.count_nonzero(np.bincount(log.case_index[mask], minlength=1)))
    pp, pp_cases = ([], 0)
    if log.resource is not None:
        keep = log.resource != 0
        pp, pp_cases = ping_pong(log.case[keep], log.resource[keep])
    return ReworkReport(rows, int(case_rework), reopened_cases, int(mask.sum()), pp, pp_cases)


def ping_pong(case: np.ndarray, resource: np.ndarray) -> tuple[list[PingPong], int]:
    """A→B→A hand-overs within a case (consecutive repeats of one resource collapsed first).
    `case` sorted, `resource` in time order within each case. Returns the (A, B) pairs and the
    number of cases with at least one."""
    case, resource = np.asarray(case, dtype=np.int64), np.asarray(resource, dtype=np.int64)
    if case.size < 3:
        return [], 0
    keep = np.ones(case.size, dtype=bool)
    keep[1:] = (case[1:] != case[:-1]) | (resource[1:] != resource[:-1])
    case, resource = case[keep], resource[keep]
    if case.size < 3:
        return [], 0
    hit = (case[2:] == case[:-2]) & (case[1:-1] == case[:-2]) & (resource[2:] == resource[:-2])
    # resource[1:-1] != resource[:-2] holds after collapsing.
    a, b, c = resource[:-2][hit], resource[1:-1][hit], case[:-2][hit]
    if a.size == 0:
        return [], 0
    pairs = _unique((a << 32) | b)
    per_case, _n = _distinct(c * pairs.values.size + pairs.inverse)  # c is sorted: case-major
    case_counts = np.bincount(per_case % pairs.values.size, minlength=pairs.values.size)
    out = [PingPong(int(v >> 32), int(v & 0xFFFFFFFF), int(pairs.counts[i]), int(case_counts[i]))
           for i, v in enumerate(pairs.values)]
    out.sort(key=lambda p: (-p.count, p.a, p.b))
    return out, int(np.count_nonzero(np.diff(c)) + 1)


# --- variants --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    activities: tuple[str, ...]
    cases: int
    share: float
    duration: Stats  # case throughput time (first event → last moment)


@dataclass(frozen=True)
class Variants:
    total_cases: int
    distinct: int
    top: list[Variant]
    other_cases: int  # cases of the variants beyond the top N
    other_variants: int


def _case_ids_of_variants(log: EventLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per case a variant id (0..V-1), plus per variant its case count and a representative case."""
    n = log.n_events
    pos = np.arange(n, dtype=np.int64) - log.case_start[log.case_index]
    max_len = int(pos.max()) + 1 if n else 1
    powers1 = np.cumprod(np.full(max_len, _P1, dtype=np.uint64), dtype=np.uint64)
    powers2 = np.cumprod(np.full(max_len, _P2, dtype=np.uint64), dtype=np.uint64)
    codes = log.activity.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(codes * powers1[pos], log.case_start, dtype=np.uint64)
        h2 = np.add.reduceat(codes * powers2[pos], log.case_start, dtype=np.uint64)
        lengths = np.diff(np.append(log.case_start, n)).astype(np.uint64)
        key = (h1 ^ (h2 >> np.uint64(17))) * _P2 + lengths
    found = _unique(key)
    return found.inverse, found.counts, found.first


def variants(log: EventLog, *, top: int = 10) -> Variants:
    """Distinct activity sequences with their case counts, the most frequent `top` spelled out."""
    if log.n_cases == 0:
        return Variants(0, 0, [], 0, 0)
    variant_of, counts, first = _case_ids_of_variants(log)
    span_end = np.maximum.reduceat(log._done_at(), log.case_start)
    throughput = span_end - log.time[log.case_start]
    order = np.lexsort((first, -counts))
    chosen = order[:top]
    rows = []
    ends = np.append(log.case_start[1:], log.n_events)
    for v in chosen:
        case = first[v]
        sequence = tuple(log.activities[a] for a in log.activity[log.case_start[case]:ends[case]])
        rows.append(Variant(sequence, int(counts[v]), float(counts[v] / log.n_cases),
                            _stats(throughput[variant_of == v])))
    other = int(counts[order[top:]].sum()) if counts.size > top else 0
    return Variants(log.n_cases, int(counts.size), rows, other, max(0, int(counts.size) - top))


# --- conformance -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedStep:
    activity: str
    mandatory: bool = True


@dataclass(frozen=True)
class StepConformance:
    activity: str
    mandatory: bool
    observed: int  # cases in which it occurs
    skipped: int  # cases in which a mandatory step is missing (see module docstring)
    out_of_order: int


@dataclass(frozen=True)
class Conformance:
    cases: int
    fitness: float  # mean of the cases' fitness
    conforming: int  # cases without deviation
    conforming_share: float
    steps: list[StepConformance]
    case_fitness: np.ndarray = field(repr=False)  # per case, in log.case_ids order
    case_ids: np.ndarray = field(repr=False)


def conformance(log: EventLog, expected: Sequence[ExpectedStep], *,
                finished: Iterable[int] | np.ndarray | None = None) -> Conformance:
    """Each case against the expected ordered steps: skipped mandatory steps, out-of-order steps, and
    fitness. `finished`: ids of the cases that are over (default: all); in the others a mandatory step
    not reached yet is not counted as skipped."""
    m = len(expected)
    n_cases = log.n_cases
    if m == 0:
        raise MiningError("The standard process has no steps.")
    position = np.full(len(log.activities), -1, dtype=np.int64)
    for i, step in enumerate(expected):
        if step.activity in log.activities:
            position[log.activities.index(step.activity)] = i
    mandatory = np.array([s.mandatory for s in expected], dtype=bool)
    pos = position[log.activity]
    in_model = pos >= 0
    ev_case, ev_pos = log.case_index[in_model], pos[in_model]
    # First occurrence of each expected step per case, in time order (events are time-sorted per case).
    key = ev_case * m + ev_pos
    first_idx = np.sort(_unique(key).first)
    f_case, f_pos = ev_case[first_idx], ev_pos[first_idx]
    present = np.zeros((n_cases, m), dtype=bool)
    present[f_case, f_pos] = True
    # Out of order: a step expected earlier than one already seen in the same case (grouped running max).
    out_of_order = np.zeros(f_case.size, dtype=bool)
    if f_case.size:
        shifted = f_pos + f_case * (m + 1)
        running = np.maximum.accumulate(shifted)
        prev_max = np.empty_like(running)
        prev_max[0] = -1
        prev_max[1:] = running[:-1]
        same_case = np.zeros(f_case.size, dtype=bool)
        same_case[1:] = f_case[1:] == f_case[:-1]
        out_of_order = same_case & (prev_max > shifted)
    reached = np.full(n_cases, -1, dtype=np.int64)
    if f_case.size:
        np.maximum.at(reached, f_case, f_pos)
    if finished is None:
        over = np.ones(n_cases, dtype=bool)
    else:
        over = np.isin(log.case_ids, np.asarray(list(finished) if not isinstance(finished, np.ndarray) else finished))
    counts_as_due = over[:, None] | (np.arange(m)[None, :] < reached[:, None])
    skipped = ~present & mandatory[None, :] & counts_as_due
    ooo_case = np.bincount(f_case[out_of_order], minlength=n_cases)
    deviations = skipped.sum(axis=1) + ooo_case
    denominator = mandatory.sum() + present.sum(axis=1)
    fitness = np.clip(1.0 - deviations / np.maximum(denominator, 1), 0.0, 1.0)
    ooo_step = np.bincount(f_pos[out_of_order], minlength=m)
    steps = [StepConformance(s.activity, s.mandatory, int(present[:, i].sum()), int(skipped[:, i].sum()),
                             int(ooo_step[i])) for i, s in enumerate(expected)]
    conforming = int((deviations == 0).sum())
    return Conformance(n_cases, float(fitness.mean()) if n_cases else 1.0, conforming,
                       conforming / n_cases if n_cases else 1.0, steps, fitness, log.case_ids)


# --- everything at once ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Mining:
    dfg: Dfg
    bottlenecks: list[Bottleneck]
    rework: ReworkReport
    variants: Variants
    conformance: Conformance | None


def mine(log: EventLog, *, targets: Mapping[str, float] | None = None, reopen: Sequence[str] = (),
         expected: Sequence[ExpectedStep] | None = None, finished=None, top_variants: int = 10) -> Mining:
    graph = dfg(log)
    return Mining(graph, bottlenecks(log, targets=targets, graph=graph), rework(log, reopen=reopen),
                  variants(log, top=top_variants),
                  conformance(log, expected, finished=finished) if expected else None)
