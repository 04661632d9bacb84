"""API shapes for the timeline, one per direction. Limits live here so OpenAPI shows them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from loopcrm.core.api import BodyId, QueryId
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.interactions.models import Interaction

EXCERPT_LENGTH = 280
# One vocabulary each, plus "" for "not known" (one error message, one enum in OpenAPI).
TouchpointOrBlank = Literal[(*Touchpoint.values, "")]  # type: ignore[valid-type]
JourneyStageOrBlank = Literal[(*JourneyStage.values, "")]  # type: ignore[valid-type]


class InteractionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: BodyId
    channel: Channel
    direction: Interaction.Direction = Interaction.Direction.INBOUND
    touchpoint: TouchpointOrBlank | None = Field(None, description="Empty or null: not known.")
    journey_stage: JourneyStageOrBlank | None = Field(None, description="Empty or null: not known.")
    subject: str = Field("", max_length=200)
    body: str = Field("", max_length=100_000)
    occurred_at: dt.datetime | None = Field(
        None, description="Defaults to now; at most 5 minutes ahead of the server. Naive times are read in the "
                          "server's zone."
    )
    contact_id: BodyId | None = Field(None, description="A contact person of this (organisation) customer.")
    order_id: BodyId | None = Field(None, description="An order of this customer.")


class Ref(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class OrderRef(Schema):
    id: int
    number: str


class InteractionOut(Schema):
    id: int
    customer: Ref
    contact: Ref | None
    channel: str
    direction: str
    touchpoint: str
    journey_stage: str
    subject: str
    excerpt: str = Field(description=f"The first {EXCERPT_LENGTH} characters of the body.")
    occurred_at: dt.datetime
    user: Ref | None = Field(description="Who logged it.")
    order: OrderRef | None
    created_at: dt.datetime

    @staticmethod
    def resolve_excerpt(obj: Interaction) -> str:
        body = obj.body
        return body if len(body) <= EXCERPT_LENGTH else body[: EXCERPT_LENGTH - 1] + "…"


class InteractionDetailOut(InteractionOut):
    body: str


class InteractionFilter(Schema):
    model_config = ConfigDict(populate_by_name=True)

    customer_id: QueryId | None = None
    channel: Channel | None = None
    touchpoint: Touchpoint | None = None
    journey_stage: JourneyStage | None = None
    occurred_from: dt.datetime | None = Field(None, alias="from", description="Happened at or after this time.")
    occurred_to: dt.datetime | None = Field(None, alias="to", description="Happened before this time.")
    sort: str = Field("-occurred_at", description="One of: -occurred_at, occurred_at, -id, id.")
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")
