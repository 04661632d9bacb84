"""The agent workbench's inbox (thin): views, filters and sort parsed by TicketFilter (as the API list does), keyset
"show more", bulk actions that call the ticket services once per ticket, and "take it" (assign to me)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

import pydantic
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import users_for
from loopcrm.core.errors import DomainError, PermissionDenied
from loopcrm.core.pages import (
    bad_filters_message,
    domain_pages,
    htmx_target,
    is_fragment,
    list_problem,
    render_list,
)
from loopcrm.service import forms as service_forms
from loopcrm.service.filters import DEFAULT_SORT, TicketFilter
from loopcrm.service.forms import BulkForm, InboxView, Option, TicketFilterForm, category_choices, once
from loopcrm.service.models import Queue
from loopcrm.service.queries import tickets as ticket_queries
from loopcrm.service.queries.config import current_stamp, stamped_list
from loopcrm.service.queries.sla import lead_clocks
from loopcrm.service.queries.tickets import get_ticket_for, tickets_for
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.views import lead, ticket_page

TEMPLATE = "service/workbench/inbox.html"
FILTER_NAMES = frozenset(TicketFilter.model_fields) - {"limit"}
DEFAULT_VIEW = InboxView.MINE


def _scope_key(user: User) -> tuple:
    """What the people and queues a user is offered depend on, besides the stamped rows themselves."""
    path = user.department.path if user.department_id is not None else None
    return (can(user, "directory", "view"), path)


def agents_for(user: User, stamp: Callable[[], str | None] = current_stamp):
    """The people of the user's department line (a ticket's usual hands), as a callable: only read when a
    select is drawn, and then from the per-stamp list when the process has it. A select of every user would
    cost a millisecond per option."""
    def agents():
        people = users_for(user).filter(is_active=True)
        if user.department_id is not None:
            people = people.filter(department__path__startswith=user.department.path)
        return service_forms.people(people.order_by("display_name", "username"))
    return once(lambda: stamped_list(stamp(), ("agents", *_scope_key(user)), agents))


def queues_of(user: User, stamp: Callable[[], str | None] = current_stamp):
    """The queues the user works (all active ones for someone outside any department), as (pk, name) options."""
    def queues():
        rows = ticket_queries.my_queues(user) if user.department_id is not None else \
            Queue.objects.filter(is_active=True)
        return [Option(pk, name) for pk, name in rows.order_by("name").values_list("pk", "name")]
    key = ("queues", user.pk if user.department_id is not None else None, *_scope_key(user))
    return once(lambda: stamped_list(stamp(), key, queues))


MAX_PANELS = 512
_panels: dict[tuple, str] = {}


def filter_panel(form: TicketFilterForm, *, stamp: Callable[[], str | None]) -> str:
    """The filter selects as drawn (web/_field.html for each), kept per process under the stamp, the person,
    the language and the values chosen: the same panel drawn again costs a dictionary lookup instead of eight
    includes and three option lists. Without a stamp: drawn every time."""
    user, stamp_now = form.user, stamp()
    key = (connection.settings_dict["NAME"], stamp_now, get_language(), user.pk, user.role, *_scope_key(user),
           form.is_bound, tuple(form.data.get(name) for name in form.FILTERS))
    html = _panels.get(key) if stamp_now is not None else None
    if html is None:
        template = get_template("web/_field.html")
        html = mark_safe("".join(template.render({"field": field}) for field in form.filter_fields()))  # noqa: S308
        if stamp_now is not None:
            if len(_panels) >= MAX_PANELS:
                _panels.clear()
            _panels[key] = html
    return html


def _params(data: QueryDict) -> dict[str, str]:
    params = {key: value for key, value in data.items() if key in FILTER_NAMES and value.strip() != ""}
    params.setdefault("view", DEFAULT_VIEW)
    return params


@dataclass
class BulkFailure:
    ticket_id: int
    message: str


@dataclass
class BulkReport:
    done: list[int] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)


def _inbox_context(request: HttpRequest, data: QueryDict, *, bulk: BulkReport | None = None,
                   bulk_form: BulkForm | None = None) -> dict:
    user = request.user
    params = _params(data)
    stamp = cache(current_stamp)  # read once, and only when a select is drawn
    agents = agents_for(user, stamp)
    form = TicketFilterForm(data or None, user=user, agents=agents, queues=queues_of(user, stamp),
                            categories=once(lambda: stamped_list(stamp(), ("categories",), category_choices)))
    page, problem = None, None
    try:
        filters = TicketFilter(**params)
        page = ticket_queries.ticket_page(user, filters, fields=ticket_queries.INBOX_ROW_FIELDS)
    except pydantic.ValidationError as error:
        problem = bad_filters_message(error, {name: form.fields[name].label for name in form.fields})
    except DomainError as error:  # an unknown sort or a cursor that does not fit
        problem = list_problem(error)
    if page is not None:
        clocks = lead_clocks(page.items)
        for ticket in page.items:
            ticket.sla_clock = clocks.get(ticket.pk)
    view = params["view"] if params["view"] in InboxView.VALUES else DEFAULT_VIEW
    return {
        "form": form, "filter_panel": lambda: filter_panel(form, stamp=stamp),  # drawn only on a full page
        "page": page, "problem": problem, "sort": params.get("sort", DEFAULT_SORT),
        "view": view, "views": InboxView.CHOICES, "view_label": dict(InboxView.CHOICES).get(view, ""),
        "is_filtered": any(key not in ("sort", "cursor", "view") for key in params),
        "bulk_form": bulk_form or BulkForm(agents=agents, prefix="bulk"), "bulk": bulk,
        "can_assign": can(user, "ticket", "assign"),
    }


@login_required
@domain_pages
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def ticket_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox: one view (mine, my team, unassigned, breaching soon, all), filters and sort."""
    if not can(request.user, "ticket", "view"):
        raise PermissionDenied(_("Your role does not work with tickets."))
    context = _inbox_context(request, request.GET)
    response = render_list(request, TEMPLATE, context, results="inbox-results")
    if htmx_target(request) == "inbox-results":  # the address bar follows the filters
        shown = {key: value for key, value in _params(request.GET).items()
                 if key != "cursor" and not (key == "sort" and value == DEFAULT_SORT)}
        push_url(response, reverse("web:ticket_inbox") + (f"?{urlencode(shown)}" if shown else ""))
    return response


def _apply(action: str, ticket, *, by: User, data: dict) -> None:
    """One bulk action on one ticket, through its service."""
    if action == BulkForm.ASSIGN_ME:
        ticket_services.assign(ticket, to=by, by=by, reason=data.get("reason") or "")
    elif action == BulkForm.ASSIGN:
        agent = users_for(by).filter(pk=data["agent"]).first()
        ticket_services.assign(ticket, to=agent, by=by, reason=data.get("reason") or "")
    elif action == BulkForm.STATUS:
        ticket_services.change_status(ticket, data["status"], by=by)
    elif action == BulkForm.PRIORITY:
        ticket_services.set_priority(ticket, data["priority"], by=by)


@login_required
@require_POST
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected tickets, each on its own: what one ticket refuses is reported, the
    others go through."""
    agents = agents_for(request.user)
    form = BulkForm(request.POST, agents=agents, prefix="bulk")
    report = None
    if form.is_valid():
        report = BulkReport()
        action = form.cleaned_data["action"]
        wanted = list(dict.fromkeys(form.cleaned_data["ticket"]))
        found = {ticket.pk: ticket for ticket in tickets_for(request.user, "change").filter(pk__in=wanted)}
        for ticket_id in wanted:
            ticket = found.get(ticket_id)
            if ticket is None:
                report.failed.append(BulkFailure(ticket_id, _("You may not work on this ticket, or it is gone.")))
                continue
            try:
                _apply(action, ticket, by=request.user, data=form.cleaned_data)
            except DomainError as error:
                report.failed.append(BulkFailure(ticket_id, error.message))
            else:
                report.done.append(ticket_id)
    if not is_fragment(request):
        if report is None:
            messages.error(request, _("Choose tickets and an action."))
        else:
            messages.success(request, _("%(count)d tickets changed.") % {"count": len(report.done)})
            for failure in report.failed:
                messages.warning(request, f"#{failure.ticket_id}: {failure.message}")
        return redirect("web:ticket_inbox")
    filters = QueryDict(mutable=True)
    for key in FILTER_NAMES - {"cursor"}:
        if key in request.POST:
            filters[key] = request.POST[key]
    context = _inbox_context(request, filters, bulk=report, bulk_form=None if report else form)
    if report is None:
        context["problem"] = _("Choose at least one ticket and an action (with its value).")
    status = 422 if report is None else 200
    return render(request, f"{TEMPLATE}#results", context, status=status)


@login_required
@domain_pages
@require_POST
def ticket_take(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Assign the ticket to me (the inbox's "a" key and the ticket page's "Take it" button)."""
    ticket = get_ticket_for(request.user, ticket_id, "change")
    try:
        ticket_services.assign(ticket, to=request.user, by=request.user)
    except DomainError as error:
        if not error.field and error.status in (403, 404):
            raise
        messages.error(request, error.message)
        status = 422
    else:
        messages.success(request, _("Ticket #%(id)s is yours.") % {"id": ticket.pk})
        status = 200
    if is_fragment(request):
        response = HttpResponse(status=status)
        response["HX-Redirect" if status == 200 else "HX-Refresh"] = (
            reverse("web:ticket_detail", args=[ticket.pk]) if status == 200 else "true")
        return response
    return redirect("web:ticket_detail", ticket.pk)


urlpatterns = [
    *ticket_page.urlpatterns,
    *lead.urlpatterns,
    path("service/tickets/", ticket_inbox, name="ticket_inbox"),
    path("service/tickets/bulk/", ticket_bulk, name="ticket_bulk"),
    path("service/tickets/<int:ticket_id>/take/", ticket_take, name="ticket_take"),
]
