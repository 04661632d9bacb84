"""The API shape of the customer 360° view: its own record and the slots later domains fill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field

from loopcrm.commerce.schemas import OrderOut
from loopcrm.core.api import PageOut
from loopcrm.customers.schemas import ConsentOut, ContactOut, CustomerOut
from loopcrm.interactions.schemas import InteractionOut
from loopcrm.service.schemas.tickets import TicketSummaryOut
from loopcrm.value.schemas import CustomerValueOut, RecommendationOut


class OrderSummaryOut(Schema):
    count: int = Field(description="Orders paid and not cancelled or returned.")
    total_spend: Decimal = Field(description="Their total, in `currency`.")
    currency: str | None = Field(description="The currency most of the customer's orders use.")
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    spend_by_currency: dict[str, Decimal]


class CommentOut(Schema):
    text: str
    sentiment: str = Field(description="negative, neutral or positive.")
    at: dt.datetime


class LatestScoresOut(Schema):
    """The customer's newest CSAT (1–5), NPS (0–10) and CES (1–7) answers and latest comments."""

    csat: int | None
    csat_at: dt.datetime | None
    nps: int | None
    nps_at: dt.datetime | None
    ces: int | None
    ces_at: dt.datetime | None
    responses: int = Field(description="Complete survey responses of the customer.")
    comments: list[CommentOut] = Field(description="The latest analysed comments (survey answers and feedback).")


class ValuePanelOut(Schema):
    value: CustomerValueOut | None = Field(description="Null until the first recompute.")
    recommendations: list[RecommendationOut] = Field(description="Next-best products, best first.")


class MembershipOut(Schema):
    membership_id: int
    programme: str
    tier: str
    tier_rank: int
    balance: int = Field(description="Points balance.")
    joined_at: dt.datetime
    tier_since: dt.datetime
    priority_boost: int
    dedicated_agent: bool


class Customer360Out(Schema):
    customer: CustomerOut
    contacts: list[ContactOut]
    consents: list[ConsentOut] = Field(description="The current decision per channel and purpose.")
    order_summary: OrderSummaryOut
    recent_orders: list[OrderOut] = Field(description="The ten newest orders.")
    recent_interactions: PageOut[InteractionOut] = Field(description="The newest touches; page on with `cursor`.")
    open_tickets: list[TicketSummaryOut] = Field(
        default_factory=list, description="Active tickets you may see, newest first (at most ten).")
    latest_survey: LatestScoresOut | None = Field(None, description="Null when your role may not see feedback.")
    value: ValuePanelOut | None = Field(None, description="RFM, tier, CLV and next-best products; null when your "
                                                          "role may not see customer value.")
    loyalty: MembershipOut | None = Field(None, description="The membership of the first active programme; null "
                                                            "when not a member or your role may not see loyalty.")


class Customer360Params(Schema):
    cursor: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$", description="Cursor of the interactions page."
    )
    limit: int | None = Field(None, ge=1, description="Interactions per page; at most 200.")


class ErasureIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500,
                        description="Why: the request's reference (a ticket number, say), without personal data.")


class ErasureOut(Schema):
    customer_id: int
    erased_at: dt.datetime
    counts: dict[str, int] = Field(description="Records overwritten, per kind.")
