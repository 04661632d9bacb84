"""The customer 360° view: everything about one customer an agent needs, in a fixed handful of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import OrderSummary, customer_order_summary, recent_orders
from loopcrm.core.pagination import Page
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.customers.queries import contacts_of, current_consents, get_customer_for
from loopcrm.interactions.models import Interaction
from loopcrm.interactions.queries import timeline

RECENT_ORDERS = 10


@dataclass
class Customer360:
    """One customer with their people, consent, purchases and latest touches.

    The last four slots are filled by later domains (service tickets, surveys, customer value,
    loyalty); until then they are empty.
    """

    customer: Customer
    contacts: list[ContactPerson]
    consents: list[Consent]
    order_summary: OrderSummary
    recent_orders: list[Order]
    recent_interactions: Page[Interaction]
    open_tickets: list[Any] = field(default_factory=list)
    latest_survey: Any = None
    value: Any = None
    loyalty: Any = None


def customer_360(
    user: User, customer_id: int, *, interactions_cursor: str | None = None, interactions_limit: int | None = 25
) -> Customer360:
    """The 360° bundle of a customer `user` may see (NotFound otherwise). Seven queries, whatever the data."""
    customer = get_customer_for(user, customer_id)  # with owner and department; tags prefetched
    return Customer360(
        customer=customer,
        # Only organisations have contact persons: a person's 360 skips the query.
        contacts=list(contacts_of(customer)) if customer.kind == Customer.Kind.ORGANISATION else [],
        consents=current_consents(customer),
        order_summary=customer_order_summary(customer),
        recent_orders=recent_orders(customer, limit=RECENT_ORDERS),
        recent_interactions=timeline(customer, cursor=interactions_cursor, limit=interactions_limit),
    )
