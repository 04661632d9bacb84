"""The Check's statistics against SciPy and hand computations, and power against Cohen's tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from loopcrm.analytics import stats
from loopcrm.analytics.registry import Better, MetricKind, Samples


def rates(successes: int, trials: int) -> Samples:
    return Samples(MetricKind.RATE, successes=successes, trials=trials)


def durations(values) -> Samples:
    return Samples(MetricKind.DURATION, values=[float(v) for v in values])


# --- two-proportion z ------------------------------------------------------------------------

def test_two_proportion_z_matches_the_hand_formula_and_chi_square():
    # 120 complaints in 1,000 orders before, 80 in 1,000 after.
    result = stats.two_proportion_z(120, 1000, 80, 1000)
    pooled = 200 / 2000
    se = math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    assert result.z == pytest.approx((0.08 - 0.12) / se)
    assert result.z == pytest.approx(-2.9814239699997)
    assert result.p_value == pytest.approx(2 * sps.norm.sf(abs(result.z)))
    chi2, p, _df, _exp = sps.chi2_contingency([[120, 880], [80, 920]], correction=False)
    assert result.z ** 2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p)
    unpooled = math.sqrt(0.12 * 0.88 / 1000 + 0.08 * 0.92 / 1000)
    assert result.ci == pytest.approx((-0.04 - 1.959963985 * unpooled, -0.04 + 1.959963985 * unpooled))
    assert result.relative_change == pytest.approx(-1 / 3)
    assert result.cohens_h == pytest.approx(2 * math.asin(math.sqrt(0.08)) - 2 * math.asin(math.sqrt(0.12)))


def test_two_proportion_z_without_variation_is_not_significant():
    result = stats.two_proportion_z(0, 50, 0, 60)
    assert (result.z, result.p_value) == (0.0, 1.0)


def test_two_proportion_z_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.two_proportion_z(11, 10, 1, 10)


# --- chi-square ------------------------------------------------------------------------------

@pytest.mark.parametrize("table", [
    [[30, 50, 20], [45, 40, 15]],
    [[12, 7, 3, 9], [5, 10, 11, 4]],
    [[200, 800], [150, 850]],
])
def test_chi_square_matches_scipy(table):
    result = stats.chi_square_independence(table)
    chi2, p, df, expected = sps.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p)
    assert result.df == df
    assert np.allclose(result.expected, expected)
    assert result.cramers_v == pytest.approx(math.sqrt(chi2 / (np.sum(table) * (min(np.shape(table)) - 1))))


def test_chi_square_drops_categories_neither_window_has():
    assert stats.chi_square_independence([[3, 0, 5], [4, 0, 9]]).df == 1


# --- Mann–Whitney U --------------------------------------------------------------------------

def test_mann_whitney_asymptotic_with_ties_matches_scipy():
    rng = np.random.default_rng(7)
    x = np.round(rng.lognormal(3, 1, 150))  # rounded minutes: many ties
    y = np.round(rng.lognormal(2.7, 1, 170))
    result = stats.mann_whitney_u(x, y)
    expected = sps.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)
    assert result.method == "asymptotic"
    assert result.u == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.rank_biserial == pytest.approx(2 * expected.statistic / (150 * 170) - 1)


@pytest.mark.parametrize("sizes", [(5, 7), (8, 8), (12, 15), (3, 20)])
def test_mann_whitney_exact_for_small_untied_samples_matches_scipy(sizes):
    rng = np.random.default_rng(sum(sizes))
    x, y = rng.normal(0, 1, sizes[0]), rng.normal(0.8, 1, sizes[1])
    result = stats.mann_whitney_u(x, y)
    expected = sps.mannwhitneyu(x, y, method="exact")
    assert result.method == "exact"
    assert result.u == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_hodges_lehmann_is_the_median_of_pairwise_differences():
    x, y = [10, 12, 15, 20, 40], [8, 9, 11, 14]
    shift, (low, high), sampled = stats.hodges_lehmann(x, y)
    assert shift == pytest.approx(np.median([b - a for a in x for b in y]))
    assert low <= shift <= high and not sampled


# --- Welch t ---------------------------------------------------------------------------------

def test_welch_matches_scipy():
    rng = np.random.default_rng(3)
    x, y = rng.normal(30, 5, 40), rng.normal(27, 9, 55)
    result = stats.welch_t(x, y)
    expected = sps.ttest_ind(y, x, equal_var=False)
    assert result.t == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.df == pytest.approx(expected.df)
    ci = expected.confidence_interval(0.95)
    assert result.ci == pytest.approx((ci.low, ci.high))
    pooled = math.sqrt((39 * x.var(ddof=1) + 54 * y.var(ddof=1)) / 93)
    assert result.cohens_d == pytest.approx((y.mean() - x.mean()) / pooled)
    assert result.hedges_g == pytest.approx(result.cohens_d * (1 - 3 / (4 * 95 - 9)))


# --- power and sample size -------------------------------------------------------------------

@pytest.mark.parametrize(("d", "n"), [(0.2, 393), (0.5, 64), (0.8, 26)])
def test_t_sample_size_matches_cohens_table_2_4_1(d, n):
    # Cohen (1988), Statistical Power Analysis, table 2.4.1: α = .05 two-tailed, power .80. Cohen
    # approximates the non-central t; the exact search gives 394 for d = 0.2 (as G*Power does).
    assert abs(stats.n_t(d) - n) <= 1
    assert stats.power_t(d, stats.n_t(d)) >= 0.80 > stats.power_t(d, stats.n_t(d) - 1)


@pytest.mark.parametrize(("h", "n"), [(0.2, 392), (0.5, 63), (0.8, 25)])
def test_proportion_sample_size_matches_cohens_table_6_4_1(h, n):
    # Cohen (1988), table 6.4.1 (α = .05 two-tailed, power .80); the table rounds to the nearest case.
    assert abs(stats.n_cohens_h(h) - n) <= 1


def test_t_sample_size_for_a_medium_effect_is_64():
    assert stats.n_t(0.5) == 64


def test_two_proportion_sample_size_is_where_power_reaches_80_percent():
    n = stats.n_two_proportions(0.12, 0.108)
    assert stats.power_two_proportions(0.12, 0.108, n) >= 0.80 > stats.power_two_proportions(0.12, 0.108, n - 1)


def test_power_t_matches_the_noncentral_t():
    power = stats.power_t(0.5, 64)
    nc = 0.5 * math.sqrt(32)
    crit = sps.t.ppf(0.975, 126)
    assert power == pytest.approx(sps.nct.sf(crit, 126, nc) + sps.nct.cdf(-crit, 126, nc))
    assert 0.80 <= power < 0.81


# --- compare ---------------------------------------------------------------------------------

def test_compare_rates_uses_the_z_test_and_sees_the_improvement():
    check = stats.compare(rates(120, 1000), rates(80, 1000), Better.LOWER)
    assert check.test == "two_proportion_z"
    assert check.significant and check.improved
    assert check.effect == pytest.approx(-0.04)
    assert check.ci_low < check.effect < check.ci_high < 0
    assert "two-proportion z" in str(check.why)
    assert check.min_n_per_group == stats.n_two_proportions(0.12, 0.108)
    assert any("80% power" in str(w) for w in check.warnings)


def test_compare_rates_is_direction_aware():
    check = stats.compare(rates(80, 1000), rates(120, 1000), Better.LOWER)
    assert check.significant and check.improved is False
    assert "worse" in str(check.explanation)


def test_compare_rates_with_few_events_uses_fisher():
    check = stats.compare(rates(2, 40), rates(0, 40), Better.LOWER)
    assert check.test == "fisher_exact"
    assert check.p_value == pytest.approx(sps.fisher_exact([[2, 38], [0, 40]])[1])


def test_compare_skewed_times_uses_mann_whitney_with_the_hodges_lehmann_shift():
    rng = np.random.default_rng(11)
    before, after = rng.lognormal(4, 0.9, 400), rng.lognormal(3.6, 0.9, 400)
    check = stats.compare(durations(before), durations(after), Better.LOWER)
    assert check.test == "mann_whitney_u"
    assert "skewed" in str(check.why) and "γ₁" in str(check.why)
    assert check.p_value == pytest.approx(sps.mannwhitneyu(after, before).pvalue)
    assert check.significant and check.improved
    assert check.effect < 0 and check.ci_low <= check.effect <= check.ci_high
    assert check.effect_size_name == "rank-biserial r" and check.effect_size < 0


def test_compare_symmetric_times_uses_welch():
    rng = np.random.default_rng(5)
    before, after = rng.normal(60, 8, 300), rng.normal(55, 10, 300)
    check = stats.compare(durations(before), durations(after), Better.LOWER)
    assert check.test == "welch_t"
    assert check.p_value == pytest.approx(sps.ttest_ind(after, before, equal_var=False).pvalue)
    assert check.improved
    assert check.min_n_per_group == stats.n_t(abs(before.mean()) * 0.1 / math.sqrt(
        (299 * before.var(ddof=1) + 299 * after.var(ddof=1)) / 598))


def test_compare_nps_answers_uses_chi_square_on_the_three_groups():
    before = [100] * 30 + [0] * 40 + [-100] * 30
    after = [100] * 50 + [0] * 35 + [-100] * 15
    check = stats.compare(Samples(MetricKind.SCORE, values=before), Samples(MetricKind.SCORE, values=after),
                          Better.HIGHER)
    assert check.test == "chi_square"
    expected = sps.chi2_contingency([[30, 40, 30], [15, 35, 50]], correction=False)
    assert check.statistic == pytest.approx(expected[0]) and check.df == 2
    assert check.effect == pytest.approx(35.0)  # NPS 0 → 35
    assert check.improved


def test_compare_without_data_says_so():
    check = stats.compare(durations([5]), durations([]), Better.LOWER)
    assert check.test == "none" and check.improved is None and not check.significant
    assert check.warnings


def test_check_serialises_its_messages():
    data = stats.compare(rates(120, 1000), rates(80, 1000), Better.LOWER).as_dict()
    assert data["why"]["text"] and isinstance(data["warnings"], list)


# --- property: any input, same answers as SciPy ------------------------------------------------


minutes = st.lists(st.integers(min_value=0, max_value=500).map(float), min_size=3, max_size=40)


@settings(max_examples=60, deadline=None)
@given(minutes, minutes)
def test_mann_whitney_matches_scipy_on_any_minutes(x, y):
    result = stats.mann_whitney_u(x, y)
    expected = sps.mannwhitneyu(x, y, method=result.method, use_continuity=True)
    assert result.u == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(minutes, minutes)
def test_welch_matches_scipy_on_any_minutes(x, y):
    if np.var(x) == 0 or np.var(y) == 0:
        return  # SciPy answers nan without spread; the Check says "no difference" (see the zero-variance branch)
    result = stats.welch_t(x, y)
    expected = sps.ttest_ind(y, x, equal_var=False)
    assert result.t == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(1, 400), st.integers(0, 400), st.integers(1, 400))
def test_z_squared_is_the_uncorrected_chi_square(x1, n1, x2, n2):
    x1, x2 = min(x1, n1), min(x2, n2)
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0, 1):
        return  # a zero margin: no test
    result = stats.two_proportion_z(x1, n1, x2, n2)
    chi2 = sps.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)[0]
    assert result.z ** 2 == pytest.approx(chi2)
