"""API schemas of the loyalty programme, one per direction. Unknown fields are refused; types are not coerced."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId, QueryId
from loopcrm.loyalty.models import MembershipTier, PointsEntry
from loopcrm.loyalty.queries import MEMBER_SORTS
from loopcrm.loyalty.services import MAX_POINTS


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, *, min_length: int = 0, description: str | None = None):
    return Annotated[str, Field(min_length=min_length, max_length=max_length, description=description),
                     AfterValidator(_no_nul)]


Points = Annotated[StrictInt, Field(ge=1, le=MAX_POINTS, description="Whole points, more than zero.")]
SignedPoints = Annotated[StrictInt, Field(ge=-MAX_POINTS, le=MAX_POINTS,
                                          description="Whole points: positive adds, negative removes; not zero.")]
Reason = _text(200)
Key = _text(120, min_length=1, description="Unique per programme: posting it again returns the first entry.")
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, such as CNY.")]
Rate = Annotated[Decimal, Field(ge=0, le=10_000, max_digits=9, decimal_places=4)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2)]
Multiplier = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Version = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- programmes and tiers ---------------------------------------------------------------------

class TierIn(Input):
    name: _text(50, min_length=1)
    rank: Annotated[StrictInt, Field(ge=0, le=100, description="0 is the entry tier (threshold 0).")]
    qualify_by: MembershipTier.Basis = MembershipTier.Basis.SPEND
    threshold: Money = Decimal(0)
    window_months: Annotated[StrictInt, Field(ge=1, le=60)] = 12
    grace_months: Annotated[StrictInt, Field(ge=0, le=24)] = 3
    points_multiplier: Multiplier = Decimal(1)
    priority_boost: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    dedicated_agent: StrictBool = False


class TierPatch(Input):
    name: _text(50, min_length=1) = None  # type: ignore[assignment]
    rank: Annotated[StrictInt, Field(ge=0, le=100)] = None  # type: ignore[assignment]
    qualify_by: MembershipTier.Basis = None  # type: ignore[assignment]
    threshold: Money = None  # type: ignore[assignment]
    window_months: Annotated[StrictInt, Field(ge=1, le=60)] = None  # type: ignore[assignment]
    grace_months: Annotated[StrictInt, Field(ge=0, le=24)] = None  # type: ignore[assignment]
    points_multiplier: Multiplier = None  # type: ignore[assignment]
    priority_boost: Annotated[StrictInt, Field(ge=0, le=100)] = None  # type: ignore[assignment]
    dedicated_agent: StrictBool = None  # type: ignore[assignment]


class TierOut(Schema):
    id: int
    name: str
    rank: int
    qualify_by: str
    threshold: Decimal
    window_months: int
    grace_months: int
    points_multiplier: Decimal
    priority_boost: int
    dedicated_agent: bool


class ProgrammeIn(Input):
    name: _text(100, min_length=1)
    description: _text(2000) = ""
    currency: Currency = "CNY"
    points_per_unit: Rate = Decimal(1)
    survey_points: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 0
    expiry_months: Annotated[StrictInt, Field(ge=0, le=120, description="0: points never expire.")] = 0
    is_active: StrictBool = True
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)


class ProgrammePatch(Input):
    version: Version = Field(description="The version you read; a stale one answers 409.")
    name: _text(100, min_length=1) = None  # type: ignore[assignment]
    description: _text(2000) = None  # type: ignore[assignment]
    currency: Currency = None  # type: ignore[assignment]
    points_per_unit: Rate = None  # type: ignore[assignment]
    survey_points: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = None  # type: ignore[assignment]
    expiry_months: Annotated[StrictInt, Field(ge=0, le=120)] = None  # type: ignore[assignment]
    is_active: StrictBool = None  # type: ignore[assignment]


class ProgrammeOut(Schema):
    id: int
    name: str
    description: str
    currency: str
    points_per_unit: Decimal
    survey_points: int
    expiry_months: int
    is_active: bool
    version: int
    tiers: list[TierOut] = Field(default_factory=list)

    @staticmethod
    def resolve_tiers(obj) -> list:
        tiers = getattr(obj, "tiers_list", None)
        if tiers is None:
            tiers = list(obj.tiers.order_by("rank"))
        return tiers


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="25 by default, at most 200 (larger values are capped).")


# --- members and the ledger ------------------------------------------------------------------

class EnrolIn(Input):
    programme_id: BodyId
    customer_id: BodyId


class MemberFilter(ListParams):
    programme_id: QueryId | None = None
    tier_id: QueryId | None = None
    customer_id: QueryId | None = None
    sort: str = Field("-id", max_length=20, description=f"One of {', '.join(MEMBER_SORTS)}.")


class MemberOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    programme_id: int
    tier: TierOut
    balance: int
    joined_at: dt.datetime
    tier_since: dt.datetime
    below_tier_since: dt.datetime | None
    version: int

    @staticmethod
    def resolve_customer_name(obj) -> str:
        return obj.customer.name


class EarnIn(Input):
    points: Points
    idempotency_key: Key
    reason: Reason = ""


class RedeemIn(Input):
    points: Points
    reason: Reason = ""
    idempotency_key: Key | None = None


class AdjustIn(Input):
    points: SignedPoints
    reason: _text(200, min_length=1)
    idempotency_key: Key | None = None


class EntryOut(Schema):
    id: int
    kind: PointsEntry.Kind
    amount: int
    balance_after: int
    reason: str
    by_id: int | None
    order_id: int | None
    spend: Decimal | None
    survey_ref: str
    idempotency_key: str
    created_at: dt.datetime


class StatementParams(Schema):
    start: dt.datetime = Field(alias="from", description="Start of the period (inclusive).")
    end: dt.datetime = Field(alias="to", description="End of the period (exclusive).")


class StatementOut(Schema):
    member_id: int
    start: dt.datetime
    end: dt.datetime
    opening: int
    closing: int
    totals: dict[str, int]
    entries: list[EntryOut]
    truncated: bool
