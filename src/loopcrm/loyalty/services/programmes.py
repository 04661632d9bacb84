"""Writes on programmes and their tiers: validated once, unique names, versions against lost updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.core.text import clean_line, clean_text
from loopcrm.loyalty.models import Membership, MembershipTier, Programme
from loopcrm.loyalty.services.common import decimal_in, require_change, when, whole_in

PROGRAMME_FIELDS = frozenset({"name", "description", "currency", "points_per_unit", "survey_points",
                              "expiry_months", "is_active"})
TIER_FIELDS = frozenset({"name", "rank", "qualify_by", "threshold", "window_months", "grace_months",
                         "points_multiplier", "priority_boost", "dedicated_agent"})


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RuleViolation(_("Expected true or false."), field=field)
    return value


def validate_programme(values: Mapping[str, Any]) -> dict[str, Any]:
    """Model values from input values (only the keys given)."""
    unknown = set(values) - PROGRAMME_FIELDS
    if unknown:
        raise RuleViolation(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            if not isinstance(value, str):
                raise RuleViolation(_("A name is text."), field="name")
            cleaned[key] = clean_line(value, field="name", max_length=100, required=True)
        elif key == "description":
            if not isinstance(value, str):
                raise RuleViolation(_("A description is text."), field="description")
            cleaned[key] = clean_text(value, field="description", max_length=2000)
        elif key == "currency":
            if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isupper() \
                    or not value.isalpha():
                raise RuleViolation(_("A currency is a three-letter ISO 4217 code in capitals, such as CNY."),
                                    field="currency")
            cleaned[key] = value
        elif key == "points_per_unit":
            cleaned[key] = decimal_in(value, field=key, places=4, maximum=Decimal(10_000))
        elif key == "survey_points":
            cleaned[key] = whole_in(value, field=key, low=0, high=1_000_000)
        elif key == "expiry_months":
            cleaned[key] = whole_in(value, field=key, low=0, high=120)
        elif key == "is_active":
            cleaned[key] = _bool(value, key)
    return cleaned


def validate_tier(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - TIER_FIELDS
    if unknown:
        raise RuleViolation(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            if not isinstance(value, str):
                raise RuleViolation(_("A name is text."), field="name")
            cleaned[key] = clean_line(value, field="name", max_length=50, required=True)
        elif key == "rank":
            cleaned[key] = whole_in(value, field=key, low=0, high=100)
        elif key == "qualify_by":
            if value not in MembershipTier.Basis.values:
                raise RuleViolation(_("Qualify by %(choices)s.") % {"choices": " / ".join(MembershipTier.Basis.values)},
                                    field=key)
            cleaned[key] = value
        elif key == "threshold":
            cleaned[key] = decimal_in(value, field=key, places=2, maximum=Decimal("999999999999.99"))
        elif key == "window_months":
            cleaned[key] = whole_in(value, field=key, low=1, high=60)
        elif key == "grace_months":
            cleaned[key] = whole_in(value, field=key, low=0, high=24)
        elif key == "points_multiplier":
            cleaned[key] = decimal_in(value, field=key, places=2, maximum=Decimal(100))
        elif key == "priority_boost":
            cleaned[key] = whole_in(value, field=key, low=0, high=100)
        elif key == "dedicated_agent":
            cleaned[key] = _bool(value, key)
    return cleaned


def _check_entry_tier(rank: int, threshold: Decimal) -> None:
    if rank == 0 and threshold != 0:
        raise RuleViolation(_("The entry tier (rank 0) is where every member starts: its threshold is 0."),
                            field="threshold")


def _save(instance, *, taken: str, field: str = "name", **kwargs) -> None:
    try:
        with transaction.atomic():
            instance.save(**kwargs)
    except IntegrityError as error:
        raise Conflict(taken, field=field) from error


@transaction.atomic
def create_programme(*, by: User | None, tiers: Sequence[Mapping[str, Any]] = (), at: dt.datetime | None = None,
                     **values: Any) -> Programme:
    """A programme and its tiers. A programme needs an entry tier (rank 0) before anyone can enrol."""
    require_change(by)
    now = when(at)
    if "name" not in values:
        raise RuleViolation(_("This field is required."), field="name")
    cleaned = validate_programme(values)
    programme = Programme(**cleaned, created_by=by)
    _save(programme, taken=_("A programme named %(name)s exists.") % {"name": cleaned["name"]})
    audit.record(action="create", obj=programme, by=by, at=now, changes=audit.snapshot(programme, cleaned))
    for index, tier in enumerate(tiers):
        try:
            add_tier(programme, by=by, at=now, **tier)
        except RuleViolation as error:
            error.field = f"tiers.{index}.{error.field}" if error.field else f"tiers.{index}"
            raise
    return programme


@transaction.atomic
def update_programme(programme: Programme, *, by: User | None, version: int, changes: Mapping[str, Any],
                     at: dt.datetime | None = None) -> Programme:
    """Change a programme if `version` is the one the caller read (else 409)."""
    require_change(by)
    now = when(at)
    cleaned = validate_programme(changes)
    before = audit.snapshot(programme, cleaned)
    try:
        with transaction.atomic():
            updated = Programme.objects.filter(pk=programme.pk, version=version).update(
                **cleaned, version=F("version") + 1, updated_at=now)
    except IntegrityError as error:
        raise Conflict(_("A programme named %(name)s exists.") % {"name": cleaned.get("name")}, field="name") from error
    if not updated:
        raise Conflict(_("This programme was changed by someone else; reload it and try again."), field="version")
    programme.refresh_from_db()
    audit.record(action="update", obj=programme, by=by, at=now, changes=audit.diff(before, cleaned))
    return programme


@transaction.atomic
def delete_programme(programme: Programme, *, by: User | None, at: dt.datetime | None = None) -> None:
    """Only a programme nobody has joined can go; otherwise deactivate it."""
    require_change(by)
    now = when(at)
    if Membership.objects.filter(programme=programme).exists():
        raise Conflict(_("This programme has members; deactivate it instead."), field="programme_id")
    audit.record(action="delete", obj=programme, by=by, at=now)
    programme.delete()


@transaction.atomic
def add_tier(programme: Programme, *, by: User | None, at: dt.datetime | None = None, **values: Any) -> MembershipTier:
    require_change(by)
    now = when(at)
    for required in ("name", "rank"):
        if required not in values:
            raise RuleViolation(_("This field is required."), field=required)
    cleaned = validate_tier(values)
    tier = MembershipTier(programme=programme, **cleaned)
    _check_entry_tier(tier.rank, Decimal(tier.threshold))
    taken = _("This programme already has a tier named %(name)s or ranked %(rank)s.") % {
        "name": tier.name, "rank": tier.rank}
    _save(tier, taken=taken)
    audit.record(action="create", obj=tier, by=by, at=now, changes=audit.snapshot(tier, cleaned))
    return tier


@transaction.atomic
def update_tier(tier: MembershipTier, *, by: User | None, changes: Mapping[str, Any],
                at: dt.datetime | None = None) -> MembershipTier:
    """Change a tier's rules or benefits; members keep their tier until the next evaluation."""
    require_change(by)
    now = when(at)
    cleaned = validate_tier(changes)
    if "rank" in cleaned and cleaned["rank"] != tier.rank and (tier.rank == 0 or cleaned["rank"] == 0):
        raise RuleViolation(_("The entry tier keeps rank 0."), field="rank")
    before = audit.snapshot(tier, cleaned)
    for key, value in cleaned.items():
        setattr(tier, key, value)
    _check_entry_tier(tier.rank, Decimal(tier.threshold))
    _save(tier, taken=_("This programme already has a tier with that name or rank."))
    audit.record(action="update", obj=tier, by=by, at=now, changes=audit.diff(before, cleaned))
    return tier


@transaction.atomic
def delete_tier(tier: MembershipTier, *, by: User | None, at: dt.datetime | None = None) -> None:
    require_change(by)
    now = when(at)
    if Membership.objects.filter(tier=tier).exists():
        raise Conflict(_("Members hold this tier; move them first (evaluate the tiers) or keep it."), field="tier_id")
    if tier.rank == 0:
        raise RuleViolation(_("The entry tier cannot be removed."), field="tier_id")
    audit.record(action="delete", obj=tier, by=by, at=now)
    tier.delete()
