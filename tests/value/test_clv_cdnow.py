"""BG/NBD and Gamma-Gamma reproduce the published CDNOW fits, starting from the raw transactions; P(alive) and
expected purchases agree with an independent numerical integration over the individual-level model."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

from loopcrm.value import clv

DATA = Path(__file__).parent / "data"
END = dt.date(1997, 9, 30)  # end of the 39-week calibration period


@pytest.fixture(scope="module")
def cdnow():
    """x, t_x, T (weeks) and z̄ per customer, built from the transactions as the data's README says."""
    days: dict[int, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _master, customer, day, _cds, amount = line.split()
        days[int(customer)][dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))] += float(amount)
    ids = sorted(days)
    x, t_x, T, zbar = [], [], [], []
    for customer in ids:
        purchases = sorted(d for d in days[customer] if d <= END)
        first = purchases[0]
        x.append(len(purchases) - 1)
        t_x.append((purchases[-1] - first).days / 7)
        T.append((END - first).days / 7)
        repeat = [days[customer][d] for d in purchases[1:]]
        zbar.append(sum(repeat) / len(repeat) if repeat else 0.0)
    return {"ids": np.array(ids), "x": np.array(x, float), "t_x": np.array(t_x), "T": np.array(T),
            "zbar": np.array(zbar)}


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_the_summary_built_from_transactions_matches_the_published_summary(cdnow):
    published = np.genfromtxt(DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True)
    assert len(cdnow["ids"]) == 2357
    assert np.array_equal(published["ID"], cdnow["ids"])
    assert np.array_equal(published["x"], cdnow["x"])
    assert np.allclose(published["t_x"], cdnow["t_x"], atol=0.006)  # the file is rounded to 2 places
    assert np.allclose(published["T"], cdnow["T"], atol=0.006)
    assert np.allclose(published["zbar"], cdnow["zbar"], atol=0.006)


@pytest.mark.parametrize(("name", "published"), [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)])
def test_bgnbd_parameters_within_one_percent_of_fader_hardie_lee_2005(bgnbd, name, published):
    assert getattr(bgnbd, name) == pytest.approx(published, rel=0.01)


def test_bgnbd_log_likelihood_matches_the_paper(bgnbd):
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert bgnbd.customers == 2357


def test_gamma_gamma_parameters_within_one_percent_of_fader_hardie_2013(cdnow):
    model = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert model.customers == 946  # repeat buyers only
    assert model.p == pytest.approx(6.25, rel=0.01)
    assert model.q == pytest.approx(3.74, rel=0.01)
    assert model.gamma == pytest.approx(15.44, rel=0.01)


def _posterior_integrals(model: clv.BgNbd, x: float, t_x: float, T: float, t: float):
    """P(alive) and E[Y(t)] from the individual-level model, integrated numerically over p ~ Beta(a, b).

    Individual level (FHL 2005): L(λ, p) = (1−p)^x λ^x e^(−λT) + δ(x>0) p (1−p)^(x−1) λ^x e^(−λ t_x); being alive
    at T is the first term, and an alive customer buys (1 − e^(−λ p t)) / p in the next t. The λ integrals are
    plain Gamma integrals, ∫ λ^x e^(−λs) Gamma(λ; r, α) dλ = Γ(r+x) α^r / (Γ(r) (α+s)^(r+x)); p is integrated by
    quadrature — no hypergeometric function, unlike the closed forms under test.
    """
    r, alpha, a, b = model.r, model.alpha, model.a, model.b

    def lam(s):  # ∫ λ^x e^(−λ s) g(λ) dλ, in log space
        return np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + s))

    h = stats.beta(a, b).pdf
    quad = {"epsabs": 0, "epsrel": 1e-11, "limit": 200}
    alive = integrate.quad(lambda p: (1 - p) ** x * h(p), 0, 1, **quad)[0] * lam(T)
    dead = (integrate.quad(lambda p: p * (1 - p) ** (x - 1) * h(p), 0, 1, **quad)[0] * lam(t_x)) if x > 0 else 0.0
    future = integrate.quad(lambda p: (1 - p) ** x * h(p) * (lam(T) - lam(T + p * t)) / p, 0, 1, **quad)[0]
    return alive / (alive + dead), future / (alive + dead)


@pytest.mark.parametrize("customer_id", [1, 2, 3, 18, 1516])
def test_p_alive_and_expected_purchases_agree_with_direct_integration(cdnow, bgnbd, customer_id):
    i = int(np.flatnonzero(cdnow["ids"] == customer_id)[0])
    x, t_x, T = cdnow["x"][i], cdnow["t_x"][i], cdnow["T"][i]
    alive, expected = _posterior_integrals(bgnbd, x, t_x, T, t=39.0)
    assert float(clv.p_alive(bgnbd, x, t_x, T)) == pytest.approx(alive, rel=1e-5)
    assert float(clv.expected_purchases(bgnbd, 39.0, x, t_x, T)) == pytest.approx(expected, rel=1e-4)


def test_expected_purchases_of_a_new_customer_is_the_prior_mean(bgnbd):
    # For x = 0, t_x = 0, T → 0 the conditional expectation tends to the unconditional one (eq. 9).
    conditional = float(clv.expected_purchases(bgnbd, 52.0, 0, 0, 1e-9))
    assert conditional == pytest.approx(float(clv.expected_purchases_new(bgnbd, 52.0)), rel=1e-6)


def test_heavy_buyers_stay_finite(bgnbd):
    x = np.array([200.0, 500.0])
    out = clv.expected_purchases(bgnbd, 52.0, x, np.array([38.0, 38.5]), np.array([39.0, 39.0]))
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    assert np.all(np.isfinite(clv.p_alive(bgnbd, x, np.array([1.0, 1.0]), np.array([39.0, 39.0]))))


def test_clv_discounts_future_periods(cdnow, bgnbd):
    x, t_x, T = cdnow["x"][:50], cdnow["t_x"][:50], cdnow["T"][:50]
    spend = np.full(50, 30.0)
    undiscounted = clv.clv(bgnbd, spend, x, t_x, T, horizon_periods=12, discount_rate=0.0)
    discounted = clv.clv(bgnbd, spend, x, t_x, T, horizon_periods=12, discount_rate=0.01)
    total = clv.expected_purchases(bgnbd, 12 * 30 / 7, x, t_x, T) * 30.0
    assert np.allclose(undiscounted, total)  # no discount: value = spend × expected purchases
    assert np.all(discounted < undiscounted)


def test_a_fit_needs_data():
    with pytest.raises(clv.FitError):
        clv.fit_bgnbd([0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4])
    with pytest.raises(clv.FitError):
        clv.fit_bgnbd([1, 2], [1, 2], [3, 4])
    with pytest.raises(clv.FitError):
        clv.fit_bgnbd([1, 2, 3, 1], [5, 2, 1, 1], [3, 4, 5, 6])  # t_x beyond T
    with pytest.raises(clv.FitError):
        clv.fit_gamma_gamma([0, 0, 1], [0, 0, 5])


def test_the_analytic_gradients_match_finite_differences(cdnow):
    from scipy.optimize import approx_fprime

    x, t_x, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    params = np.array([0.3, 4.0, 0.8, 2.5])
    analytic = clv._bgnbd_gradient(params, x, t_x, T).sum(axis=1)
    numeric = approx_fprime(params, lambda p: clv.bgnbd_log_likelihood(p, x, t_x, T).sum(), 1e-7)
    assert np.allclose(analytic, numeric, rtol=1e-4)
