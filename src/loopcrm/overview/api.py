"""REST endpoint for the customer 360° view (thin): one query bundle, serialised."""

from __future__ import annotations

from ninja import Query, Router

from loopcrm.core.api import COMMON_ERRORS
from loopcrm.overview.queries import customer_360
from loopcrm.overview.schemas import Customer360Out, Customer360Params

router = Router()


@router.get("/{customer_id}/360", response={200: Customer360Out, **COMMON_ERRORS}, url_name="customer_360",
            summary="Everything about one customer",
            description="Profile, contacts, current consent, order summary, recent orders and the newest "
                        "interactions, in a fixed number of queries.")
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
        "latest_survey": bundle.latest_survey,
        "value": bundle.value,
        "loyalty": bundle.loyalty,
    }
