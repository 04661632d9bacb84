"""API schemas of customer value and segments, one per direction. Unknown fields are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictInt

from loopcrm.core.api import QueryId


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Description = Annotated[str, Field(max_length=500), AfterValidator(_no_nul)]
Rule = Annotated[dict[str, Any], Field(
    description='A segment rule: {"all": [...]}, {"any": [...]}, {"not": rule} or {"field", "op", "value"}; '
                "see docs/value.md for the fields and operators.",
    examples=[{"all": [{"field": "tier", "op": "eq", "value": "high"},
                       {"field": "bought_category", "op": "in_last_days", "value": {"category": "tea", "days": 30}}]}])]
Version = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class CustomerValueOut(Schema):
    customer_id: int
    computed_at: dt.datetime | None = Field(None, description="Null until the first recompute.")
    recency_days: int | None = None
    frequency: int = 0
    monetary: Decimal = Decimal("0.00")
    r_score: int | None = None
    f_score: int | None = None
    m_score: int | None = None
    segment: str = ""
    tier: str = ""
    vip_suggested: bool = False
    clv: Decimal | None = None
    p_alive: float | None = None
    expected_purchases: float | None = Field(None, description="Expected orders in the next prediction window.")
    stage: str = "prospect"
    first_order_at: dt.datetime | None = None
    last_order_at: dt.datetime | None = None
    lifetime_orders: int = 0
    lifetime_spend: Decimal = Decimal("0.00")


class ClvBand(Schema):
    low: float
    high: float | None
    customers: int


class CohortOut(Schema):
    cohort: str
    customers: int
    retention: list[float | None]


class ChurnOut(Schema):
    month: str
    active: int
    churned: int
    rate: float | None


class SummaryOut(Schema):
    customers: int
    computed_at: dt.datetime | None
    parameters: dict[str, Any]
    tiers: dict[str, int]
    stages: dict[str, int]
    segments: dict[str, int]
    rfm_grid: list[list[int]] = Field(description="Rows R = 5…1, columns FM = 1…5.")
    clv_histogram: list[ClvBand]
    cohorts: list[CohortOut]
    churn: list[ChurnOut]


class SegmentIn(Input):
    name: Name
    description: Description = ""
    rule: Rule


class SegmentPatch(Input):
    version: Version
    name: Name = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    rule: Rule = None  # type: ignore[assignment]


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rule: dict[str, Any]
    owner_id: int | None
    department_id: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleIn(Input):
    rule: Rule


class CountOut(Schema):
    count: int


class MemberOut(Schema):
    id: int
    name: str
    kind: str
    province: str
    city: str
    owner_id: int | None
    department_id: int | None


class MemberParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_-]*$")
    limit: int | None = Field(None, ge=1, le=200)


class RecommendationOut(Schema):
    product_id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    confidence: float | None = Field(None, description="Null for a popular product offered when rules run out.")
    lift: float | None = None
    because_of_product_id: int | None = None


class RecomputeOut(Schema):
    task_id: str
    status: str


class SegmentPath(Schema):
    segment_id: QueryId
