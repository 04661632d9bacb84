"""Interaction pages (thin): log a touch from the customer's page, page through a timeline, list them all."""

from __future__ import annotations

import pydantic
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.core.pages import (
    bad_filters_message,
    domain_pages,
    end_of_day,
    is_filtered,
    is_fragment,
    list_problem,
    query_params,
    render_list,
)
from loopcrm.core.pagination import paginate
from loopcrm.customers.forms import add_domain_error
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import contacts_of, get_customer_for
from loopcrm.interactions import services
from loopcrm.interactions.forms import InteractionFilterForm, InteractionForm
from loopcrm.interactions.queries import INTERACTION_SORTS, filter_interactions, interactions_for, timeline
from loopcrm.interactions.schemas import InteractionFilter


def _contacts(customer: Customer) -> list:
    return list(contacts_of(customer)) if customer.kind == Customer.Kind.ORGANISATION else []


@login_required
@domain_pages
@require_POST
def interaction_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Log one touch. From the 360° page (htmx) the answer is a fresh form plus the new timeline entry."""
    customer = get_customer_for(request.user, customer_id)
    contacts = _contacts(customer)
    form = InteractionForm(request.POST, contacts=contacts)
    if form.is_valid():
        try:
            interaction = services.log_interaction(by=request.user, customer=customer, **form.values())
        except RuleViolation as error:
            add_domain_error(form, error)
        else:
            if is_fragment(request):
                context = {"customer": customer, "log_form": InteractionForm(contacts=contacts),
                           "new_interaction": interaction, "saved": True}
                return render(request, "interactions/_log_form.html", context)
            messages.success(request, _("The interaction was logged."))
            return redirect(reverse("web:customer_detail", args=[customer.pk]) + "#timeline")
    context = {"customer": customer, "log_form": form}
    template = "interactions/_log_form.html" if is_fragment(request) else "interactions/log_form_page.html"
    return render(request, template, context, status=422)


@login_required
@domain_pages
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A customer's timeline, a page at a time (the 360° page's "show earlier" button)."""
    customer = get_customer_for(request.user, customer_id)
    try:
        page = timeline(customer, cursor=request.GET.get("cursor") or None)
    except DomainError as error:
        return render(request, "interactions/customer_timeline.html",
                      {"customer": customer, "problem": error.message}, status=400)
    context = {"customer": customer, "timeline": page}
    if is_fragment(request):
        return render(request, "interactions/_timeline_page.html", context)
    return render(request, "interactions/customer_timeline.html", context)


FILTER_NAMES = frozenset({"customer_id", "channel", "touchpoint", "journey_stage", "from", "to", "sort", "cursor"})


@login_required
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def interaction_list(request: HttpRequest) -> HttpResponse:
    """Every touch with the customers the user may see, newest first, filtered like the API list."""
    params = query_params(request, FILTER_NAMES)
    form = InteractionFilterForm(request.GET or None)
    page = problem = customer = None
    end_of_day(params, "to")
    try:
        filters = InteractionFilter(**params)
        if filters.customer_id is not None:
            customer = get_customer_for(request.user, filters.customer_id)
        rows = filter_interactions(
            interactions_for(request.user), customer_id=filters.customer_id, channel=filters.channel,
            touchpoint=filters.touchpoint, journey_stage=filters.journey_stage,
            occurred_from=filters.occurred_from, occurred_to=filters.occurred_to,
        )
        page = paginate(rows, sort=filters.sort, allowed=INTERACTION_SORTS, cursor=filters.cursor)
    except pydantic.ValidationError as error:
        problem = bad_filters_message(error, {"from": _("From"), "to": _("To"),
                                              **{name: f.label for name, f in form.fields.items()}})
    except DomainError as error:  # the customer filtered by is out of sight, an unknown sort, a bad cursor
        problem = list_problem(error, not_found=_("That customer does not exist or is outside what you may see."))
    context = {"form": form, "page": page, "problem": problem, "customer": customer, "is_filtered": is_filtered(params)}
    return render_list(request, "interactions/interaction_list.html", context)
