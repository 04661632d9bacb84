"""Enrolment and every movement of points: the one place the ledger is written.

Rules kept here:
- Every entry is posted under the membership's row lock (PostgreSQL `SELECT … FOR UPDATE`; SQLite
  runs IMMEDIATE transactions, which serialise writers), and the cached balance is changed by a
  conditional UPDATE on the balance that was read, in the same transaction. A redemption or a
  removing adjustment larger than the balance is refused: no interleaving can overdraw.
- Every entry has an idempotency key, unique per programme. Posting a key again returns the first
  entry (`replayed = True`) and adds nothing; the same key for another member, kind or amount is a
  Conflict. Earning requires a key from the caller (the event that earns); redemptions and
  adjustments get a random one when none is given.
- Points earned from spend and from surveys are multiplied by the member's tier at the time; a
  manual earn or an adjustment is exactly the points stated. After an earn, an upgrade the member
  now qualifies for takes effect at once.
- Expiry takes the oldest points first (FIFO; see loopcrm.loyalty.rules) and is safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.customers.models import Customer
from loopcrm.loyalty.models import Membership, MembershipTier, PointsEntry, Programme, TierChange
from loopcrm.loyalty.rules import add_months, expiring, points_for
from loopcrm.loyalty.services.common import key_text, reason_text, require_change, when, whole_points
from loopcrm.loyalty.services.tiers import SPENDING, upgrade_if_qualified

Kind = PointsEntry.Kind


# --- enrolment --------------------------------------------------------------------------------

@transaction.atomic
def enrol(customer: Customer, programme: Programme, *, by: User | None, at: dt.datetime | None = None) -> Membership:
    """Make `customer` a member of `programme`, in its entry tier (rank 0), with no points."""
    require_change(by)
    now = when(at)
    if not programme.is_active:
        raise RuleViolation(_("The programme %(name)s is not active.") % {"name": programme.name},
                            field="programme_id")
    if customer.merged_into_id:
        raise RuleViolation(_("This customer was merged into another; enrol that one."), field="customer_id")
    entry_tier = MembershipTier.objects.filter(programme=programme, rank=0).first()
    if entry_tier is None:
        raise RuleViolation(_("The programme has no entry tier (rank 0) yet."), field="programme_id")
    existing = Membership.objects.filter(customer=customer, programme=programme).values_list("pk", flat=True).first()
    if existing:
        raise _already_member(existing)
    membership = Membership(customer=customer, programme=programme, tier=entry_tier, joined_at=now, tier_since=now)
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as error:  # enrolled a moment ago by someone else
        existing = Membership.objects.filter(customer=customer, programme=programme).values_list("pk", flat=True)
        raise _already_member(existing.first()) from error
    TierChange.objects.create(membership=membership, kind=TierChange.Kind.ENROL, to_tier=entry_tier, at=now, by=by)
    audit.record(action="create", obj=membership, by=by, at=now,
                 changes={"customer": customer.pk, "programme": programme.pk, "tier": entry_tier.pk})
    return membership


def _already_member(existing_id: int | None) -> Conflict:
    return Conflict(_("This customer is already a member (membership #%(id)s).") % {"id": existing_id},
                    field="customer_id", extra={"existing_id": existing_id})


# --- posting ------------------------------------------------------------------------------------

def _post(membership: Membership, *, kind: str, amount: int, reason: str, by: User | None, at: dt.datetime,
          key: str, order: Order | None = None, spend: Decimal | None = None, survey_ref: str = "",
          compare_amount: bool = True, fresh_key: bool = False) -> PointsEntry:
    """Append one entry and move the cached balance, under the membership's row lock. Call inside a transaction.

    `fresh_key`: the key was just generated (random), so no earlier entry can have it: no lookup, no savepoint.
    """
    locked = (Membership.objects.select_for_update(of=("self",)).select_related("programme", "tier")
              .get(pk=membership.pk))
    if not fresh_key:
        first = PointsEntry.objects.filter(programme_id=locked.programme_id, idempotency_key=key).first()
        if first is not None:
            return _replay(first, membership=locked, kind=kind, amount=amount if compare_amount else None)
    balance = locked.balance + amount
    if balance < 0:
        raise RuleViolation(
            _("Only %(balance)s points are available; %(wanted)s were asked for.")
            % {"balance": f"{locked.balance:,}", "wanted": f"{-amount:,}"},
            field="points", extra={"balance": locked.balance},
        )
    entry = PointsEntry(programme_id=locked.programme_id, membership=locked, kind=kind, amount=amount,
                        balance_after=balance, reason=reason, by=by, order=order, spend=spend,
                        survey_ref=survey_ref, idempotency_key=key, created_at=at)
    if fresh_key:
        entry.save()
    else:
        _save_keyed(entry)
    # The balance read under the lock is the condition: should the lock ever be missing, nothing is overwritten.
    if not Membership.objects.filter(pk=locked.pk, balance=locked.balance).update(
            balance=balance, version=F("version") + 1):
        raise Conflict(_("The balance changed meanwhile; try again."), field="points")  # pragma: no cover
    membership.balance, membership.version = balance, locked.version + 1
    membership.tier, membership.programme = locked.tier, locked.programme
    entry.replayed = False
    return entry


def _save_keyed(entry: PointsEntry) -> None:
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as error:  # the same key, posted a moment ago for another member of the programme
        first = PointsEntry.objects.filter(programme_id=entry.programme_id,
                                           idempotency_key=entry.idempotency_key).first()
        if first is None:
            raise
        raise _key_conflict(first) from error


def _replay(first: PointsEntry, *, membership: Membership, kind: str, amount: int | None) -> PointsEntry:
    if first.membership_id != membership.pk or first.kind != kind or (amount is not None and first.amount != amount):
        raise _key_conflict(first)
    first.replayed = True
    return first


def _key_conflict(first: PointsEntry) -> Conflict:
    return Conflict(
        _("This idempotency key was already used for another entry (#%(id)s); use a new key for a new movement.")
        % {"id": first.pk}, field="idempotency_key", extra={"entry_id": first.pk},
    )


def _new_key(kind: str) -> str:
    return f"{kind}:{uuid.uuid4().hex}"


def _earned(membership: Membership, entry: PointsEntry, *, at: dt.datetime, by: User | None) -> PointsEntry:
    if not entry.replayed:
        upgrade_if_qualified(membership, at=at, by=by)
    return entry


def _require_active(programme: Programme) -> None:
    if not programme.is_active:
        raise RuleViolation(_("The programme %(name)s is not active: no points can be earned.")
                            % {"name": programme.name}, field="programme_id")


# --- the three manual movements -------------------------------------------------------------

@transaction.atomic
def earn_points(membership: Membership, *, points: int, idempotency_key: str, by: User | None, reason: str = "",
                at: dt.datetime | None = None) -> PointsEntry:
    """Grant `points` by hand (a goodwill gesture, a campaign); exactly that many, no multiplier.

    The key is required: replaying it returns the first entry and adds nothing.
    """
    require_change(by)
    now = when(at)
    points = whole_points(points)
    key = key_text(idempotency_key)
    reason = reason_text(reason)
    _require_active(membership.programme)
    entry = _post(membership, kind=Kind.EARN, amount=points, reason=reason, by=by, at=now, key=f"manual:{key}")
    return _earned(membership, entry, at=now, by=by)


@transaction.atomic
def redeem_points(membership: Membership, *, points: int, by: User | None, reason: str = "",
                  idempotency_key: str | None = None, at: dt.datetime | None = None) -> PointsEntry:
    """Spend `points` of the balance; more than the balance is refused, whatever runs at the same time."""
    require_change(by)
    now = when(at)
    points = whole_points(points)
    key = f"redeem:{key_text(idempotency_key)}" if idempotency_key is not None else _new_key("redeem")
    return _post(membership, kind=Kind.REDEEM, amount=-points, reason=reason_text(reason), by=by, at=now, key=key,
                 fresh_key=idempotency_key is None)


@transaction.atomic
def adjust_points(membership: Membership, *, points: int, reason: str, by: User | None,
                  idempotency_key: str | None = None, at: dt.datetime | None = None) -> PointsEntry:
    """Correct the balance by `points` (positive or negative) with a stated reason; never below zero."""
    require_change(by)
    now = when(at)
    points = whole_points(points, signed=True)
    reason = reason_text(reason, required=True)
    key = f"adjust:{key_text(idempotency_key)}" if idempotency_key is not None else _new_key("adjust")
    return _post(membership, kind=Kind.ADJUST, amount=points, reason=reason, by=by, at=now, key=key,
                 fresh_key=idempotency_key is None)


# --- earning rules: orders and surveys ---------------------------------------------------------

def _active_memberships(customer_id: int, *, currency: str | None = None) -> list[Membership]:
    rows = Membership.objects.filter(customer_id=customer_id, programme__is_active=True).select_related(
        "programme", "tier")
    if currency is not None:
        rows = rows.filter(programme__currency=currency)
    return list(rows.order_by("programme_id"))


@transaction.atomic
def award_for_order(order: Order, *, by: User | None = None, at: dt.datetime | None = None) -> list[PointsEntry]:
    """Points for a paid, shipped or delivered order, in every active programme of its currency the customer is in.

    Call it when an order becomes paid (or is delivered — either, or both: the key `order:<id>` makes the
    second call a no-op). Points = ⌊total × points per unit × tier multiplier⌋. Orders in other states earn nothing.
    """
    now = when(at)
    if order.status not in SPENDING:
        return []
    entries = []
    for membership in _active_memberships(order.customer_id, currency=order.currency):
        key = f"order:{order.pk}"
        first = PointsEntry.objects.filter(programme_id=membership.programme_id, idempotency_key=key).first()
        if first is not None:
            first.replayed = True
            entries.append(first)
            continue
        points = points_for(Decimal(order.total), rate=membership.programme.points_per_unit,
                            multiplier=membership.tier.points_multiplier)
        if points <= 0:
            continue
        reason = _("Order %(number)s") % {"number": order.number}
        entry = _post(membership, kind=Kind.EARN, amount=points, reason=reason, by=by, at=now, key=key,
                      order=order, spend=Decimal(order.total), compare_amount=False)
        entries.append(_earned(membership, entry, at=now, by=by))
    return entries


@transaction.atomic
def reverse_for_order(order: Order, *, by: User | None = None, at: dt.datetime | None = None) -> list[PointsEntry]:
    """Take back what a cancelled or returned order earned — as much as the balance still holds (never below zero)."""
    now = when(at)
    entries = []
    earned = PointsEntry.objects.filter(order=order, kind=Kind.EARN).select_related("membership")
    for first in earned:
        key = f"order-reversal:{order.pk}"
        done = PointsEntry.objects.filter(programme_id=first.programme_id, idempotency_key=key).first()
        if done is not None:
            done.replayed = True
            entries.append(done)
            continue
        membership = Membership.objects.select_for_update(of=("self",)).get(pk=first.membership_id)
        points = min(first.amount, membership.balance)
        if points <= 0:
            continue
        reason = _("Order %(number)s was %(status)s") % {"number": order.number, "status": order.get_status_display()}
        entries.append(_post(membership, kind=Kind.ADJUST, amount=-points, reason=reason, by=by, at=now,
                             key=key, order=order, compare_amount=False))
    return entries


@transaction.atomic
def award_for_survey(customer: Customer | int, response_ref: str, *, by: User | None = None,
                     at: dt.datetime | None = None) -> list[PointsEntry]:
    """Points for a survey answered (the programme's survey points × tier multiplier), once per response.

    `response_ref` names the survey response (e.g. "response:123"); calling again with it adds nothing.
    """
    now = when(at)
    ref = key_text(response_ref, field="response_ref")
    if len(ref) > 64:
        raise RuleViolation(_("At most %(limit)d characters (got %(count)d).") % {"limit": 64, "count": len(ref)},
                            field="response_ref")
    customer_id = customer if isinstance(customer, int) else customer.pk
    entries = []
    for membership in _active_memberships(customer_id):
        points = points_for(Decimal(membership.programme.survey_points), rate=Decimal(1),
                            multiplier=membership.tier.points_multiplier)
        if points <= 0:
            continue
        entry = _post(membership, kind=Kind.EARN, amount=points, reason=_("Survey answered"), by=by, at=now,
                      key=f"survey:{ref}", survey_ref=ref, compare_amount=False)
        entries.append(_earned(membership, entry, at=now, by=by))
    return entries


# --- expiry -------------------------------------------------------------------------------------

@dataclass
class ExpiryRun:
    members: int = 0
    points: int = 0


def expire_points(*, at: dt.datetime | None = None, programme: Programme | None = None) -> ExpiryRun:
    """Expire what remains of the points earned more than `expiry_months` before `at`, oldest first.

    One SQL pass finds the members with something to expire; they are then posted in batches, each
    batch in one transaction with its members' rows locked (in id order), their remains recomputed
    under the lock, one bulk insert and one balance update. The key `expire:<cutoff>:<membership>`
    and the recomputation make a second (or concurrent) run expire nothing twice.
    """
    now = when(at)
    run = ExpiryRun()
    programmes = [programme] if programme else list(Programme.objects.filter(is_active=True, expiry_months__gt=0))
    for prog in programmes:
        if not prog.expiry_months:
            continue
        cutoff = add_months(now, -prog.expiry_months)
        candidates = list(
            PointsEntry.objects.filter(programme=prog, created_at__lte=now)
            .values("membership_id")
            .annotate(old=Sum("amount", filter=Q(amount__gt=0, created_at__lt=cutoff), default=0),
                      consumed=Sum(-F("amount"), filter=Q(amount__lt=0), default=0))
            .filter(old__gt=F("consumed"))
            .order_by("membership_id")
            .values_list("membership_id", flat=True)
        )
        for start in range(0, len(candidates), EXPIRY_BATCH):
            with transaction.atomic():
                posted = _expire_batch(prog, candidates[start:start + EXPIRY_BATCH], cutoff=cutoff, at=now)
            run.members += len(posted)
            run.points += sum(-entry.amount for entry in posted)
    return run


EXPIRY_BATCH = 500


def _expire_batch(programme: Programme, ids: list[int], *, cutoff: dt.datetime, at: dt.datetime) -> list[PointsEntry]:
    balances = dict(Membership.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                    .values_list("pk", "balance"))
    totals = (PointsEntry.objects.filter(membership_id__in=ids, created_at__lte=at).values("membership_id")
              .annotate(old=Sum("amount", filter=Q(amount__gt=0, created_at__lt=cutoff), default=0),
                        consumed=Sum(-F("amount"), filter=Q(amount__lt=0), default=0)))
    keys = {pk: f"expire:{cutoff.isoformat()}:{pk}" for pk in ids}
    done = set(PointsEntry.objects.filter(programme=programme, idempotency_key__in=keys.values())
               .values_list("membership_id", flat=True))
    reason = _("Points earned before %(date)s expired") % {"date": cutoff.date().isoformat()}
    entries = []
    for row in totals:
        pk = row["membership_id"]
        points = min(expiring(row["old"], row["consumed"]), balances.get(pk, 0))
        if points <= 0 or pk in done:
            continue
        entries.append(PointsEntry(programme=programme, membership_id=pk, kind=Kind.EXPIRE, amount=-points,
                                   balance_after=balances[pk] - points, reason=reason, idempotency_key=keys[pk],
                                   created_at=at))
    if not entries:
        return []
    PointsEntry.objects.bulk_create(entries)
    new = {entry.membership_id: entry.balance_after for entry in entries}
    Membership.objects.filter(pk__in=list(new)).update(
        balance=Case(*(When(pk=pk, then=Value(balance)) for pk, balance in new.items()),
                     output_field=IntegerField()),
        version=F("version") + 1,
    )
    return entries
