"""Where metrics read from: one scoped queryset per source and the column each dimension means there.

Scope goes through the one permission layer (`scope_filter` and the read doors of the owning apps);
`user=None` is the system and sees everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F, Func, Q, QuerySet, Subquery

from loopcrm.accounts.permissions import scope_filter
from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import SPENDING_STATUSES, orders_for
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customers_for
from loopcrm.feedback import queries as feedback_queries
from loopcrm.feedback.models import FollowUp, Response
from loopcrm.service.models import SlaClock, Ticket
from loopcrm.service.queries.tickets import tickets_for
from loopcrm.value.models import CustomerValue
from loopcrm.value.queries import values_for


@dataclass(frozen=True)
class Source:
    """A table metrics aggregate: its rows for a user, and the lookup of each dimension it knows."""

    name: str
    rows: Callable[[object | None], QuerySet]
    dimensions: dict[str, str]
    # Optional: the rows for a user whose `date` falls in [low, high) — a cheaper but identical statement
    # (the caller still filters on the window).
    dated_rows: Callable[[object | None, str, object, object], QuerySet] | None = None


def _tickets(user) -> QuerySet:
    return Ticket.objects.all() if user is None else tickets_for(user, "view")


def _clocks(user) -> QuerySet:
    if user is None:
        return SlaClock.objects.all()
    # The tickets' scope, on the clock's ticket (a semi-join on the whole ticket table would cost more).
    condition = scope_filter(user, "ticket", "view", owner="ticket__assignee", department="ticket__department")
    return SlaClock.objects.none() if condition is None else SlaClock.objects.filter(condition)


SHORT_WINDOW = dt.timedelta(days=3)


def _clock_ticket_bound(function: str, date: str, low, high) -> Subquery:
    """MIN or MAX of the ticket ids of the clocks dated in [low, high) (one index-only scan on PostgreSQL; the
    `+ 0` keeps the planner from walking the ticket_id index in order instead)."""
    return Subquery(SlaClock.objects.filter(**{f"{date}__gte": low, f"{date}__lt": high}).order_by()
                    .annotate(bound=Func(F("ticket_id") + 0, function=function)).values("bound")[:1])


def _clocks_dated(user, date: str, low, high) -> QuerySet:
    """The same clocks as `_clocks(user)` dated in the window, with the scope tested on the tickets whose id lies
    between the smallest and largest ticket id of the window's clocks, not on all tickets: ticket ids grow with
    opening, so that is a narrow primary-key range (a window's 200,000 clocks belong to ~95,000 of 1,000,000
    tickets) instead of a join to the whole ticket table. Every clock of the window has its ticket in that range,
    so the rows are the same."""
    if user is None:
        return SlaClock.objects.all()
    if high - low <= SHORT_WINDOW:
        # A day or two (today's rows after the daily roll-up): the clocks' own tickets by primary key, a nested
        # loop over a few thousand clocks, costs less than the id range (which old tickets' clocks widen).
        return _clocks(user)
    condition = scope_filter(user, "ticket", "view", owner="assignee", department="department")
    if condition is None:
        return SlaClock.objects.none()
    if not condition:  # every ticket: no join at all
        return SlaClock.objects.all()
    tickets = Ticket.objects.filter(condition).filter(
        pk__gte=_clock_ticket_bound("MIN", date, low, high), pk__lte=_clock_ticket_bound("MAX", date, low, high))
    return SlaClock.objects.filter(ticket__in=tickets.values("pk"))


def _responses(user) -> QuerySet:
    return Response.objects.filter(is_complete=True) if user is None else feedback_queries.responses_for(user)


def _follow_ups(user) -> QuerySet:
    if user is None:
        # The same closure rule as the feedback dashboard: the first public reply after the follow-up opened.
        return FollowUp.objects.annotate(closed_at=feedback_queries._first_reply())
    return feedback_queries.follow_ups_with_closure(user)


def _orders(user) -> QuerySet:
    rows = Order.objects.all() if user is None else orders_for(user, "view")
    return rows.filter(status__in=SPENDING_STATUSES)


def _customers(user) -> QuerySet:
    return Customer.objects.filter(merged_into__isnull=True) if user is None else customers_for(user, "view")


def _values(user) -> QuerySet:
    if user is None:
        return CustomerValue.objects.filter(customer__merged_into__isnull=True)
    return values_for(user)


TICKET_DIMENSIONS = {
    "department": "department", "team": "assignee__teams", "agent": "assignee", "category": "category",
    "kind": "kind", "channel": "channel", "customer_tier": "customer__value__tier", "region": "customer__province",
}

SOURCES: dict[str, Source] = {
    source.name: source for source in (
        Source("tickets", _tickets, TICKET_DIMENSIONS),
        Source("clocks", _clocks, {name: f"ticket__{lookup}" for name, lookup in TICKET_DIMENSIONS.items()},
               dated_rows=_clocks_dated),
        Source("responses", _responses, {
            "department": "department", "team": "agent__teams", "agent": "agent", "category": "category",
            "channel": "channel", "touchpoint": "touchpoint", "customer_tier": "tier",
            "region": "customer__province"}),
        Source("follow_ups", _follow_ups, {
            "department": "department", "team": "ticket__assignee__teams", "agent": "ticket__assignee",
            "category": "ticket__category", "kind": "ticket__kind", "channel": "ticket__channel",
            "touchpoint": "response__touchpoint", "customer_tier": "customer__value__tier",
            "region": "customer__province"}),
        Source("orders", _orders, {"channel": "channel", "customer_tier": "customer__value__tier",
                                   "region": "customer__province"}),
        Source("customers", _customers, {"customer_tier": "value__tier", "region": "province"}),
        Source("values", _values, {"customer_tier": "tier", "region": "customer__province"}),
    )
}

ID_DIMENSIONS = ("department", "team", "agent", "category")


def filter_condition(source: Source, filters: dict, category_paths: dict[int, str]) -> Q:
    """The WHERE for `filters` on a source; a category means it and the categories below it."""
    condition = Q()
    for name, value in filters.items():
        lookup = source.dimensions[name]
        if name == "category" and category_paths.get(value):
            condition &= Q(**{f"{lookup}__path__startswith": category_paths[value]})
        else:
            condition &= Q(**{lookup: value})
    return condition
