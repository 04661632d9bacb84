"""REST endpoints for the timeline (thin): load through queries, call one service, serialise."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.commerce.queries import get_order_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import NotFound
from loopcrm.core.pagination import paginate
from loopcrm.customers.models import ContactPerson
from loopcrm.customers.queries import customers_for, get_customer_for
from loopcrm.interactions import queries, services
from loopcrm.interactions.schemas import InteractionDetailOut, InteractionFilter, InteractionIn, InteractionOut

router = Router()


@router.get("", response={200: PageOut[InteractionOut], **COMMON_ERRORS}, url_name="interactions",
            summary="List interactions", description="Touches with the customers you may see, newest first.")
def list_interactions(request, filters: Query[InteractionFilter]):
    rows = queries.filter_interactions(
        queries.interactions_for(request.user), customer_id=filters.customer_id, channel=filters.channel,
        touchpoint=filters.touchpoint, journey_stage=filters.journey_stage, occurred_from=filters.occurred_from,
        occurred_to=filters.occurred_to,
    )
    page = paginate(rows, sort=filters.sort, allowed=queries.INTERACTION_SORTS, cursor=filters.cursor,
                    limit=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


@router.post("", response={201: InteractionDetailOut, **WRITE_ERRORS, 403: Problem}, url_name="log_interaction",
             summary="Log an interaction on a customer's timeline")
def log_interaction(request, payload: InteractionIn):
    customer = get_customer_for(request.user, payload.customer_id)
    order = get_order_for(request.user, payload.order_id) if payload.order_id is not None else None
    contact = None
    if payload.contact_id is not None:
        contact = ContactPerson.objects.filter(
            pk=payload.contact_id, organisation__in=customers_for(request.user)
        ).first()
        if contact is None:
            raise NotFound(_("No such contact person."), field="contact_id")
    interaction = services.log_interaction(
        by=request.user, customer=customer, contact=contact, order=order,
        **payload.model_dump(exclude={"customer_id", "contact_id", "order_id"}, exclude_none=True),
    )
    return Status(201, queries.get_interaction_for(request.user, interaction.pk))


@router.get("/{interaction_id}", response={200: InteractionDetailOut, **COMMON_ERRORS}, url_name="interaction",
            summary="One interaction")
def get_interaction(request, interaction_id: int):
    return queries.get_interaction_for(request.user, interaction_id)
