"""Customer lifetime value from purchase history: the BG/NBD and Gamma-Gamma models (pure NumPy/SciPy).

BG/NBD — Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 275–284. While alive a customer buys at Poisson rate λ
(λ ~ Gamma(r, α) across customers); after each purchase they drop out with probability p
(p ~ Beta(a, b)). Per customer: x repeat purchases, t_x the time of the last one, T the time since
the first purchase (all in one time unit, e.g. weeks).

Gamma-Gamma — Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note, after
Colombo & Jiang 1999). Spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, γ); independent of the
transaction process. Fitted on repeat buyers with their mean repeat spend z̄ over x transactions.

Every likelihood is evaluated in log space (gammaln, betaln, logaddexp) and maximised over the log of
the parameters, so the fit stays finite for customers with hundreds of purchases. Identical
(x, t_x, T) triples are fitted once with a weight, which is what makes 100,000 customers cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

# Parameters are searched within [e^-9, e^7] ≈ [1.2e-4, 1097]: a, b or p drifting to infinity (no heterogeneity
# in the data, e.g. a handful of customers) would otherwise make ₂F₁ overflow; a fit at the bound is reported as is.
LOG_BOUNDS = (-9.0, 7.0)


class FitError(ValueError):
    """The data cannot support a fit (too few customers, no repeat buyers, or no convergence)."""


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int


def _arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the columns and how often each occurs."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def _minimise(objective, start: np.ndarray, gradient=None):
    """Maximum likelihood over the log-parameters.

    With an analytic gradient, L-BFGS-B alone (a few dozen evaluations: 100,000 customers fit in about a
    second); Nelder-Mead and a polish remain the fallback when it stops short.
    """
    bounds = [LOG_BOUNDS] * start.size
    if gradient is not None:
        result = minimize(lambda v: (objective(v), gradient(v)), start, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 1000})
        if result.success and np.isfinite(result.fun):
            return result
    result = minimize(objective, start, method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000, "maxfev": 8000})
    polished = minimize(objective, result.x, method="L-BFGS-B", bounds=bounds)
    return polished if polished.fun <= result.fun else result


# --- BG/NBD ------------------------------------------------------------------------------------

def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (FHL 2005, eq. 6), in log space."""
    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    # ln A1 + ln A2: Γ(r+x) α^r / Γ(r)  ·  B(a, b+x) / B(a, b)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    log_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a4 = np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x)
    log_a4 = np.where(x > 0, log_a4, -np.inf)
    return head + np.logaddexp(log_a3, log_a4)


def _bgnbd_gradient(params, x, t_x, T) -> np.ndarray:
    """∂ log-likelihood / ∂(r, α, a, b) per customer (rows: parameters)."""
    r, alpha, a, b = params
    log_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a4 = np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x)
    log_a4 = np.where(x > 0, log_a4, -np.inf)
    total = np.logaddexp(log_a3, log_a4)
    w3, w4 = np.exp(log_a3 - total), np.exp(log_a4 - total)
    bx1 = np.where(x > 0, b + x - 1, 1.0)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w4 / bx1
    return np.vstack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(x, t_x, T, *, initial=(1.0, 1.0, 1.0, 1.0)) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T)."""
    x, t_x, T = _arrays(x, t_x, T)
    if x.size < 4 or not np.any(x > 0):
        raise FitError("BG/NBD needs at least four customers and one repeat purchase.")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise FitError("BG/NBD needs x ≥ 0 and 0 ≤ t_x ≤ T.")
    (ux, ut, uT), weight = _compress(x, t_x, T)

    def objective(log_params):
        params = np.exp(log_params)
        value = -np.sum(weight * bgnbd_log_likelihood(params, ux, ut, uT))
        return value if np.isfinite(value) else 1e300

    def gradient(log_params):
        params = np.exp(log_params)
        return -params * np.sum(weight * _bgnbd_gradient(params, ux, ut, uT), axis=1)

    best = _minimise(objective, np.log(np.asarray(initial, dtype=float)), gradient)
    if not np.isfinite(best.fun) or best.fun >= 1e300:
        raise FitError("BG/NBD did not converge.")
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b), log_likelihood=float(-best.fun),
                 customers=int(x.size))


def p_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """P(still alive at T | x, t_x, T) (FHL 2005, eq. 11; 1 for customers with no repeat purchase)."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) + (r + x) * (
            np.log(alpha + T) - np.log(alpha + t_x))
    odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700.0)), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(model: BgNbd, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next `t` time units for a customer (x, t_x, T) (FHL 2005, eq. 10).

    The Gaussian hypergeometric term is evaluated after Euler's transformation,
    ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) = (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)
    with z = t/(α+T+t), whose first two parameters do not grow with x (no overflow for heavy buyers).
    """
    x, t_x, T = _arrays(x, t_x, T)
    t = np.asarray(t, dtype=float)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + T + t)
    tail = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - tail)
    alive = p_alive(model, x, t_x, T)
    # 1 / (1 + δ a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) is exactly P(alive).
    return numerator * alive


def expected_purchases_new(model: BgNbd, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 9)."""
    t = np.asarray(t, dtype=float)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, z))


# --- Gamma-Gamma -------------------------------------------------------------------------------

def gamma_gamma_log_likelihood(params, x, zbar) -> np.ndarray:
    """Each repeat buyer's log-likelihood of mean spend z̄ over x transactions (Fader & Hardie 2013)."""
    p, q, gamma = params
    x, zbar = _arrays(x, zbar)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1.0) * np.log(zbar) + px * np.log(x) - (px + q) * np.log(gamma + x * zbar))


def fit_gamma_gamma(x, zbar, *, initial=(1.0, 1.0, 1.0)) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers (x > 0, z̄ > 0; others are left out)."""
    x, zbar = _arrays(x, zbar)
    keep = (x > 0) & (zbar > 0)
    x, zbar = x[keep], zbar[keep]
    if x.size < 3:
        raise FitError("Gamma-Gamma needs at least three repeat buyers with spend.")
    (ux, uz), weight = _compress(x, zbar)

    def objective(log_params):
        value = -np.sum(weight * gamma_gamma_log_likelihood(np.exp(log_params), ux, uz))
        return value if np.isfinite(value) else 1e300

    def gradient(log_params):
        p, q, gamma = np.exp(log_params)
        px = p * ux
        tail = np.log(gamma + ux * uz)
        d_p = ux * (digamma(px + q) - digamma(px) + np.log(uz) + np.log(ux) - tail)
        d_q = digamma(px + q) - digamma(q) + np.log(gamma) - tail
        d_gamma = q / gamma - (px + q) / (gamma + ux * uz)
        return -np.exp(log_params) * np.sum(weight * np.vstack([d_p, d_q, d_gamma]), axis=1)

    best = _minimise(objective, np.log(np.asarray(initial, dtype=float)), gradient)
    if not np.isfinite(best.fun) or best.fun >= 1e300:
        raise FitError("Gamma-Gamma did not converge.")
    p, q, gamma = np.exp(best.x)
    return GammaGamma(p=float(p), q=float(q), gamma=float(gamma), log_likelihood=float(-best.fun),
                      customers=int(x.size))


def expected_spend(model: GammaGamma, x, zbar) -> np.ndarray:
    """E[spend per transaction | x, z̄] = (γ + x z̄) p / (p x + q − 1); the population mean p γ / (q − 1) for x = 0."""
    x, zbar = _arrays(x, zbar)
    p, q, gamma = model.p, model.q, model.gamma
    population = p * gamma / (q - 1.0) if q > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        individual = (gamma + x * zbar) * p / (p * x + q - 1.0)
    return np.where(x > 0, individual, population)


# --- CLV ---------------------------------------------------------------------------------------

def clv(bgnbd: BgNbd, spend: np.ndarray, x, t_x, T, *, horizon_periods: int = 12, period_length: float = 30 / 7,
        discount_rate: float = 0.01) -> np.ndarray:
    """Discounted expected value over `horizon_periods` periods of `period_length` time units.

    CLV = Σ_{i=1..H} E[spend] · (E[Y(i·L)] − E[Y((i−1)·L)]) / (1 + d)^i, where E[Y(t)] is BG/NBD's expected
    purchases in the next t, E[spend] the Gamma-Gamma expected spend per purchase and d the discount rate
    per period (0.01 a month ≈ 12.7 % a year). Purchases are valued at the end of the period they fall in.
    """
    x, t_x, T = _arrays(x, t_x, T)
    spend = np.asarray(spend, dtype=float)
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, horizon_periods + 1):
        current = expected_purchases(bgnbd, i * period_length, x, t_x, T)
        total += (current - previous) / (1.0 + discount_rate) ** i
        previous = current
    return spend * total
