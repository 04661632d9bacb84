"""Customer pages (thin): load through customers.queries, parse with a form or CustomerFilter, call one
service, render the page or — for htmx — only the fragment that changed (helpers in core.pages)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pydantic
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import Conflict, DomainError, PermissionDenied, RuleViolation
from loopcrm.core.pages import (
    bad_filters_message,
    domain_pages,
    htmx_target,
    is_filtered,
    is_fragment,
    list_problem,
    query_params,
    render_list,
)
from loopcrm.customers import services
from loopcrm.customers.filters import DEFAULT_SORT, CustomerFilter
from loopcrm.customers.forms import ConsentForm, ContactForm, CustomerFilterForm, CustomerForm, add_domain_error
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import (
    consent_history,
    contacts_of,
    current_consents,
    customer_page,
    customers_for,
    get_customer_for,
)

# --- the customer list ---------------------------------------------------------------------------

FILTER_NAMES = frozenset(CustomerFilter.model_fields) - {"limit"}


@login_required
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def customer_list(request: HttpRequest) -> HttpResponse:
    """The customer list: live search, filters and sort parsed by CustomerFilter (as the API does)."""
    params = query_params(request, FILTER_NAMES)
    form = CustomerFilterForm(request.GET or None, user=request.user)
    page, problem = None, None
    try:
        filters = CustomerFilter(**params)
        page = customer_page(request.user, filters)
    except pydantic.ValidationError as error:
        problem = bad_filters_message(error, {name: form.fields[name].label for name in form.fields})
    except DomainError as error:  # an unknown sort or a cursor that does not fit
        problem = list_problem(error)
    context = {
        "form": form, "page": page, "problem": problem, "sort": params.get("sort", DEFAULT_SORT),
        "is_filtered": is_filtered(params), "can_create": can(request.user, "customer", "change"),
    }
    response = render_list(request, "customers/customer_list.html", context, results="customer-results")
    if htmx_target(request) == "customer-results":  # the address bar follows the filters
        shown = {key: value for key, value in params.items() if key != "cursor" and value != DEFAULT_SORT}
        push_url(response, reverse("web:customer_list") + (f"?{urlencode(shown)}" if shown else ""))
    return response


# --- create and edit -----------------------------------------------------------------------------

IDENTITY_LABELS = {"phone": Customer._meta.get_field("phone").verbose_name,
                   "email": Customer._meta.get_field("email").verbose_name,
                   "external_id": Customer._meta.get_field("external_id").verbose_name}


def _duplicate(request: HttpRequest, form: CustomerForm, error: services.DuplicateCustomer) -> dict:
    """Put the duplicate error on its field; return what the page shows about the existing customer."""
    what = IDENTITY_LABELS.get(error.matched_on, error.matched_on)
    form.add_error(error.matched_on if error.matched_on in form.fields else None,
                   _("Another customer already has this %(what)s.") % {"what": what})
    existing = customers_for(request.user).filter(pk=error.existing_id).first()
    return {"id": error.existing_id, "customer": existing, "what": what}


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "customer", "change"):
        raise PermissionDenied(_("Your role may not create or change customers."))
    form = CustomerForm(request.POST or None, user=request.user)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(by=request.user, **form.values())
        except services.DuplicateCustomer as error:
            duplicate = _duplicate(request, form, error)
        except (RuleViolation, Conflict) as error:
            add_domain_error(form, error)
        except PermissionDenied as error:
            if not error.field:
                raise
            add_domain_error(form, error)
        else:
            messages.success(request, _("Customer %(name)s was created.") % {"name": customer.name})
            return redirect("web:customer_detail", customer.pk)
    status = 422 if form.errors else 200
    return render(request, "customers/customer_form.html", {"form": form, "duplicate": duplicate}, status=status)


def _shown(form: CustomerForm, name: str, value) -> str:
    """A value as the page shows it, for the table of a stale edit."""
    field = form.fields[name]
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(value)
    if hasattr(field, "choices") and not hasattr(field, "queryset"):
        return str(dict(field.choices).get(value, value))
    if hasattr(field, "queryset") and not hasattr(value, "pk"):
        return str(field.queryset.filter(pk=value).first() or value)
    return str(value)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer_for(request.user, customer_id, action="change")
    initial = CustomerForm.initial_for(customer)
    form = CustomerForm(request.POST or None, initial=initial, user=request.user, editing=True)
    duplicate = stale = None
    status = 200
    if request.method == "POST" and form.is_valid():
        version = form.cleaned_data["version"] or 0
        try:
            customer = services.update_customer(customer, by=request.user, version=version, changes=form.changes())
        except services.DuplicateCustomer as error:
            duplicate = _duplicate(request, form, error)
        except Conflict as error:
            if error.field != "version":
                add_domain_error(form, error)
            else:
                # Someone saved first. Show what is saved now, and what this person tried to save.
                yours = form.changes()
                current = get_customer_for(request.user, customer_id, action="change")
                form = CustomerForm(initial=CustomerForm.initial_for(current), user=request.user, editing=True)
                now = CustomerForm.initial_for(current)
                stale = [
                    (form.fields[name].label, _shown(form, name, now.get(name)), _shown(form, name, value))
                    for name, value in yours.items()
                ]
                customer, status = current, 409
        except RuleViolation as error:
            add_domain_error(form, error)
        except PermissionDenied as error:
            if not error.field:
                raise
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your changes to %(name)s were saved.") % {"name": customer.name})
            return redirect("web:customer_detail", customer.pk)
    if form.errors:
        status = 422
    context = {"form": form, "customer": customer, "duplicate": duplicate, "stale": stale}
    return render(request, "customers/customer_form.html", context, status=status)


# --- consent and contact persons (cards of the 360° page) -----------------------------------------

def _card(request: HttpRequest, customer: Customer, partial: str, form_name: str, form, status: int = 200):
    """The 360° page's card for an htmx request; otherwise the form on a page of its own."""
    context = {
        "customer": customer, form_name: form,
        "consents": current_consents(customer),
        "consent_history": list(consent_history(customer).order_by("-at", "-id")[:50]),
        "contacts": list(contacts_of(customer)),
        "can_change": True,
    }
    if is_fragment(request):
        return render(request, f"customers/customer_360.html#{partial}", context, status=status)
    return render(request, f"customers/{partial}_form.html", context, status=status)


def _card_form(request: HttpRequest, customer_id: int, form_class: type, *, card: str, form_name: str,
               write: Callable[..., object], done: str) -> HttpResponse:
    """A form that adds a row to a card of the 360° page: `write(customer, by=…, **cleaned_data)` saves it.

    From the page itself (htmx) the answer is the card, fresh; otherwise back to the customer's page.
    """
    customer = get_customer_for(request.user, customer_id, action="change")
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            write(customer, by=request.user, **form.cleaned_data)
        except RuleViolation as error:
            add_domain_error(form, error)
        else:
            if is_fragment(request):
                return _card(request, customer, card, form_name, form_class())
            messages.success(request, done)
            return redirect("web:customer_detail", customer.pk)
    return _card(request, customer, card, form_name, form, status=422 if form.errors else 200)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def consent_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record a decision of the customer about one purpose on one channel (never edited, only added)."""
    return _card_form(request, customer_id, ConsentForm, card="consents", form_name="consent_form",
                      write=services.record_consent, done=_("The consent decision was recorded."))


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Add a person we deal with at an organisation customer."""
    return _card_form(request, customer_id, ContactForm, card="contacts", form_name="contact_form",
                      write=services.add_contact, done=_("The contact person was added."))
