"""API schemas for standard service processes and a ticket's steps, one per direction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.accounts.models import Role
from loopcrm.core.api import BodyId
from loopcrm.service.models import Ticket
from loopcrm.service.services.processes import MAX_TARGET_MINUTES, REQUIRED_FIELD_CHOICES


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, *, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


Key = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                           description="Lower-case letters, digits, - and _.")]
RequiredField = Literal[REQUIRED_FIELD_CHOICES]  # type: ignore[valid-type]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class StepIn(Input):
    key: Key
    name: _text(100, min_length=1)  # type: ignore[valid-type]
    target_minutes: Annotated[StrictInt, Field(ge=1, le=MAX_TARGET_MINUTES,
                                               description="The control point, in business minutes.")]
    description: _text(2000) = ""  # type: ignore[valid-type]
    responsible_role: Role | Literal[""] = ""
    responsible_department_id: BodyId | None = None
    is_mandatory: StrictBool = True
    checklist: list[_text(200, min_length=1)] = Field(default_factory=list, max_length=30)  # type: ignore[valid-type]
    required_fields: list[RequiredField] = Field(default_factory=list, max_length=len(REQUIRED_FIELD_CHOICES),
                                                 description="Ticket fields that must be filled to complete it.")
    start_on_status: Ticket.Status | Literal[""] = Field("", description="Start the step when the ticket "
                                                                         "reaches this status.")
    complete_on_status: Ticket.Status | Literal[""] = Field("", description="Complete it (if its checks pass) "
                                                                            "when the ticket reaches this status.")


class VersionIn(Input):
    change_note: _text(500) = ""  # type: ignore[valid-type]
    steps: list[StepIn] = Field(min_length=1, max_length=50)


class ProcessIn(Input):
    key: Key
    name: _text(100, min_length=1)  # type: ignore[valid-type]
    description: _text(2000) = ""  # type: ignore[valid-type]
    ticket_kind: Ticket.Kind | Literal[""] = Field("", description="Empty: every kind.")
    category_id: BodyId | None = Field(None, description="This category and below; empty: every category.")
    steps: list[StepIn] | None = Field(None, max_length=50, description="When given, version 1 is published.")
    change_note: _text(500) = ""  # type: ignore[valid-type]


class ProcessPatch(Input):
    name: _text(100, min_length=1) = None  # type: ignore[valid-type]
    description: _text(2000) = None  # type: ignore[valid-type]
    ticket_kind: Ticket.Kind | Literal[""] = None  # type: ignore[assignment]
    category_id: BodyId | None = None
    is_active: StrictBool = None  # type: ignore[assignment]


class StepOut(Schema):
    id: int
    position: int
    key: str
    name: str
    description: str
    responsible_role: str
    responsible_department_id: int | None
    target_minutes: int
    is_mandatory: bool
    checklist: list[str]
    required_fields: list[str]
    start_on_status: str
    complete_on_status: str


class VersionSummary(Schema):
    number: int
    published_at: dt.datetime
    published_by_id: int | None
    change_note: str
    is_current: bool


class VersionOut(VersionSummary):
    definition_id: int
    steps: list[StepOut]
    flowchart_url: str

    @staticmethod
    def resolve_steps(version) -> list:
        return list(version.steps.all())

    @staticmethod
    def resolve_flowchart_url(version) -> str:
        return f"/api/v1/processes/{version.definition_id}/versions/{version.number}/flowchart.svg"


class ProcessOut(Schema):
    id: int
    key: str
    name: str
    description: str
    ticket_kind: str
    category_id: int | None
    is_active: bool
    current_version: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ProcessDetailOut(ProcessOut):
    versions: list[VersionSummary]


class ChecklistItemOut(Schema):
    text: str
    ticked: bool


class StepProgressOut(Schema):
    id: int = Field(description="The ticket step's id: what start/complete/skip take.")
    key: str
    name: str
    position: int
    status: Literal["pending", "active", "done", "skipped"]
    is_mandatory: bool
    responsible_role: str
    responsible_department: str
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    elapsed_minutes: int | None
    target_minutes: int
    over_target: bool | None
    minutes_over: int
    checklist: list[ChecklistItemOut]
    required_fields: list[str]
    missing_fields: list[str]

    @staticmethod
    def resolve_checklist(step) -> list[dict]:
        return [{"text": text, "ticked": ticked} for text, ticked in step.checklist]


class ProgressOut(Schema):
    ticket_id: int
    process_id: int | None
    process_name: str | None
    version: int | None
    can_resolve: bool
    steps: list[StepProgressOut]


class StepActionIn(Input):
    checklist: list[Annotated[StrictInt, Field(ge=0, le=100)]] | None = Field(
        None, max_length=30, description="Complete: tick these checklist items (by index) first.")
    note: _text(500) = Field("", description="Skip: why.")  # type: ignore[valid-type]


class ChecklistIn(Input):
    index: Annotated[StrictInt, Field(ge=0, le=100)]
    ticked: StrictBool = True


class ProcessListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_-]*$")
    limit: int | None = Field(None, ge=1, le=200)
