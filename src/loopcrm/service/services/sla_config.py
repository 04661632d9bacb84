"""SLA configuration: business calendars (hours, holidays, make-up working days) and SLA policies, and
which policy a new ticket gets. Every write checks the "service_config" change permission and audits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core import audit
from loopcrm.core.choices import Channel
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, listing
from loopcrm.customers.models import Tag
from loopcrm.service.businesstime import Calendar, CalendarError, parse_hours
from loopcrm.service.models import BusinessCalendar, CalendarDay, Queue, SlaClock, SlaPolicy, Ticket, TicketCategory
from loopcrm.service.models.sla import WEEKDAY_KEYS

TIERS = ("high", "medium", "low")
MAX_TARGET_MINUTES = 366 * 24 * 60  # a year of business minutes is far beyond any real target
DEFAULT_HOURS = {key: [["09:00", "12:00"], ["13:00", "18:00"]] for key in WEEKDAY_KEYS[:5]}


def _require(by: User | None) -> None:
    if by is not None and not can(by, "service_config", "change"):
        raise PermissionDenied(_("Your role may not change the service configuration."))


# --- calendars ------------------------------------------------------------------------------------

def ensure_default_calendar(*, at: dt.datetime | None = None) -> BusinessCalendar:
    """The default business calendar, created (Monday–Friday 09:00–12:00 and 13:00–18:00 in the
    organisation's zone) the first time anything needs it."""
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    if calendar is not None:
        return calendar
    try:
        with transaction.atomic():
            return BusinessCalendar.objects.create(
                name=_("Standard working hours"), time_zone=timezone.get_default_timezone_name(),
                weekly_hours=DEFAULT_HOURS, is_default=True,
            )
    except IntegrityError:  # someone created it at the same moment
        return BusinessCalendar.objects.get(is_default=True)


def clean_weekly_hours(value: Any, *, field: str = "weekly_hours") -> dict[str, list[list[str]]]:
    """{"mon": [["09:00", "12:00"], …], …} checked: known days, HH:MM times, no overlaps. Empty days are dropped."""
    if not isinstance(value, Mapping):
        raise RuleViolation(_("Give the hours per weekday, e.g. {\"mon\": [[\"09:00\", \"18:00\"]]}."), field=field)
    unknown = sorted(str(key) for key in value if key not in WEEKDAY_KEYS)
    if unknown:
        raise RuleViolation(_("Unknown weekday %(days)s; use %(allowed)s.")
                            % {"days": listing(unknown), "allowed": listing(WEEKDAY_KEYS)}, field=field)
    cleaned = {}
    for key in WEEKDAY_KEYS:
        if value.get(key):
            cleaned[key] = _clean_intervals(value[key], field=f"{field}.{key}")
    if not cleaned:
        raise RuleViolation(_("A calendar needs working hours on at least one weekday."), field=field)
    return cleaned


def _clean_intervals(intervals: Any, *, field: str) -> list[list[str]]:
    if not isinstance(intervals, list | tuple) or not all(isinstance(item, list | tuple) for item in intervals):
        raise RuleViolation(_("Give working hours as a list of [start, end] pairs such as [\"09:00\", \"12:00\"]."),
                            field=field)
    if any(not isinstance(part, str) for item in intervals for part in item):
        raise RuleViolation(_("Write times as \"HH:MM\" text, e.g. \"09:00\"."), field=field)
    try:
        parsed = parse_hours(intervals)
    except CalendarError as error:
        raise RuleViolation(_hours_message(str(error)), field=field) from error
    return [[f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"] for start, end in parsed]


def _hours_message(reason: str) -> str:
    if "overlap" in reason:
        return _("Two working intervals of one day overlap.")
    if "end after" in reason:
        return _("A working interval must end after it starts.")
    if "00:00 to 24:00" in reason:
        return _("Times run from 00:00 to 24:00.")
    return _("Write times as \"HH:MM\", e.g. \"09:00\"; an interval is a start and an end.")


def clean_days(days: Iterable[Mapping[str, Any]], *, field: str = "days") -> list[CalendarDay]:
    """Holidays and make-up working days as unsaved rows: one per date, make-up days with their hours."""
    rows: dict[dt.date, CalendarDay] = {}
    for index, day in enumerate(days):
        where = f"{field}[{index}]"
        date, kind = day.get("date"), day.get("kind")
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise RuleViolation(_("Give the date as YYYY-MM-DD."), field=f"{where}.date")
        if kind not in CalendarDay.Kind.values:
            raise RuleViolation(_("A day is a holiday or a make-up working day (workday)."), field=f"{where}.kind")
        if date in rows:
            raise RuleViolation(_("%(date)s is listed twice.") % {"date": date.isoformat()}, field=f"{where}.date")
        hours: list = []
        if kind == CalendarDay.Kind.WORKDAY:
            hours = _clean_intervals(day.get("hours") or [], field=f"{where}.hours")
            if not hours:
                raise RuleViolation(_("A make-up working day needs its working hours."), field=f"{where}.hours")
        elif day.get("hours"):
            raise RuleViolation(_("A holiday has no working hours."), field=f"{where}.hours")
        name = clean_line(day.get("name") or "", field=f"{where}.name", max_length=100)
        rows[date] = CalendarDay(date=date, kind=kind, name=name, hours=hours)
    return sorted(rows.values(), key=lambda row: row.date)


def _clean_zone(value: str) -> str:
    try:
        Calendar(value, {0: [(540, 600)]})
    except CalendarError as error:
        raise RuleViolation(_("Unknown time zone %(zone)s; use an IANA name such as Asia/Shanghai.")
                            % {"zone": repr(value)}, field="time_zone") from error
    return value


def _clean_calendar_name(name: str, *, exclude: int | None = None) -> str:
    name = clean_line(name, field="name", max_length=100, required=True)
    taken = BusinessCalendar.objects.filter(name=name)
    if exclude:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(_("Another calendar is already called %(name)s.") % {"name": name}, field="name")
    return name


@transaction.atomic
def create_calendar(*, by: User | None, name: str, time_zone: str, weekly_hours: Mapping[str, Any],
                    days: Iterable[Mapping[str, Any]] = (), is_default: bool = False,
                    at: dt.datetime | None = None) -> BusinessCalendar:
    """A business calendar; making it the default takes the mark from the old default."""
    _require(by)
    values = {"name": _clean_calendar_name(name), "time_zone": _clean_zone(time_zone),
              "weekly_hours": clean_weekly_hours(weekly_hours)}
    rows = clean_days(days)
    if is_default:
        BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
    calendar = BusinessCalendar.objects.create(**values, is_default=is_default)
    for row in rows:
        row.calendar = calendar
    CalendarDay.objects.bulk_create(rows)
    audit.record(action="create", obj=calendar, by=by, at=at,
                 changes={**values, "is_default": is_default, "days": [_day_plain(row) for row in rows]})
    return calendar


@transaction.atomic
def update_calendar(calendar: BusinessCalendar, *, by: User | None, changes: Mapping[str, Any],
                    at: dt.datetime | None = None) -> BusinessCalendar:
    """Change a calendar; `days` replaces its holidays and make-up days. Running clocks keep the due times
    they have; clocks started from now on use the new calendar."""
    _require(by)
    unknown = sorted(set(changes) - {"name", "time_zone", "weekly_hours", "days", "is_default"})
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    before = {"name": calendar.name, "time_zone": calendar.time_zone, "weekly_hours": calendar.weekly_hours,
              "is_default": calendar.is_default}
    if "name" in changes:
        calendar.name = _clean_calendar_name(changes["name"], exclude=calendar.pk)
    if "time_zone" in changes:
        calendar.time_zone = _clean_zone(changes["time_zone"])
    if "weekly_hours" in changes:
        calendar.weekly_hours = clean_weekly_hours(changes["weekly_hours"])
    if "is_default" in changes:
        if changes["is_default"] is not True and calendar.is_default:
            raise RuleViolation(_("Make another calendar the default instead."), field="is_default")
        if changes["is_default"] is True and not calendar.is_default:
            BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
            calendar.is_default = True
    record = audit.diff(before, {key: getattr(calendar, key) for key in before})
    if "days" in changes:
        rows = clean_days(changes["days"])
        old = [_day_plain(row) for row in calendar.days.all()]
        CalendarDay.objects.filter(calendar=calendar).delete()
        for row in rows:
            row.calendar = calendar
        CalendarDay.objects.bulk_create(rows)
        new = [_day_plain(row) for row in rows]
        if old != new:
            record["days"] = [old, new]
    calendar.save()  # always: updated_at keys the cache of the business-time calendar
    if record:
        audit.record(action="update", obj=calendar, by=by, changes=record, at=at)
    return calendar


@transaction.atomic
def delete_calendar(calendar: BusinessCalendar, *, by: User | None, at: dt.datetime | None = None) -> None:
    _require(by)
    if calendar.is_default:
        raise Conflict(_("The default calendar cannot be deleted; make another one the default first."),
                       field="is_default")
    if SlaPolicy.objects.filter(calendar=calendar).exists() or SlaClock.objects.filter(calendar=calendar).exists():
        raise Conflict(_("SLA policies or ticket clocks use this calendar; it cannot be deleted."), field="id")
    audit.record(action="delete", obj=calendar, by=by, at=at)
    calendar.delete()


def _day_plain(row: CalendarDay) -> dict:
    return {"date": row.date.isoformat(), "kind": row.kind, "name": row.name, "hours": row.hours}


# --- policies ----------------------------------------------------------------------------------------------

POLICY_FIELDS = frozenset({
    "name", "position", "is_active", "priorities", "kinds", "category", "include_subcategories", "channels",
    "customer_tiers", "customer_vip", "customer_tag", "first_response_minutes", "next_response_minutes",
    "resolution_minutes", "calendar", "warning_percent", "pause_on_hold", "warning_notify_lead",
    "warning_raise_priority", "breach_notify_lead", "breach_raise_priority", "breach_queue", "breach_assignee",
})
_REFERENCES = {"category": TicketCategory, "customer_tag": Tag, "calendar": BusinessCalendar, "breach_queue": Queue,
               "breach_assignee": User}


def _choice_list(value: Any, allowed: Iterable, *, field: str) -> list:
    allowed = list(allowed)
    if not isinstance(value, list | tuple):
        raise RuleViolation(_("Give a list."), field=field)
    wrong = [item for item in value if item not in allowed or isinstance(item, bool)]
    if wrong:
        raise RuleViolation(_("Unknown value %(value)s; use %(allowed)s.")
                            % {"value": listing(map(repr, wrong)), "allowed": listing(allowed)}, field=field)
    return sorted(set(value), key=allowed.index)


def _clean_policy(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    if "name" in values:
        cleaned["name"] = clean_line(values["name"], field="name", max_length=100, required=True)
    if "priorities" in values:
        cleaned["priorities"] = _choice_list(values["priorities"], Ticket.Priority.values, field="priorities")
    if "kinds" in values:
        cleaned["kinds"] = _choice_list(values["kinds"], Ticket.Kind.values, field="kinds")
    if "channels" in values:
        cleaned["channels"] = _choice_list(values["channels"], Channel.values, field="channels")
    if "customer_tiers" in values:
        cleaned["customer_tiers"] = _choice_list(values["customer_tiers"], TIERS, field="customer_tiers")
    for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        minutes = values.get(name)
        if minutes is not None and (isinstance(minutes, bool) or not 1 <= minutes <= MAX_TARGET_MINUTES):
            raise RuleViolation(_("A target is between 1 and %(max)d business minutes.")
                                % {"max": MAX_TARGET_MINUTES}, field=name)
    if "warning_percent" in values and not 1 <= values["warning_percent"] <= 100:
        raise RuleViolation(_("Warn at 1–100 %% of the target (100: no warning before the breach)."),
                            field="warning_percent")
    for name, model in _REFERENCES.items():
        value = values.get(name)
        if value is not None and not isinstance(value, model):
            raise RuleViolation(_("Unknown reference."), field=f"{name}_id")
    assignee = values.get("breach_assignee")
    if assignee is not None and not assignee.is_active:
        raise RuleViolation(_("%(user)s is not an active user.") % {"user": assignee},
                            field="breach_assignee_id")
    return cleaned


def _require_target(policy: SlaPolicy) -> None:
    if all(getattr(policy, name) is None
           for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes")):
        raise RuleViolation(_("Set at least one target: first response, next response or resolution."),
                            field="first_response_minutes")


def _policy_plain(policy: SlaPolicy) -> dict[str, Any]:
    return audit.snapshot(policy, sorted(POLICY_FIELDS))


@transaction.atomic
def create_policy(*, by: User | None, name: str, at: dt.datetime | None = None, **fields: Any) -> SlaPolicy:
    """A new SLA policy; without a position it goes last."""
    _require(by)
    unknown = sorted(set(fields) - POLICY_FIELDS)
    if unknown:
        raise RuleViolation(_("Unknown fields: %(fields)s.") % {"fields": listing(unknown)}, field=unknown[0])
    values = _clean_policy({"name": name, **fields})
    if values.get("position") is None:
        last = SlaPolicy.objects.order_by("-position").values_list("position", flat=True).first()
        values["position"] = (last or 0) + 10
    policy = SlaPolicy(**values)
    _require_target(policy)
    policy.save()
    audit.record(action="create", obj=policy, by=by, changes=_policy_plain(policy), at=at)
    return policy


@transaction.atomic
def update_policy(policy: SlaPolicy, *, by: User | None, changes: Mapping[str, Any],
                  at: dt.datetime | None = None) -> SlaPolicy:
    """Change a policy. Clocks already running keep their targets; new tickets get the new ones."""
    _require(by)
    unknown = sorted(set(changes) - POLICY_FIELDS)
    if unknown:
        raise RuleViolation(_("Unknown fields: %(fields)s.") % {"fields": listing(unknown)}, field=unknown[0])
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    before = _policy_plain(policy)
    for key, value in _clean_policy(dict(changes)).items():
        setattr(policy, key, value)
    _require_target(policy)
    policy.save()
    record = audit.diff(before, _policy_plain(policy))
    if record:
        audit.record(action="update", obj=policy, by=by, changes=record, at=at)
    return policy


@transaction.atomic
def delete_policy(policy: SlaPolicy, *, by: User | None, at: dt.datetime | None = None) -> None:
    """Delete a policy no ticket has used; one with clocks is deactivated instead (409 says so)."""
    _require(by)
    if SlaClock.objects.filter(policy=policy).exists():
        raise Conflict(_("Tickets were measured against this policy; deactivate it instead."), field="id")
    audit.record(action="delete", obj=policy, by=by, at=at)
    policy.delete()


# --- which policy a ticket gets ------------------------------------------------------------------------------

def customer_tier(customer) -> str:
    """The customer's value tier ("high", "medium", "low" or ""): the same lookup routing makes (kept on the
    instance, so routing and the SLA policy of one opening ask the value app once)."""
    from loopcrm.service.services.routing import customer_tier as routing_tier

    return routing_tier(customer)


def policy_matches(policy: SlaPolicy, ticket: Ticket, *, tier: str | None = None,
                   tag_ids: set[int] | None = None) -> bool:
    """Whether `ticket` meets every condition `policy` sets (empty conditions match anything)."""
    if policy.priorities and ticket.priority not in policy.priorities:
        return False
    if policy.kinds and ticket.kind not in policy.kinds:
        return False
    if policy.channels and ticket.channel not in policy.channels:
        return False
    if policy.category_id:
        if ticket.category_id is None:
            return False
        if ticket.category_id != policy.category_id:
            if not policy.include_subcategories:
                return False
            parent_path = policy.category.path
            if not parent_path or not ticket.category.path.startswith(parent_path):
                return False
    if policy.customer_vip is not None and ticket.customer.is_vip != policy.customer_vip:
        return False
    if policy.customer_tiers and (tier if tier is not None else customer_tier(ticket.customer)) \
            not in policy.customer_tiers:
        return False
    if policy.customer_tag_id:
        if tag_ids is None:
            tag_ids = set(ticket.customer.tags.values_list("pk", flat=True))
        if policy.customer_tag_id not in tag_ids:
            return False
    return True


def match_policy(ticket: Ticket, *, config=None) -> SlaPolicy | None:
    """The first active policy (by position) whose conditions the ticket meets, or None (policies from the
    cached configuration, service.queries.config)."""
    from loopcrm.service.queries.config import desk_config
    from loopcrm.service.services.routing import customer_tag_ids

    policies = (config or desk_config()).policies
    tier = customer_tier(ticket.customer) if any(policy.customer_tiers for policy in policies) else ""
    tag_ids = (customer_tag_ids(ticket.customer)
               if any(policy.customer_tag_id for policy in policies) else set())
    for policy in policies:
        if policy_matches(policy, ticket, tier=tier, tag_ids=tag_ids):
            return policy
    return None
