"""Reads of SLA policies, business calendars and clocks: the read doors, the clock summaries the
workbench shows, the "breaching soon" filter and SLA attainment per policy, team or agent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from django.db.models import Avg, Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Team, User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.service.businesstime import Calendar, business_time_between
from loopcrm.service.models import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy, Ticket
from loopcrm.service.models.sla import WEEKDAY_KEYS
from loopcrm.service.queries import tickets as ticket_queries

MAX_ID = 2**63 - 1

# --- read doors ----------------------------------------------------------------------------------


def policies_for(user: User, action: str = "view") -> QuerySet[SlaPolicy]:
    """SLA policies `user` may see (or change): service configuration is all or nothing."""
    if not can(user, "service_config", action):
        return SlaPolicy.objects.none()
    return SlaPolicy.objects.select_related("calendar", "category", "customer_tag", "breach_queue", "breach_assignee")


def calendars_for(user: User, action: str = "view") -> QuerySet[BusinessCalendar]:
    if not can(user, "service_config", action):
        return BusinessCalendar.objects.none()
    return BusinessCalendar.objects.all()


def _get(queryset_for, user: User, pk: int, action: str, *, what: str, field: str):
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
        raise NotFound(_("No %(what)s #%(id)s.") % {"what": what, "id": pk}, field=field)
    row = queryset_for(user, action).filter(pk=pk).first()
    if row is not None:
        return row
    if action != "view" and queryset_for(user, "view").filter(pk=pk).exists():
        raise PermissionDenied(_("Your role may see but not change the service configuration."), field=field)
    raise NotFound(_("No %(what)s #%(id)s.") % {"what": what, "id": pk}, field=field)


def get_policy_for(user: User, policy_id: int, action: str = "view", *, field: str = "policy_id") -> SlaPolicy:
    return _get(policies_for, user, policy_id, action, what=_("SLA policy"), field=field)


def get_calendar_for(user: User, calendar_id: int, action: str = "view", *,
                     field: str = "calendar_id") -> BusinessCalendar:
    return _get(calendars_for, user, calendar_id, action, what=_("business calendar"), field=field)


# --- calendars as the pure arithmetic sees them ---------------------------------------------------

_CALENDARS: dict[int, tuple[dt.datetime, Calendar]] = {}


def weekly_from_json(weekly_hours: dict) -> dict[int, list]:
    return {index: weekly_hours.get(key, []) for index, key in enumerate(WEEKDAY_KEYS)}


def pure_calendar(calendar: BusinessCalendar, days: list[CalendarDay] | None = None) -> Calendar:
    """The business-time Calendar of a stored calendar, cached per process until the calendar changes.

    Every change to a calendar or its days saves the calendar (its `updated_at` moves), which is
    what the cache is keyed on.
    """
    cached = _CALENDARS.get(calendar.pk)
    if cached is not None and cached[0] == calendar.updated_at:
        return cached[1]
    if days is None:
        days = list(CalendarDay.objects.filter(calendar=calendar))
    pure = Calendar(
        calendar.time_zone,
        weekly_from_json(calendar.weekly_hours),
        holidays=[day.date for day in days if day.kind == CalendarDay.Kind.HOLIDAY],
        workdays={day.date: day.hours for day in days if day.kind == CalendarDay.Kind.WORKDAY},
    )
    _CALENDARS[calendar.pk] = (calendar.updated_at, pure)
    return pure


# --- clocks for the workbench -----------------------------------------------------------------------

@dataclass(frozen=True)
class ClockSummary:
    """One clock as the inbox and ticket page show it; `remaining` is business time (negative: overdue)."""

    id: int
    ticket_id: int
    metric: str
    metric_label: str
    state: str
    state_label: str
    target_minutes: int
    started_at: dt.datetime
    due_at: dt.datetime
    warning_at: dt.datetime | None
    met_at: dt.datetime | None
    breached: bool
    remaining: dt.timedelta | None  # None once met or stopped
    elapsed: dt.timedelta
    policy_id: int
    policy_name: str

    @property
    def is_open(self) -> bool:
        return self.state in SlaClock.OPEN

    @property
    def percent_used(self) -> int:
        target = self.target_minutes * 60
        return round(100 * self.elapsed.total_seconds() / target) if target else 100


def _labels() -> dict[str, str]:
    """Metric and state labels in the active language (get_FOO_display per row costs more than the arithmetic)."""
    return {value: str(label) for value, label in [*SlaClock.Metric.choices, *SlaClock.State.choices]}


_ENDED = (SlaClock.State.MET, SlaClock.State.STOPPED)


def _summary(row: dict, calendar: Calendar, *, at: dt.datetime, labels: dict[str, str]) -> ClockSummary:
    """A clock's remaining and elapsed business time at `at` (paused clocks are frozen at their pause), from
    its column values (`row`: the model's field names, `policy_name` for its policy's name)."""
    state = row["state"]
    if state in _ENDED:
        remaining = None
        elapsed = dt.timedelta(seconds=row["elapsed_seconds"] or 0)
    else:
        now = row["paused_at"] if state == SlaClock.State.PAUSED and row["paused_at"] else at
        remaining = business_time_between(now, row["due_at"], calendar)
        elapsed = max(business_time_between(row["started_at"], now, calendar)
                      - dt.timedelta(seconds=row["paused_seconds"]), dt.timedelta(0))
    metric = row["metric"]
    return ClockSummary(
        id=row["id"], ticket_id=row["ticket_id"], metric=metric, metric_label=labels.get(metric, metric),
        state=state, state_label=labels.get(state, state), target_minutes=row["target_minutes"],
        started_at=row["started_at"], due_at=row["due_at"], warning_at=row["warning_at"], met_at=row["met_at"],
        breached=row["breached"], remaining=remaining, elapsed=elapsed, policy_id=row["policy_id"],
        policy_name=row["policy_name"],
    )


def summarise(clock: SlaClock, *, at: dt.datetime, labels: dict[str, str] | None = None) -> ClockSummary:
    """A clock's remaining and elapsed business time at `at` (paused clocks are frozen at their pause)."""
    row = {name: getattr(clock, name) for name in ROW_FIELDS if "__" not in name}
    row.update(id=clock.pk, policy_name=clock.policy.name)
    return _summary(row, pure_calendar(clock.calendar), at=at, labels=labels or _labels())


# What a summary reads: plain rows, not three model instances per clock (an inbox page has ~60 clocks).
ROW_FIELDS = (
    "id", "ticket_id", "metric", "state", "target_minutes", "started_at", "due_at", "warning_at", "met_at",
    "breached", "paused_at", "paused_seconds", "elapsed_seconds", "policy_id", "calendar_id",
)
_METRIC_ORDER = {metric: index for index, metric in enumerate(SlaClock.Metric.values)}


def _calendar_of(row: dict) -> Calendar:
    """The row's calendar from the process's cache while its `updated_at` is the one joined to the row."""
    cached = _CALENDARS.get(row["calendar_id"])
    if cached is not None and cached[0] == row["calendar_updated_at"]:
        return cached[1]
    return pure_calendar(BusinessCalendar.objects.get(pk=row["calendar_id"]))


def _clock_rows(ids: list[int]) -> dict[int, list[dict]]:
    """Each ticket's clocks as rows, in metric order; one query."""
    rows = SlaClock.objects.filter(ticket_id__in=ids).values(
        *ROW_FIELDS, policy_name=F("policy__name"), calendar_updated_at=F("calendar__updated_at"))
    result: dict[int, list[dict]] = {pk: [] for pk in ids}
    for row in sorted(rows, key=lambda r: (r["ticket_id"], _METRIC_ORDER.get(r["metric"], 9))):
        result[row["ticket_id"]].append(row)
    return result


def clock_summaries(tickets, *, at: dt.datetime | None = None) -> dict[int, list[ClockSummary]]:
    """For tickets (or ticket ids), each one's clocks summarised at `at`: one query (three when a calendar
    changed since this process last read it).

    Tickets without clocks map to an empty list.
    """
    at = at or timezone.now()
    ids = [getattr(ticket, "pk", ticket) for ticket in tickets]
    if not ids:
        return {}
    labels = _labels()
    return {pk: [_summary(row, _calendar_of(row), at=at, labels=labels) for row in rows]
            for pk, rows in _clock_rows(ids).items()}


def lead_clocks(tickets, *, at: dt.datetime | None = None) -> dict[int, ClockSummary | None]:
    """For tickets (or ticket ids), the clock a list shows, summarised at `at`: the open one (not met or
    stopped) due first, else the last in metric order; None without clocks. One query, and the business-time
    arithmetic for that clock only."""
    at = at or timezone.now()
    ids = [getattr(ticket, "pk", ticket) for ticket in tickets]
    if not ids:
        return {}
    labels = _labels()
    result: dict[int, ClockSummary | None] = {}
    for pk, rows in _clock_rows(ids).items():
        open_rows = [row for row in rows if row["state"] not in _ENDED]
        lead = min(open_rows, key=lambda row: row["due_at"]) if open_rows else (rows[-1] if rows else None)
        result[pk] = _summary(lead, _calendar_of(lead), at=at, labels=labels) if lead is not None else None
    return result


def ticket_clocks(ticket: Ticket, *, at: dt.datetime | None = None) -> list[ClockSummary]:
    return clock_summaries([ticket.pk], at=at)[ticket.pk]


def tickets_breaching_soon(queryset: QuerySet[Ticket], within: dt.timedelta, at: dt.datetime | None = None, *,
                           include_breached: bool = True) -> QuerySet[Ticket]:
    """The tickets of `queryset` with a ticking clock due by `at + within` (already overdue ones too, unless
    `include_breached` is false). Paused clocks are not ticking. Uses the (state, due_at) index."""
    at = at or timezone.now()
    ticking = [SlaClock.State.RUNNING, SlaClock.State.WARNING]
    if include_breached:
        ticking.append(SlaClock.State.BREACHED)
    due = SlaClock.objects.filter(ticket_id=OuterRef("pk"), state__in=ticking, due_at__lte=at + within)
    if not include_breached:
        due = due.filter(due_at__gt=at)
    return queryset.filter(Exists(due))


def next_due_at():
    """An annotation for ticket querysets: when the ticket's earliest ticking clock falls due (for sorting)."""
    return Min("sla_clocks__due_at", filter=Q(sla_clocks__state__in=SlaClock.ACTIVE))


# --- attainment --------------------------------------------------------------------------------------

GroupBy = Literal["policy", "team", "agent"]


@dataclass(frozen=True)
class AttainmentRow:
    """How one group met its SLA targets in a period: clocks that ended (met or breached) and the share on time."""

    key: int | None
    name: str
    metric: str
    total: int          # clocks started in the period
    met: int            # met without a breach
    breached: int       # breached (met late, or still open past due)
    open: int           # still running or paused, not yet breached
    avg_minutes: float | None  # average business minutes to meet the target

    @property
    def attainment(self) -> float | None:
        """Percent of decided clocks (met on time + breached) that met on time."""
        decided = self.met + self.breached
        return round(100 * self.met / decided, 1) if decided else None


def attainment(user: User, *, group_by: GroupBy, start: dt.datetime, end: dt.datetime,
               metric: str | None = None) -> list[AttainmentRow]:
    """SLA attainment of clocks started in [start, end) on tickets `user` may see, per group and metric.

    Teams are the assignee's teams (an agent in two teams counts in both); tickets nobody was
    assigned fall in a group with key None.
    """
    ticket_ids = ticket_queries.tickets_for(user, "view").values("pk")
    clocks = SlaClock.objects.filter(started_at__gte=start, started_at__lt=end, ticket__in=ticket_ids)
    if metric:
        clocks = clocks.filter(metric=metric)
    key = {"policy": "policy_id", "team": "ticket__assignee__teams", "agent": "ticket__assignee_id"}[group_by]
    open_states = list(SlaClock.OPEN)
    rows = (
        clocks.values(group=F(key), clock_metric=F("metric"))
        .annotate(
            total=Count("id"),
            met=Count("id", filter=Q(state=SlaClock.State.MET, breached=False)),
            late=Count("id", filter=Q(breached=True)),
            still_open=Count("id", filter=Q(state__in=open_states, breached=False)),
            avg_seconds=Avg("elapsed_seconds", filter=Q(state=SlaClock.State.MET)),
        )
        .order_by("group", "clock_metric")
    )
    rows = list(rows)
    names = _group_names(group_by, {row["group"] for row in rows if row["group"] is not None})
    return [
        AttainmentRow(
            key=row["group"], name=names.get(row["group"], _("Unassigned")), metric=row["clock_metric"],
            total=row["total"], met=row["met"], breached=row["late"], open=row["still_open"],
            avg_minutes=round(row["avg_seconds"] / 60, 1) if row["avg_seconds"] is not None else None,
        )
        for row in rows
    ]


def _group_names(group_by: GroupBy, keys: set[int]) -> dict[int | None, str]:
    if group_by == "policy":
        return dict(SlaPolicy.objects.filter(pk__in=keys).values_list("pk", "name"))
    if group_by == "team":
        return dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {user.pk: str(user) for user in User.objects.filter(pk__in=keys)}
