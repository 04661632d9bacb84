"""Metric formulas against tables computed by hand (values to 2–4 decimals)."""

from __future__ import annotations

import math

import pytest

from loopcrm.feedback import stats


def test_csat_counts_four_and_five_of_five():
    # 40 answers: 5×1, 5×2, 6×3, 12×4, 12×5 -> satisfied 24/40 = 60 %.
    estimate = stats.csat({1: 5, 2: 5, 3: 6, 4: 12, 5: 12})
    assert estimate.n == 40
    assert estimate.value == pytest.approx(60.0)
    # Wilson 95 %: z² = 3.8415; centre (0.6 + 3.8415/80)/(1 + 3.8415/40) = 0.64802/1.09604 = 0.59124;
    # half = 1.96·sqrt(0.24/40 + 3.8415/6400)/1.09604 = 0.15923/1.09604 = 0.14528 -> 44.60 … 73.65.
    assert estimate.low == pytest.approx(44.60, abs=0.05)
    assert estimate.high == pytest.approx(73.65, abs=0.05)
    assert estimate.reliable


def test_nps_and_its_adjusted_wald_interval():
    # 100 answers: 50 promoters, 30 passives, 20 detractors -> NPS = 30.
    estimate = stats.nps(50, 30, 20)
    assert estimate.value == pytest.approx(30.0)
    # Adjusted: n' = 103, p' = 50.75/103 = 0.49272, d' = 20.75/103 = 0.20146, diff = 0.29126.
    # Var = (0.49272 + 0.20146 − 0.29126²)/103 = (0.69418 − 0.08483)/103 = 0.0059160; se = 0.076916.
    # 95 %: 0.29126 ± 1.95996 × 0.076916 = 0.29126 ± 0.15075 -> 14.05 … 44.20.
    assert estimate.low == pytest.approx(14.05, abs=0.02)
    assert estimate.high == pytest.approx(44.20, abs=0.02)


def test_nps_groups_split_at_six_and_eight():
    assert stats.nps_groups([0, 6, 7, 8, 9, 10]) == (2, 2, 2)


def test_nps_interval_stays_within_bounds_for_all_promoters():
    estimate = stats.nps(40, 0, 0)
    assert estimate.value == 100
    assert estimate.high <= 100 and estimate.low < 100


def test_ces_mean_interval_and_low_effort_share():
    # 30 answers: 10×2, 10×4, 10×6 -> mean 4, sample variance (10·4 + 0 + 10·4)/29 = 2.7586,
    # se = sqrt(2.7586/30) = 0.30324, half = 0.59434; low effort (≤ 3) = 10/30 = 33.3 %.
    mean, low_effort = stats.ces({2: 10, 4: 10, 6: 10})
    assert mean.value == pytest.approx(4.0)
    assert mean.high - mean.value == pytest.approx(0.5943, abs=1e-3)
    assert low_effort.value == pytest.approx(100 / 3)
    from_moments = stats.ces_from_moments(30, 2 * 10 + 4 * 10 + 6 * 10, 4 * 10 + 16 * 10 + 36 * 10)
    assert from_moments.value == pytest.approx(mean.value)
    assert from_moments.low == pytest.approx(mean.low)


def test_minimum_sample_gives_a_warning_not_a_number():
    estimate = stats.nps(3, 1, 1)
    assert estimate.value == pytest.approx(40.0)
    assert not estimate.reliable
    assert "only 5 answers" in estimate.warning
    assert stats.shown(estimate) is None
    assert stats.csat({}).value is None


def test_rate_and_median():
    assert stats.rate(1, 4) == 25.0
    assert stats.rate(1, 0) is None
    assert stats.median([3.0, 1.0, 2.0, 10.0]) == 2.5
    assert stats.median([]) is None
    assert math.isinf(stats.ces({5: 1})[0].high)
