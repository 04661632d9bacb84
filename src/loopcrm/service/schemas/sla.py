"""API schemas for SLA policies, business calendars, ticket clocks and attainment, one per direction.
Unknown fields are refused; types are not coerced; lists and texts are capped."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId
from loopcrm.core.choices import Channel
from loopcrm.service.models import CalendarDay, SlaClock, Ticket
from loopcrm.service.queries.sla import AttainmentRow, ClockSummary


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
DayName = Annotated[str, Field(max_length=100), AfterValidator(_no_nul)]
TimeOfDay = Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$", description="HH:MM, 00:00 to 24:00.")]
Interval = Annotated[list[TimeOfDay], Field(min_length=2, max_length=2, description='["09:00", "12:00"]')]
DayHours = Annotated[list[Interval], Field(max_length=12)]
Priority = Annotated[StrictInt, Field(ge=1, le=4, description="1 low, 2 normal, 3 high, 4 urgent.")]
Minutes = Annotated[StrictInt, Field(ge=1, le=527_040, description="Business minutes.")]
Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Position = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, description="IANA name, e.g. Asia/Shanghai.")]
Tier = Literal["high", "medium", "low"]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- calendars ---------------------------------------------------------------------------------------

class WeeklyHours(Input):
    """Working intervals per weekday; a day left out or empty is a day off."""

    mon: DayHours | None = None
    tue: DayHours | None = None
    wed: DayHours | None = None
    thu: DayHours | None = None
    fri: DayHours | None = None
    sat: DayHours | None = None
    sun: DayHours | None = None


class CalendarDayIn(Input):
    date: dt.date
    kind: CalendarDay.Kind = Field(description="holiday: no work that date; workday: a make-up working day (调休).")
    name: DayName = ""
    hours: DayHours = Field(default_factory=list, description="Working hours of a make-up day; none for a holiday.")


Days = Annotated[list[CalendarDayIn], Field(max_length=1000, description="Holidays and make-up working days.")]


class CalendarIn(Input):
    name: Name
    time_zone: ZoneName = "Asia/Shanghai"
    weekly_hours: WeeklyHours
    days: Days = Field(default_factory=list)
    is_default: StrictBool = False


class CalendarPatch(Input):
    """Only the fields sent change; `days` replaces every holiday and make-up day."""

    name: Name = None  # type: ignore[assignment]
    time_zone: ZoneName = None  # type: ignore[assignment]
    weekly_hours: WeeklyHours = None  # type: ignore[assignment]
    days: Days = None  # type: ignore[assignment]
    is_default: StrictBool = Field(None, description="true makes this the default (only true is accepted).")


class CalendarDayOut(Schema):
    date: dt.date
    kind: str
    name: str
    hours: list[list[str]]


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    weekly_hours: dict[str, list[list[str]]]
    is_default: bool
    days: list[CalendarDayOut]
    updated_at: dt.datetime

    @staticmethod
    def resolve_days(calendar) -> list:
        return list(calendar.days.all())


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, le=10_000, description="Page size; at most 200.")


# --- policies -------------------------------------------------------------------------------------------

class PolicyFields(Input):
    is_active: StrictBool = True
    position: Position | None = Field(None, description="Lower comes first; default: after the last.")
    priorities: list[Priority] = Field(default_factory=list, max_length=4)
    kinds: list[Ticket.Kind] = Field(default_factory=list, max_length=10)
    category_id: BodyId | None = Field(None, description="This ticket category (and, by default, below it).")
    include_subcategories: StrictBool = True
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    customer_tiers: list[Tier] = Field(default_factory=list, max_length=3)
    customer_vip: StrictBool | None = Field(None, description="null: any customer; true: VIPs; false: non-VIPs.")
    customer_tag_id: BodyId | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    calendar_id: BodyId | None = Field(None, description="null: the default calendar.")
    warning_percent: Percent = 80
    pause_on_hold: StrictBool = False
    warning_notify_lead: StrictBool = True
    warning_raise_priority: StrictBool = False
    breach_notify_lead: StrictBool = True
    breach_raise_priority: StrictBool = False
    breach_queue_id: BodyId | None = None
    breach_assignee_id: BodyId | None = None


class PolicyIn(PolicyFields):
    name: Name


class PolicyPatch(Input):
    """Only the fields sent change. Running clocks keep their targets."""

    name: Name = None  # type: ignore[assignment]
    is_active: StrictBool = None  # type: ignore[assignment]
    position: Position = None  # type: ignore[assignment]
    priorities: list[Priority] = Field(None, max_length=4)
    kinds: list[Ticket.Kind] = Field(None, max_length=10)
    category_id: BodyId | None = None
    include_subcategories: StrictBool = None  # type: ignore[assignment]
    channels: list[Channel] = Field(None, max_length=20)
    customer_tiers: list[Tier] = Field(None, max_length=3)
    customer_vip: StrictBool | None = None
    customer_tag_id: BodyId | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    calendar_id: BodyId | None = None
    warning_percent: Percent = None  # type: ignore[assignment]
    pause_on_hold: StrictBool = None  # type: ignore[assignment]
    warning_notify_lead: StrictBool = None  # type: ignore[assignment]
    warning_raise_priority: StrictBool = None  # type: ignore[assignment]
    breach_notify_lead: StrictBool = None  # type: ignore[assignment]
    breach_raise_priority: StrictBool = None  # type: ignore[assignment]
    breach_queue_id: BodyId | None = None
    breach_assignee_id: BodyId | None = None


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    priorities: list[int]
    kinds: list[str]
    category_id: int | None
    include_subcategories: bool
    channels: list[str]
    customer_tiers: list[str]
    customer_vip: bool | None
    customer_tag_id: int | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    calendar_id: int | None
    warning_percent: int
    pause_on_hold: bool
    warning_notify_lead: bool
    warning_raise_priority: bool
    breach_notify_lead: bool
    breach_raise_priority: bool
    breach_queue_id: int | None
    breach_assignee_id: int | None
    updated_at: dt.datetime


# --- clocks and attainment ----------------------------------------------------------------------------------

class ClockOut(Schema):
    """One SLA clock of a ticket; minutes are business minutes (remaining < 0: overdue; null once met/stopped)."""

    id: int
    metric: SlaClock.Metric
    state: SlaClock.State
    policy_id: int
    policy_name: str
    target_minutes: int
    started_at: dt.datetime
    warning_at: dt.datetime | None
    due_at: dt.datetime
    met_at: dt.datetime | None
    breached: bool
    remaining_minutes: float | None
    elapsed_minutes: float

    @staticmethod
    def resolve_remaining_minutes(clock: ClockSummary) -> float | None:
        return None if clock.remaining is None else round(clock.remaining.total_seconds() / 60, 1)

    @staticmethod
    def resolve_elapsed_minutes(clock: ClockSummary) -> float:
        return round(clock.elapsed.total_seconds() / 60, 1)


class AttainmentParams(Schema):
    model_config = ConfigDict(populate_by_name=True)

    group_by: Literal["policy", "team", "agent"] = "policy"
    start: dt.datetime | None = Field(None, alias="from", description="Clocks started at or after this time; "
                                                                      "default: 30 days ago.")
    end: dt.datetime | None = Field(None, alias="to", description="Clocks started before this time; default: now.")
    metric: SlaClock.Metric | None = None


class AttainmentOut(Schema):
    key: int | None = Field(description="The policy, team or agent id; null: no team / unassigned.")
    name: str
    metric: str
    total: int
    met: int
    breached: int
    open: int
    attainment: float | None = Field(description="Percent met on time among met and breached; null when none.")
    avg_minutes: float | None

    @staticmethod
    def resolve_attainment(row: AttainmentRow) -> float | None:
        return row.attainment
