"""Satisfaction statistics on plain counts (no Django): CSAT, NPS with its interval, CES.

Formulas and sources are in docs/feedback.md. Every function answers `value=None` with a warning
when the sample is below the minimum, so no page shows a misleading number from three answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 %
MIN_SAMPLE = 30


@dataclass(frozen=True)
class Estimate:
    """A metric over `n` answers: its value and 95 % interval, or None and a warning when n is too small."""

    n: int
    value: float | None
    low: float | None = None
    high: float | None = None
    warning: str = ""

    @property
    def reliable(self) -> bool:
        return self.value is not None and not self.warning


def _too_few(n: int, minimum: int) -> str:
    return f"only {n} answers (minimum {minimum})" if n < minimum else ""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927), as fractions."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def csat(distribution: Mapping[int, int], *, minimum: int = MIN_SAMPLE) -> Estimate:
    """CSAT % = answers of 4 or 5 (of 5) / all answers × 100, with a Wilson 95 % interval."""
    n = sum(distribution.values())
    satisfied = distribution.get(4, 0) + distribution.get(5, 0)
    if n == 0:
        return Estimate(n=0, value=None, warning=_too_few(0, minimum))
    low, high = wilson(satisfied, n)
    return Estimate(n=n, value=100 * satisfied / n, low=100 * low, high=100 * high, warning=_too_few(n, minimum))


def nps_groups(scores: Iterable[int]) -> tuple[int, int, int]:
    """(promoters 9–10, passives 7–8, detractors 0–6) from 0–10 answers."""
    promoters = passives = detractors = 0
    for score in scores:
        if score >= 9:
            promoters += 1
        elif score >= 7:
            passives += 1
        else:
            detractors += 1
    return promoters, passives, detractors


def nps(promoters: int, passives: int, detractors: int, *, minimum: int = MIN_SAMPLE, z: float = Z95) -> Estimate:
    """NPS = (promoters − detractors) / n × 100, with the adjusted-Wald 95 % interval (Rocks 2016).

    The interval adds ¾ to promoters and to detractors and 3 to n, then uses the variance of a
    difference of two proportions of one trinomial sample: Var(p̂P − p̂D) = (pP + pD − (pP − pD)²) / n.
    """
    n = promoters + passives + detractors
    if n == 0:
        return Estimate(n=0, value=None, warning=_too_few(0, minimum))
    value = 100 * (promoters - detractors) / n
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    half = z * math.sqrt((p_adj + d_adj - centre * centre) / n_adj)
    return Estimate(n=n, value=value, low=100 * max(-1.0, centre - half), high=100 * min(1.0, centre + half),
                    warning=_too_few(n, minimum))


def ces(distribution: Mapping[int, int], *, low_effort_max: int = 3, minimum: int = MIN_SAMPLE,
        z: float = Z95) -> tuple[Estimate, Estimate]:
    """CES on 1–7 (1 = very easy): (mean with a t-ish normal 95 % interval, % low effort ≤ `low_effort_max`)."""
    n = sum(distribution.values())
    warning = _too_few(n, minimum)
    if n == 0:
        return Estimate(n=0, value=None, warning=warning), Estimate(n=0, value=None, warning=warning)
    mean = sum(score * count for score, count in distribution.items()) / n
    if n > 1:
        variance = sum(count * (score - mean) ** 2 for score, count in distribution.items()) / (n - 1)
        half = z * math.sqrt(variance / n)
    else:
        half = math.inf
    low_effort = sum(count for score, count in distribution.items() if score <= low_effort_max)
    w_low, w_high = wilson(low_effort, n)
    return (
        Estimate(n=n, value=mean, low=mean - half, high=mean + half, warning=warning),
        Estimate(n=n, value=100 * low_effort / n, low=100 * w_low, high=100 * w_high, warning=warning),
    )


def rate(part: int, whole: int) -> float | None:
    """part / whole × 100, or None when there is nothing to divide by."""
    return 100 * part / whole if whole else None


def shown(estimate: Estimate) -> float | None:
    """The value a page may print: None below the minimum sample (the warning is shown instead)."""
    return estimate.value if estimate.reliable else None


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def proportion(successes: int, n: int, *, minimum: int = MIN_SAMPLE) -> Estimate:
    """successes / n × 100 with a Wilson 95 % interval (CSAT %, % low effort)."""
    if n == 0:
        return Estimate(n=0, value=None, warning=_too_few(0, minimum))
    low, high = wilson(successes, n)
    return Estimate(n=n, value=100 * successes / n, low=100 * low, high=100 * high, warning=_too_few(n, minimum))


def ces_from_moments(n: int, total: float, squares: float, *, minimum: int = MIN_SAMPLE, z: float = Z95) -> Estimate:
    """CES mean and its normal 95 % interval from n, Σx and Σx² (what SQL aggregates return)."""
    if n == 0:
        return Estimate(n=0, value=None, warning=_too_few(0, minimum))
    mean = total / n
    if n > 1:
        variance = max(0.0, (squares - n * mean * mean) / (n - 1))
        half = z * math.sqrt(variance / n)
    else:
        half = math.inf
    return Estimate(n=n, value=mean, low=mean - half, high=mean + half, warning=_too_few(n, minimum))
