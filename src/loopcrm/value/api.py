"""REST endpoints for customer value and segments (thin): load through queries, call one service, serialise.
Mounted at /api/v1/ (paths /value/… and /segments/…)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts.permissions import can
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import PermissionDenied
from loopcrm.core.pagination import Page, paginate
from loopcrm.value import queries, services, tasks
from loopcrm.value.schemas import (
    CountOut,
    CustomerValueOut,
    MemberOut,
    MemberParams,
    RecommendationOut,
    RecomputeOut,
    RuleIn,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SummaryOut,
)

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem, 503: Problem}


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _require_segments(user) -> None:
    if not can(user, "segment", "view"):
        raise PermissionDenied(_("Your role may not use segments."))


# --- value -------------------------------------------------------------------------------------

@router.get("/value/customers/{customer_id}", response={200: CustomerValueOut, **COMMON_ERRORS},
            url_name="customer_value", summary="A customer's value",
            description="RFM scores and segment, value tier, predicted CLV, P(alive), expected purchases and "
                        "lifecycle stage as of the last recompute (`computed_at` null before the first).")
def customer_value(request, customer_id: int):
    customer, value = queries.customer_value_for(request.user, customer_id)
    return value if value is not None else {"customer_id": customer.pk}


@router.get("/value/summary", response={200: SummaryOut, **COMMON_ERRORS}, url_name="value_summary",
            summary="Value dashboard figures",
            description="Tier and lifecycle distribution, the R × FM grid, a CLV histogram, monthly cohort "
                        "retention and churn trend, over the customers you may see.")
def value_summary(request):
    if not can(request.user, "value", "view"):
        raise PermissionDenied(_("Your role may not see customer value."))
    return queries.summary(request.user)


@router.get("/value/recommendations/{customer_id}", response={200: list[RecommendationOut], **COMMON_ERRORS},
            url_name="value_recommendations", summary="Next-best products for a customer",
            description="Cross-sell rules from co-purchases (confidence, lift), best first; popular products "
                        "fill the list when rules run out.")
def recommendations(request, customer_id: int):
    customer, _value = queries.customer_value_for(request.user, customer_id)
    return [{"product_id": r.product.pk, "sku": r.product.sku, "name": r.product.name, "price": r.product.price,
             "currency": r.product.currency, "confidence": r.confidence, "lift": r.lift,
             "because_of_product_id": r.because_of.pk if r.because_of else None}
            for r in queries.recommendations_for(customer)]


@router.post("/value/recompute", response={202: RecomputeOut, **CHANGE_ERRORS}, url_name="value_recompute",
             summary="Recompute every customer's value",
             description="Queues the recompute (RFM, tiers, CLV, P(alive), lifecycle, cross-sell rules). "
                         "Needs the 'change' permission on value.")
def recompute(request):
    if not can(request.user, "value", "change"):
        raise PermissionDenied(_("Your role may not recompute customer value."))
    result = tasks.enqueue_recompute(request.user)
    return Status(202, {"task_id": str(result.id), "status": str(result.status)})


# --- segments ----------------------------------------------------------------------------------

@router.get("/segments", response={200: PageOut[SegmentOut], **COMMON_ERRORS}, url_name="segments",
            summary="Saved segments")
def list_segments(request, params: Query[MemberParams]):
    return _page(paginate(queries.segments_for(request.user), sort="id", allowed=("id",), cursor=params.cursor,
                          limit=params.limit))


@router.post("/segments", response={201: SegmentOut, **CHANGE_ERRORS}, url_name="create_segment",
             summary="Save a segment", description="The rule is checked; a mistake answers 422 naming its place.")
def create_segment(request, payload: SegmentIn, response: HttpResponse):
    segment = services.create_segment(by=request.user, **payload.model_dump())
    response["Location"] = f"/api/v1/segments/{segment.pk}"
    return Status(201, segment)


@router.post("/segments/preview", response={200: CountOut, **COMMON_ERRORS}, url_name="preview_segment",
             summary="Live count of a rule", description="How many customers you may see match the rule now.")
def preview_segment(request, payload: RuleIn):
    _require_segments(request.user)
    return {"count": queries.rule_count(payload.rule, user=request.user)}


@router.get("/segments/{segment_id}", response={200: SegmentOut, **COMMON_ERRORS}, url_name="segment",
            summary="One segment")
def get_segment(request, segment_id: int):
    return queries.get_segment_for(request.user, segment_id)


@router.patch("/segments/{segment_id}", response={200: SegmentOut, **CHANGE_ERRORS}, url_name="update_segment",
              summary="Change a segment", description="Send the version you read; a stale one answers 409.")
def update_segment(request, segment_id: int, payload: SegmentPatch):
    segment = queries.get_segment_for(request.user, segment_id, "change")
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return services.update_segment(segment, by=request.user, version=version, changes=changes)


@router.delete("/segments/{segment_id}", response={204: None, **CHANGE_ERRORS}, url_name="delete_segment",
               summary="Delete a segment")
def delete_segment(request, segment_id: int):
    segment = queries.get_segment_for(request.user, segment_id, "change")
    services.delete_segment(segment, by=request.user)
    return Status(204, None)


@router.get("/segments/{segment_id}/count", response={200: CountOut, **COMMON_ERRORS}, url_name="segment_count",
            summary="Live count of a segment's members you may see")
def segment_count(request, segment_id: int):
    segment = queries.get_segment_for(request.user, segment_id)
    return {"count": queries.segment_count(segment, user=request.user)}


@router.get("/segments/{segment_id}/members", response={200: PageOut[MemberOut], **COMMON_ERRORS},
            url_name="segment_members", summary="The segment's members you may see, by id")
def segment_members(request, segment_id: int, params: Query[MemberParams]):
    segment = queries.get_segment_for(request.user, segment_id)
    members = queries.segment_members(segment, user=request.user)
    return _page(paginate(members, sort="id", allowed=("id",), cursor=params.cursor, limit=params.limit))
