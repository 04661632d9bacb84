"""REST endpoint for the customer 360° view (thin): one query bundle, serialised."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router

from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS
from loopcrm.feedback.queries import LatestScores
from loopcrm.overview.erasure import erase_customer
from loopcrm.overview.personal_data import download_name, personal_data
from loopcrm.overview.queries import customer_360
from loopcrm.overview.schemas import Customer360Out, Customer360Params, ErasureIn, ErasureOut
from loopcrm.value.queries import ValuePanel

router = Router()


@router.get("/{customer_id}/360", response={200: Customer360Out, **COMMON_ERRORS}, url_name="customer_360",
            summary="Everything about one customer",
            description="Profile, contacts, current consent, order summary, recent orders, the newest "
                        "interactions, open tickets, latest survey scores, customer value and loyalty membership, "
                        "in a fixed number of queries.")
def get_customer_360(request, customer_id: int, params: Query[Customer360Params]):
    bundle = customer_360(request.user, customer_id, interactions_cursor=params.cursor,
                          interactions_limit=params.limit)
    page = bundle.recent_interactions
    return {
        "customer": bundle.customer,
        "contacts": bundle.contacts,
        "consents": bundle.consents,
        "order_summary": bundle.order_summary,
        "recent_orders": bundle.recent_orders,
        "recent_interactions": {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit},
        "open_tickets": bundle.open_tickets,
        "latest_survey": _scores(bundle.latest_survey),
        "value": _value(bundle.value),
        "loyalty": asdict(bundle.loyalty) if bundle.loyalty is not None else None,
    }


@router.get("/{customer_id}/personal-data", response={200: None, **COMMON_ERRORS}, url_name="customer_personal_data",
            summary="Everything held about one customer (a data subject's copy)",
            description="One JSON document (format loopcrm-personal-data/1): the profile and the records merged "
                        "into it, contacts, every consent decision, orders with lines, interactions, tickets with "
                        "messages and attachment names, survey invitations and answers, feedback and its analysis, "
                        "loyalty points and tier changes, the value row and the audit trail. Needs the customer "
                        "\"privacy\" permission; the export is audited.")
def get_personal_data(request, customer_id: int):
    return personal_data_response(request, customer_id)


def personal_data_response(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The document as a JSON file to save (the API and the 360 page's download)."""
    response = JsonResponse(personal_data(request.user, customer_id),
                            json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = f'attachment; filename="{download_name(customer_id)}"'
    return response


@router.post("/{customer_id}/erase", response={200: ErasureOut, **WRITE_ERRORS}, url_name="erase_customer",
             summary="Erase a customer's personal data (at their request)",
             description="Overwrites what identifies the person — in the customer and merged records, contacts, "
                         "interactions, tickets and their messages, attachments, mail addresses, survey words, "
                         "feedback, staged import rows and audit values — and keeps every count (orders, tickets, "
                         "scores, points). Their phone, email and external id go on the suppression list. Cannot "
                         "be undone. Needs the customer \"privacy\" permission; audited with the reason.")
def erase(request, customer_id: int, payload: ErasureIn):
    result = erase_customer(request.user, customer_id, reason=payload.reason)
    return {"customer_id": result.customer_id, "erased_at": result.erased_at, "counts": result.counts}


def _scores(scores: LatestScores | None) -> dict[str, Any] | None:
    if scores is None:
        return None
    return {"csat": scores.csat, "csat_at": scores.csat_at, "nps": scores.nps, "nps_at": scores.nps_at,
            "ces": scores.ces, "ces_at": scores.ces_at, "responses": scores.responses,
            "comments": [{"text": c.text, "sentiment": c.sentiment, "at": c.at} for c in scores.comments]}


def _value(panel: ValuePanel | None) -> dict[str, Any] | None:
    if panel is None:
        return None
    return {"value": panel.value,
            "recommendations": [{"product_id": r.product.pk, "sku": r.product.sku, "name": r.product.name,
                                 "price": r.product.price, "currency": r.product.currency,
                                 "confidence": r.confidence, "lift": r.lift,
                                 "because_of_product_id": r.because_of.pk if r.because_of else None}
                                for r in panel.recommendations]}
