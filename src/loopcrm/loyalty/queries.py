"""Reads of the loyalty programme: the doors (`programmes_for`, `memberships_for`), ledger pages, statements,
and what other domains ask about a customer (`membership_of` for the 360 page, `service_benefits` for
routing and SLA).

A member is seen through their customer: a membership is visible when the user may use loyalty and
may see the customer (customers.queries scope); otherwise it is missing (404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.core.pagination import Page, paginate
from loopcrm.customers.models import Customer
from loopcrm.loyalty.models import Membership, MembershipTier, PointsEntry, Programme
from loopcrm.loyalty.services.tiers import qualifying_values

MAX_ID = 2**63 - 1
MEMBER_SORTS = ("-id", "id", "-balance", "balance", "-joined_at", "joined_at")
LEDGER_SORT = "-created_at"
STATEMENT_MAX_ENTRIES = 1000


def _valid_id(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 0 < value <= MAX_ID


# --- programmes -------------------------------------------------------------------------------

def programmes_for(user: User, action: str = "view") -> QuerySet[Programme]:
    if not can(user, "loyalty", action):
        return Programme.objects.none()
    return Programme.objects.all()


def get_programme_for(user: User, programme_id: int, action: str = "view", *,
                      field_name: str = "programme_id") -> Programme:
    """One programme; NotFound if there is none or the user may not use loyalty, 403 if they may only look."""
    programme = programmes_for(user, "view").filter(pk=programme_id).first() if _valid_id(programme_id) else None
    if programme is None:
        raise NotFound(_("No loyalty programme #%(id)s.") % {"id": programme_id}, field=field_name)
    if action != "view" and not can(user, "loyalty", action):
        raise PermissionDenied(_("Your role may not change loyalty programmes or points."), field=field_name)
    return programme


def tiers_of(programme: Programme) -> list[MembershipTier]:
    return list(MembershipTier.objects.filter(programme=programme).order_by("rank"))


def get_tier_for(user: User, programme_id: int, tier_id: int, action: str = "view") -> MembershipTier:
    programme = get_programme_for(user, programme_id, action)
    tier = MembershipTier.objects.filter(programme=programme, pk=tier_id).first() if _valid_id(tier_id) else None
    if tier is None:
        raise NotFound(_("No tier #%(id)s in this programme.") % {"id": tier_id}, field="tier_id")
    tier.programme = programme
    return tier


def programme_overview(user: User) -> list[tuple[Programme, list[MembershipTier], dict[int, int]]]:
    """Each programme with its tiers and the number of members per tier (three queries)."""
    programmes = list(programmes_for(user).order_by("name"))
    tiers = MembershipTier.objects.filter(programme__in=programmes).order_by("programme_id", "rank")
    counts = dict(Membership.objects.filter(programme__in=programmes).values("tier_id")
                  .annotate(n=Count("id")).values_list("tier_id", "n"))
    by_programme: dict[int, list[MembershipTier]] = {}
    for tier in tiers:
        by_programme.setdefault(tier.programme_id, []).append(tier)
    return [(p, by_programme.get(p.pk, []), counts) for p in programmes]


# --- members ------------------------------------------------------------------------------------

def memberships_for(user: User, action: str = "view") -> QuerySet[Membership]:
    """Memberships whose customer `user` may see, if their role may use loyalty for `action`."""
    condition = scope_filter(user, "customer", "view", owner="customer__owner", department="customer__department")
    if condition is None or not can(user, "loyalty", action):
        return Membership.objects.none()
    return (Membership.objects.filter(condition, customer__merged_into__isnull=True)
            .select_related("customer", "programme", "tier"))


def get_membership_for(user: User, membership_id: int, action: str = "view") -> Membership:
    """One membership: NotFound when missing or its customer is out of sight; 403 when visible but not changeable."""
    membership = memberships_for(user, "view").filter(pk=membership_id).first() if _valid_id(membership_id) else None
    if membership is None:
        raise NotFound(_("No member #%(id)s.") % {"id": membership_id}, field="member_id")
    if action != "view" and not can(user, "loyalty", action):
        raise PermissionDenied(_("Your role may not change loyalty programmes or points."), field="member_id")
    return membership


def member_page(user: User, *, programme_id: int | None = None, tier_id: int | None = None,
                customer_id: int | None = None, sort: str = "-id", cursor: str | None = None,
                limit: int | None = None) -> Page:
    queryset = memberships_for(user)
    if programme_id is not None:
        queryset = queryset.filter(programme_id=programme_id)
    if tier_id is not None:
        queryset = queryset.filter(tier_id=tier_id)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    return paginate(queryset, sort=sort, allowed=MEMBER_SORTS, cursor=cursor, limit=limit)


def ledger_page(membership: Membership, *, cursor: str | None = None, limit: int | None = None) -> Page:
    """The member's entries, newest first, keyset-paged."""
    entries = PointsEntry.objects.filter(membership=membership).select_related("by", "order")
    return paginate(entries, sort=LEDGER_SORT, allowed=(LEDGER_SORT,), cursor=cursor, limit=limit)


# --- statements ---------------------------------------------------------------------------------

@dataclass
class Statement:
    """A member's account for [start, end): opening balance, the entries in between, closing balance."""

    membership: Membership
    start: dt.datetime
    end: dt.datetime
    opening: int
    closing: int
    totals: dict[str, int]
    entries: list[PointsEntry]
    truncated: bool = False


def statement(membership: Membership, *, start: dt.datetime, end: dt.datetime) -> Statement:
    """Opening = the sum of entries before `start`; closing = opening + the entries in [start, end). Three queries."""
    before = PointsEntry.objects.filter(membership=membership, created_at__lt=start).aggregate(
        total=Sum("amount", default=0))["total"]
    period = PointsEntry.objects.filter(membership=membership, created_at__gte=start, created_at__lt=end)
    totals = {kind: 0 for kind in PointsEntry.Kind.values}
    for kind, total in period.values("kind").annotate(total=Sum("amount")).values_list("kind", "total"):
        totals[kind] = total
    entries = list(period.select_related("by", "order").order_by("created_at", "id")[:STATEMENT_MAX_ENTRIES + 1])
    truncated = len(entries) > STATEMENT_MAX_ENTRIES
    return Statement(membership=membership, start=start, end=end, opening=before,
                     closing=before + sum(totals.values()), totals=totals, entries=entries[:STATEMENT_MAX_ENTRIES],
                     truncated=truncated)


# --- tier progress, the 360 slot and service benefits -----------------------------------------

@dataclass
class TierProgress:
    """How far the member is towards the next tier: the value that counts, the threshold, and the share (0–1)."""

    next_tier: MembershipTier | None
    value: Decimal = Decimal(0)
    threshold: Decimal = Decimal(0)
    share: float = 1.0
    basis: str = ""
    window_months: int = 0


def tier_progress(membership: Membership, *, at: dt.datetime | None = None) -> TierProgress:
    at = at or timezone.now()
    tiers = tiers_of(membership.programme)
    higher = [t for t in tiers if t.rank > membership.tier.rank]
    if not higher:
        return TierProgress(next_tier=None)
    target = higher[0]
    values = qualifying_values(membership.programme, [target], [membership], at).get(membership.pk, {})
    value = values.get((target.qualify_by, target.window_months), Decimal(0))
    threshold = Decimal(target.threshold)
    share = float(min(Decimal(1), value / threshold)) if threshold > 0 else 1.0
    return TierProgress(next_tier=target, value=value, threshold=threshold, share=share, basis=target.qualify_by,
                        window_months=target.window_months)


@dataclass
class MemberSummary:
    """What the customer 360 page shows of a membership."""

    membership_id: int
    programme: str
    tier: str
    tier_rank: int
    balance: int
    joined_at: dt.datetime
    tier_since: dt.datetime
    priority_boost: int
    dedicated_agent: bool


def _summary(m: Membership) -> MemberSummary:
    return MemberSummary(membership_id=m.pk, programme=m.programme.name, tier=m.tier.name, tier_rank=m.tier.rank,
                         balance=m.balance, joined_at=m.joined_at, tier_since=m.tier_since,
                         priority_boost=m.tier.priority_boost, dedicated_agent=m.tier.dedicated_agent)


def memberships_of(customer: Customer | int) -> list[MemberSummary]:
    """Every membership of a customer, active programmes first (one query). The caller has checked access."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = (Membership.objects.filter(customer_id=customer_id).select_related("programme", "tier")
            .order_by("-programme__is_active", "programme_id"))
    return [_summary(m) for m in rows]


def membership_of(customer: Customer | int) -> MemberSummary | None:
    """The customer's membership to show on the 360 page (their first active programme), or None. One query."""
    found = memberships_of(customer)
    return found[0] if found else None


@dataclass(frozen=True)
class ServiceBenefits:
    """What loyalty gives a customer in service: a priority boost for routing/SLA and a dedicated agent flag."""

    priority_boost: int = 0
    dedicated_agent: bool = False
    tiers: tuple[str, ...] = field(default_factory=tuple)


def service_benefits(customer: Customer | int) -> ServiceBenefits:
    """The best benefits over the customer's memberships in active programmes (one query)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = list(Membership.objects.filter(customer_id=customer_id, programme__is_active=True)
                .values_list("tier__name", "tier__priority_boost", "tier__dedicated_agent"))
    if not rows:
        return ServiceBenefits()
    return ServiceBenefits(priority_boost=max(r[1] for r in rows), dedicated_agent=any(r[2] for r in rows),
                           tiers=tuple(r[0] for r in rows))


def enrol_choices(user: User, customer: Customer | int) -> list[Programme]:
    """Active programmes the customer is not in, if `user` may enrol (else none). One query, none without the right."""
    if not can(user, "loyalty", "change"):
        return []
    customer_id = customer if isinstance(customer, int) else customer.pk
    return list(Programme.objects.filter(is_active=True).exclude(memberships__customer_id=customer_id)
                .order_by("name"))


def members_in_tiers(programme: Programme) -> dict[int, int]:
    return dict(Membership.objects.filter(programme=programme).values("tier_id").annotate(n=Count("id"))
                .values_list("tier_id", "n"))


def balance_matches_ledger(membership: Membership) -> bool:
    """The cached balance equals the sum of the ledger (a check for tests and the admin)."""
    total = PointsEntry.objects.filter(membership=membership).aggregate(t=Sum("amount", default=0))["t"]
    return total == Membership.objects.filter(pk=membership.pk).values_list("balance", flat=True).first()


__all__ = [
    "MemberSummary", "ServiceBenefits", "Statement", "TierProgress", "balance_matches_ledger", "enrol_choices",
    "get_membership_for", "get_programme_for", "get_tier_for", "ledger_page", "member_page", "members_in_tiers",
    "membership_of", "memberships_for", "memberships_of", "programme_overview", "programmes_for",
    "service_benefits", "statement", "tier_progress", "tiers_of",
]
