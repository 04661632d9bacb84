"""The arithmetic of points and tiers, on plain values (no Django): what an amount earns, which points
expire (oldest first), which tier a member qualifies for, and when a downgrade may happen.

FIFO without mutable lots: every positive entry (an earn, or an adjustment that adds) is a *lot*,
ordered by time; every negative entry (a redemption, an expiry, an adjustment that removes)
*consumes* from the oldest lots first. Because a balance never goes below zero, each consumption
only ever reaches lots that already existed, so the state of every lot follows from two numbers:
the lots in order, and the total consumed C. Lot i keeps `clamp(P_i - C, 0, lot_i)`, where P_i
is the sum of lots up to and including i. The points that expire at a cutoff are then the remains
of the lots earned before it — a prefix of the lots — which is `max(0, P_before_cutoff - C)`.
Posting that expiry adds it to C, so running the expiry again at the same moment finds nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


def points_for(amount: Decimal, *, rate: Decimal, multiplier: Decimal = Decimal(1)) -> int:
    """Whole points for spending `amount` at `rate` points per unit, times the tier's multiplier (rounded down)."""
    if amount <= 0 or rate <= 0 or multiplier <= 0:
        return 0
    return int((amount * rate * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def expiring(lots_before_cutoff: int, consumed: int) -> int:
    """Points to expire: what remains of the lots earned before the cutoff after all consumption (FIFO)."""
    return max(0, lots_before_cutoff - consumed)


def lot_remains(lots: Sequence[int], consumed: int) -> list[int]:
    """What is left of each lot (oldest first) once `consumed` points have been taken, oldest lots first."""
    remains, running = [], 0
    for lot in lots:
        running += lot
        remains.append(max(0, min(lot, running - consumed)))
    return remains


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` shifted by whole calendar months (the 31st becomes the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class TierRule:
    """One tier as the evaluation needs it."""

    rank: int
    basis: str  # "points" or "spend"
    threshold: Decimal
    window_months: int
    grace_months: int


def qualifying_rank(tiers: Sequence[TierRule], values: dict[tuple[str, int], Decimal]) -> int:
    """The highest rank whose threshold the member's value reaches. `values[(basis, window)]` is that value.

    The lowest rank always qualifies (it is where members start).
    """
    ordered = sorted(tiers, key=lambda tier: tier.rank)
    best = ordered[0].rank if ordered else 0
    for tier in ordered:
        if values.get((tier.basis, tier.window_months), Decimal(0)) >= tier.threshold:
            best = tier.rank
    return best


@dataclass(frozen=True)
class TierDecision:
    """What an evaluation decides: the rank to hold, and since when the member has been below their tier."""

    rank: int
    below_since: dt.datetime | None
    change: str  # "", "upgrade" or "downgrade"


def decide_tier(*, current: int, qualified: int, below_since: dt.datetime | None, grace_months: int,
                at: dt.datetime) -> TierDecision:
    """Upgrade at once; downgrade only once the member has stayed below their tier for the grace period.

    Qualifying again for the current tier (or above) clears the grace clock.
    """
    if qualified > current:
        return TierDecision(rank=qualified, below_since=None, change="upgrade")
    if qualified == current:
        return TierDecision(rank=current, below_since=None, change="")
    since = below_since or at
    if add_months(since, grace_months) <= at:
        return TierDecision(rank=qualified, below_since=None, change="downgrade")
    return TierDecision(rank=current, below_since=since, change="")
