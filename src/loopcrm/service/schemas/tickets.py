"""API schemas of the ticket core, one per direction. Lengths are pinned here (in characters) so the OpenAPI
document shows them; unknown fields are refused (422 naming the field); ids and booleans are strict."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId
from loopcrm.core.choices import Channel
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Queue, RootCause, Ticket, TicketEvent, TicketMessage


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, *, min_length: int = 0, description: str | None = None):
    return Annotated[str, Field(min_length=min_length, max_length=max_length, description=description),
                     AfterValidator(_no_nul)]


Subject = _text(200, min_length=1)
Body = _text(100_000)
Reason = _text(500)
TagName = _text(50, min_length=1)
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Name = _text(100, min_length=1)
Version = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2,
                                 description="A decimal string such as \"50.00\".")]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$",
                                description="ISO 4217, e.g. CNY.")]
Ids = Annotated[list[BodyId], Field(max_length=100)]
# Whole numbers only ("3" is refused), within the choices.
PriorityValue = Annotated[StrictInt, Field(ge=1, le=4, description="1 low, 2 normal, 3 high, 4 urgent.")]
SeverityValue = Annotated[StrictInt, Field(ge=1, le=4, description="1 minor, 2 moderate, 3 major, 4 critical.")]
Tags = Annotated[list[TagName], Field(max_length=50)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- tickets ------------------------------------------------------------------------------------

class TicketIn(Input):
    customer_id: BodyId
    subject: Subject
    description: Body = ""
    kind: Ticket.Kind = Ticket.Kind.INQUIRY
    channel: Channel = Channel.OTHER
    contact_id: BodyId | None = None
    order_id: BodyId | None = None
    category_id: BodyId | None = None
    priority: PriorityValue | None = Field(None, description="Routing may raise it (VIP, high value), never lower.")
    severity: SeverityValue | None = Field(None, description="Complaints only.")
    department_id: BodyId | None = Field(None, description="Wins over routing.")
    queue_id: BodyId | None = Field(None, description="Wins over routing.")
    assignee_id: BodyId | None = Field(None, description="Yourself, or anyone if your role may assign.")
    tags: Tags = Field(default_factory=list)
    follower_ids: Ids = Field(default_factory=list)


class TicketBatchIn(Input):
    """Tickets opened together, all or none, each as POST /tickets would open it (in this order)."""

    tickets: Annotated[list[TicketIn], Field(min_length=1, max_length=500)]


class TicketBatchOut(Schema):
    ids: list[int] = Field(description="The new tickets' ids, in the order of the request.")


class TicketPatch(Input):
    """Only the fields sent change. `version` is the one you read (or send it as `If-Match`)."""

    version: Version | None = Field(None, description="The version you read; a stale one answers 409.")
    subject: Subject = None  # type: ignore[assignment]
    description: Body = None  # type: ignore[assignment]
    kind: Ticket.Kind = None  # type: ignore[assignment]
    channel: Channel = None  # type: ignore[assignment]
    priority: PriorityValue = None  # type: ignore[assignment]
    category_id: BodyId | None = None
    contact_id: BodyId | None = None
    order_id: BodyId | None = None
    department_id: BodyId | None = None
    queue_id: BodyId | None = None
    severity: SeverityValue | None = None
    root_cause_id: BodyId | None = None
    corrective_action: Body = None  # type: ignore[assignment]
    compensation_amount: Money | None = None
    compensation_currency: Currency | None = None


class StatusIn(Input):
    status: Ticket.Status
    reason: Reason = Field("", description="Required to close a ticket that was not resolved.")
    override_reason: Reason = Field("", description="Resolve with mandatory process steps still open.")
    version: Version | None = None


class AssignIn(Input):
    assignee_id: BodyId | None = Field(description="null: back to the queue.")
    reason: Reason = Field("", description="Required when the ticket moves from someone else.")
    version: Version | None = None


class ChangeIds(Input):
    add: Ids = Field(default_factory=list)
    remove: Ids = Field(default_factory=list)


class ChangeTags(Input):
    add: Tags = Field(default_factory=list)
    remove: Tags = Field(default_factory=list)


class MessageIn(Input):
    kind: TicketMessage.Kind = Field(TicketMessage.Kind.REPLY, description="reply (public), note (internal), or "
                                                                           "customer (what the customer said).")
    body: Body = Field(min_length=1)
    status: Ticket.Status | None = Field(None, description="Replies only: move the ticket on (e.g. pending).")
    channel: Channel | None = None


class CallIn(Input):
    customer_id: BodyId
    summary: Body = Field(min_length=1)
    subject: _text(200) = ""  # type: ignore[valid-type]
    ticket_id: BodyId | None = Field(None, description="Log the call on this ticket; none: a new phone ticket.")
    direction: Interaction.Direction = Interaction.Direction.INBOUND
    kind: Ticket.Kind = Ticket.Kind.INQUIRY
    category_id: BodyId | None = None
    priority: PriorityValue | None = None
    resolve: StrictBool = False


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(user) -> str:
        return str(user)


class Ref(Schema):
    id: int
    name: str


class TagOut(Schema):
    id: int
    name: str
    color: str


class TicketOut(Schema):
    id: int
    kind: Ticket.Kind
    subject: str
    description: str
    status: Ticket.Status
    priority: int
    channel: str
    customer: Ref
    contact_id: int | None
    order_id: int | None
    category: Ref | None
    department: Ref | None
    queue: Ref | None
    assignee: UserRef | None
    tags: list[TagOut]
    severity: int | None
    root_cause_id: int | None
    corrective_action: str
    compensation_amount: Decimal | None
    compensation_currency: str
    repeat_of_id: int | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    reopen_count: int
    version: int = Field(description="Send it back when you change the ticket (optimistic concurrency).")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tags(ticket) -> list:
        return list(ticket.tags.all())


class TicketDetailOut(TicketOut):
    followers: list[UserRef]

    @staticmethod
    def resolve_followers(ticket) -> list:
        return list(ticket.followers.all())


class AttachmentOut(Schema):
    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: UserRef | None
    created_at: dt.datetime | None


class MessageOut(Schema):
    id: int
    ticket_id: int
    kind: TicketMessage.Kind
    author: UserRef | None
    body: str
    channel: str
    message_id: str
    in_reply_to: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(message) -> list:
        return list(message.attachments.all())


class EventOut(Schema):
    id: int
    kind: TicketEvent.Kind
    at: dt.datetime
    actor: UserRef | None
    field: str
    old: str
    new: str
    step: str
    data: dict


# --- configuration ------------------------------------------------------------------------------

class CategoryIn(Input):
    name: Name
    code: Code
    parent_id: BodyId | None = None


class CategoryPatch(Input):
    name: Name = None  # type: ignore[assignment]
    code: Code = None  # type: ignore[assignment]
    parent_id: BodyId | None = None
    is_active: StrictBool = None  # type: ignore[assignment]


class CategoryOut(Schema):
    id: int
    name: str
    code: str
    parent_id: int | None
    path: str
    is_active: bool


class RootCauseIn(Input):
    name: Name
    code: Code
    branch: RootCause.Branch | None = Field(None, description="Top-level causes name a branch; sub-causes inherit.")
    parent_id: BodyId | None = None


class RootCausePatch(Input):
    name: Name = None  # type: ignore[assignment]
    code: Code = None  # type: ignore[assignment]
    is_active: StrictBool = None  # type: ignore[assignment]


class RootCauseOut(Schema):
    id: int
    code: str
    name: str
    branch: RootCause.Branch
    parent_id: int | None
    is_active: bool


class QueueIn(Input):
    name: Name
    code: Code
    department_id: BodyId
    strategy: Queue.Strategy = Queue.Strategy.LEAST_LOADED
    member_ids: Ids = Field(default_factory=list)


class QueuePatch(Input):
    name: Name = None  # type: ignore[assignment]
    code: Code = None  # type: ignore[assignment]
    department_id: BodyId = None  # type: ignore[assignment]
    strategy: Queue.Strategy = None  # type: ignore[assignment]
    is_active: StrictBool = None  # type: ignore[assignment]
    member_ids: Ids = Field(None, description="Replaces the member set.")  # type: ignore[assignment]


class QueueOut(Schema):
    id: int
    name: str
    code: str
    department: Ref
    strategy: Queue.Strategy
    is_active: bool
    members: list[UserRef]

    @staticmethod
    def resolve_members(queue) -> list:
        return list(queue.members.all())


class CannedReplyIn(Input):
    title: Name
    body: _text(20_000, min_length=1)  # type: ignore[valid-type]
    department_id: BodyId | None = None


class CannedReplyPatch(Input):
    title: Name = None  # type: ignore[assignment]
    body: _text(20_000, min_length=1) = None  # type: ignore[valid-type,assignment]
    department_id: BodyId | None = None
    is_active: StrictBool = None  # type: ignore[assignment]


class CannedReplyOut(Schema):
    id: int
    title: str
    body: str
    department: Ref | None
    is_active: bool


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="At most 200; larger values are capped.")


class TicketSummaryOut(Schema):
    """A ticket in a short list (the customer 360's open tickets, search results)."""

    id: int
    subject: str
    kind: Ticket.Kind
    status: Ticket.Status
    priority: int
    opened_at: dt.datetime
    assignee: UserRef | None
