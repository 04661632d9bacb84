"""Helpers for the customer tests."""

from __future__ import annotations

from loopcrm.commerce.models import Order
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.interactions.models import Interaction


def state() -> dict:
    """Everything a denied or refused request must leave untouched: rows, links and the audit trail."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "tags": sorted(Customer.tags.through.objects.values_list("customer_id", "tag_id")),
        "contacts": list(ContactPerson.objects.order_by("pk").values()),
        "consents": list(Consent.objects.order_by("pk").values()),
        "orders": sorted(Order.objects.values_list("pk", "customer_id")),
        "interactions": sorted(Interaction.objects.values_list("pk", "customer_id")),
        "audit": AuditEntry.objects.count(),
    }
