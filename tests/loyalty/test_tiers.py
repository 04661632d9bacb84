"""Stories of membership tiers: upgrades when earned, downgrades only after the grace period, all recorded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loopcrm.commerce.models import Order
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.loyalty import queries, services
from loopcrm.loyalty.models import Membership, TierChange
from loopcrm.loyalty.rules import add_months, decide_tier, lot_remains, points_for
from tests import factories

pytestmark = pytest.mark.django_db


def tier_of(membership) -> str:
    return Membership.objects.select_related("tier").get(pk=membership.pk).tier.name


def spend(customer, amount: str, *, days_ago: int) -> Order:
    order = factories.order(customer, lines=[(factories.product(price=amount), 1)],
                            placed_at=timezone.now() - dt.timedelta(days=days_ago))
    return order


def test_spending_past_the_gold_threshold_upgrades_at_once(club):
    # Given 张伟 in Silver, who spent 4,000 in the last year
    spend(club.zhang, "4000", days_ago=100)
    # When a 1,200 order is paid and earns points
    order = spend(club.zhang, "1200", days_ago=0)
    [entry] = services.award_for_order(order, by=None)
    # Then it earned at Silver (×1) and she is Gold from now on, with the change recorded
    assert entry.amount == 1200
    assert tier_of(club.member) == "金卡 Gold"
    change = TierChange.objects.get(membership=club.member, kind="upgrade")
    assert change.from_tier == club.silver and change.to_tier == club.gold and change.qualifying_value == Decimal(5200)
    # and the next order earns ×1.5
    [next_entry] = services.award_for_order(spend(club.zhang, "100", days_ago=0), by=None)
    assert next_entry.amount == 150


def test_points_earned_qualify_for_diamond(club, org):
    Membership.objects.filter(pk=club.member.pk).update(tier=club.gold)
    services.earn_points(club.member, points=20_000, idempotency_key="big", by=org.admin)
    assert tier_of(club.member) == "钻石 Diamond"
    assert queries.service_benefits(club.zhang).dedicated_agent


def test_a_downgrade_waits_for_the_grace_period(club):
    now = timezone.now()
    # Given 张伟 became Gold on spend that has since left the 12-month window
    spend(club.zhang, "6000", days_ago=500)
    Membership.objects.filter(pk=club.member.pk).update(tier=club.gold, tier_since=now - dt.timedelta(days=420))
    # When the monthly evaluation runs, she is found below Gold: the grace clock starts, she stays Gold
    first = services.evaluate_tiers(at=now - dt.timedelta(days=100))
    assert (first.downgraded, first.in_grace) == (0, 1)
    assert tier_of(club.member) == "金卡 Gold"
    # One month later still in grace
    services.evaluate_tiers(at=now - dt.timedelta(days=31))
    assert tier_of(club.member) == "金卡 Gold"
    # Three months after she first fell below: down to Silver, recorded
    last = services.evaluate_tiers(at=now)
    assert last.downgraded == 1 and tier_of(club.member) == "银卡 Silver"
    change = TierChange.objects.get(membership=club.member, kind="downgrade")
    assert change.from_tier == club.gold and change.to_tier == club.silver
    # Evaluating again changes nothing
    assert services.evaluate_tiers(at=now).downgraded == 0


def test_qualifying_again_during_grace_keeps_the_tier(club):
    now = timezone.now()
    spend(club.zhang, "6000", days_ago=430)
    Membership.objects.filter(pk=club.member.pk).update(tier=club.gold)
    services.evaluate_tiers(at=now - dt.timedelta(days=62))
    assert Membership.objects.get(pk=club.member.pk).below_tier_since is not None
    spend(club.zhang, "5000", days_ago=40)
    services.evaluate_tiers(at=now)
    member = Membership.objects.get(pk=club.member.pk)
    assert member.tier == club.gold and member.below_tier_since is None


def test_evaluate_one_member_by_hand(club, org):
    spend(club.zhang, "5000", days_ago=10)
    change = services.evaluate_tier(club.member, by=org.admin)
    assert change.kind == "upgrade" and change.by == org.admin


def test_tier_progress_towards_gold(club):
    spend(club.zhang, "1250", days_ago=10)
    progress = queries.tier_progress(Membership.objects.select_related("programme", "tier").get(pk=club.member.pk))
    assert progress.next_tier == club.gold and progress.value == Decimal(1250) and progress.share == 0.25


def test_tier_rules_are_validated(club, org):
    with pytest.raises(RuleViolation) as error:
        services.add_tier(club.programme, by=org.admin, name="Bad", rank=0, threshold="10")
    assert error.value.field == "threshold"
    with pytest.raises(Conflict):
        services.add_tier(club.programme, by=org.admin, name="金卡 Gold", rank=5)
    with pytest.raises(RuleViolation) as error:
        services.add_tier(club.programme, by=org.admin, name="Platinum", rank=3, qualify_by="visits")
    assert error.value.field == "qualify_by"
    with pytest.raises(Conflict):
        services.delete_tier(club.silver, by=org.admin)


# --- the pure rules -------------------------------------------------------------------------------

def test_points_round_down_and_never_go_negative():
    assert points_for(Decimal("99.99"), rate=Decimal(1)) == 99
    assert points_for(Decimal("10"), rate=Decimal("0.5"), multiplier=Decimal("1.5")) == 7
    assert points_for(Decimal("-5"), rate=Decimal(1)) == 0


def test_lots_are_consumed_oldest_first():
    assert lot_remains([100, 200, 50], consumed=150) == [0, 150, 50]
    assert lot_remains([100, 200, 50], consumed=0) == [100, 200, 50]
    assert lot_remains([100, 200, 50], consumed=350) == [0, 0, 0]


def test_months_are_calendar_months():
    moment = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert add_months(moment, -1) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert add_months(moment, -12) == dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC)
    assert add_months(moment, 11) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)


def test_decide_tier():
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert decide_tier(current=1, qualified=2, below_since=None, grace_months=3, at=at).change == "upgrade"
    waiting = decide_tier(current=2, qualified=0, below_since=None, grace_months=3, at=at)
    assert (waiting.change, waiting.below_since, waiting.rank) == ("", at, 2)
    done = decide_tier(current=2, qualified=0, below_since=add_months(at, -3), grace_months=3, at=at)
    assert (done.change, done.rank) == ("downgrade", 0)
    assert decide_tier(current=2, qualified=0, below_since=at, grace_months=0, at=at).change == "downgrade"
