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


def summarise(clock: SlaClock, *, at: dt.datetime, labels: dict[str, str] | None = None) -> ClockSummary:
    """A clock's remaining and elapsed business time at `at` (paused clocks are frozen at their pause)."""
    labels = labels or _labels()
    calendar = pure_calendar(clock.calendar)
    if clock.state in (SlaClock.State.MET, SlaClock.State.STOPPED):
        remaining = None
        elapsed = dt.timedelta(seconds=clock.elapsed_seconds or 0)
    else:
        now = clock.paused_at if clock.state == SlaClock.State.PAUSED and clock.paused_at else at
        remaining = business_time_between(now, clock.due_at, calendar)
        elapsed = max(business_time_between(clock.started_at, now, calendar)
                      - dt.timedelta(seconds=clock.paused_seconds), dt.timedelta(0))
    return ClockSummary(
        id=clock.pk, ticket_id=clock.ticket_id, metric=clock.metric,
        metric_label=labels.get(clock.metric, clock.metric), state=clock.state,
        state_label=labels.get(clock.state, clock.state), target_minutes=clock.target_minutes,
        started_at=clock.started_at, due_at=clock.due_at, warning_at=clock.warning_at, met_at=clock.met_at,
        breached=clock.breached, remaining=remaining, elapsed=elapsed, policy_id=clock.policy_id,
        policy_name=clock.policy.name,
    )


SUMMARY_FIELDS = (
    "id", "ticket_id", "metric", "state", "target_minutes", "started_at", "due_at", "warning_at", "met_at",
    "breached", "paused_at", "paused_seconds", "elapsed_seconds", "policy__name", "calendar__updated_at",
    "calendar__time_zone",
)
_METRIC_ORDER = {metric: index for index, metric in enumerate(SlaClock.Metric.values)}


def clock_summaries(tickets, *, at: dt.datetime | None = None) -> dict[int, list[ClockSummary]]:
    """For tickets (or ticket ids), each one's clocks summarised at `at`: one query (three when a calendar
    changed since this process last read it).

    Tickets without clocks map to an empty list.
    """
    at = at or timezone.now()
    ids = [getattr(ticket, "pk", ticket) for ticket in tickets]
    result: dict[int, list[ClockSummary]] = {pk: [] for pk in ids}
    if not ids:
        return result
    # Only what a summary needs; a calendar's hours are read once per process (and after it changes).
    clocks = (SlaClock.objects.filter(ticket_id__in=ids).select_related("calendar", "policy")
              .only(*SUMMARY_FIELDS))
    labels = _labels()
    for clock in sorted(clocks, key=lambda c: (c.ticket_id, _METRIC_ORDER.get(c.metric, 9))):
        result[clock.ticket_id].append(summarise(clock, at=at, labels=labels))
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
