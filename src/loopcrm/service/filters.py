"""The one filter definition of ticket lists, parsed by the API list and the workbench inbox alike."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import Field, ValidationInfo, field_validator

from loopcrm.core.api import QueryId
from loopcrm.core.choices import Channel
from loopcrm.service.models import Ticket

# Sort keys a client may ask for, each served by an index (see Ticket.Meta.indexes); others are a 400.
SORTS: tuple[str, ...] = (
    "-id", "id", "-priority", "priority", "-updated_at", "updated_at", "-opened_at", "opened_at",
)
DEFAULT_SORT = "-id"
VIEWS = ("all", "mine", "team", "unassigned", "breaching")
InboxViewName = Literal["all", "mine", "team", "unassigned", "breaching"]


class TicketFilter(Schema):
    view: InboxViewName = Field(
        "all", description="mine: assigned to you; team: to you and your teams; unassigned: in the queues of "
                           "your departments; breaching: an SLA target due soon or missed; all: all you may see.",
    )
    q: str | None = Field(None, max_length=100,
                          description="A ticket number (#123 or 123), or part of the subject or customer name.")
    status: Ticket.Status | None = None
    open: bool | None = Field(None, description="true: new, open, pending, on hold or reopened; "
                                                "false: resolved or closed.")
    kind: Ticket.Kind | None = None
    priority: Ticket.Priority | None = None
    channel: Channel | None = None
    category_id: QueryId | None = Field(None, description="This category and those below it.")
    department_id: QueryId | None = Field(None, description="This department and those below it.")
    queue_id: QueryId | None = None
    assignee_id: QueryId | None = None
    unassigned: bool | None = None
    customer_id: QueryId | None = None
    tag: str | None = Field(None, max_length=50, description="A tag name (case-insensitive).")
    severity: Ticket.Severity | None = None
    root_cause_id: QueryId | None = None
    sort: str = Field(DEFAULT_SORT, max_length=20, description=f"One of {', '.join(SORTS)}; anything else answers 400.")
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$",
                               description="`next_cursor` of the previous page.")
    limit: int | None = Field(None, ge=1, description="Rows per page: 25 by default, at most 200 (larger are capped).")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_unset(cls, value: Any, info: ValidationInfo) -> Any:
        # An HTML form sends every field, empty ones as "": that means "no filter", not a bad value.
        if value == "":
            return {"sort": DEFAULT_SORT, "view": "all"}.get(info.field_name)
        return value

    @field_validator("q", "tag", "cursor", "sort")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
