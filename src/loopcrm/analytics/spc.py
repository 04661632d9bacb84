"""Statistical process control: control charts, run rules, process capability and Pareto.

Pure computation (no Django): plain lists and dataclasses in, dataclasses out, so the API, the
pages, the nightly task and the benchmark all share it and it tests in milliseconds.

Charts (formulas as in Montgomery, *Introduction to Statistical Quality Control*, ch. 6–7, and the
NIST/SEMATECH e-Handbook, section 6.3.2):

- ``p``: proportion nonconforming; each point's limits follow its own sample size n_i.
- ``u``: nonconformities per unit; limits follow each point's number of units.
- ``c``: nonconformities per point (constant area of opportunity).
- ``xmr``: individuals with the moving range (sigma = MR̄ / d2, MR chart UCL = D4 · MR̄).
- ``xbar_s``: subgroup means with subgroup standard deviations, variable subgroup sizes
  (pooled s̄ and the c4/A3/B3/B4 constants of each subgroup's n).

Phase I computes limits from a baseline window (optionally again without the baseline's points
beyond the 3-sigma limits, until none is left); phase II judges every point against those fixed
limits (:class:`Limits` is what a chart stores). Every point is standardised to z = (x − CL) / σ_i,
so the zone rules work the same with constant and with per-point limits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

D2_INDIVIDUALS = 1.128  # d2 for moving ranges of two observations
D4_INDIVIDUALS = 3.267  # D4 for moving ranges of two observations
MAX_REVISIONS = 25  # phase I revisions when excluding out-of-control points


class ChartType(StrEnum):
    P = "p"
    U = "u"
    C = "c"
    XMR = "xmr"
    XBAR_S = "xbar_s"


class RuleSet(StrEnum):
    WESTERN_ELECTRIC = "we"
    NELSON = "nelson"


ATTRIBUTE_CHARTS = frozenset({ChartType.P, ChartType.U, ChartType.C})


# --- constants for subgroups ----------------------------------------------------------------------


def c4(n: float) -> float:
    """Bias constant of the sample standard deviation for subgroups of n (n ≥ 2)."""
    if n < 2:
        raise ValueError("c4 needs a subgroup of at least 2")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2.0) - math.lgamma((n - 1) / 2.0))


def a3(n: float) -> float:
    """X̄ chart factor on s̄: limits x̄̄ ± A3 · s̄."""
    return 3.0 / (c4(n) * math.sqrt(n))


def b3(n: float) -> float:
    """S chart lower factor on s̄ (never below 0)."""
    c = c4(n)
    return max(0.0, 1.0 - 3.0 * math.sqrt(1.0 - c * c) / c)


def b4(n: float) -> float:
    """S chart upper factor on s̄."""
    c = c4(n)
    return 1.0 + 3.0 * math.sqrt(1.0 - c * c) / c


# --- inputs and outputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One plotted point's data.

    ``value`` is the plotted statistic: proportion (p), nonconformities per unit (u), count (c),
    the individual value (xmr) or the subgroup mean (xbar_s); None for a gap (nothing observed).
    ``size`` is n (p: items inspected, u: units, xbar_s: subgroup size); ``stdev`` the subgroup's
    sample standard deviation (xbar_s).
    """

    value: float | None
    size: float = 1.0
    stdev: float | None = None


@dataclass(frozen=True)
class Limits:
    """Phase I limits as stored on a chart: the centre and, for variables charts, the spread.

    p/u/c: ``center`` is p̄ / ū / c̄. xmr: ``center`` x̄ and ``spread`` MR̄. xbar_s: ``center`` x̄̄
    and ``spread`` the pooled s̄. ``baseline_points`` and ``excluded`` say where they came from.
    """

    chart: ChartType
    center: float
    spread: float | None = None
    baseline_points: int = 0
    excluded: tuple[int, ...] = ()

    def sigma(self, size: float = 1.0) -> float:
        """Standard deviation of one plotted point with this size (0 when undefined)."""
        n = max(size, 0.0)
        if self.chart is ChartType.P:
            return math.sqrt(max(self.center * (1 - self.center), 0.0) / n) if n > 0 else 0.0
        if self.chart is ChartType.U:
            return math.sqrt(max(self.center, 0.0) / n) if n > 0 else 0.0
        if self.chart is ChartType.C:
            return math.sqrt(max(self.center, 0.0))
        if self.chart is ChartType.XMR:
            return (self.spread or 0.0) / D2_INDIVIDUALS
        # X̄–S: A3(n) · s̄ / 3 = s̄ / (c4(n) √n); a subgroup of one uses c4(2).
        if n <= 0:
            return 0.0
        return (self.spread or 0.0) / (c4(max(n, 2.0)) * math.sqrt(n))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["chart"] = str(self.chart)
        data["excluded"] = list(self.excluded)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> Limits:
        return cls(
            chart=ChartType(data["chart"]), center=float(data["center"]),
            spread=None if data.get("spread") is None else float(data["spread"]),
            baseline_points=int(data.get("baseline_points", 0)), excluded=tuple(data.get("excluded", ())),
        )


@dataclass(slots=True)
class ChartPoint:
    """A plotted point with its own limits (they differ point to point when n varies)."""

    index: int
    value: float | None
    size: float
    center: float
    ucl: float
    lcl: float | None  # None when the lower limit would be below zero on an attribute chart
    sigma: float
    z: float | None  # (value − center) / sigma
    zone: str | None  # "C" (within 1σ), "B" (1–2σ), "A" (2–3σ), "out" (beyond 3σ); None for a gap
    in_baseline: bool = False
    excluded: bool = False  # in the baseline but left out of the limits (out of control in phase I)


@dataclass(slots=True)
class SecondaryPoint:
    """A point of the companion chart: moving range (xmr) or subgroup standard deviation (xbar_s)."""

    index: int
    value: float | None
    center: float
    ucl: float
    lcl: float
    out_of_control: bool


@dataclass(slots=True)
class Signal:
    """A run rule that fired: on which point (the one completing the pattern) and which rule."""

    index: int
    rule_set: RuleSet
    rule: int
    description: str

    @property
    def code(self) -> str:
        return f"{'WE' if self.rule_set is RuleSet.WESTERN_ELECTRIC else 'N'}{self.rule}"


@dataclass(frozen=True)
class ChartResult:
    chart: ChartType
    limits: Limits
    points: list[ChartPoint]
    signals: list[Signal]
    secondary: list[SecondaryPoint] = field(default_factory=list)

    def signals_at(self, index: int) -> list[Signal]:
        return [signal for signal in self.signals if signal.index == index]


# --- phase I --------------------------------------------------------------------------------------


def _present(observations: Sequence[Observation], indices: Iterable[int]) -> list[int]:
    return [i for i in indices if observations[i].value is not None and observations[i].size > 0]


def _estimate(chart: ChartType, observations: Sequence[Observation], used: list[int]) -> Limits:
    if not used:
        raise ValueError("no observations in the baseline")
    obs = observations
    if chart in (ChartType.P, ChartType.U):
        total = sum(obs[i].size for i in used)
        center = sum(obs[i].value * obs[i].size for i in used) / total  # type: ignore[operator]
        return Limits(chart, center)
    if chart is ChartType.C:
        return Limits(chart, sum(obs[i].value for i in used) / len(used))  # type: ignore[misc]
    if chart is ChartType.XMR:
        center = sum(obs[i].value for i in used) / len(used)  # type: ignore[misc]
        chosen = set(used)
        ranges = [abs(obs[i].value - obs[i - 1].value) for i in used  # type: ignore[operator]
                  if i - 1 in chosen]
        return Limits(chart, center, sum(ranges) / len(ranges) if ranges else 0.0)
    # X̄–S: grand mean weighted by n; s̄ the mean of s when every n is equal (Montgomery eq. 6.27),
    # else pooled: sqrt(Σ(n_i − 1)s_i² / (Σn_i − m)) (Montgomery §6.3.2, variable sample size).
    total = sum(obs[i].size for i in used)
    center = sum(obs[i].value * obs[i].size for i in used) / total  # type: ignore[operator]
    with_s = [i for i in used if obs[i].stdev is not None and obs[i].size >= 2]
    if not with_s:
        return Limits(chart, center, 0.0)
    sizes = {obs[i].size for i in with_s}
    if len(sizes) == 1:
        spread = sum(obs[i].stdev for i in with_s) / len(with_s)  # type: ignore[misc]
    else:
        ss = sum((obs[i].size - 1) * obs[i].stdev ** 2 for i in with_s)  # type: ignore[operator]
        spread = math.sqrt(ss / (sum(obs[i].size for i in with_s) - len(with_s)))
    return Limits(chart, center, spread)


def phase_one(
    chart: ChartType, observations: Sequence[Observation], *, baseline: tuple[int, int] | None = None,
    exclude_out_of_control: bool = False, revisions: int = 1,
) -> Limits:
    """Limits from the baseline window [start, stop) of the observations (all of them by default).

    With ``exclude_out_of_control`` the limits are recomputed without the baseline's points beyond
    3 sigma (Montgomery's revised trial limits); ``revisions`` says how many times to repeat that
    (one, as in the textbook; more to iterate until nothing is left outside).
    """
    chart = ChartType(chart)
    start, stop = baseline if baseline is not None else (0, len(observations))
    start, stop = max(0, start), min(len(observations), stop)
    used = _present(observations, range(start, stop))
    limits = _estimate(chart, observations, used)
    excluded: list[int] = []
    if exclude_out_of_control:
        for _ in range(max(1, min(revisions, MAX_REVISIONS))):
            out = [i for i in used if _beyond(limits, observations[i])]
            if not out or len(out) == len(used):
                break
            excluded.extend(out)
            dropped = set(out)
            used = [i for i in used if i not in dropped]
            limits = _estimate(chart, observations, used)
    return Limits(chart, limits.center, limits.spread, baseline_points=len(used), excluded=tuple(sorted(excluded)))


def _beyond(limits: Limits, observation: Observation) -> bool:
    sigma = limits.sigma(observation.size)
    if sigma <= 0 or observation.value is None:
        return False
    return abs(observation.value - limits.center) > 3 * sigma


# --- the chart ------------------------------------------------------------------------------------


def _zone(z: float) -> str:
    a = abs(z)
    return "C" if a <= 1 else "B" if a <= 2 else "A" if a <= 3 else "out"


def control_chart(
    chart: ChartType | str, observations: Sequence[Observation], *, limits: Limits | None = None,
    baseline: tuple[int, int] | None = None, exclude_out_of_control: bool = False,
    rule_set: RuleSet | str = RuleSet.WESTERN_ELECTRIC, revisions: int = 1,
) -> ChartResult:
    """The chart of the observations: per-point limits and zones, the companion chart, the signals.

    Given ``limits`` (phase II) they are used as they are; otherwise phase I computes them from
    ``baseline`` (index window [start, stop), all points by default).
    """
    chart = ChartType(chart)
    if limits is None:
        limits = phase_one(chart, observations, baseline=baseline,
                           exclude_out_of_control=exclude_out_of_control, revisions=revisions)
    elif limits.chart is not chart:
        raise ValueError(f"limits are for a {limits.chart} chart, not {chart}")
    start, stop = baseline if baseline is not None else (0, len(observations))
    excluded = set(limits.excluded)
    attribute = chart in ATTRIBUTE_CHARTS
    points: list[ChartPoint] = []
    zs: list[float | None] = []
    sigmas: dict[float, float] = {}
    center = limits.center
    for i, obs in enumerate(observations):
        sigma = sigmas.get(obs.size)
        if sigma is None:
            sigma = sigmas[obs.size] = limits.sigma(obs.size)
        lower = center - 3 * sigma
        lcl = None if attribute and lower < 0 else lower
        z = None
        if obs.value is not None and obs.size > 0 and sigma > 0:
            z = (obs.value - center) / sigma
        zs.append(z)
        # Positional for speed: index, value, size, center, ucl, lcl, sigma, z, zone, in_baseline, excluded.
        points.append(ChartPoint(i, obs.value, obs.size, center, center + 3 * sigma, lcl, sigma, z,
                                 None if z is None else _zone(z), start <= i < stop, i in excluded))
    return ChartResult(chart=chart, limits=limits, points=points, signals=run_rules(zs, rule_set),
                       secondary=_secondary(chart, observations, limits))


def _secondary(chart: ChartType, observations: Sequence[Observation], limits: Limits) -> list[SecondaryPoint]:
    spread = limits.spread or 0.0
    out: list[SecondaryPoint] = []
    if chart is ChartType.XMR:
        ucl = D4_INDIVIDUALS * spread
        previous: float | None = None
        for i, obs in enumerate(observations):
            value = None if obs.value is None or previous is None else abs(obs.value - previous)
            if obs.value is not None:
                previous = obs.value
            out.append(SecondaryPoint(i, value, spread, ucl, 0.0, value is not None and value > ucl))
    elif chart is ChartType.XBAR_S:
        factors: dict[float, tuple[float, float]] = {}
        for i, obs in enumerate(observations):
            n = max(obs.size, 2.0)
            if n not in factors:
                factors[n] = (b4(n) * spread, b3(n) * spread)
            ucl, lcl = factors[n]
            value = obs.stdev if obs.size >= 2 else None
            out.append(SecondaryPoint(i, value, spread, ucl, lcl,
                                      value is not None and (value > ucl or value < lcl)))
    return out


# --- run rules ------------------------------------------------------------------------------------

WE_RULES: dict[int, str] = {
    1: "One point beyond 3 sigma",
    2: "Two of three consecutive points beyond 2 sigma on the same side",
    3: "Four of five consecutive points beyond 1 sigma on the same side",
    4: "Eight consecutive points on the same side of the centre line",
}
NELSON_RULES: dict[int, str] = {
    1: "One point beyond 3 sigma",
    2: "Nine points in a row on the same side of the centre line",
    3: "Six points in a row steadily increasing or decreasing",
    4: "Fourteen points in a row alternating up and down",
    5: "Two of three points in a row beyond 2 sigma on the same side",
    6: "Four of five points in a row beyond 1 sigma on the same side",
    7: "Fifteen points in a row within 1 sigma of the centre line",
    8: "Eight points in a row beyond 1 sigma, on either side",
}


def rule_description(rule_set: RuleSet | str, rule: int) -> str:
    table = WE_RULES if RuleSet(rule_set) is RuleSet.WESTERN_ELECTRIC else NELSON_RULES
    return table[rule]


def _k_of_m_beyond(z: list[float], k: int, m: int, level: float) -> list[int]:
    """Points i where at least k of the m points ending at i are beyond `level` on one side, i among them."""
    hits: list[int] = []
    above = below = 0  # counts in the current window of at most m points
    for i, v in enumerate(z):
        if v > level:
            above += 1
        elif v < -level:
            below += 1
        if i >= m:
            old = z[i - m]
            if old > level:
                above -= 1
            elif old < -level:
                below -= 1
        if (v > level and above >= k) or (v < -level and below >= k):
            hits.append(i)
    return hits


def _same_side(z: list[float], length: int) -> list[int]:
    hits: list[int] = []
    run, side = 0, 0
    for i, v in enumerate(z):
        s = 1 if v > 0 else -1 if v < 0 else 0
        run = run + 1 if s != 0 and s == side else (1 if s != 0 else 0)
        side = s
        if run >= length:
            hits.append(i)
    return hits


def _trend(z: list[float], points: int) -> list[int]:
    hits: list[int] = []
    run, direction = 1, 0
    for i in range(1, len(z)):
        d = 1 if z[i] > z[i - 1] else -1 if z[i] < z[i - 1] else 0
        run = run + 1 if d != 0 and d == direction else (2 if d != 0 else 1)
        direction = d
        if run >= points:
            hits.append(i)
    return hits


def _alternating(z: list[float], points: int) -> list[int]:
    hits: list[int] = []
    run, last = 1, 0
    for i in range(1, len(z)):
        d = 1 if z[i] > z[i - 1] else -1 if z[i] < z[i - 1] else 0
        run = run + 1 if d != 0 and d == -last else (2 if d != 0 else 1)
        last = d
        if run >= points:
            hits.append(i)
    return hits


def _all_within(flags: list[bool], length: int) -> list[int]:
    """Points ending a run of `length` points whose flag is set."""
    hits: list[int] = []
    run = 0
    for i, flag in enumerate(flags):
        run = run + 1 if flag else 0
        if run >= length:
            hits.append(i)
    return hits


def run_rules(z: Sequence[float | None], rule_set: RuleSet | str = RuleSet.WESTERN_ELECTRIC) -> list[Signal]:
    """Apply a rule set to standardised points (None = gap, skipped: runs continue across it).

    Each signal names the point that completes the pattern; a pattern that goes on fires again on
    every further point. Zone edges count as inside (a point exactly at 3 sigma is not beyond).
    """
    rule_set = RuleSet(rule_set)
    where = [i for i, v in enumerate(z) if v is not None]
    values: list[float] = [z[i] for i in where]  # type: ignore[misc]
    found: dict[int, list[int]] = {}
    beyond3 = [i for i, v in enumerate(values) if abs(v) > 3]
    if rule_set is RuleSet.WESTERN_ELECTRIC:
        found[1] = beyond3
        found[2] = _k_of_m_beyond(values, 2, 3, 2)
        found[3] = _k_of_m_beyond(values, 4, 5, 1)
        found[4] = _same_side(values, 8)
        table = WE_RULES
    else:
        found[1] = beyond3
        found[2] = _same_side(values, 9)
        found[3] = _trend(values, 6)
        found[4] = _alternating(values, 14)
        found[5] = _k_of_m_beyond(values, 2, 3, 2)
        found[6] = _k_of_m_beyond(values, 4, 5, 1)
        inside = [-1 <= v <= 1 for v in values]
        found[7] = _all_within(inside, 15)
        found[8] = _all_within([not flag for flag in inside], 8)
        table = NELSON_RULES
    pairs = sorted((i, rule) for rule, hits in found.items() for i in hits)
    return [Signal(where[i], rule_set, rule, table[rule]) for i, rule in pairs]


# --- capability -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    """Cp/Cpk use the within (short-term) sigma of the chart; Pp/Ppk the overall sample sigma.

    With one spec limit only the one-sided index exists: Cp/Pp are None and Cpk = Cpu or Cpl.
    """

    mean: float
    sigma_within: float
    sigma_overall: float | None
    lsl: float | None
    usl: float | None
    cp: float | None
    cpu: float | None
    cpl: float | None
    cpk: float | None
    pp: float | None
    ppu: float | None
    ppl: float | None
    ppk: float | None


def _indices(mean: float, sigma: float | None, lsl: float | None, usl: float | None):
    if sigma is None or sigma <= 0:
        return None, None, None, None
    upper = (usl - mean) / (3 * sigma) if usl is not None else None
    lower = (mean - lsl) / (3 * sigma) if lsl is not None else None
    both = (usl - lsl) / (6 * sigma) if usl is not None and lsl is not None else None
    k = min(v for v in (upper, lower) if v is not None) if (upper, lower) != (None, None) else None
    return both, upper, lower, k


def capability(
    *, mean: float, sigma_within: float, sigma_overall: float | None = None,
    lsl: float | None = None, usl: float | None = None,
) -> Capability:
    """Process capability against one- or two-sided specification limits (e.g. an SLA target as USL)."""
    if lsl is None and usl is None:
        raise ValueError("capability needs at least one specification limit")
    if lsl is not None and usl is not None and lsl >= usl:
        raise ValueError("the lower specification limit must be below the upper one")
    cp, cpu, cpl, cpk = _indices(mean, sigma_within, lsl, usl)
    pp, ppu, ppl, ppk = _indices(mean, sigma_overall, lsl, usl)
    return Capability(mean, sigma_within, sigma_overall, lsl, usl, cp, cpu, cpl, cpk, pp, ppu, ppl, ppk)


def chart_capability(
    result: ChartResult, observations: Sequence[Observation], *, lsl: float | None = None,
    usl: float | None = None,
) -> Capability | None:
    """Capability of an xmr or xbar_s chart's baseline process (None for attribute charts).

    Within sigma: MR̄/d2 or s̄/c4(n̄); overall sigma: the sample standard deviation of every value
    in the baseline (for subgroups rebuilt exactly from their means and standard deviations).
    """
    if result.chart in ATTRIBUTE_CHARTS or (lsl is None and usl is None):
        return None
    limits = result.limits
    used = [p.index for p in result.points if p.in_baseline and not p.excluded and p.value is not None
            and p.size > 0]
    if not used:
        return None
    if result.chart is ChartType.XMR:
        within = (limits.spread or 0.0) / D2_INDIVIDUALS
        values = [observations[i].value for i in used]
        overall = _stdev(values)  # type: ignore[arg-type]
    else:
        sizes = [observations[i].size for i in used if observations[i].size >= 2]
        mean_n = sum(sizes) / len(sizes) if sizes else 2.0
        within = (limits.spread or 0.0) / c4(max(mean_n, 2.0))
        total = sum(observations[i].size for i in used)
        ss = sum((observations[i].size - 1) * (observations[i].stdev or 0.0) ** 2
                 + observations[i].size * (observations[i].value - limits.center) ** 2  # type: ignore[operator]
                 for i in used)
        overall = math.sqrt(ss / (total - 1)) if total > 1 else None
    return capability(mean=limits.center, sigma_within=within, sigma_overall=overall, lsl=lsl, usl=usl)


def _stdev(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


# --- Pareto ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoBar:
    label: str
    count: float
    percent: float
    cumulative_percent: float
    vital_few: bool  # among the categories that together make up the first `threshold` percent


def pareto(counts: Mapping[str, float] | Iterable[tuple[str, float]], *, threshold: float = 80.0) -> list[ParetoBar]:
    """Categories by count (largest first, ties by label), with percent and cumulative percent.

    The vital few are the categories up to and including the one whose cumulative share reaches
    `threshold` percent. Categories with a zero count are left out.
    """
    items = list(counts.items()) if isinstance(counts, Mapping) else list(counts)
    for label, count in items:
        if count < 0:
            raise ValueError(f"negative count for {label!r}")
    items = sorted(((str(label), count) for label, count in items if count > 0), key=lambda kv: (-kv[1], kv[0]))
    total = sum(count for _, count in items)
    bars: list[ParetoBar] = []
    running = 0.0
    for label, count in items:
        before = 100.0 * running / total
        running += count
        bars.append(ParetoBar(label, count, 100.0 * count / total, 100.0 * running / total,
                              vital_few=before < threshold - 1e-9))
    return bars
