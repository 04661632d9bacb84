"""Reads of the timeline. An interaction is seen through its customer: the customer's scope decides."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import scope_filter
from loopcrm.core.errors import NotFound
from loopcrm.core.pagination import Page, paginate
from loopcrm.core.times import as_utc
from loopcrm.customers.models import Customer
from loopcrm.interactions.models import Interaction

TIMELINE_SORT = "-occurred_at"
INTERACTION_SORTS = ("-occurred_at", "occurred_at", "-id", "id")
# What a row on a list or a timeline shows besides itself: loaded with it, never one query per row.
_RELATED = ("customer", "user", "contact", "order")


def interactions_for(user: User, action: str = "view") -> QuerySet[Interaction]:
    """The interactions `user` may reach for `action`, with customer, author, contact and order loaded."""
    scope = scope_filter(user, "customer", action, owner="customer__owner", department="customer__department")
    if scope is None:
        return Interaction.objects.none()
    return Interaction.objects.filter(scope).select_related(*_RELATED)


def get_interaction_for(user: User, interaction_id: int, action: str = "view") -> Interaction:
    interaction = interactions_for(user, action).filter(pk=interaction_id).first()
    if interaction is None:
        raise NotFound(_("No such interaction."), field="interaction_id")
    return interaction


def timeline(customer: Customer, *, cursor: str | None = None, limit: int | None = 25,
             joined: bool = True) -> Page[Interaction]:
    """One page of `customer`'s touches, newest first. The caller has already checked it may see them.

    `joined=False` leaves out the author, contact and order (read lazily if touched): for a caller that shows
    only the touches' own columns, such as the ticket page's sidebar.
    """
    # The caller holds the customer: no need to join it again for every row.
    rows = Interaction.objects.filter(customer=customer)
    if joined:
        rows = rows.select_related(*[name for name in _RELATED if not name.startswith("customer")])
    page = paginate(rows, sort=TIMELINE_SORT, allowed=(TIMELINE_SORT,), cursor=cursor, limit=limit)
    for row in page.items:
        row.customer = customer
    return page


def filter_interactions(
    queryset: QuerySet[Interaction],
    *,
    customer_id: int | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    journey_stage: str | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
) -> QuerySet[Interaction]:
    """The interaction-list filters, shared by the API and the pages. Naive times are read in the current zone."""
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if channel:
        queryset = queryset.filter(channel=channel)
    if touchpoint:
        queryset = queryset.filter(touchpoint=touchpoint)
    if journey_stage:
        queryset = queryset.filter(journey_stage=journey_stage)
    if occurred_from is not None:
        queryset = queryset.filter(occurred_at__gte=_aware(occurred_from, "from"))
    if occurred_to is not None:
        queryset = queryset.filter(occurred_at__lt=_aware(occurred_to, "to"))
    return queryset


def _aware(value: dt.datetime, field: str = "from") -> dt.datetime:
    return as_utc(value, field=field)
