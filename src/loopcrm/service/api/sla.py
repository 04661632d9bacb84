"""REST endpoints (thin): SLA policies, business calendars, a ticket's SLA clocks and SLA attainment.
Reading the configuration needs service_config view, writing service_config change (403 otherwise)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts.queries import users_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.core.times import as_utc
from loopcrm.customers.models import Tag
from loopcrm.service.models import CalendarDay, Queue, TicketCategory
from loopcrm.service.queries import sla as queries
from loopcrm.service.queries.tickets import get_ticket_for
from loopcrm.service.schemas.sla import (
    AttainmentOut,
    AttainmentParams,
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    ClockOut,
    ListParams,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
)
from loopcrm.service.services import sla_config as services

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem}


def _page(page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _references(request, data: dict[str, Any]) -> dict[str, Any]:
    """The ids of the input as the rows they name; an unknown id is a 422 on its field."""
    lookups = {
        "category_id": ("category", TicketCategory.objects.all()),
        "customer_tag_id": ("customer_tag", Tag.objects.all()),
        "calendar_id": ("calendar", queries.calendars_for(request.user)),
        "breach_queue_id": ("breach_queue", Queue.objects.all()),
        "breach_assignee_id": ("breach_assignee", users_for(request.user)),
    }
    for key, (name, queryset) in lookups.items():
        if key in data:
            pk = data.pop(key)
            data[name] = None if pk is None else queryset.filter(pk=pk).first()
            if pk is not None and data[name] is None:
                raise RuleViolation(_("No such %(what)s (#%(id)s).") % {"what": name.replace("_", " "), "id": pk},
                                    field=key)
    return data


def _calendar_data(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("weekly_hours") is not None:
        data["weekly_hours"] = {day: hours for day, hours in data["weekly_hours"].items() if hours}
    return data


def _calendars(request, action: str = "view"):
    return queries.calendars_for(request.user, action).prefetch_related(
        Prefetch("days", queryset=CalendarDay.objects.order_by("date")))


# --- SLA policies --------------------------------------------------------------------------------------

@router.get("/sla-policies", response={200: PageOut[PolicyOut], **COMMON_ERRORS}, url_name="sla_policies",
            summary="List SLA policies", description="In order: the first active policy that matches a ticket applies.")
def list_policies(request, params: Query[ListParams]):
    page = paginate(queries.policies_for(request.user), sort="position", allowed=("position",),
                    cursor=params.cursor, limit=params.limit)
    return _page(page)


@router.post("/sla-policies", response={201: PolicyOut, **CHANGE_ERRORS}, url_name="create_sla_policy",
             summary="Add an SLA policy",
             description="Conditions left empty match anything; at least one target is required.")
def create_policy(request, payload: PolicyIn, response: HttpResponse):
    policy = services.create_policy(by=request.user, **_references(request, payload.model_dump()))
    response["Location"] = f"/api/v1/sla-policies/{policy.pk}"
    return Status(201, policy)


@router.get("/sla-policies/{policy_id}", response={200: PolicyOut, **COMMON_ERRORS}, url_name="sla_policy",
            summary="One SLA policy")
def get_policy(request, policy_id: int):
    return queries.get_policy_for(request.user, policy_id)


@router.patch("/sla-policies/{policy_id}", response={200: PolicyOut, **CHANGE_ERRORS},
              url_name="update_sla_policy", summary="Change an SLA policy",
              description="Clocks already running keep their targets; new tickets get the new ones.")
def update_policy(request, policy_id: int, payload: PolicyPatch):
    policy = queries.get_policy_for(request.user, policy_id, "change")
    changes = _references(request, payload.model_dump(exclude_unset=True))
    for name in ("name", "is_active", "position", "include_subcategories", "priorities", "kinds", "channels",
                 "customer_tiers", "warning_percent", "pause_on_hold", "warning_notify_lead",
                 "warning_raise_priority", "breach_notify_lead", "breach_raise_priority"):
        if name in changes and changes[name] is None:
            raise RuleViolation(_("This field cannot be null."), field=name)
    return services.update_policy(policy, by=request.user, changes=changes)


@router.delete("/sla-policies/{policy_id}", response={204: None, **CHANGE_ERRORS}, url_name="delete_sla_policy",
               summary="Delete an SLA policy",
               description="Refused (409) once tickets were measured against it: deactivate it instead.")
def delete_policy(request, policy_id: int):
    services.delete_policy(queries.get_policy_for(request.user, policy_id, "change"), by=request.user)
    return Status(204, None)


# --- business calendars ----------------------------------------------------------------------------------

@router.get("/business-calendars", response={200: PageOut[CalendarOut], **COMMON_ERRORS},
            url_name="business_calendars", summary="List business calendars")
def list_calendars(request, params: Query[ListParams]):
    return _page(paginate(_calendars(request), sort="id", allowed=("id",), cursor=params.cursor,
                          limit=params.limit))


@router.post("/business-calendars", response={201: CalendarOut, **CHANGE_ERRORS},
             url_name="create_business_calendar", summary="Add a business calendar",
             description="Weekly hours per weekday, holidays and make-up working days (调休) with their hours.")
def create_calendar(request, payload: CalendarIn, response: HttpResponse):
    calendar = services.create_calendar(by=request.user, **_calendar_data(payload.model_dump()))
    response["Location"] = f"/api/v1/business-calendars/{calendar.pk}"
    return Status(201, _calendars(request).get(pk=calendar.pk))


@router.get("/business-calendars/{calendar_id}", response={200: CalendarOut, **COMMON_ERRORS},
            url_name="business_calendar", summary="One business calendar")
def get_calendar(request, calendar_id: int):
    calendar = queries.get_calendar_for(request.user, calendar_id)
    return _calendars(request).get(pk=calendar.pk)


@router.patch("/business-calendars/{calendar_id}", response={200: CalendarOut, **CHANGE_ERRORS},
              url_name="update_business_calendar", summary="Change a business calendar",
              description="`days` replaces every holiday and make-up day. Running clocks keep their due times.")
def update_calendar(request, calendar_id: int, payload: CalendarPatch):
    calendar = queries.get_calendar_for(request.user, calendar_id, "change")
    changes = _calendar_data(payload.model_dump(exclude_unset=True))
    for name in ("name", "time_zone", "weekly_hours", "days", "is_default"):
        if name in changes and changes[name] is None:
            raise RuleViolation(_("This field cannot be null."), field=name)
    services.update_calendar(calendar, by=request.user, changes=changes)
    return _calendars(request).get(pk=calendar.pk)


@router.delete("/business-calendars/{calendar_id}", response={204: None, **CHANGE_ERRORS},
               url_name="delete_business_calendar", summary="Delete a business calendar",
               description="Refused (409) for the default calendar and for one policies or clocks use.")
def delete_calendar(request, calendar_id: int):
    services.delete_calendar(queries.get_calendar_for(request.user, calendar_id, "change"), by=request.user)
    return Status(204, None)


# --- clocks and attainment -------------------------------------------------------------------------------

@router.get("/tickets/{ticket_id}/sla", response={200: list[ClockOut], **COMMON_ERRORS}, url_name="ticket_sla",
            summary="A ticket's SLA clocks", description="Remaining and elapsed time in business minutes, now.")
def ticket_sla(request, ticket_id: int):
    return queries.ticket_clocks(get_ticket_for(request.user, ticket_id))


@router.get("/sla/attainment", response={200: list[AttainmentOut], **COMMON_ERRORS}, url_name="sla_attainment",
            summary="SLA attainment per policy, team or agent",
            description="Clocks started in [from, to) on tickets you may see, per group and target.")
def sla_attainment(request, params: Query[AttainmentParams]):
    end = as_utc(params.end, field="to") if params.end else timezone.now()
    start = as_utc(params.start, field="from") if params.start else end - dt.timedelta(days=30)
    if start >= end:
        raise RuleViolation(_("`from` must be before `to`."), field="from")
    return queries.attainment(request.user, group_by=params.group_by, start=start, end=end, metric=params.metric)
