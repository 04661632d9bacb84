"""The API shape of the customer 360° view. Slots for later domains are declared now, empty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from loopcrm.commerce.schemas import OrderOut
from loopcrm.core.api import PageOut
from loopcrm.customers.schemas import ConsentOut, ContactOut, CustomerOut
from loopcrm.interactions.schemas import InteractionOut


class OrderSummaryOut(Schema):
    count: int = Field(description="Orders paid and not cancelled or returned.")
    total_spend: Decimal = Field(description="Their total, in `currency`.")
    currency: str | None = Field(description="The currency most of the customer's orders use.")
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    spend_by_currency: dict[str, Decimal]


class Customer360Out(Schema):
    customer: CustomerOut
    contacts: list[ContactOut]
    consents: list[ConsentOut] = Field(description="The current decision per channel and purpose.")
    order_summary: OrderSummaryOut
    recent_orders: list[OrderOut] = Field(description="The ten newest orders.")
    recent_interactions: PageOut[InteractionOut] = Field(description="The newest touches; page on with `cursor`.")
    open_tickets: list[Any] = Field(default_factory=list, description="Reserved for service tickets.")
    latest_survey: Any = Field(None, description="Reserved for surveys.")
    value: Any = Field(None, description="Reserved for customer value (RFM, tier, CLV).")
    loyalty: Any = Field(None, description="Reserved for the loyalty programme.")


class Customer360Params(Schema):
    cursor: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$", description="Cursor of the interactions page."
    )
    limit: int | None = Field(None, ge=1, description="Interactions per page; at most 200.")
