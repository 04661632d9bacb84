"""The ticket page of the agent workbench (thin): the ticket with its conversation, process checklist, SLA
clocks, history and the customer beside it; every action calls one service and answers — for htmx —
the ticket part of the page, fresh, or the form with the service's error next to its field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import Scope, can, scope_for
from loopcrm.accounts.queries import users_for
from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import OrderSummary, customer_order_summary, get_order_for, recent_orders
from loopcrm.core.errors import DomainError, NotFound, PermissionDenied
from loopcrm.core.pages import domain_pages, is_fragment
from loopcrm.customers.filters import CustomerFilter
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customer_page, get_customer_for
from loopcrm.interactions.models import Interaction
from loopcrm.interactions.queries import timeline
from loopcrm.service import forms as service_forms
from loopcrm.service.forms import (
    AssignForm,
    ComposerForm,
    PhoneCallForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TicketForm,
    add_domain_error,
    once,
)
from loopcrm.service.models import Ticket
from loopcrm.service.panels import ticket_panels
from loopcrm.service.queries.config import current_stamp, stamped_list
from loopcrm.service.queries.processes import get_ticket_step, process_progress
from loopcrm.service.queries.sla import ticket_clocks
from loopcrm.service.queries.tickets import (
    canned_reply_list,
    get_attachment_for,
    get_category_for,
    get_ticket_for,
    open_tickets_of,
    ticket_detail,
)
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.services.attachments import Upload, open_attachment
from loopcrm.service.templatetags.workbench import url_of
from loopcrm.value.queries import value_of

TEMPLATE = "service/workbench/ticket.html"
SIDEBAR_ROWS = 5


# --- the customer beside the ticket --------------------------------------------------------------

@dataclass
class CustomerSide:
    """The customer 360 in short: tier and VIP, purchases, latest touches and other open tickets.

    `visible` is False when the agent may work the ticket but not see the customer's record.
    """

    customer: Customer
    visible: bool
    value: Any = None
    summary: OrderSummary | None = None
    orders: list[Order] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    open_tickets: list[Ticket] = field(default_factory=list)


def customer_side(user: User, ticket: Ticket) -> CustomerSide:
    if scope_for(user, "customer", "view") == Scope.ALL:
        # customers_for(user) is then every customer not merged away: the ticket's customer, read with the
        # ticket, answers without reading it again.
        customer = ticket.customer
        if customer.merged_into_id is not None:
            return CustomerSide(customer=customer, visible=False)
    else:
        try:
            customer = get_customer_for(user, ticket.customer_id)
        except NotFound:
            return CustomerSide(customer=ticket.customer, visible=False)
    # The sidebar shows number, subject and status: no joined rows or other columns to build and read.
    others = [row for row in open_tickets_of(customer, user, limit=SIDEBAR_ROWS + 1, fields=("id", "subject", "status"))
              if row.pk != ticket.pk]
    return CustomerSide(
        customer=customer, visible=True, value=value_of(customer), summary=customer_order_summary(customer),
        orders=recent_orders(customer, limit=SIDEBAR_ROWS),
        interactions=timeline(customer, limit=SIDEBAR_ROWS, joined=False).items, open_tickets=others[:SIDEBAR_ROWS],
    )


def agents_of(user: User, ticket: Ticket, stamp: Callable[[], str | None] = current_stamp) -> Callable:
    """Who the ticket could go to: its queue's members, else the people of its department (drawn lazily, and
    kept per process under the configuration stamp, which moves when people or queue membership change)."""
    def agents():
        people = users_for(user).filter(is_active=True)
        if ticket.queue_id is not None and ticket.queue.members.exists():
            people = people.filter(queues=ticket.queue_id)
        elif ticket.department_id is not None:
            people = people.filter(department__path__startswith=ticket.department.path)
        return service_forms.people(people.order_by("display_name", "username"))
    path = ticket.department.path if ticket.department_id is not None else None
    key = ("ticket-agents", can(user, "directory", "view"), ticket.queue_id, path)
    return once(lambda: stamped_list(stamp(), key, agents))


# --- the page ------------------------------------------------------------------------------------

def ticket_urls(ticket: Ticket) -> dict[str, str]:
    """Where the page's forms post and its links go (each URL pattern reversed once per process, not per use)."""
    urls = {action: url_of(f"web:ticket_{action}", ticket.pk)
            for action in ("assign", "status", "priority", "reply", "note")}
    return {**urls, "customer": url_of("web:customer_detail", ticket.customer_id), "inbox": url_of("web:ticket_inbox")}


def page_context(request: HttpRequest, ticket_id: int, **forms_in: forms.Form) -> dict:
    user = request.user
    stamp = cache(current_stamp)  # read once, for the names and lists kept under it
    detail = ticket_detail(user, ticket_id, stamp=stamp)
    ticket = detail.ticket
    allowed = sorted(ticket_services.TRANSITIONS.get(ticket.status, ()))
    side = customer_side(user, ticket)
    context = {
        "detail": detail, "ticket": ticket, "progress": process_progress(ticket, stamp=stamp),
        "clocks": ticket_clocks(ticket),
        "side": side, "panels": ticket_panels(user, ticket, customer_visible=side.visible),
        "may_change": detail.may_change, "may_assign": detail.may_assign,
        "is_mine": ticket.assignee_id == user.pk, "urls": ticket_urls(ticket),
        "canned": canned_reply_list(user, stamp()) if detail.may_change else [],
        "reply_form": ReplyForm(prefix="reply"), "note_form": ComposerForm(prefix="note"),
        "status_form": StatusForm(allowed=allowed, prefix="status", initial={"version": ticket.version}),
        "assign_form": AssignForm(agents=agents_of(user, ticket, stamp), prefix="assign",
                                  initial={"agent": ticket.assignee_id, "version": ticket.version}),
        "priority_form": PriorityForm(prefix="priority", initial={"priority": ticket.priority,
                                                                  "version": ticket.version}),
        "step_error": None,
    }
    for form in forms_in.values():
        if isinstance(form, forms.Form) and "version" in form.fields and form.is_bound:
            # The page shows the ticket as it is now: a second try goes with the version now shown.
            data = form.data.copy()
            data[form.add_prefix("version")] = str(ticket.version)
            form.data = data
        if isinstance(form, StatusForm):
            form.fields["status"].choices = StatusForm(allowed=allowed).fields["status"].choices
    context.update(forms_in)
    return context


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def ticket_detail_page(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page (NotFound out of the agent's scope: 404)."""
    return render(request, TEMPLATE, page_context(request, ticket_id))


def _answer(request: HttpRequest, ticket_id: int, *, error: bool, done: str, **forms_in) -> HttpResponse:
    """After an action: htmx gets the ticket part fresh (422 with the form at fault); a plain form post goes
    back to the page, or shows it with the error."""
    status = 409 if any(getattr(form, "conflict", False) for form in forms_in.values()) else 422
    if is_fragment(request):
        if not error:
            messages.success(request, done)
        context = page_context(request, ticket_id, **(forms_in if error else {}))
        context["fragment"] = True
        return render(request, f"{TEMPLATE}#ticket", context, status=status if error else 200)
    if error:
        return render(request, TEMPLATE, page_context(request, ticket_id, **forms_in), status=status)
    messages.success(request, done)
    return redirect("web:ticket_detail", ticket_id)


def _run(form: forms.Form | None, write: Callable[[], object]) -> bool:
    """Call the service; put its refusal on the form (or re-raise a refusal no form can show). True if it failed."""
    try:
        write()
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied) and not error.field:
            raise
        if form is None:
            raise
        add_domain_error(form, error)
        return True
    return False


def _uploads(files) -> list[Upload]:
    return [Upload(filename=f.name or "upload", content_type=f.content_type or "", content=f, size=f.size)
            for f in files]


@login_required
@domain_pages
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    form = ReplyForm(request.POST, request.FILES, prefix="reply")
    failed = not form.is_valid() or _run(form, lambda: ticket_services.add_reply(
        ticket, body=form.cleaned_data["body"], by=request.user, attachments=_uploads(form.cleaned_data["attachments"]),
        status=form.cleaned_data["then"] or None))
    return _answer(request, ticket_id, error=failed, done=_("Your reply was sent."), reply_form=form)


@login_required
@domain_pages
@require_POST
def ticket_note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    form = ComposerForm(request.POST, request.FILES, prefix="note")
    failed = not form.is_valid() or _run(form, lambda: ticket_services.add_note(
        ticket, body=form.cleaned_data["body"], by=request.user,
        attachments=_uploads(form.cleaned_data["attachments"])))
    return _answer(request, ticket_id, error=failed, done=_("Your note was added."), note_form=form)


@login_required
@domain_pages
@require_POST
def ticket_status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    form = StatusForm(request.POST, prefix="status", allowed=ticket_services.TRANSITIONS.get(ticket.status, ()))
    failed = not form.is_valid()
    if not failed:
        new, reason = form.cleaned_data["status"], form.cleaned_data["reason"]
        failed = _run(form, lambda: ticket_services.change_status(
            ticket, new, by=request.user, reason=reason, version=form.cleaned_data["version"],
            override_reason=reason if new == Ticket.Status.RESOLVED else ""))
    label = dict(Ticket.Status.choices).get(form.cleaned_data.get("status", ""), "") if not failed else ""
    return _answer(request, ticket_id, error=failed, done=_("The ticket is now %(status)s.") % {"status": label},
                   status_form=form)


@login_required
@domain_pages
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    form = AssignForm(request.POST, prefix="assign", agents=agents_of(request.user, ticket))
    failed = not form.is_valid()
    if not failed:
        agent_id = form.cleaned_data["agent"]
        agent = users_for(request.user).filter(pk=agent_id).first() if agent_id else None
        failed = _run(form, lambda: ticket_services.assign(ticket, to=agent, by=request.user,
                                                           reason=form.cleaned_data["reason"],
                                                           version=form.cleaned_data["version"]))
    return _answer(request, ticket_id, error=failed, done=_("The assignee was changed."), assign_form=form)


@login_required
@domain_pages
@require_POST
def ticket_priority(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    form = PriorityForm(request.POST, prefix="priority")
    failed = not form.is_valid() or _run(form, lambda: ticket_services.set_priority(
        ticket, form.cleaned_data["priority"], by=request.user, version=form.cleaned_data["version"]))
    return _answer(request, ticket_id, error=failed, done=_("The priority was changed."), priority_form=form)


class StepForm(forms.Form):
    """A button on the process checklist: start, complete or skip a step, or tick one of its items."""

    op = forms.ChoiceField(choices=[(op, op) for op in ("start", "complete", "skip", "tick", "untick")])
    index = forms.IntegerField(required=False, min_value=0, max_value=1000)


@login_required
@domain_pages
@require_POST
def ticket_step(request: HttpRequest, ticket_id: int, step_id: int) -> HttpResponse:
    ticket = get_ticket_for(request.user, ticket_id, "change")
    row = get_ticket_step(ticket, step_id)  # NotFound -> 404
    form = StepForm(request.POST)
    by = request.user
    if not form.is_valid():
        return _answer(request, ticket_id, error=True, done="", step_error=_("That step action is not known."))
    op, index = form.cleaned_data["op"], form.cleaned_data["index"]
    actions = {
        "start": lambda: process_services.start_step(row, by=by),
        "complete": lambda: process_services.complete_step(row, by=by),
        "skip": lambda: process_services.skip_step(row, by=by),
        "tick": lambda: process_services.tick_checklist(row, index=index, ticked=True, by=by),
        "untick": lambda: process_services.tick_checklist(row, index=index, ticked=False, by=by),
    }
    if op in ("tick", "untick") and index is None:
        return _answer(request, ticket_id, error=True, done="", step_error=_("Which checklist item?"))
    try:
        actions[op]()
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied) and not error.field:
            raise
        return _answer(request, ticket_id, error=True, done="", step_error=error.message)
    done = {"start": _("The step has started."), "complete": _("The step is done."),
            "skip": _("The step was skipped.")}.get(op, _("The checklist was updated."))
    return _answer(request, ticket_id, error=False, done=done)


@login_required
@domain_pages
@require_GET
def ticket_attachment(request: HttpRequest, ticket_id: int, attachment_id: int) -> FileResponse:
    attachment = get_attachment_for(request.user, ticket_id, attachment_id)
    response = FileResponse(open_attachment(attachment), as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- opening a ticket, logging a call --------------------------------------------------------------

def _picked_customer(user: User, value: str | None) -> Customer | None:
    value = (value or "").strip()
    if not value.isdigit():
        return None
    try:
        return get_customer_for(user, int(value))
    except NotFound:
        return None


def _references(user: User, values: dict) -> dict:
    """The rows the form names by id, each through its read door (NotFound names the field at fault)."""
    customer = get_customer_for(user, values.pop("customer_id"))
    order_id, category_id = values.pop("order_id"), values.pop("category_id")
    order = get_order_for(user, order_id) if order_id else None
    category = get_category_for(user, category_id) if category_id else None
    return {"customer": customer, "order": order, "category": category, **values}


def _new(request: HttpRequest, form_class: type[TicketForm], template: str, write: Callable[[dict], Ticket],
         done: str) -> HttpResponse:
    user = request.user
    data = request.POST if request.method == "POST" else None
    picked = request.POST.get("customer") if data else (request.GET.get("pick") or request.GET.get("customer"))
    customer = _picked_customer(user, picked)
    orders = recent_orders(customer, limit=20) if customer else []
    # A picked customer reloads the form: what was typed so far comes along in the query.
    initial = {key: value for key, value in request.GET.items() if key in form_class.base_fields}
    if customer is not None:
        initial["customer"] = customer.pk
    form = form_class(data, orders=orders, initial=initial)
    if data is not None and form.is_valid():
        try:
            ticket = write(_references(user, form.values()))
        except DomainError as error:
            if isinstance(error, NotFound | PermissionDenied) and not error.field:
                raise
            add_domain_error(form, error)
        else:
            messages.success(request, done % {"id": ticket.pk})
            return redirect("web:ticket_detail", ticket.pk)
    status = 422 if form.errors else 200
    target = request.htmx.target if getattr(request, "htmx", None) else None
    if target == "ticket-form-card":
        template = f"{template}#form_card"
    return render(request, template, {"form": form, "customer": customer, "orders": orders}, status=status)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Open a ticket for a customer (the customer picked first; their recent orders then offered)."""
    return _new(
        request, TicketForm, "service/workbench/ticket_form.html",
        lambda values: ticket_services.open_ticket(by=request.user, **values),
        _("Ticket #%(id)s was opened."),
    )


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def ticket_phone_call(request: HttpRequest) -> HttpResponse:
    """Log a phone call: a new phone ticket holding what the caller said, resolved on the call if ticked."""
    return _new(
        request, PhoneCallForm, "service/workbench/phone_call_form.html",
        lambda values: ticket_services.log_call(by=request.user, **values),
        _("The call was logged as ticket #%(id)s."),
    )


@login_required
@require_GET
def customer_picker(request: HttpRequest) -> HttpResponse:
    """Customers matching what the agent typed, as choices for the ticket forms (the customer list's search)."""
    term = (request.GET.get("q") or "").strip()[:100].replace("\x00", "")
    rows = []
    if term:
        try:
            rows = customer_page(request.user, CustomerFilter(q=term, limit=8)).items
        except (DomainError, ValueError):
            rows = []
    return render(request, "service/workbench/_customer_choices.html",
                  {"rows": rows, "term": term, "next": request.GET.get("next", "ticket_new")})


urlpatterns = [
    path("service/tickets/new/", ticket_new, name="ticket_new"),
    path("service/tickets/phone-call/", ticket_phone_call, name="ticket_phone_call"),
    path("service/tickets/customers/", customer_picker, name="ticket_customer_picker"),
    path("service/tickets/<int:ticket_id>/", ticket_detail_page, name="ticket_detail"),
    path("service/tickets/<int:ticket_id>/reply/", ticket_reply, name="ticket_reply"),
    path("service/tickets/<int:ticket_id>/note/", ticket_note, name="ticket_note"),
    path("service/tickets/<int:ticket_id>/status/", ticket_status, name="ticket_status"),
    path("service/tickets/<int:ticket_id>/assign/", ticket_assign, name="ticket_assign"),
    path("service/tickets/<int:ticket_id>/priority/", ticket_priority, name="ticket_priority"),
    path("service/tickets/<int:ticket_id>/steps/<int:step_id>/", ticket_step, name="ticket_step"),
    path("service/tickets/<int:ticket_id>/attachments/<int:attachment_id>/", ticket_attachment,
         name="ticket_attachment"),
]
