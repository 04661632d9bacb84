"""The customer 360° page (thin): one bundle from overview.queries.customer_360, rendered."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import Conflict, NotFound, RuleViolation
from loopcrm.core.pages import domain_pages
from loopcrm.customers import holds
from loopcrm.customers.forms import ConsentForm, ContactForm
from loopcrm.customers.queries import consent_history, customers_for, get_customer_for
from loopcrm.interactions.forms import InteractionForm
from loopcrm.overview import retention
from loopcrm.overview.api import personal_data_response
from loopcrm.overview.erasure import erase_customer
from loopcrm.overview.forms import ErasureForm, LegalHoldForm, RetentionApplyForm, RetentionRuleForm
from loopcrm.overview.queries import customer_360

CONSENT_HISTORY_SHOWN = 50


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        bundle = customer_360(request.user, customer_id)
    except NotFound as error:
        # A customer merged into another lives on there: follow it, as a browser follows a move.
        if merged_into := error.extra.get("merged_into"):
            messages.info(request, _("Customer #%(old)s was merged into this customer.") % {"old": customer_id})
            return redirect("web:customer_detail", merged_into)
        raise
    customer = bundle.customer
    can_change = customers_for(request.user, "change").filter(pk=customer.pk).exists()
    context = {
        "bundle": bundle,
        "customer": customer,
        "contacts": bundle.contacts,
        "consents": bundle.consents,
        "consent_history": list(consent_history(customer).order_by("-at", "-id")[:CONSENT_HISTORY_SHOWN]),
        "timeline": bundle.recent_interactions,
        "can_change": can_change,
        "consent_form": ConsentForm() if can_change else None,
        "contact_form": ContactForm() if can_change else None,
        # Logging a touch needs only to see the customer and a role that is not read-only.
        "log_form": InteractionForm(contacts=bundle.contacts) if can(request.user, "customer", "change") else None,
        # The role's privacy scope may not reach this customer (a manager's is their department).
        "can_export_personal_data": can(request.user, "customer", "privacy")
        and customers_for(request.user, "privacy").filter(pk=customer.pk).exists(),
    }
    context["legal_hold"] = holds.held_ids([customer.pk]) if context["can_export_personal_data"] else set()
    return render(request, "customers/customer_360.html", context)


@login_required
@domain_pages
@require_http_methods(["GET"])
def customer_personal_data(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Everything held about the customer, downloaded as one JSON file (a data subject's request for a copy)."""
    return personal_data_response(request, customer_id)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def customer_erase(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Erase the customer's personal data at their request, after a reason and a confirmation."""
    customer = get_customer_for(request.user, customer_id, action="privacy")
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erase_customer(request.user, customer.pk, reason=form.cleaned_data["reason"])
        except RuleViolation as error:
            form.add_error("reason" if error.field == "reason" else None, error.message)
        else:
            messages.success(request, _("The customer's personal data was erased."))
            return redirect("web:customer_detail", customer.pk)
    return render(request, "overview/customer_erase.html", {"customer": customer, "form": form})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def customer_legal_hold(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's legal hold: who placed it, when and why; place one, or lift it, with a reason."""
    hold = holds.legal_hold_of(request.user, customer_id)  # NotFound / PermissionDenied outside the privacy scope
    expect = "lift" if hold is not None else "place"
    form = LegalHoldForm(request.POST or None, initial={"expect": expect})
    if request.method == "POST" and form.is_valid():
        place = form.cleaned_data["expect"] == "place"
        try:
            if place:
                holds.place_legal_hold(request.user, customer_id, reason=form.cleaned_data["reason"])
            else:
                holds.lift_legal_hold(request.user, customer_id, reason=form.cleaned_data["reason"])
        except (RuleViolation, Conflict, NotFound) as error:  # placed or lifted meanwhile by someone else
            form.add_error("reason" if error.field == "reason" else None, error.message)
        else:
            messages.success(request, _("The legal hold was placed.") if place else _("The legal hold was lifted."))
            return redirect("web:customer_detail", customer_id)
    customer = hold.customer if hold is not None else get_customer_for(request.user, customer_id, action="privacy")
    return render(request, "overview/customer_legal_hold.html", {"customer": customer, "hold": hold, "form": form})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def retention_rules(request: HttpRequest) -> HttpResponse:
    """The retention rules: each category's period, on or off, what it would overwrite now; apply now."""
    rules = retention.rules(request.user)  # PermissionDenied (403) but for administrators
    errors: list[str] = []
    if request.method == "POST":
        form = RetentionApplyForm(request.POST) if "apply" in request.POST else RetentionRuleForm(request.POST)
        if form.is_valid():
            try:
                if isinstance(form, RetentionApplyForm):
                    applied = retention.apply_rules(request.user)
                    total = sum(applied.total(category) for category in applied.counts)
                    messages.success(request, _("The retention rules were applied: %(n)s records overwritten.")
                                     % {"n": total})
                else:
                    retention.update_rule(request.user, **form.cleaned_data)
                    messages.success(request, _("The retention rule was saved."))
                return redirect("web:retention_rules")
            except RuleViolation as error:
                errors.append(error.message)
        errors += [str(message) for messages_ in form.errors.values() for message in messages_]
    preview = retention.preview(request.user)
    rows = [{"rule": rule, "help": retention.DESCRIPTIONS[rule.category], "preview": preview.total(rule.category)}
            for rule in rules]
    return render(request, "overview/retention_rules.html", {
        "rows": rows, "errors": errors, "min_days": retention.MIN_DAYS, "max_days": retention.MAX_DAYS})
