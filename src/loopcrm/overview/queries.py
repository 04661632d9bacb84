"""The customer 360° view: everything about one customer an agent needs, in a fixed handful of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import OrderSummary, customer_order_summary, recent_orders
from loopcrm.core.pagination import Page
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.customers.queries import contacts_of, current_consents, get_customer_for
from loopcrm.feedback.queries import LatestScores, latest_scores_of
from loopcrm.interactions.models import Interaction
from loopcrm.interactions.queries import timeline
from loopcrm.loyalty.models import Programme
from loopcrm.loyalty.queries import MemberSummary, enrol_choices, membership_of
from loopcrm.service.models import Ticket
from loopcrm.service.queries.tickets import open_tickets_of
from loopcrm.value.queries import ValuePanel, value_panel

RECENT_ORDERS = 10


@dataclass
class Customer360:
    """One customer with their people, consent, purchases and latest touches, and what the later
    domains know: open tickets, latest survey scores, value and loyalty membership.

    A slot the user's role may not see is None (open tickets: only those the user may see).
    """

    customer: Customer
    contacts: list[ContactPerson]
    consents: list[Consent]
    order_summary: OrderSummary
    recent_orders: list[Order]
    recent_interactions: Page[Interaction]
    open_tickets: list[Ticket] = field(default_factory=list)
    latest_survey: LatestScores | None = None
    value: ValuePanel | None = None
    loyalty: MemberSummary | None = None
    may_see_loyalty: bool = False
    loyalty_enrol: list[Programme] = field(default_factory=list)


def customer_360(
    user: User, customer_id: int, *, interactions_cursor: str | None = None, interactions_limit: int | None = 25
) -> Customer360:
    """The 360° bundle of a customer `user` may see (NotFound otherwise), in a fixed number of queries
    whatever the data: seven for the customer's own record, one for open tickets, five for survey
    scores, four for value and two for loyalty (fewer when the role may not see a slot)."""
    customer = get_customer_for(user, customer_id)  # with owner and department; tags prefetched
    may_see_loyalty = can(user, "loyalty", "view")
    return Customer360(
        customer=customer,
        # Only organisations have contact persons: a person's 360 skips the query.
        contacts=list(contacts_of(customer)) if customer.kind == Customer.Kind.ORGANISATION else [],
        consents=current_consents(customer),
        order_summary=customer_order_summary(customer),
        recent_orders=recent_orders(customer, limit=RECENT_ORDERS),
        recent_interactions=timeline(customer, cursor=interactions_cursor, limit=interactions_limit),
        open_tickets=open_tickets_of(customer, user),
        latest_survey=latest_scores_of(customer) if can(user, "feedback", "view") else None,
        value=value_panel(customer) if can(user, "value", "view") else None,
        loyalty=membership_of(customer) if may_see_loyalty else None,
        may_see_loyalty=may_see_loyalty,
        loyalty_enrol=enrol_choices(user, customer) if may_see_loyalty else [],
    )
