"""Demo loyalty programme: 会员俱乐部 with 银卡 Silver / 金卡 Gold / 钻石 Diamond, members from the demo's buyers,
their points from their orders, vouchers redeemed now and then, and points expiring after 12 months.

The history is simulated member by member in time order with the same pure rules the services use
(points per yuan × tier multiplier, upgrades at once, downgrades after three months below, FIFO
expiry on the first of each month), then written with bulk inserts: the ledger's running balances
and the members' cached balances agree exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext as _

from loopcrm.accounts.models import Role
from loopcrm.commerce.models import Order
from loopcrm.demo.bulk import Loader, explicit_timestamps
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.loyalty.models import Membership, MembershipTier, PointsEntry, Programme, TierChange
from loopcrm.loyalty.rules import TierRule, add_months, decide_tier, expiring, points_for, qualifying_rank

ENROL_SHARE = 0.8
EXPIRY_MONTHS = 12
TIERS = (
    # name, rank, spend threshold in 12 months, multiplier, priority boost, dedicated agent
    ("银卡 Silver", 0, Decimal(0), Decimal("1.00"), 0, False),
    ("金卡 Gold", 1, Decimal(8000), Decimal("1.50"), 10, False),
    ("钻石 Diamond", 2, Decimal(30000), Decimal("2.00"), 30, True),
)
VOUCHERS = (2000, 5000, 10000, 20000)  # points for a 20 / 50 / 100 / 200 yuan voucher (100 points = 1 yuan)
SPENDING = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


def load_loyalty(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    rng = random.Random(f"{seed}/loyalty")
    start = calendar.start - dt.timedelta(days=1)
    programme = Programme(
        name="会员俱乐部 Members Club", currency="CNY", points_per_unit=Decimal(1), survey_points=20,
        expiry_months=EXPIRY_MONTHS,
        description="1 point per yuan; 100 points = 1 yuan off, vouchers from 2,000 points.",
        created_at=start, updated_at=start,
    )
    with explicit_timestamps(Programme):
        loader.insert([programme])
    tiers = [MembershipTier(programme=programme, name=name, rank=rank, qualify_by=MembershipTier.Basis.SPEND,
                            threshold=threshold, window_months=12, grace_months=3, points_multiplier=multiplier,
                            priority_boost=boost, dedicated_agent=dedicated)
             for name, rank, threshold, multiplier, boost, dedicated in TIERS]
    loader.insert(tiers)
    rules = [TierRule(rank=t.rank, basis=t.qualify_by, threshold=t.threshold, window_months=t.window_months,
                      grace_months=t.grace_months) for t in tiers]
    by_rank = {t.rank: t for t in tiers}
    agents = staff.by_role(Role.AGENT) or list(staff.users.values())

    orders: dict[int, list[tuple]] = defaultdict(list)
    rows = (Order.objects.filter(status__in=SPENDING, currency="CNY").order_by("customer_id", "placed_at", "id")
            .values_list("customer_id", "id", "number", "total", "placed_at"))
    for customer_id, *order in rows:
        orders[customer_id].append(tuple(order))
    members = [customer_id for customer_id in sorted(orders) if rng.random() < ENROL_SHARE]

    month_starts = []
    moment = calendar.at(calendar.days[0].replace(day=1))
    while moment < calendar.now:
        if moment > calendar.start:
            month_starts.append(moment)
        moment = add_months(moment, 1)

    memberships, histories = [], []
    for customer_id in members:
        history = _simulate(rng, orders[customer_id], month_starts=month_starts, rules=rules, by_rank=by_rank,
                            agents=agents, calendar=calendar)
        first = orders[customer_id][0][3]
        tier = by_rank[history["rank"]]
        memberships.append(Membership(
            customer_id=customer_id, programme=programme, tier=tier, joined_at=first, tier_since=history["tier_since"],
            below_tier_since=history["below_since"], tier_evaluated_at=month_starts[-1] if month_starts else None,
            balance=history["balance"], version=1 + len(history["entries"]),
        ))
        histories.append(history)
    loader.insert(memberships)

    entries, changes = [], []
    for membership, history in zip(memberships, histories, strict=True):
        changes.append(TierChange(membership=membership, kind=TierChange.Kind.ENROL, to_tier=by_rank[0],
                                  at=membership.joined_at))
        for kind, old, new, at, value in history["changes"]:
            changes.append(TierChange(membership=membership, kind=kind, from_tier=by_rank[old], to_tier=by_rank[new],
                                      at=at, qualifying_value=value))
        for entry in history["entries"]:
            key = entry.pop("key").replace("{member}", str(membership.pk))
            entries.append(PointsEntry(programme=programme, membership=membership, idempotency_key=key, **entry))
    loader.insert(changes, audited=False)
    loader.insert(entries, audited=False)  # the ledger is its own record: each entry names its actor
    loader.say(f"Loyalty: {len(memberships):,} members, {len(entries):,} ledger entries, "
               f"{sum(m.balance for m in memberships):,} points outstanding.")


def _simulate(rng: random.Random, orders: list[tuple], *, month_starts, rules, by_rank, agents,
              calendar: DemoCalendar) -> dict:
    """One member's history in time order: a voucher now and then at checkout, points per order, and on the
    first of each month the expiry of points older than 12 months and the tier evaluation."""
    events = [(order[3], 1, order) for order in orders]
    events += [(moment, 0, None) for moment in month_starts if moment > orders[0][3]]
    events.sort(key=lambda event: (event[0], event[1]))
    spend: list[tuple[dt.datetime, Decimal]] = []
    lots: list[tuple[dt.datetime, int]] = []
    consumed = balance = 0
    rank, below_since, tier_since = 0, None, orders[0][3]
    entries, changes = [], []

    def spent(at: dt.datetime) -> Decimal:
        since = add_months(at, -12)
        return sum((amount for when, amount in spend if since < when <= at), Decimal(0))

    def post(kind: str, amount: int, at: dt.datetime, key: str, **extra) -> None:
        nonlocal balance
        balance += amount
        entries.append({"kind": kind, "amount": amount, "balance_after": balance, "created_at": at, "key": key,
                        **extra})

    for at, kind, order in events:
        if kind == 1:
            order_id, number, total, placed_at = order
            total = Decimal(total)
            if balance >= VOUCHERS[0] and rng.random() < 0.4:  # a voucher used at checkout
                voucher = max(v for v in VOUCHERS if v <= balance)
                consumed += voucher
                post(PointsEntry.Kind.REDEEM, -voucher, placed_at, f"redeem:demo-order-{order_id}",
                     reason=_("Voucher worth %(yuan)s yuan") % {"yuan": voucher // 100}, by=rng.choice(agents))
            spend.append((placed_at, total))
            points = points_for(total, rate=Decimal(1), multiplier=by_rank[rank].points_multiplier)
            earned_at = placed_at + dt.timedelta(seconds=30)
            if points > 0:
                lots.append((earned_at, points))
                post(PointsEntry.Kind.EARN, points, earned_at, f"order:{order_id}",
                     reason=_("Order %(number)s") % {"number": number}, order_id=order_id, spend=total)
            qualified = qualifying_rank(rules, {("spend", 12): spent(placed_at)})
            if qualified > rank:
                changes.append((TierChange.Kind.UPGRADE, rank, qualified, earned_at, spent(placed_at)))
                rank, below_since, tier_since = qualified, None, earned_at
        else:
            cutoff = add_months(at, -EXPIRY_MONTHS)
            old = sum(points for when, points in lots if when < cutoff)
            lapse = min(expiring(old, consumed), balance)
            if lapse > 0:
                consumed += lapse
                post(PointsEntry.Kind.EXPIRE, -lapse, at, f"expire:{cutoff.isoformat()}:{{member}}",
                     reason=_("Points earned before %(date)s expired") % {"date": cutoff.date().isoformat()})
            qualified = qualifying_rank(rules, {("spend", 12): spent(at)})
            decision = decide_tier(current=rank, qualified=qualified, below_since=below_since,
                                   grace_months=rules[rank].grace_months, at=at)
            if decision.change:
                changes.append((decision.change, rank, decision.rank, at, spent(at)))
                tier_since = at
            rank, below_since = decision.rank, decision.below_since
    return {"entries": entries, "changes": changes, "balance": balance, "rank": rank, "below_since": below_since,
            "tier_since": tier_since}
