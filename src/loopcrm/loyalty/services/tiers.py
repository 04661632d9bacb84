"""Tier evaluation: which tier each member qualifies for, upgrades at once, downgrades after the grace period.

The values a tier is judged on are computed in SQL for a whole batch of members: points earned
(earn entries of the ledger) and spend (the customer's paid, shipped or delivered orders in the
programme's currency) over each rolling window the programme's tiers use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.loyalty.models import Membership, MembershipTier, PointsEntry, Programme, TierChange
from loopcrm.loyalty.rules import TierRule, add_months, decide_tier, qualifying_rank
from loopcrm.loyalty.services.common import require_change, when

SPENDING = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)
BATCH = 500

Values = dict[tuple[str, int], Decimal]


def tier_rules(tiers: Iterable[MembershipTier]) -> list[TierRule]:
    return [TierRule(rank=t.rank, basis=t.qualify_by, threshold=Decimal(t.threshold), window_months=t.window_months,
                     grace_months=t.grace_months) for t in tiers]


def qualifying_values(programme: Programme, tiers: Sequence[MembershipTier], memberships: Sequence[Membership],
                      at: dt.datetime) -> dict[int, Values]:
    """For each membership: {(basis, window months): points earned or spend in the window ending at `at`}."""
    result: dict[int, Values] = defaultdict(dict)
    if not memberships:
        return result
    ids = [m.pk for m in memberships]
    customers = {m.customer_id: m.pk for m in memberships}
    for basis, window in sorted({(t.qualify_by, t.window_months) for t in tiers}):
        start = add_months(at, -window)
        if basis == MembershipTier.Basis.POINTS:
            rows = (PointsEntry.objects.filter(membership_id__in=ids, kind=PointsEntry.Kind.EARN,
                                               created_at__gt=start, created_at__lte=at)
                    .values("membership_id").annotate(value=Sum("amount")).values_list("membership_id", "value"))
            for membership_id, value in rows:
                result[membership_id][(basis, window)] = Decimal(value or 0)
        else:
            rows = (Order.objects.filter(customer_id__in=list(customers), currency=programme.currency,
                                         status__in=SPENDING, placed_at__gt=start, placed_at__lte=at)
                    .values("customer_id").annotate(value=Sum("total")).values_list("customer_id", "value"))
            for customer_id, value in rows:
                result[customers[customer_id]][(basis, window)] = Decimal(value or 0)
    return result


def _best_value(tier: MembershipTier, values: Values) -> Decimal:
    return values.get((tier.qualify_by, tier.window_months), Decimal(0))


@dataclass
class EvaluationRun:
    examined: int = 0
    upgraded: int = 0
    downgraded: int = 0
    in_grace: int = 0


def _apply(membership_id: int, *, tiers: Sequence[MembershipTier], values: Values, at: dt.datetime,
           by: User | None, upgrade_only: bool = False) -> TierChange | None:
    """Decide and write one member's tier under its row lock; None when nothing but the grace clock moved."""
    membership = Membership.objects.select_for_update().get(pk=membership_id)
    by_rank = {t.rank: t for t in tiers}
    current = next(t for t in tiers if t.pk == membership.tier_id)
    qualified = qualifying_rank(tier_rules(tiers), values)
    if upgrade_only and qualified <= current.rank:
        return None
    decision = decide_tier(current=current.rank, qualified=qualified, below_since=membership.below_tier_since,
                           grace_months=current.grace_months, at=at)
    updates = {"below_tier_since": decision.below_since, "tier_evaluated_at": at}
    change = None
    if decision.change:
        target = by_rank[decision.rank]
        updates.update(tier_id=target.pk, tier_since=at)
        change = TierChange.objects.create(
            membership=membership, kind=decision.change, from_tier=current, to_tier=target,
            qualifying_value=_best_value(target if decision.change == "upgrade" else current, values), at=at, by=by)
        audit.record(action="update", obj=membership, by=by, at=at,
                     changes={"tier": [current.pk, target.pk]}, note=f"tier {decision.change}")
    Membership.objects.filter(pk=membership.pk).update(**updates, version=F("version") + 1)
    return change


def _tiers(programme: Programme) -> list[MembershipTier]:
    return list(MembershipTier.objects.filter(programme=programme).order_by("rank"))


def upgrade_if_qualified(membership: Membership, *, at: dt.datetime, by: User | None) -> TierChange | None:
    """Called after an earn, inside its transaction: an upgrade takes effect at once (downgrades wait)."""
    tiers = _tiers(membership.programme)
    current_rank = next((t.rank for t in tiers if t.pk == membership.tier_id), 0)
    higher = [t for t in tiers if t.rank > current_rank]
    if not higher:
        return None
    values = qualifying_values(membership.programme, higher, [membership], at).get(membership.pk, {})
    if qualifying_rank(tier_rules(tiers), values) <= current_rank:
        return None
    return _apply(membership.pk, tiers=tiers, values=values, at=at, by=by, upgrade_only=True)


def evaluate_tier(membership: Membership, *, by: User | None = None,
                  at: dt.datetime | None = None) -> TierChange | None:
    """Evaluate one member now (staff asked, or a test): upgrade, start or finish a downgrade's grace period."""
    require_change(by)
    now = when(at)
    with transaction.atomic():
        tiers = _tiers(membership.programme)
        values = qualifying_values(membership.programme, tiers, [membership], now).get(membership.pk, {})
        return _apply(membership.pk, tiers=tiers, values=values, at=now, by=by)


def evaluate_tiers(*, at: dt.datetime | None = None, programme: Programme | None = None) -> EvaluationRun:
    """The monthly evaluation of every member of every active programme, in batches; safe to run twice."""
    now = when(at)
    run = EvaluationRun()
    programmes = [programme] if programme else list(Programme.objects.filter(is_active=True))
    for prog in programmes:
        tiers = _tiers(prog)
        if not tiers:
            continue
        last = 0
        while True:
            batch = list(Membership.objects.filter(programme=prog, pk__gt=last).select_related("tier")
                         .order_by("pk")[:BATCH])
            if not batch:
                break
            last = batch[-1].pk
            values = qualifying_values(prog, tiers, batch, now)
            for membership in batch:
                run.examined += 1
                member_values = values.get(membership.pk, {})
                qualified = qualifying_rank(tier_rules(tiers), member_values)
                if qualified == membership.tier.rank and membership.below_tier_since is None:
                    continue  # nothing to write
                with transaction.atomic():
                    change = _apply(membership.pk, tiers=tiers, values=member_values, at=now, by=None)
                if change is None:
                    run.in_grace += qualified < membership.tier.rank
                elif change.kind == TierChange.Kind.UPGRADE:
                    run.upgraded += 1
                else:
                    run.downgraded += 1
    return run
