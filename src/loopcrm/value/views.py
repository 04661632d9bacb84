"""Pages of customer value (thin): the dashboard, the segment builder with a live count, and the value panel
of a customer. They read through value.queries and write through value.services, like the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.pages import domain_pages
from loopcrm.core.pagination import paginate
from loopcrm.value import charts, queries, services, tasks
from loopcrm.value.forms import ROWS, SegmentForm, row_initial, row_of
from loopcrm.value.models import RfmSegment, Stage, Tier

MEMBERS_PAGE = 25
MAX_LISTED_SEGMENTS = 100


def _require(user, object_type: str, action: str, message: str) -> None:
    if not can(user, object_type, action):
        raise PermissionDenied(message)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def value_dashboard(request: HttpRequest) -> HttpResponse:
    _require(request.user, "value", "view", _("Your role may not see customer value."))
    summary = queries.summary(request.user)
    context = {
        "summary": summary, "charts": charts.dashboard_charts(summary),
        "tiers": charts.labelled(summary.tiers, Tier), "stages": charts.labelled(summary.stages, Stage),
        "segments": charts.labelled(summary.segments, RfmSegment),
        "grid_rows": list(zip((5, 4, 3, 2, 1), summary.rfm_grid, strict=True)),
        "can_recompute": can(request.user, "value", "change"),
    }
    return render(request, "value/dashboard.html", context)


@login_required
@domain_pages
@require_POST
def value_recompute(request: HttpRequest) -> HttpResponse:
    _require(request.user, "value", "change", _("Your role may not recompute customer value."))
    tasks.enqueue_recompute(request.user)
    messages.success(request, _("The recompute has started; the figures update when it finishes."))
    return redirect("web:value_dashboard")


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def segment_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, "segment", "view", _("Your role may not use segments."))
    segments = list(queries.segments_for(request.user)[:MAX_LISTED_SEGMENTS])
    rows = [(segment, queries.segment_count(segment, user=request.user)) for segment in segments]
    return render(request, "value/segment_list.html",
                  {"rows": rows, "can_change": can(request.user, "segment", "change")})


def _count_context(request: HttpRequest, form: SegmentForm) -> dict:
    """Validate the builder and count its rule: {"count": n} or {"error": message, "error_row": i}."""
    if not form.is_valid():
        return {"error": _("Check the highlighted fields.")}
    rule = form.rule()
    if rule is None:
        return {"error": form.errors.get("advanced", [""])[0]}
    try:
        return {"count": queries.rule_count(rule, user=request.user), "rule": rule}
    except RuleViolation as error:
        return {"error": error.message, "error_row": row_of(error.field)}


@login_required
@domain_pages
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count of the builder's rule (an htmx fragment)."""
    _require(request.user, "segment", "view", _("Your role may not use segments."))
    context = _count_context(request, SegmentForm(request.POST))
    return render(request, "value/segment_builder.html#count", context)


@login_required
@domain_pages
@require_http_methods(["GET"])
def segment_row(request: HttpRequest) -> HttpResponse:
    """One builder row redrawn for the field or operator just chosen (an htmx fragment); the count follows."""
    _require(request.user, "segment", "view", _("Your role may not use segments."))
    try:
        row = int(request.GET.get("row", ""))
    except ValueError:
        row = -1
    if not 0 <= row < ROWS:
        return HttpResponseBadRequest(_("No builder row %(row)s.") % {"row": request.GET.get("row", "")})
    form = SegmentForm(initial=row_initial(request.GET, row, request.headers.get("HX-Trigger-Name", "")))
    response = render(request, "value/segment_builder.html#row", {"row": form.rows()[row]})
    response["HX-Trigger-After-Settle"] = "segment-row-changed"
    return response


def _save(request: HttpRequest, form: SegmentForm, segment=None):
    """Create or update from the builder; returns the segment, or None with the errors on the form."""
    context = _count_context(request, form)
    if "error" in context:
        form.add_error(None, context["error"])
        return None, context
    try:
        if segment is None:
            saved = services.create_segment(by=request.user, name=form.cleaned_data["name"],
                                            description=form.cleaned_data["description"], rule=context["rule"])
        else:
            saved = services.update_segment(segment, by=request.user, version=int(request.POST.get("version") or 0),
                                            changes={"name": form.cleaned_data["name"],
                                                     "description": form.cleaned_data["description"],
                                                     "rule": context["rule"]})
    except (RuleViolation, Conflict) as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None, context
    return saved, context


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def segment_builder(request: HttpRequest) -> HttpResponse:
    _require(request.user, "segment", "change", _("Your role may not change segments."))
    form = SegmentForm(request.POST or None, initial={"match": "all"})
    context: dict = {}
    if request.method == "POST":
        segment, context = _save(request, form)
        if segment is not None:
            messages.success(request, _("Segment %(name)s was saved.") % {"name": segment.name})
            return redirect("web:segment_detail", segment.pk)
    status = 422 if form.errors else 200
    return render(request, "value/segment_builder.html", {"form": form, **context}, status=status)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = queries.get_segment_for(request.user, segment_id, "change" if request.method == "POST" else "view")
    form = SegmentForm(request.POST or None, initial={"name": segment.name, "description": segment.description,
                                                       **SegmentForm.initial_for(segment.rule)})
    context: dict = {}
    if request.method == "POST":
        saved, context = _save(request, form, segment)
        if saved is not None:
            messages.success(request, _("Segment %(name)s was saved.") % {"name": saved.name})
            return redirect("web:segment_detail", saved.pk)
    else:
        context = {"count": queries.segment_count(segment, user=request.user)}
    members = paginate(queries.segment_members(segment, user=request.user), sort="id", allowed=("id",),
                       cursor=request.GET.get("cursor") or None, limit=MEMBERS_PAGE)
    status = 422 if form.errors else 200
    return render(request, "value/segment_builder.html",
                  {"form": form, "segment": segment, "members": members,
                   "can_change": can(request.user, "segment", "change"), **context}, status=status)


@login_required
@domain_pages
@require_POST
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = queries.get_segment_for(request.user, segment_id, "change")
    services.delete_segment(segment, by=request.user)
    messages.success(request, _("Segment %(name)s was deleted.") % {"name": segment.name})
    return redirect("web:segment_list")


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def customer_value_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The value card of the customer 360 page, as a fragment (hx-get it into the page's value slot)."""
    customer, value = queries.customer_value_for(request.user, customer_id)
    return render(request, "value/_customer_panel.html",
                  {"customer": customer, "value": value, "recommendations": queries.recommendations_for(customer)})
