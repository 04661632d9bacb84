"""API schemas for routing rules, one per direction. Unknown fields are refused; lists and texts are capped."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId
from loopcrm.core.choices import Channel
from loopcrm.service.models import RoutingRule, Ticket


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Word = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Priority = Annotated[StrictInt, Field(ge=1, le=4, description="1 low, 2 normal, 3 high, 4 urgent.")]
Position = Annotated[StrictInt, Field(ge=1, le=100_000)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class RuleConditions(Input):
    kinds: list[Ticket.Kind] = Field(default_factory=list, max_length=10, description="Any of these kinds.")
    category_id: BodyId | None = Field(None, description="This ticket category (and, by default, below it).")
    include_subcategories: StrictBool = True
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    priorities: list[Priority] = Field(default_factory=list, max_length=4)
    customer_vip: StrictBool | None = Field(None, description="null: any customer; true: VIPs; false: non-VIPs.")
    customer_tiers: list[RoutingRule.Tier] = Field(default_factory=list, max_length=3)
    customer_tag_id: BodyId | None = None
    provinces: list[Word] = Field(default_factory=list, max_length=50,
                                  description="The customer's province or city is one of these.")
    keywords: list[Word] = Field(default_factory=list, max_length=50,
                                 description="The subject contains one of these (case does not matter).")


class RuleIn(RuleConditions):
    name: Name
    is_active: StrictBool = True
    position: Position | None = Field(None, description="Where in the table (1 = first); default: last.")
    department_id: BodyId | None = None
    queue_id: BodyId | None = None
    set_priority: Priority | None = None
    sla_policy_id: BodyId | None = None


class RulePatch(Input):
    """Only the fields sent change; the place in the table changes through /routing-rules/reorder."""

    name: Name = None  # type: ignore[assignment]
    is_active: StrictBool = None  # type: ignore[assignment]
    kinds: list[Ticket.Kind] = Field(None, max_length=10)
    category_id: BodyId | None = None
    include_subcategories: StrictBool = None  # type: ignore[assignment]
    channels: list[Channel] = Field(None, max_length=20)
    priorities: list[Priority] = Field(None, max_length=4)
    customer_vip: StrictBool | None = None
    customer_tiers: list[RoutingRule.Tier] = Field(None, max_length=3)
    customer_tag_id: BodyId | None = None
    provinces: list[Word] = Field(None, max_length=50)
    keywords: list[Word] = Field(None, max_length=50)
    department_id: BodyId | None = None
    queue_id: BodyId | None = None
    set_priority: Priority | None = None
    sla_policy_id: BodyId | None = None


class ReorderIn(Input):
    order: list[BodyId] = Field(max_length=1000, description="Every rule's id, once each, in the new order.")


class RuleOut(Schema):
    id: int
    position: int
    name: str
    is_active: bool
    kinds: list[str]
    category_id: int | None
    include_subcategories: bool
    channels: list[str]
    priorities: list[int]
    customer_vip: bool | None
    customer_tiers: list[str]
    customer_tag_id: int | None
    provinces: list[str]
    keywords: list[str]
    department_id: int | None
    queue_id: int | None
    set_priority: int | None
    sla_policy_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_-]*$")
    limit: int | None = Field(None, ge=1, le=200)


class PreviewIn(Input):
    """A ticket as it would be opened; nothing is written and no queue moves its turn."""

    customer_id: BodyId
    subject: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
    kind: Ticket.Kind = Ticket.Kind.INQUIRY
    channel: Channel = Channel.PHONE
    priority: Priority = 2
    category_id: BodyId | None = None


class DecisionOut(Schema):
    rule_id: int | None
    department_id: int | None
    queue_id: int | None
    priority: int | None = Field(description="The priority routing sets; null: the ticket's own stays.")
    assignee_id: int | None = Field(description="The dedicated agent, when there is one; otherwise the queue "
                                                "assigns when the ticket is opened.")
    sla_policy_id: int | None
    reasons: list[str]
