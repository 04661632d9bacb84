"""Everything LoopCRM holds about one customer, as one JSON document: the answer to a data subject's request
for a copy of their personal information (PIPL art. 45, GDPR art. 15 and 20).

Overview sits above every domain, so it can read them all. Each section is every column of that domain's
rows about the customer (`.values()`: a field added later is exported without anyone remembering to), less
the few that are secrets of the system, not information about the person (a survey link's token hash). The
customer records merged into this one are included: their phones and emails are still held. Exporting is
audited (who, when), and a fixed number of queries, whatever the history's length.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order, OrderLine
from loopcrm.core import audit
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.customers.queries import get_customer_for
from loopcrm.feedback.models import Answer, Feedback, Invitation, Response, TextAnalysis
from loopcrm.interactions.models import Interaction
from loopcrm.loyalty.models import Membership, PointsEntry, TierChange
from loopcrm.service.models import Attachment, Ticket, TicketMessage
from loopcrm.value.models import CustomerValue

FORMAT = "loopcrm-personal-data/1"
# Columns that are the system's secrets, not information about the person.
SECRETS = {Invitation: ("token_hash", "token_nonce")}


def download_name(customer_id: int) -> str:
    return f"customer-{customer_id}-personal-data.json"


def _rows(queryset: QuerySet, model=None) -> list[dict[str, Any]]:
    hidden = SECRETS.get(model or queryset.model, ())
    return [{key: value for key, value in row.items() if key not in hidden} for row in queryset.values()]


def _grouped(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return groups


def personal_data(user: User, customer_id: int, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """The document for `customer_id`, if `user` may handle that customer's privacy requests (NotFound outside
    their view, PermissionDenied when they may see but not handle it). JSON-ready with DjangoJSONEncoder."""
    customer = get_customer_for(user, customer_id, action="privacy")
    at = at or timezone.now()
    ids = [customer.pk, *Customer.objects.filter(merged_into=customer).values_list("pk", flat=True)]
    orders = _rows(Order.objects.filter(customer=customer).order_by("placed_at", "id"))
    lines = _grouped(_rows(OrderLine.objects.filter(order__customer=customer).order_by("id")), "order_id")
    tickets = _rows(Ticket.objects.filter(customer=customer).order_by("created_at", "id"))
    messages = _rows(TicketMessage.objects.filter(ticket__customer=customer).order_by("created_at", "id"))
    attachments = _grouped(
        list(Attachment.objects.filter(message__ticket__customer=customer).order_by("id")
             .values("id", "message_id", "filename", "content_type", "size", "sha256")), "message_id")
    for message in messages:
        message["attachments"] = attachments.get(message["id"], [])
    by_ticket = _grouped(messages, "ticket_id")
    responses = _rows(Response.objects.filter(customer=customer).order_by("started_at", "id"))
    answers = _grouped(_rows(Answer.objects.filter(response__customer=customer).order_by("id")), "response_id")
    memberships = _rows(Membership.objects.filter(customer=customer).order_by("id"))
    entries = _grouped(_rows(PointsEntry.objects.filter(membership__customer=customer).order_by("id")),
                       "membership_id")
    tier_changes = _grouped(_rows(TierChange.objects.filter(membership__customer=customer).order_by("id")),
                            "membership_id")
    document = {
        "format": FORMAT,
        "exported_at": at,
        "exported_by": user.username,
        "customer": _rows(Customer.objects.filter(pk=customer.pk))[0] | {"tags": sorted(t.name for t in
                                                                                       customer.tags.all())},
        "merged_records": _rows(Customer.objects.filter(merged_into=customer).order_by("id")),
        "contacts": _rows(ContactPerson.objects.filter(organisation=customer).order_by("id")),
        "consents": _rows(Consent.objects.filter(customer=customer).order_by("id")),
        "orders": [order | {"lines": lines.get(order["id"], [])} for order in orders],
        "interactions": _rows(Interaction.objects.filter(customer=customer).order_by("occurred_at", "id")),
        "tickets": [ticket | {"messages": by_ticket.get(ticket["id"], [])} for ticket in tickets],
        "survey_invitations": _rows(Invitation.objects.filter(customer=customer).order_by("id")),
        "survey_responses": [response | {"answers": answers.get(response["id"], [])} for response in responses],
        "feedback": _rows(Feedback.objects.filter(customer=customer).order_by("received_at", "id")),
        "text_analysis": _rows(TextAnalysis.objects.filter(customer=customer).order_by("at", "id")),
        "loyalty": [membership | {"points": entries.get(membership["id"], []),
                                  "tier_changes": tier_changes.get(membership["id"], [])}
                    for membership in memberships],
        "value": next(iter(_rows(CustomerValue.objects.filter(customer=customer))), None),
        "audit": _rows(AuditEntry.objects.filter(object_type=Customer._meta.label_lower,
                                                 object_id__in=[str(pk) for pk in ids]).order_by("at", "id")),
    }
    audit.record(action=AuditEntry.Action.EXPORT, obj=customer, by=user, at=at, note="personal data")
    return document
