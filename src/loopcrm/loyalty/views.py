"""Loyalty pages (thin): programmes with their tiers, a programme's members, and the member page with
balance, tier progress, ledger ("show more"), statement, and redeem/adjust forms for roles that may."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.pages import domain_pages, htmx_target, list_problem
from loopcrm.customers.queries import get_customer_for
from loopcrm.loyalty import queries, services
from loopcrm.loyalty.forms import AdjustForm, RedeemForm, StatementForm, add_domain_error
from loopcrm.loyalty.models import Membership


@login_required
@require_http_methods(["GET", "HEAD"])
def programme_list(request: HttpRequest) -> HttpResponse:
    overview = queries.programme_overview(request.user)
    rows = [{"programme": p, "tiers": [(t, counts.get(t.pk, 0)) for t in tiers],
             "members": sum(counts.get(t.pk, 0) for t in tiers)} for p, tiers, counts in overview]
    return render(request, "loyalty/programme_list.html", {"rows": rows})


@login_required
@domain_pages
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def programme_detail(request: HttpRequest, programme_id: int) -> HttpResponse:
    programme = queries.get_programme_for(request.user, programme_id)
    tiers = queries.tiers_of(programme)
    counts = queries.members_in_tiers(programme)
    page, problem = None, None
    try:
        page = queries.member_page(request.user, programme_id=programme.pk, cursor=request.GET.get("cursor") or None)
    except DomainError as error:
        problem = list_problem(error)
    context = {"programme": programme, "tiers": [(t, counts.get(t.pk, 0)) for t in tiers], "page": page,
               "problem": problem}
    template = "loyalty/programme_detail.html"
    if htmx_target(request) == "more-row":
        template += "#rows"
    return render(request, template, context, status=400 if problem else 200)


def _member_context(request: HttpRequest, membership: Membership, **extra) -> dict:
    may_change = can(request.user, "loyalty", "change")
    today = timezone.localdate()
    context = {
        "member": membership,
        "customer": membership.customer,
        "progress": queries.tier_progress(membership),
        "may_change": may_change,
        "redeem_form": RedeemForm() if may_change else None,
        "adjust_form": AdjustForm() if may_change else None,
        "statement_form": StatementForm(initial={"start": today.replace(day=1), "end": today}),
    }
    context.update(extra)
    return context


@login_required
@domain_pages
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def member_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    membership = queries.get_membership_for(request.user, member_id)
    page, problem = None, None
    try:
        page = queries.ledger_page(membership, cursor=request.GET.get("cursor") or None)
    except DomainError as error:
        problem = list_problem(error)
    if htmx_target(request) == "more-row":
        return render(request, "loyalty/member_detail.html#ledger_rows", {"page": page}, status=400 if problem else 200)
    return render(request, "loyalty/member_detail.html", _member_context(request, membership, page=page,
                                                                          problem=problem))


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def member_statement(request: HttpRequest, member_id: int) -> HttpResponse:
    membership = queries.get_membership_for(request.user, member_id)
    form = StatementForm(request.GET)
    result = None
    if form.is_valid():
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(form.cleaned_data["start"], dt.time.min, zone)
        end = dt.datetime.combine(form.cleaned_data["end"] + dt.timedelta(days=1), dt.time.min, zone)
        result = queries.statement(membership, start=start, end=end)
    context = {"member": membership, "statement_form": form, "statement": result}
    status = 200 if form.is_valid() else 422
    if htmx_target(request) is not None:
        return render(request, "loyalty/member_detail.html#statement", context, status=status)
    return render(request, "loyalty/member_detail.html",
                  _member_context(request, membership, statement=result, statement_form=form,
                                  page=queries.ledger_page(membership)), status=status)


def _movement(request: HttpRequest, member_id: int, form_class, call) -> HttpResponse:
    membership = queries.get_membership_for(request.user, member_id, "change")
    form = form_class(request.POST)
    name = "redeem_form" if form_class is RedeemForm else "adjust_form"
    if form.is_valid():
        try:
            entry = call(membership, form.cleaned_data)
        except DomainError as error:
            if isinstance(error, NotFound | PermissionDenied) and not error.field:
                raise
            add_domain_error(form, error)
        else:
            done = _("%(points)s points recorded; the balance is now %(balance)s.") % {
                "points": f"{entry.amount:+,}", "balance": f"{entry.balance_after:,}"}
            if htmx_target(request) is None:
                messages.success(request, done)
                return redirect("web:loyalty_member", membership.pk)
            membership = queries.get_membership_for(request.user, member_id)
            context = _member_context(request, membership, page=queries.ledger_page(membership), done=done)
            return render(request, "loyalty/member_detail.html#account", context)
    membership = queries.get_membership_for(request.user, member_id)
    context = _member_context(request, membership, page=queries.ledger_page(membership), **{name: form})
    template = "loyalty/member_detail.html"
    if htmx_target(request) is not None:
        template += "#account"
    return render(request, template, context, status=422)


@login_required
@domain_pages
@require_POST
def member_redeem(request: HttpRequest, member_id: int) -> HttpResponse:
    return _movement(request, member_id, RedeemForm, lambda membership, data: services.redeem_points(
        membership, points=data["points"], reason=data["reason"], idempotency_key=data["idempotency_key"],
        by=request.user))


@login_required
@domain_pages
@require_POST
def member_adjust(request: HttpRequest, member_id: int) -> HttpResponse:
    return _movement(request, member_id, AdjustForm, lambda membership, data: services.adjust_points(
        membership, points=data["points"], reason=data["reason"], idempotency_key=data["idempotency_key"],
        by=request.user))


@login_required
@domain_pages
@require_POST
def member_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol the customer (form on the 360 card) and open the member page; a refusal goes back with its reason."""
    try:
        programme_id, customer_id = int(request.POST.get("programme_id", "")), int(request.POST.get("customer_id", ""))
    except ValueError:
        raise NotFound(_("No such customer or programme.")) from None
    customer = get_customer_for(request.user, customer_id)
    programme = queries.get_programme_for(request.user, programme_id, "change")
    try:
        membership = services.enrol(customer, programme, by=request.user)
    except (RuleViolation, Conflict) as error:
        messages.error(request, error.message)
        return redirect("web:customer_detail", customer.pk)
    messages.success(request, _("%(customer)s joined %(programme)s.") % {"customer": customer.name,
                                                                          "programme": programme.name})
    return redirect("web:loyalty_member", membership.pk)
