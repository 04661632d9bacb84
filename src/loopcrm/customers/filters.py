"""The one filter definition of the customer list, parsed by the API list and the htmx list page alike."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field, ValidationInfo, field_validator

from loopcrm.core.api import QueryId
from loopcrm.customers.models import Customer, SourceChannel

# Sort keys a client may ask for, each served by an index (see Customer.Meta.indexes); others are a 400.
SORTS: tuple[str, ...] = ("-id", "id", "name", "-name", "-updated_at", "updated_at", "-created_at")
DEFAULT_SORT = "-id"


class CustomerFilter(Schema):
    q: str | None = Field(
        None, max_length=100,
        description="Part of a name (one character: names starting with it), a phone fragment, or an email.",
    )
    kind: Customer.Kind | None = None
    province: str | None = Field(None, max_length=50)
    city: str | None = Field(None, max_length=50)
    department_id: QueryId | None = None
    owner_id: QueryId | None = None
    tag: str | None = Field(None, max_length=50, description="A tag name (case-insensitive).")
    source_channel: SourceChannel | None = None
    is_vip: bool | None = None
    sort: str = Field(
        DEFAULT_SORT, max_length=20,
        description=f"One of {', '.join(SORTS)}; anything else answers 400.",
    )
    cursor: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$", description="`next_cursor` of the previous page."
    )
    limit: int | None = Field(
        None, ge=1, description="Rows per page: 25 by default, at most 200 (larger values are capped)."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_unset(cls, value: Any, info: ValidationInfo) -> Any:
        # An HTML form sends every field, empty ones as "": that means "no filter", not a bad value.
        if value == "":
            return DEFAULT_SORT if info.field_name == "sort" else None
        return value

    @field_validator("q", "province", "city", "tag", "cursor", "sort")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
