"""A fingerprint of the demo's rows that ignores primary keys, so two loads can be compared across databases.

Rows are identified by natural keys (department code, username, SKU, customer phone, order number);
password hashes (salted) and the audit trail's wall-clock times are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal

from loopcrm.accounts.models import Department, Team, User
from loopcrm.commerce.models import Order, OrderLine, Product, ProductCategory
from loopcrm.customers.models import Consent, ContactPerson, Customer, Tag
from loopcrm.feedback.models import Response
from loopcrm.interactions.models import Interaction
from loopcrm.loyalty.models import PointsEntry
from loopcrm.service.models import SlaClock, Ticket, TicketEvent, TicketStep
from loopcrm.value.models import CustomerValue

ID_FIELDS = ("queue", "assignee", "repeat_of")


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _fields(model, *, skip: Iterable[str] = ()) -> list[str]:
    """Every concrete column of `model` except its key and `skip`, foreign keys spelled as their natural key."""
    natural = {"department": "department__code", "owner": "owner__username", "created_by": "created_by__username",
               "parent": "parent__code", "category": "category__code", "customer": "customer__phone",
               "organisation": "organisation__phone", "recorded_by": "recorded_by__username",
               "user": "user__username", "order": "order__number", "product": "product__sku",
               "contact": "contact__email", "lead": "lead__username", "merged_into": "merged_into__phone"}
    names = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in skip:
            continue
        names.append(natural.get(field.name, field.name) if field.is_relation else field.name)
    return names


def fingerprint() -> str:
    """SHA-256 over the demo's business rows in a stable order."""
    digest = hashlib.sha256()

    def feed(label: str, queryset, fields: list[str]) -> None:
        for row in queryset.values_list(*fields):
            digest.update(repr((label, *(_plain(value) for value in row))).encode())

    feed("department", Department.objects.order_by("code"), _fields(Department, skip={"path"}))
    feed("user", User.objects.order_by("username"), _fields(User, skip={"password", "last_login"}))
    feed("team", Team.objects.order_by("department__code", "name"), _fields(Team))
    feed("member", Team.members.through.objects.order_by("team__name", "user__username"),
         ["team__name", "user__username"])
    feed("tag", Tag.objects.order_by("name"), _fields(Tag))
    feed("category", ProductCategory.objects.order_by("code"), _fields(ProductCategory))
    feed("product", Product.objects.order_by("sku"), _fields(Product))
    feed("customer", Customer.objects.order_by("phone", "name"), _fields(Customer))
    feed("customer_tag", Customer.tags.through.objects.order_by("customer__phone", "tag__name"),
         ["customer__phone", "tag__name"])
    feed("contact", ContactPerson.objects.order_by("organisation__phone", "phone"), _fields(ContactPerson))
    feed("consent", Consent.objects.order_by("customer__phone", "at", "purpose", "channel", "status"),
         _fields(Consent))
    feed("order", Order.objects.order_by("number"), _fields(Order))
    feed("line", OrderLine.objects.order_by("order__number", "id"), _fields(OrderLine))
    feed("interaction", Interaction.objects.order_by("customer__phone", "occurred_at", "id"), _fields(Interaction))
    ticket = ["customer__phone", "opened_at", "subject"]  # a ticket's natural key
    feed("ticket", Ticket.objects.order_by(*ticket, "id"),
         [*ticket, "kind", "status", "channel", "priority", "category__code", "assignee__username", "order__number",
          "first_response_at", "resolved_at", "closed_at", "severity", "root_cause__code", "reopen_count"])
    events = [f"ticket__{name}" for name in ticket]
    # Events name queues, agents and earlier tickets by primary key (which differs between loads on
    # PostgreSQL, whose sequences a rollback does not rewind): those values are left out.
    for row in TicketEvent.objects.order_by(*events, "at", "id").values_list(
            *events, "kind", "at", "actor__username", "field", "old", "new", "step"):
        row = (*row[:-3], "#", "#", row[-1]) if row[-4] in ID_FIELDS else row
        digest.update(repr(("event", *(_plain(value) for value in row))).encode())
    feed("clock", SlaClock.objects.order_by(*events, "metric"),
         [*events, "metric", "policy__name", "state", "started_at", "due_at", "met_at", "elapsed_seconds", "breached"])
    steps = [f"ticket_process__ticket__{name}" for name in ticket]
    feed("step", TicketStep.objects.order_by(*steps, "position"),
         [*steps, "step__key", "status", "started_at", "completed_at", "duration_minutes"])
    feed("response", Response.objects.order_by("customer__phone", "started_at", "id"),
         ["customer__phone", "survey__name", "started_at", "answered_at", "csat", "nps", "ces", "comment"])
    feed("points", PointsEntry.objects.order_by("membership__customer__phone", "id"),
         ["membership__customer__phone", "kind", "amount", "balance_after", "reason"])
    feed("value", CustomerValue.objects.order_by("customer__phone", "customer__name"),
         ["customer__phone", "r_score", "f_score", "m_score", "segment", "tier", "clv", "p_alive", "stage"])
    return digest.hexdigest()
