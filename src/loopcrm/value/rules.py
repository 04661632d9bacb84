"""Value tiers, the VIP suggestion and lifecycle stages as pure rules over arrays (no Django).

The rules are configurable through `ValueRules` (settings.LOOPCRM_VALUE overrides its fields; see
`rules_from_settings` in services). Defaults are documented in docs/value.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HIGH, MEDIUM, LOW = "high", "medium", "low"
TIERS = (HIGH, MEDIUM, LOW)

PROSPECT, NEW, ACTIVE, AT_RISK, CHURNED, WON_BACK = "prospect", "new", "active", "at_risk", "churned", "won_back"
STAGES = (PROSPECT, NEW, ACTIVE, AT_RISK, CHURNED, WON_BACK)


@dataclass(frozen=True)
class TierRule:
    """How customers are tiered.

    basis: "clv" (predicted CLV) or "spend" (trailing spend over the RFM window).
    method: "share" — the top `high` share is high, the next `medium` share medium, the rest low;
            "threshold" — basis ≥ `high` is high, ≥ `medium` medium, else low.
    """

    basis: str = "clv"
    method: str = "share"
    high: float = 0.2
    medium: float = 0.3
    vip_share: float = 0.05

    def __post_init__(self) -> None:
        if self.basis not in ("clv", "spend"):
            raise ValueError(f"Unknown tier basis {self.basis!r}: use 'clv' or 'spend'.")
        if self.method not in ("share", "threshold"):
            raise ValueError(f"Unknown tier method {self.method!r}: use 'share' or 'threshold'.")
        if self.method == "share" and not (self.high >= 0 and self.medium >= 0 and self.high + self.medium <= 1):
            raise ValueError("Tier shares must be ≥ 0 and add up to at most 1.")
        if self.method == "threshold" and self.high < self.medium:
            raise ValueError("The high threshold must not be below the medium one.")
        if not 0 <= self.vip_share <= 1:
            raise ValueError("The VIP share must be between 0 and 1.")


@dataclass(frozen=True)
class LifecycleRule:
    """Stages from P(alive) and recency (days since the last counted order).

    new:       first order at most `new_days` ago;
    churned:   P(alive) < `churned_p_alive` or recency > `churned_days`;
    at risk:   P(alive) < `at_risk_p_alive` or recency > `at_risk_days`;
    won back:  not at risk or churned, and the gap before the latest order was longer than
               `churned_days` (they had churned and came back), latest order at most `won_back_days` ago;
    active:    everyone else with an order. No order at all: prospect.
    Checked in the order prospect, churned, at risk, new, won back, active.
    """

    new_days: int = 90
    at_risk_days: int = 180
    churned_days: int = 365
    won_back_days: int = 180
    at_risk_p_alive: float = 0.5
    churned_p_alive: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.at_risk_days <= self.churned_days:
            raise ValueError("Need 0 < at_risk_days ≤ churned_days.")
        if not 0 <= self.churned_p_alive <= self.at_risk_p_alive <= 1:
            raise ValueError("Need 0 ≤ churned_p_alive ≤ at_risk_p_alive ≤ 1.")
        if self.new_days < 0 or self.won_back_days < 0:
            raise ValueError("Day counts must not be negative.")


@dataclass(frozen=True)
class ValueRules:
    window_days: int = 365  # RFM window: orders placed in the last N days
    prediction_days: int = 90  # expected purchases "in the next N days"
    clv_months: int = 12
    monthly_discount_rate: float = 0.01
    fit_sample: int = 100_000  # BG/NBD and Gamma-Gamma are fitted on at most this many buyers
    tier: TierRule = field(default_factory=TierRule)
    lifecycle: LifecycleRule = field(default_factory=LifecycleRule)

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.prediction_days < 1 or self.clv_months < 1 or self.fit_sample < 10:
            raise ValueError("Windows, horizons and the fit sample must be positive.")
        if not 0 <= self.monthly_discount_rate < 1:
            raise ValueError("The monthly discount rate must be in [0, 1).")


def tiers(basis, rule: TierRule) -> np.ndarray:
    """high / medium / low for each customer from `basis` (CLV or spend).

    By share, ranks are taken best first and ties share the better tier (rank "min"), so equal values
    always land in the same tier.
    """
    basis = np.nan_to_num(np.asarray(basis, dtype=float), nan=0.0)
    n = basis.size
    out = np.full(n, LOW, dtype=object)
    if n == 0:
        return out
    if rule.method == "threshold":
        out[basis >= rule.medium] = MEDIUM
        out[basis >= rule.high] = HIGH
        return out
    from scipy.stats import rankdata  # here, not at import (see rfm)

    position = rankdata(-basis, method="min")  # 1 = best
    out[position <= np.floor(n * (rule.high + rule.medium) + 1e-9)] = MEDIUM
    out[position <= np.floor(n * rule.high + 1e-9)] = HIGH
    return out


def vip_suggestions(basis, share: float) -> np.ndarray:
    """True for the top `share` of customers by `basis` (positive values only; ties kept together)."""
    basis = np.nan_to_num(np.asarray(basis, dtype=float), nan=0.0)
    n = basis.size
    if n == 0 or share <= 0:
        return np.zeros(n, dtype=bool)
    from scipy.stats import rankdata

    position = rankdata(-basis, method="min")
    return (position <= np.floor(n * share + 1e-9)) & (basis > 0)


def lifecycle_stages(*, has_orders, first_age_days, recency_days, previous_gap_days, p_alive,
                     rule: LifecycleRule) -> np.ndarray:
    """The stage of each customer; NaN days mean "no such order" (prospects, single buyers' gap)."""
    has_orders = np.asarray(has_orders, dtype=bool)
    first_age = np.asarray(first_age_days, dtype=float)
    recency = np.asarray(recency_days, dtype=float)
    gap = np.nan_to_num(np.asarray(previous_gap_days, dtype=float), nan=0.0)
    alive = np.nan_to_num(np.asarray(p_alive, dtype=float), nan=1.0)
    recency_known = np.nan_to_num(recency, nan=0.0)
    out = np.full(has_orders.size, ACTIVE, dtype=object)
    churned = (alive < rule.churned_p_alive) | (recency_known > rule.churned_days)
    at_risk = ~churned & ((alive < rule.at_risk_p_alive) | (recency_known > rule.at_risk_days))
    healthy = ~churned & ~at_risk
    new = healthy & (np.nan_to_num(first_age, nan=np.inf) <= rule.new_days)
    won_back = healthy & ~new & (gap > rule.churned_days) & (recency_known <= rule.won_back_days)
    out[won_back] = WON_BACK
    out[new] = NEW
    out[at_risk] = AT_RISK
    out[churned] = CHURNED
    out[~has_orders] = PROSPECT
    return out
