"""API schemas for customers, one per direction. Lengths are pinned here (in characters) so the OpenAPI
document shows them; unknown fields are refused (422 naming the field), and types are not coerced
(`"5"` is not an id, `"yes"` is not a boolean)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId
from loopcrm.core.choices import Channel
from loopcrm.customers.models import Consent, Customer, SourceChannel, Tag


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, *, min_length: int = 0, description: str | None = None):
    return Annotated[str, Field(min_length=min_length, max_length=max_length, description=description),
                     AfterValidator(_no_nul)]


Name = _text(200, min_length=1)
PhoneText = _text(64, description="As typed; stored as E.164 beside the original. Mainland numbers need no +86.")
EmailText = _text(254)
ExternalId = _text(100, description="The customer's id in another system (shop, ERP); unique among customers.")
Region = _text(50)
Street = _text(200)
PostalCode = _text(20)
Industry = _text(100)
Notes = _text(10_000)
TagName = _text(50, min_length=1)
Country = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$",
                               description="ISO 3166 two-letter code; national phone numbers are read in it.")]
Id = BodyId
Version = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Tags = Annotated[list[TagName], Field(max_length=50, description="Tag names; unknown ones are created.")]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Input):
    name: Name
    kind: Customer.Kind = Customer.Kind.PERSON
    phone: PhoneText = ""
    email: EmailText = ""
    external_id: ExternalId = ""
    birthday: dt.date | None = None
    country: Country = "CN"
    province: Region = ""
    city: Region = ""
    district: Region = ""
    street: Street = ""
    postal_code: PostalCode = ""
    industry: Industry = ""
    source_channel: SourceChannel | Literal[""] = ""
    owner_id: Id | None = Field(None, description="Defaults to you.")
    department_id: Id | None = Field(None, description="Defaults to the owner's department.")
    tags: Tags = Field(default_factory=list)
    notes: Notes = ""
    is_vip: StrictBool = False


class CustomerPatch(Input):
    """Only the fields sent change. `version` is the one you read (or send it as `If-Match`)."""

    version: Version | None = Field(
        None, description="The version you read. Required here unless sent as the If-Match header; "
                          "a stale one answers 409.",
    )
    # A default of None marks "not sent"; an explicit null is refused for fields that cannot be empty.
    name: Name = None  # type: ignore[assignment]
    kind: Customer.Kind = None  # type: ignore[assignment]
    phone: PhoneText = None  # type: ignore[assignment]
    email: EmailText = None  # type: ignore[assignment]
    external_id: ExternalId = None  # type: ignore[assignment]
    birthday: dt.date | None = None
    country: Country = None  # type: ignore[assignment]
    province: Region = None  # type: ignore[assignment]
    city: Region = None  # type: ignore[assignment]
    district: Region = None  # type: ignore[assignment]
    street: Street = None  # type: ignore[assignment]
    postal_code: PostalCode = None  # type: ignore[assignment]
    industry: Industry = None  # type: ignore[assignment]
    source_channel: SourceChannel | Literal[""] = None  # type: ignore[assignment]
    owner_id: Id | None = Field(None, description="null: nobody owns the customer.")
    department_id: Id | None = None
    tags: Tags = Field(None, description="Replaces the tag set.")  # type: ignore[assignment]
    notes: Notes = None  # type: ignore[assignment]
    is_vip: StrictBool = None  # type: ignore[assignment]


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(user) -> str:
        return str(user)


class DepartmentRef(Schema):
    id: int
    name: str


class TagOut(Schema):
    id: int
    name: str
    color: str


class CustomerOut(Schema):
    id: int
    kind: Customer.Kind
    name: str
    phone: str = Field(description="E.164, or empty.")
    phone_raw: str = Field(description="The phone number as it was entered.")
    email: str
    external_id: str
    birthday: dt.date | None
    country: str
    province: str
    city: str
    district: str
    street: str
    postal_code: str
    industry: str
    source_channel: str
    owner: UserRef | None
    department: DepartmentRef | None
    tags: list[TagOut]
    is_vip: bool
    notes: str
    version: int = Field(description="Send it back when you change the customer (optimistic concurrency).")
    merged_into_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tags(customer) -> list[Tag]:
        return list(customer.tags.all())


class ContactIn(Input):
    name: Name
    title: _text(100) = ""  # type: ignore[valid-type]
    phone: PhoneText = ""
    email: EmailText = ""
    is_primary: StrictBool = False
    notes: Notes = ""


class ContactPatch(Input):
    name: Name = None  # type: ignore[assignment]
    title: _text(100) = None  # type: ignore[valid-type,assignment]
    phone: PhoneText = None  # type: ignore[assignment]
    email: EmailText = None  # type: ignore[assignment]
    is_primary: StrictBool = None  # type: ignore[assignment]
    notes: Notes = None  # type: ignore[assignment]


class ContactOut(Schema):
    id: int
    organisation_id: int
    name: str
    title: str
    phone: str
    phone_raw: str
    email: str
    is_primary: bool
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ConsentIn(Input):
    channel: Channel
    purpose: Consent.Purpose
    status: Consent.Status
    method: Consent.Method = Consent.Method.API
    notice_version: _text(50) = ""  # type: ignore[valid-type]
    note: _text(500) = ""  # type: ignore[valid-type]
    at: dt.datetime | None = Field(None, description="When the customer decided; now if omitted. Not in the future.")


class ConsentOut(Schema):
    id: int
    customer_id: int
    channel: Channel
    purpose: Consent.Purpose
    status: Consent.Status
    at: dt.datetime
    method: Consent.Method
    notice_version: str
    note: str
    recorded_by: UserRef | None


class MergeIn(Input):
    keep_id: Id = Field(description="The customer that stays.")
    duplicate_id: Id = Field(description="The customer folded into it; it stays as a tombstone (`merged_into_id`).")


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="At most 200; larger values are capped.")


class LegalHoldIn(Input):
    reason: _text(500, min_length=1,  # type: ignore[valid-type]
                  description="Why: the case, inquiry or request it is for, without personal data.")


class LegalHoldOut(Schema):
    customer_id: int
    reason: str
    placed_by: int | None = Field(None, alias="placed_by_id")
    placed_at: dt.datetime
