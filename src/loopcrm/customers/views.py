"""Customer pages (thin): load through customers.queries, parse with a form or CustomerFilter, call one
service, render the page or — for htmx — only the fragment that changed.

The small helpers at the top are shared by the other apps' pages (commerce, interactions, overview),
which sit above customers in the layer order and may import them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

import pydantic
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RuleViolation
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

# --- helpers shared by the pages of every app ----------------------------------------------------


def domain_pages(view: Callable) -> Callable:
    """Map the services' errors that no form can show to pages: NotFound -> 404, PermissionDenied -> 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from error
        except PermissionDenied as error:
            raise HttpForbidden(error.message) from error

    return wrapper


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a full page (history restores too)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or ""


def is_fragment(request: HttpRequest) -> bool:
    return htmx_target(request) is not None


def query_params(request: HttpRequest, names) -> dict[str, str]:
    """The non-empty query parameters among `names` (an HTML form sends empty fields as "")."""
    return {key: value for key, value in request.GET.items() if key in names and value.strip() != ""}


def end_of_day(params: dict[str, str], key: str) -> None:
    """A date given for an exclusive upper bound ("until 3 March") means up to the end of that day."""
    value = params.get(key, "")
    if len(value) == 10:
        with contextlib.suppress(ValueError):
            params[key] = (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()


def bad_filters_message(error: pydantic.ValidationError, labels: dict[str, str]) -> str:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item.get("loc")})
    names = ", ".join(str(labels.get(name, name)) for name in fields)
    return _("Some filters could not be understood and were not applied: %(fields)s.") % {"fields": names}


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
        problem = _("This page of the list cannot be shown: %(reason)s") % {"reason": error.message}
    context = {
        "form": form, "page": page, "problem": problem, "sort": params.get("sort", DEFAULT_SORT),
        "is_filtered": any(key not in ("sort", "cursor") for key in params),
        "can_create": can(request.user, "customer", "change"),
    }
    target = htmx_target(request)
    status = 400 if problem else 200
    if target == "more-row":
        return render(request, "customers/customer_list.html#rows", context, status=status)
    if target == "customer-results":
        response = render(request, "customers/customer_list.html#results", context, status=status)
        shown = {key: value for key, value in params.items() if key != "cursor" and value != DEFAULT_SORT}
        return push_url(response, reverse("web:customer_list") + (f"?{urlencode(shown)}" if shown else ""))
    return render(request, "customers/customer_list.html", context, status=status)


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
        raise HttpForbidden
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


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def consent_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record a decision of the customer about one purpose on one channel (never edited, only added)."""
    customer = get_customer_for(request.user, customer_id, action="change")
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_consent(customer, by=request.user, **form.cleaned_data)
        except RuleViolation as error:
            add_domain_error(form, error)
        else:
            if is_fragment(request):
                return _card(request, customer, "consents", "consent_form", ConsentForm())
            messages.success(request, _("The consent decision was recorded."))
            return redirect("web:customer_detail", customer.pk)
    return _card(request, customer, "consents", "consent_form", form, status=422 if form.errors else 200)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Add a person we deal with at an organisation customer."""
    customer = get_customer_for(request.user, customer_id, action="change")
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_contact(customer, by=request.user, **form.cleaned_data)
        except RuleViolation as error:
            add_domain_error(form, error)
        else:
            if is_fragment(request):
                return _card(request, customer, "contacts", "contact_form", ContactForm())
            messages.success(request, _("The contact person was added."))
            return redirect("web:customer_detail", customer.pk)
    return _card(request, customer, "contacts", "contact_form", form, status=422 if form.errors else 200)
