"""Statistical tests for the Check of a PDCA cycle: before vs after on one metric.

Pure: plain numbers and lists in, dataclasses out; nothing here knows Django. NumPy/SciPy supply
the distributions (normal, t, chi-square, non-central t); the statistics themselves are computed
here from their textbook formulas so the tests can hold them against SciPy.

`compare(before, after, better)` picks the test that fits the metric's kind and the data, and says
why in plain words:
- rates (successes out of trials): the two-proportion z-test (pooled standard error for the test,
  unpooled for the confidence interval of the difference); Fisher's exact test when an expected
  cell count is under 5;
- scores with three categories (NPS as −100/0/100): chi-square test of independence on the 2×k table;
- times, counts per day and other scores: Mann–Whitney U when either window is skewed or not
  normal (|skewness| > 1, or Shapiro–Wilk p < 0.05 on small samples), otherwise Welch's t.

Messages (the "why", warnings and the explanation) are `Message`s: an English msgid and its
parameters, so the caller can translate them (the msgids are in the improvement catalogue).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from loopcrm.analytics.registry import Better, MetricKind, Samples

ALPHA = 0.05
POWER = 0.80
DETECTABLE_CHANGE = 0.10  # the relative change the sample-size warning is about (10 %)
SKEWNESS_LIMIT = 1.0
SHAPIRO_MAX_N = 50  # above this Shapiro–Wilk rejects normality for trivial departures; skewness decides
EXACT_U_MAX_N = 20  # exact Mann–Whitney distribution when both samples are this small and untied
HL_MAX_PAIRS = 2_000_000  # Hodges–Lehmann on all pairs up to this many, else on a fixed-seed subsample
ARE_MANN_WHITNEY = 3 / math.pi  # asymptotic relative efficiency of U vs t under normality


def gettext_noop(text: str) -> str:
    """Marks a msgid for the catalogues without translating it (this module knows no Django)."""
    return text


@dataclass(frozen=True)
class Message:
    """A sentence to show: an English msgid and its %-parameters; `str()` renders it in English."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "params": dict(self.params)}


# ---------------------------------------------------------------------------------------------
# Test results


@dataclass(frozen=True)
class ZTest:
    """Two-proportion z-test: after (p2 = x2/n2) minus before (p1 = x1/n1)."""

    z: float
    p_value: float
    p1: float
    p2: float
    difference: float  # p2 − p1
    ci: tuple[float, float]  # of the difference, unpooled (Wald) standard error
    relative_change: float | None  # (p2 − p1) / p1
    cohens_h: float  # 2·asin√p2 − 2·asin√p1


@dataclass(frozen=True)
class ChiSquareTest:
    statistic: float
    p_value: float
    df: int
    expected: list[list[float]]
    cramers_v: float


@dataclass(frozen=True)
class MannWhitneyTest:
    """U is the statistic of the first sample (pairs where x > y, ties counted half)."""

    u: float
    p_value: float
    method: str  # "exact" or "asymptotic"
    z: float | None
    rank_biserial: float  # 2·U/(n1·n2) − 1: +1 when every x exceeds every y


@dataclass(frozen=True)
class WelchTest:
    """Welch's t-test: y (after) minus x (before)."""

    t: float
    df: float
    p_value: float
    difference: float  # mean(y) − mean(x)
    ci: tuple[float, float]
    cohens_d: float  # difference / pooled SD
    hedges_g: float  # small-sample corrected d


# ---------------------------------------------------------------------------------------------
# Tests


def _norm_two_sided(z: float) -> float:
    return float(2 * sps.norm.sf(abs(z)))


def two_proportion_z(x1: int, n1: int, x2: int, n2: int, *, alpha: float = ALPHA) -> ZTest:
    """H0: p1 = p2. Pooled SE for the statistic, unpooled SE for the CI of p2 − p1."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need at least one trial")
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError("successes must lie between 0 and the number of trials")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    difference = p2 - p1
    if se_pooled == 0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / se_pooled
        p_value = _norm_two_sided(z)
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    crit = float(sps.norm.ppf(1 - alpha / 2))
    relative = difference / p1 if p1 > 0 else None
    return ZTest(z=z, p_value=p_value, p1=p1, p2=p2, difference=difference,
                 ci=(difference - crit * se, difference + crit * se), relative_change=relative,
                 cohens_h=cohens_h(p1, p2))


def chi_square_independence(table: Sequence[Sequence[float]]) -> ChiSquareTest:
    """Pearson's chi-square test of independence on an r×k table of counts (no continuity correction).

    Columns whose total is zero are dropped (a category neither window has).
    """
    observed = np.asarray(table, dtype=float)
    if observed.ndim != 2 or observed.shape[0] < 2:
        raise ValueError("a table of at least two rows is needed")
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2 or (observed.sum(axis=1) == 0).any():
        raise ValueError("each row needs counts and at least two categories must occur")
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    statistic = float(((observed - expected) ** 2 / expected).sum())
    df = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    p_value = float(sps.chi2.sf(statistic, df))
    v = math.sqrt(statistic / (total * (min(observed.shape) - 1)))
    return ChiSquareTest(statistic=statistic, p_value=p_value, df=df, expected=expected.tolist(), cramers_v=v)


def _u_distribution(n1: int, n2: int) -> np.ndarray:
    """Counts of the arrangements giving each U = 0..n1·n2 (no ties): f(m,n,u) = f(m−1,n,u−n) + f(m,n−1,u)."""
    # table[m] holds f(m, n) for the current n, as an array over u.
    table = [np.zeros(1, dtype=float) for _ in range(n1 + 1)]
    for m in range(n1 + 1):
        table[m] = np.ones(1)  # f(m, 0): one arrangement, U = 0
    for n in range(1, n2 + 1):
        new = [np.ones(1)]  # f(0, n): U = 0
        for m in range(1, n1 + 1):
            size = m * n + 1
            row = np.zeros(size)
            shifted = new[m - 1]  # f(m−1, n), U shifted by n
            row[n:n + len(shifted)] += shifted
            previous = table[m]  # f(m, n−1)
            row[:len(previous)] += previous
            new.append(row)
        table = new
    return table[n1]


def mann_whitney_u(x: Sequence[float], y: Sequence[float], *, method: str = "auto") -> MannWhitneyTest:
    """Two-sided Mann–Whitney U of x against y.

    method "auto": exact when there are no ties and both samples have ≤ 20 values, else the normal
    approximation with the ties correction of the variance and a continuity correction of 0.5
    (as SciPy does).
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need values")
    ranks = sps.rankdata(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    _values, counts = np.unique(np.concatenate([a, b]), return_counts=True)
    has_ties = bool((counts > 1).any())
    if method == "auto":
        method = "exact" if not has_ties and max(n1, n2) <= EXACT_U_MAX_N else "asymptotic"
    rank_biserial = 2 * u1 / (n1 * n2) - 1
    if method == "exact":
        dist = _u_distribution(n1, n2)
        dist = dist / dist.sum()
        k = round(u1)
        lower, upper = dist[: k + 1].sum(), dist[k:].sum()
        p_value = float(min(1.0, 2 * min(lower, upper)))
        return MannWhitneyTest(u=u1, p_value=p_value, method="exact", z=None, rank_biserial=rank_biserial)
    n = n1 + n2
    mean = n1 * n2 / 2
    tie_term = float((counts ** 3 - counts).sum())
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return MannWhitneyTest(u=u1, p_value=1.0, method="asymptotic", z=0.0, rank_biserial=rank_biserial)
    deviation = u1 - mean
    z = (deviation - math.copysign(0.5, deviation) if deviation else 0.0) / math.sqrt(variance)
    if abs(deviation) < 0.5:
        z = 0.0
    return MannWhitneyTest(u=u1, p_value=min(1.0, _norm_two_sided(z)), method="asymptotic", z=z,
                           rank_biserial=rank_biserial)


def welch_t(x: Sequence[float], y: Sequence[float], *, alpha: float = ALPHA) -> WelchTest:
    """Welch's t-test of mean(y) − mean(x); degrees of freedom by Welch–Satterthwaite."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        raise ValueError("both samples need at least two values")
    v1, v2 = float(a.var(ddof=1)), float(b.var(ddof=1))
    difference = float(b.mean() - a.mean())
    se2 = v1 / n1 + v2 / n2
    d, g = cohens_d(a, b)
    if se2 == 0:
        return WelchTest(t=0.0, df=float(n1 + n2 - 2), p_value=1.0 if difference == 0 else 0.0,
                         difference=difference, ci=(difference, difference), cohens_d=d, hedges_g=g)
    se = math.sqrt(se2)
    df = se2 ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    t = difference / se
    p_value = float(2 * sps.t.sf(abs(t), df))
    crit = float(sps.t.ppf(1 - alpha / 2, df))
    return WelchTest(t=t, df=df, p_value=p_value, difference=difference,
                     ci=(difference - crit * se, difference + crit * se), cohens_d=d, hedges_g=g)


# ---------------------------------------------------------------------------------------------
# Effect sizes and intervals


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h for two proportions: 2·asin√p2 − 2·asin√p1 (0.2 small, 0.5 medium, 0.8 large)."""
    return 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))


def cohens_d(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(Cohen's d, Hedges' g) of mean(y) − mean(x) over the pooled standard deviation."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    pooled = ((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2)
    if pooled <= 0:
        return 0.0, 0.0
    d = float((b.mean() - a.mean()) / math.sqrt(pooled))
    correction = 1 - 3 / (4 * (n1 + n2) - 9)
    return d, d * correction


def hodges_lehmann(x: Sequence[float], y: Sequence[float], *, alpha: float = ALPHA,
                   max_pairs: int = HL_MAX_PAIRS) -> tuple[float, tuple[float, float], bool]:
    """Hodges–Lehmann shift of y against x (median of all y − x) and its distribution-free CI (Moses).

    The CI takes the order statistics of the pairwise differences that the U distribution's normal
    approximation puts at α/2 either side. Over `max_pairs` pairs both samples are subsampled with a
    fixed seed (the third value says so).
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    sampled = False
    if len(a) * len(b) > max_pairs:
        rng = np.random.default_rng(20261123)
        side = math.isqrt(max_pairs)
        a = rng.choice(a, size=side, replace=False) if len(a) > side else a
        b = rng.choice(b, size=side, replace=False) if len(b) > side else b
        sampled = True
    n1, n2 = len(a), len(b)
    diffs = (b[None, :] - a[:, None]).ravel()
    m = n1 * n2
    crit = float(sps.norm.ppf(1 - alpha / 2))
    c = max(math.floor(m / 2 - crit * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)), 0)
    low_k, high_k = min(c, m - 1), max(m - c - 1, 0)
    # Only a few order statistics are needed: partition (linear time) instead of sorting the pairs.
    ks = sorted({low_k, high_k, (m - 1) // 2, m // 2})
    part = np.partition(diffs, ks)
    shift = float((part[(m - 1) // 2] + part[m // 2]) / 2)
    low, high = float(part[low_k]), float(part[high_k])
    return shift, (low, high), sampled


# ---------------------------------------------------------------------------------------------
# Power and sample size (two-sided, equal groups)


def _z(q: float) -> float:
    return float(sps.norm.ppf(q))


def power_two_proportions(p1: float, p2: float, n: int, *, alpha: float = ALPHA) -> float:
    """Power of the pooled two-proportion z-test with n per group (normal approximation)."""
    if p1 == p2 or n <= 0:
        return alpha if p1 == p2 else 0.0
    mean = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    za = _z(1 - alpha / 2)
    value = (abs(p2 - p1) * math.sqrt(n) - za * math.sqrt(2 * mean * (1 - mean))) / spread
    return float(sps.norm.cdf(value))


def n_two_proportions(p1: float, p2: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Cases per group for the pooled two-proportion z-test to detect p1 → p2 (Fleiss, no continuity correction)."""
    if p1 == p2:
        raise ValueError("the proportions must differ")
    mean = (p1 + p2) / 2
    za, zb = _z(1 - alpha / 2), _z(power)
    n = (za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return math.ceil(n - 1e-9)


def n_cohens_h(h: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Cases per group to detect an effect of Cohen's h: 2·((z_α/2 + z_β)/h)² (Cohen 1988, table 6.4.1).

    Each arcsine-transformed proportion has variance 1/n, so their difference has 2/n.
    """
    if h == 0:
        raise ValueError("the effect must not be zero")
    return math.ceil(2 * ((_z(1 - alpha / 2) + _z(power)) / abs(h)) ** 2 - 1e-9)


def power_t(d: float, n: int, *, alpha: float = ALPHA) -> float:
    """Exact power of the two-sided two-sample t-test with n per group for a standardised effect d."""
    if n < 2:
        return 0.0
    df = 2 * n - 2
    crit = float(sps.t.ppf(1 - alpha / 2, df))
    nc = abs(d) * math.sqrt(n / 2)
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def n_t(d: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Smallest n per group whose t-test power reaches `power` for effect d (64 for d = 0.5: Cohen table 2.4.1)."""
    if d == 0:
        raise ValueError("the effect must not be zero")
    za, zb = _z(1 - alpha / 2), _z(power)
    n = max(2, math.floor(2 * ((za + zb) / abs(d)) ** 2))  # the normal approximation, a little low
    while power_t(d, n, alpha=alpha) < power:
        n += 1
    return n


def n_mann_whitney(d: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Cases per group for Mann–Whitney U: the t-test's n over its efficiency under normality (3/π)."""
    return math.ceil(n_t(d, alpha=alpha, power=power) / ARE_MANN_WHITNEY)


# ---------------------------------------------------------------------------------------------
# Choosing and explaining


def skewness(values: Sequence[float]) -> float:
    """Sample skewness (Fisher–Pearson, bias-corrected); 0 for fewer than 3 values or no spread."""
    a = np.asarray(values, dtype=float)
    if len(a) < 3 or np.ptp(a) <= 1e-12 * max(1.0, float(np.abs(a).max())):
        return 0.0
    with warnings.catch_warnings():  # nearly constant data: SciPy warns of precision loss, the answer is ~0
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(sps.skew(a, bias=False))
    return value if math.isfinite(value) else 0.0


def looks_normal(values: Sequence[float]) -> tuple[bool, str]:
    """Whether a window is close enough to normal for Welch's t, and how that was judged (γ₁: skewness)."""
    a = np.asarray(values, dtype=float)
    skew = skewness(a)
    if abs(skew) > SKEWNESS_LIMIT:
        return False, f"γ₁ = {skew:.2f}"
    if 3 <= len(a) <= SHAPIRO_MAX_N and a.std() > 0:
        p = float(sps.shapiro(a).pvalue)
        if p < 0.05:
            return False, f"Shapiro–Wilk p = {p:.3f}"
    return True, f"γ₁ = {skew:.2f}"


@dataclass(frozen=True)
class Check:
    """The computed Check of a cycle: which test, why, what it found, and how far to trust it."""

    test: str  # two_proportion_z, fisher_exact, chi_square, mann_whitney_u, welch_t, none
    test_name: str
    why: Message
    n_before: int
    n_after: int
    before: float | None  # the rate, or the mean / median the effect is about
    after: float | None
    statistic: float | None
    p_value: float | None
    df: float | None
    effect: float | None  # after − before in the metric's units (proportion, mean or HL shift)
    effect_label: str  # "difference of proportions", "difference of means", "Hodges–Lehmann shift"
    relative_change: float | None
    effect_size: float | None
    effect_size_name: str  # "Cohen's h", "Hedges' g", "rank-biserial r", "Cramér's V"
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    alpha: float
    significant: bool
    improved: bool | None  # None when the direction cannot be told (no data)
    power: float | None  # power at these sample sizes to detect the `DETECTABLE_CHANGE`
    min_n_per_group: int | None  # cases per group needed for that change with 80 % power
    warnings: list[Message] = field(default_factory=list)
    explanation: Message = Message("")

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["why"] = self.why.as_dict()
        data["explanation"] = self.explanation.as_dict()
        data["warnings"] = [w.as_dict() for w in self.warnings]
        return data


_ = gettext_noop


def _direction(effect: float | None, better: Better) -> bool | None:
    if effect is None:
        return None
    return effect < 0 if better == Better.LOWER else effect > 0


def _explain(check_fields: dict[str, Any], better: Better) -> Message:
    effect, significant = check_fields["effect"], check_fields["significant"]
    if check_fields["test"] == "none":
        return Message(_("Not enough data in both windows to test a change."))
    params = {"test": check_fields["test_name"], "p": _p_text(check_fields["p_value"]),
              "before": _num(check_fields["before"]), "after": _num(check_fields["after"])}
    good = _direction(effect, better)
    if not significant:
        return Message(_("The metric moved from %(before)s to %(after)s, but %(test)s finds no significant "
                         "difference (p %(p)s): the change may be chance."), params)
    if good:
        return Message(_("The metric improved from %(before)s to %(after)s and %(test)s says this is unlikely "
                         "to be chance (p %(p)s)."), params)
    return Message(_("The metric got worse, from %(before)s to %(after)s, and %(test)s says this is unlikely "
                     "to be chance (p %(p)s)."), params)


def _p_text(p: float | None) -> str:
    """The p-value with its relation: "= 0.012", "< 0.001"."""
    if p is None:
        return "= –"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}"


def _no_test(before: Samples, after: Samples, n1: int, n2: int, *, alpha: float) -> Check:
    return Check(test="none", test_name="none", why=Message(_("At least two cases are needed in each window.")),
                 n_before=n1, n_after=n2, before=None, after=None, statistic=None, p_value=None, df=None,
                 effect=None, effect_label="", relative_change=None, effect_size=None, effect_size_name="",
                 ci_low=None, ci_high=None, ci_method="", alpha=alpha, significant=False, improved=None,
                 power=None, min_n_per_group=None,
                 warnings=[Message(_("Not enough data: %(before)s cases before and %(after)s after."),
                                   {"before": n1, "after": n2})],
                 explanation=Message(_("Not enough data in both windows to test a change.")))


def _sample_warning(n1: int, n2: int, needed: int | None, change: float) -> list[Message]:
    if needed is None or min(n1, n2) >= needed:
        return []
    return [Message(_("Fewer than the %(needed)s cases per group needed to detect a %(change)s%% change with "
                      "80%% power (before %(before)s, after %(after)s): a real change may go unseen."),
                    {"needed": needed, "change": round(change * 100), "before": n1, "after": n2})]


def _finish(fields: dict[str, Any], better: Better) -> Check:
    fields["significant"] = fields["p_value"] is not None and fields["p_value"] < fields["alpha"]
    good = _direction(fields["effect"], better)
    fields["improved"] = None if good is None else bool(good and fields["significant"])
    fields["explanation"] = _explain(fields, better)
    return Check(**fields)


def _compare_rates(before: Samples, after: Samples, better: Better, *, alpha: float, change: float) -> Check:
    x1, n1, x2, n2 = before.successes, before.trials, after.successes, after.trials
    if n1 < 1 or n2 < 1:
        return _no_test(before, after, n1, n2, alpha=alpha)
    z = two_proportion_z(x1, n1, x2, n2, alpha=alpha)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    pooled = (x1 + x2) / (n1 + n2)
    expected_min = min(n1, n2) * min(pooled, 1 - pooled)
    needed = power = None
    p_target = min(max(z.p1 * (1 - change) if better == Better.LOWER else z.p1 * (1 + change), 1e-9), 1 - 1e-9)
    if 0 < z.p1 < 1 and p_target != z.p1:
        needed = n_two_proportions(z.p1, p_target, alpha=alpha)
        power = power_two_proportions(z.p1, p_target, min(n1, n2), alpha=alpha)
    warnings = _sample_warning(n1, n2, needed, change)
    fields: dict[str, Any] = dict(
        n_before=n1, n_after=n2, before=z.p1, after=z.p2, df=None, effect=z.difference,
        effect_label=_("difference of proportions"), relative_change=z.relative_change, effect_size=z.cohens_h,
        effect_size_name=_("Cohen's h"), ci_low=z.ci[0], ci_high=z.ci[1],
        ci_method=_("Wald interval of the difference (unpooled standard error)"), alpha=alpha, power=power,
        min_n_per_group=needed, warnings=warnings)
    if expected_min < 5:
        _odds, p_value = sps.fisher_exact(table)
        fields.update(test="fisher_exact", test_name=_("Fisher's exact test"), statistic=None, p_value=float(p_value),
                      why=Message(_("A rate (successes out of trials) with an expected count under 5 in some cell: "
                                    "the z-test's normal approximation does not hold, so Fisher's exact test.")))
        warnings.append(Message(_("Few events: the interval of the difference is only approximate.")))
    else:
        fields.update(test="two_proportion_z", test_name=_("two-proportion z-test"), statistic=z.z, p_value=z.p_value,
                      why=Message(_("A rate (successes out of trials) in two windows with every expected count of "
                                    "at least 5: the two-proportion z-test (pooled standard error); chi-square "
                                    "only when there are more than two categories.")))
    return _finish(fields, better)


def _compare_categories(a: np.ndarray, b: np.ndarray, better: Better, *, alpha: float, change: float) -> Check:
    levels = np.unique(np.concatenate([a, b]))
    table = [[int((a == level).sum()) for level in levels], [int((b == level).sum()) for level in levels]]
    chi = chi_square_independence(table)
    welch = welch_t(a, b, alpha=alpha)
    sd = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    mean1 = float(a.mean())
    needed = power = None
    if sd > 0 and mean1 != 0:
        d = abs(mean1) * change / sd
        needed = n_t(d, alpha=alpha)
        power = power_t(d, min(len(a), len(b)), alpha=alpha)
    fields: dict[str, Any] = dict(
        test="chi_square", test_name=_("chi-square test of independence"),
        why=Message(_("Answers fall in %(k)s categories (%(levels)s): the chi-square test of independence on the "
                      "2×%(k)s table compares their mix; the effect is the difference of the means."),
                    {"k": len(levels), "levels": ", ".join(_num(float(v)) for v in levels)}),
        n_before=len(a), n_after=len(b), before=mean1, after=float(b.mean()), statistic=chi.statistic,
        p_value=chi.p_value, df=float(chi.df), effect=welch.difference, effect_label=_("difference of means"),
        relative_change=welch.difference / abs(mean1) if mean1 else None, effect_size=chi.cramers_v,
        effect_size_name=_("Cramér's V"), ci_low=welch.ci[0], ci_high=welch.ci[1],
        ci_method=_("Welch interval of the difference of means"), alpha=alpha, power=power, min_n_per_group=needed,
        warnings=_sample_warning(len(a), len(b), needed, change))
    return _finish(fields, better)


def _compare_values(before: Samples, after: Samples, better: Better, *, alpha: float, change: float) -> Check:
    a, b = np.asarray(before.values, dtype=float), np.asarray(after.values, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return _no_test(before, after, n1, n2, alpha=alpha)
    levels = np.unique(np.concatenate([a, b]))
    if before.kind == MetricKind.SCORE and len(levels) == 3:
        return _compare_categories(a, b, better, alpha=alpha, change=change)
    normal_a, how_a = looks_normal(a)
    normal_b, how_b = looks_normal(b)
    pooled_sd = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    mean1 = float(a.mean())
    d = abs(mean1) * change / pooled_sd if pooled_sd > 0 and mean1 != 0 else None
    if normal_a and normal_b:
        w = welch_t(a, b, alpha=alpha)
        needed = n_t(d, alpha=alpha) if d else None
        fields: dict[str, Any] = dict(
            test="welch_t", test_name=_("Welch's t-test"),
            why=Message(_("Values per case, roughly symmetric in both windows (skewness γ₁; before: %(a)s; "
                          "after: %(b)s): Welch's t-test on the means, which does not assume equal variances."),
                        {"a": how_a, "b": how_b}),
            n_before=n1, n_after=n2, before=mean1, after=float(b.mean()), statistic=w.t, p_value=w.p_value,
            df=w.df, effect=w.difference, effect_label=_("difference of means"),
            relative_change=w.difference / abs(mean1) if mean1 else None, effect_size=w.hedges_g,
            effect_size_name=_("Hedges' g"), ci_low=w.ci[0], ci_high=w.ci[1],
            ci_method=_("Welch interval of the difference of means (Welch–Satterthwaite df)"),
            power=power_t(d, min(n1, n2), alpha=alpha) if d else None)
    else:
        u = mann_whitney_u(b, a)  # U of the after window: positive rank-biserial = after tends higher
        shift, ci, sampled = hodges_lehmann(a, b, alpha=alpha)
        needed = n_mann_whitney(d, alpha=alpha) if d else None
        median1 = float(np.median(a))
        fields = dict(
            test="mann_whitney_u", test_name=_("Mann–Whitney U test"),
            why=Message(_("Values per case that are skewed or not normal (skewness γ₁ or Shapiro–Wilk; "
                          "before: %(a)s; after: %(b)s): the Mann–Whitney U test on ranks, which long tails "
                          "cannot sway; the effect is the Hodges–Lehmann shift of the medians."),
                        {"a": how_a, "b": how_b}),
            n_before=n1, n_after=n2, before=median1, after=float(np.median(b)), statistic=u.u,
            p_value=u.p_value, df=None, effect=shift, effect_label=_("Hodges–Lehmann shift"),
            relative_change=shift / abs(median1) if median1 else None, effect_size=u.rank_biserial,
            effect_size_name=_("rank-biserial r"), ci_low=ci[0], ci_high=ci[1],
            ci_method=(_("Hodges–Lehmann (Moses) distribution-free interval of the shift, on a fixed-seed "
                         "subsample of the pairs") if sampled
                       else _("Hodges–Lehmann (Moses) distribution-free interval of the shift")),
            power=power_t(d, max(2, int(min(n1, n2) * ARE_MANN_WHITNEY)), alpha=alpha) if d else None)
    fields.update(alpha=alpha, min_n_per_group=needed, warnings=_sample_warning(n1, n2, needed, change))
    return _finish(fields, better)


def compare(before: Samples, after: Samples, better: Better, *, alpha: float = ALPHA,
            change: float = DETECTABLE_CHANGE) -> Check:
    """Before vs after on one metric: the fitting test, its effect, CI, and whether it improved.

    `improved` is True only for a significant change in the better direction. The sample-size
    warning is about detecting a relative `change` (10 %) of the before value with 80 % power.
    """
    if before.kind != after.kind:
        raise ValueError("both windows must hold the same kind of metric")
    if before.kind == MetricKind.RATE:
        return _compare_rates(before, after, better, alpha=alpha, change=change)
    return _compare_values(before, after, better, alpha=alpha, change=change)
