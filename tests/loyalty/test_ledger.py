"""Stories of the points ledger: earning, redeeming, adjusting, replaying keys, expiring the oldest points first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loopcrm.commerce.models import Order
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.loyalty import queries, services
from loopcrm.loyalty.models import Membership, PointsEntry
from tests import factories

pytestmark = pytest.mark.django_db


def balance(membership: Membership) -> int:
    return Membership.objects.get(pk=membership.pk).balance


def test_earn_redeem_adjust_keep_balance_and_ledger_equal(club, org, long_ago):
    # Given 张伟, a member with no points
    member = club.member
    # When staff grant 300, she redeems 120, and a correction removes 30 then adds 5
    services.earn_points(member, points=300, idempotency_key="welcome", reason="Welcome gift", by=org.admin)
    services.redeem_points(member, points=120, reason="Coffee voucher", by=org.admin)
    services.adjust_points(member, points=-30, reason="Double-counted visit", by=org.admin)
    last = services.adjust_points(member, points=5, reason="Apology", by=org.admin)
    # Then the balance, the running balance and the ledger agree
    assert balance(member) == 155
    assert last.balance_after == 155
    assert list(PointsEntry.objects.filter(membership=member).order_by("id").values_list("kind", "amount")) == [
        ("earn", 300), ("redeem", -120), ("adjust", -30), ("adjust", 5)]
    assert queries.balance_matches_ledger(member)
    # and every entry names who did it
    assert set(PointsEntry.objects.filter(membership=member).values_list("by", flat=True)) == {org.admin.pk}


def test_replaying_an_earn_key_adds_nothing_and_returns_the_first_entry(club, org):
    member = club.member
    first = services.earn_points(member, points=200, idempotency_key="campaign-42", by=org.admin)
    again = services.earn_points(member, points=200, idempotency_key="campaign-42", by=org.admin)
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert balance(member) == 200
    assert PointsEntry.objects.filter(membership=member).count() == 1


def test_the_same_key_for_another_amount_or_member_is_a_conflict_and_changes_nothing(club, org):
    services.earn_points(club.member, points=200, idempotency_key="k1", by=org.admin)
    with pytest.raises(Conflict) as error:
        services.earn_points(club.member, points=201, idempotency_key="k1", by=org.admin)
    assert error.value.field == "idempotency_key"
    with pytest.raises(Conflict):
        services.earn_points(club.tom_member, points=200, idempotency_key="k1", by=org.admin)
    assert balance(club.member) == 200 and balance(club.tom_member) == 0


def test_a_redemption_over_the_balance_is_refused_and_nothing_changes(club, org):
    member = club.member
    services.earn_points(member, points=100, idempotency_key="k", by=org.admin)
    with pytest.raises(RuleViolation) as error:
        services.redeem_points(member, points=101, by=org.admin)
    assert error.value.field == "points" and error.value.extra == {"balance": 100}
    with pytest.raises(RuleViolation):
        services.adjust_points(member, points=-101, reason="too much", by=org.admin)
    assert balance(member) == 100 and PointsEntry.objects.filter(membership=member).count() == 1
    # Exactly the balance is fine
    services.redeem_points(member, points=100, by=org.admin)
    assert balance(member) == 0


@pytest.mark.parametrize(("points", "message"), [
    (0, "more than zero"), (-5, "more than zero"), (True, "whole number"), ("10", "whole number"),
    (1.5, "whole number"), (10**12, "At most"), (None, "whole number"),
])
def test_bad_points_are_refused_by_name(club, org, points, message):
    with pytest.raises(RuleViolation) as error:
        services.redeem_points(club.member, points=points, by=org.admin)
    assert error.value.field == "points" and message in error.value.message


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"idempotency_key": "a\x00b"}, "idempotency_key"),
    ({"idempotency_key": "x" * 121}, "idempotency_key"),
    ({"idempotency_key": 7}, "idempotency_key"),
    ({"idempotency_key": "ok", "reason": "r" * 201}, "reason"),
    ({"idempotency_key": "ok", "at": timezone.now() + dt.timedelta(days=1)}, "at"),
    ({"idempotency_key": "ok", "at": "2026-01-01"}, "at"),
])
def test_bad_earn_input_is_refused_by_field(club, org, kwargs, field):
    with pytest.raises(RuleViolation) as error:
        services.earn_points(club.member, points=10, by=org.admin, **kwargs)
    assert error.value.field == field
    assert balance(club.member) == 0


def test_an_adjustment_needs_a_reason_and_is_not_zero(club, org):
    with pytest.raises(RuleViolation) as error:
        services.adjust_points(club.member, points=10, reason="  ", by=org.admin)
    assert error.value.field == "reason"
    with pytest.raises(RuleViolation) as error:
        services.adjust_points(club.member, points=0, reason="nothing", by=org.admin)
    assert error.value.field == "points"


def test_read_only_roles_may_not_move_points(club, org):
    for persona in (org.agent, org.lead, org.exec):
        with pytest.raises(PermissionDenied):
            services.redeem_points(club.member, points=1, by=persona)
        with pytest.raises(PermissionDenied):
            services.earn_points(club.member, points=1, idempotency_key="x", by=persona)
    assert PointsEntry.objects.count() == 0


def test_the_ledger_refuses_updates_and_deletes(club, org):
    entry = services.earn_points(club.member, points=10, idempotency_key="k", by=org.admin)
    entry.amount = 1000
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        PointsEntry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(TypeError):
        PointsEntry.objects.filter(pk=entry.pk).delete()
    assert PointsEntry.objects.get(pk=entry.pk).amount == 10


def test_the_database_holds_signs_and_balances(club):
    # An entry written around the services still cannot break the ledger's signs or go below zero.
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(programme=club.programme, membership=club.member, kind="redeem", amount=5,
                                   balance_after=5, idempotency_key="raw-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(programme=club.programme, membership=club.member, kind="adjust", amount=-5,
                                   balance_after=-5, idempotency_key="raw-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=club.member.pk).update(balance=-1)


def test_an_order_earns_points_once_with_the_tier_multiplier(club, org):
    # Given 张伟 in Gold (×1.5)
    Membership.objects.filter(pk=club.member.pk).update(tier=club.gold)
    order = factories.order(club.zhang, lines=[(factories.product(price="333.33"), 1)], status=Order.Status.PAID)
    # When the order is paid, then delivered (both hooks call award_for_order)
    [entry] = services.award_for_order(order, by=org.agent)
    [again] = services.award_for_order(order, by=org.agent)
    # Then ⌊333.33 × 1 × 1.5⌋ = 499 points, once
    assert entry.amount == 499 and entry.order_id == order.pk and entry.spend == Decimal("333.33")
    assert again.pk == entry.pk and again.replayed
    assert balance(club.member) == 499


def test_orders_not_paid_or_in_another_currency_earn_nothing(club, org):
    pending = factories.order(club.zhang, lines=[(factories.product(price="100"), 1)], status=Order.Status.PENDING)
    assert services.award_for_order(pending, by=None) == []
    usd = factories.order(club.zhang, lines=[(factories.product(price="100"), 1)])
    Order.objects.filter(pk=usd.pk).update(currency="USD")
    usd.refresh_from_db()
    assert services.award_for_order(usd, by=None) == []
    assert balance(club.member) == 0


def test_a_returned_order_takes_back_what_it_earned_as_far_as_the_balance_goes(club, org):
    order = factories.order(club.zhang, lines=[(factories.product(price="400"), 1)])
    services.award_for_order(order, by=None)
    services.redeem_points(club.member, points=300, by=org.admin)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.RETURNED)
    order.refresh_from_db()
    [reversal] = services.reverse_for_order(order, by=None)
    assert reversal.amount == -100 and balance(club.member) == 0
    assert services.reverse_for_order(order, by=None)[0].replayed
    assert queries.balance_matches_ledger(club.member)


def test_a_survey_answer_earns_once(club):
    [entry] = services.award_for_survey(club.zhang, "response:7", by=None)
    assert entry.amount == 20 and entry.survey_ref == "response:7"
    assert services.award_for_survey(club.zhang.pk, "response:7", by=None)[0].replayed
    assert balance(club.member) == 20
    with pytest.raises(RuleViolation):
        services.award_for_survey(club.zhang, "", by=None)


def test_an_inactive_programme_earns_nothing(club, org):
    services.update_programme(club.programme, by=org.admin, version=club.programme.version,
                              changes={"is_active": False})
    club.member.refresh_from_db()
    with pytest.raises(RuleViolation):
        services.earn_points(club.member, points=10, idempotency_key="k", by=org.admin)
    order = factories.order(club.zhang, lines=[(factories.product(price="100"), 1)])
    assert services.award_for_order(order, by=None) == []


# --- expiry -------------------------------------------------------------------------------------

def test_expiry_takes_the_oldest_points_first_and_runs_once(club, org):
    now = timezone.now()
    member = club.member
    # Given lots of 100 (14 months ago), 200 (13 months ago) and 50 (1 month ago)
    services.earn_points(member, points=100, idempotency_key="a", by=None, at=now - dt.timedelta(days=430))
    services.earn_points(member, points=200, idempotency_key="b", by=None, at=now - dt.timedelta(days=400))
    services.earn_points(member, points=50, idempotency_key="c", by=None, at=now - dt.timedelta(days=30))
    # and a redemption of 150 last week: it used the oldest lot (100) and 50 of the second
    services.redeem_points(member, points=150, by=None, at=now - dt.timedelta(days=7))
    # When points older than 12 months expire
    run = services.expire_points(at=now)
    # Then what is left of the two old lots (150) expires, the recent 50 stays
    assert (run.members, run.points) == (1, 150)
    assert balance(member) == 50
    expiry = PointsEntry.objects.get(membership=member, kind="expire")
    assert expiry.amount == -150 and expiry.by is None
    # and running again (same moment or later the same day) expires nothing
    assert services.expire_points(at=now).points == 0
    assert services.expire_points(at=now + dt.timedelta(minutes=1)).points == 0
    assert PointsEntry.objects.filter(kind="expire").count() == 1
    assert queries.balance_matches_ledger(member)


def test_nothing_expires_when_old_points_were_already_spent(club):
    now = timezone.now()
    services.earn_points(club.member, points=100, idempotency_key="a", by=None, at=now - dt.timedelta(days=500))
    services.redeem_points(club.member, points=100, by=None, at=now - dt.timedelta(days=450))
    services.earn_points(club.member, points=70, idempotency_key="b", by=None, at=now - dt.timedelta(days=10))
    assert services.expire_points(at=now).points == 0
    assert balance(club.member) == 70


def test_a_programme_without_expiry_keeps_points(club, org):
    services.update_programme(club.programme, by=org.admin, version=1, changes={"expiry_months": 0})
    services.earn_points(club.member, points=100, idempotency_key="a", by=None,
                         at=timezone.now() - dt.timedelta(days=900))
    assert services.expire_points(at=timezone.now()).points == 0


# --- statements, 360 and service benefits ----------------------------------------------------------

def test_a_statement_has_opening_entries_and_closing(club):
    now = timezone.now()
    member = club.member
    services.earn_points(member, points=500, idempotency_key="a", by=None, at=now - dt.timedelta(days=60))
    services.redeem_points(member, points=100, by=None, at=now - dt.timedelta(days=20))
    services.earn_points(member, points=40, idempotency_key="b", by=None, at=now - dt.timedelta(days=10))
    services.redeem_points(member, points=10, by=None, at=now - dt.timedelta(days=1))
    result = queries.statement(member, start=now - dt.timedelta(days=30), end=now - dt.timedelta(days=5))
    assert result.opening == 500
    assert [e.amount for e in result.entries] == [-100, 40]
    assert result.totals == {"earn": 40, "redeem": -100, "expire": 0, "adjust": 0}
    assert result.closing == 440


def test_membership_of_and_service_benefits(club, django_assert_num_queries):
    Membership.objects.filter(pk=club.member.pk).update(tier=club.diamond, balance=0)
    with django_assert_num_queries(1):
        summary = queries.membership_of(club.zhang)
    assert summary.tier == "钻石 Diamond" and summary.programme == "会员计划 Members"
    with django_assert_num_queries(1):
        benefits = queries.service_benefits(club.zhang.pk)
    assert benefits.priority_boost == 30 and benefits.dedicated_agent
    stranger = factories.customer("路人")
    assert queries.membership_of(stranger) is None
    assert queries.service_benefits(stranger) == queries.ServiceBenefits()


def test_enrolment_is_once_per_programme_and_audited(club, org):
    with pytest.raises(Conflict) as error:
        services.enrol(club.zhang, club.programme, by=org.admin)
    assert error.value.extra == {"existing_id": club.member.pk}
    assert AuditEntry.objects.filter(object_type="loyalty.membership", object_id=str(club.member.pk)).exists()


def test_the_nightly_and_monthly_tasks_call_the_services(club):
    from loopcrm.loyalty import tasks

    now = timezone.now()
    services.earn_points(club.member, points=80, idempotency_key="old", by=None, at=now - dt.timedelta(days=500))
    result = tasks.expire_points.enqueue(at=now.isoformat())
    assert result.return_value == {"members": 1, "points": 80}
    assert tasks.expire_points.enqueue(at=now.isoformat()).return_value == {"members": 0, "points": 0}
    assert tasks.evaluate_tiers.enqueue().return_value["examined"] == 2
