"""Legal holds: keeping a customer's records as they are while a lawsuit, an inquiry or an audit needs them.

PIPL and GDPR let a person ask for erasure, and retention rules delete what is no longer needed; a legal
obligation to keep the records comes before both. While a hold stands, the customer's personal data cannot be
erased, the customer cannot be deleted or merged away into another record, and retention rules pass them by.
Placing and lifting a hold is a privacy task (the customer permission "privacy": administrators for every
customer, managers for their department's), needs a reason, and is audited (object type customers.legalhold:
"created" when placed, "deleted" when lifted, the reason as the note).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, NotFound, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.core.text import clean_line
from loopcrm.customers.models import Customer, LegalHold
from loopcrm.customers.queries import get_customer_for

MAX_REASON = 500
AUDITED_AS = LegalHold._meta.label_lower


def _reason(reason: str) -> str:
    reason = clean_line(reason, field="reason", max_length=MAX_REASON)
    if not reason:
        raise RuleViolation(_("Say why (the case or request it is for), without personal data."), field="reason")
    return reason


def _since(hold: LegalHold) -> str:
    return formats.date_format(timezone.localtime(hold.placed_at), "SHORT_DATE_FORMAT")


def held_ids(customer_ids: list[int]) -> set[int]:
    """Which of these customers are under a legal hold (for bulk work that must pass them by)."""
    return set(LegalHold.objects.filter(customer_id__in=customer_ids).values_list("customer_id", flat=True))


_REFUSALS = {
    "erase": gettext_noop("Customer #%(id)s is under a legal hold since %(date)s: their personal data cannot be "
                          "erased until the hold is lifted."),
    "delete": gettext_noop("Customer #%(id)s is under a legal hold since %(date)s: it cannot be deleted until the "
                           "hold is lifted."),
    "merge": gettext_noop("Customer #%(id)s is under a legal hold since %(date)s: it cannot be merged into another "
                          "customer until the hold is lifted."),
}


def refuse_if_held(customer_ids: list[int], action: str, *, field: str = "customer_id") -> None:
    """Conflict (409) if one of the customers is under a legal hold; `action`: "erase", "delete" or "merge"."""
    hold = LegalHold.objects.filter(customer_id__in=customer_ids).order_by("customer_id").first()
    if hold is not None:
        raise Conflict(_(_REFUSALS[action]) % {"id": hold.customer_id, "date": _since(hold)}, field=field)


def legal_hold_of(user: User, customer_id: int) -> LegalHold | None:
    """The hold on a customer the user may handle privacy requests for (NotFound / PermissionDenied otherwise)."""
    customer = get_customer_for(user, customer_id, action="privacy")
    return LegalHold.objects.select_related("placed_by").filter(customer=customer).first()


def place_legal_hold(user: User, customer_id: int, *, reason: str, at: dt.datetime | None = None) -> LegalHold:
    reason = _reason(reason)
    at = at or timezone.now()
    with transaction.atomic():
        customer = get_customer_for(user, customer_id, action="privacy")
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        existing = LegalHold.objects.filter(customer=customer).first()
        if existing is not None:
            raise Conflict(_("Customer #%(id)s is already under a legal hold (since %(date)s).")
                           % {"id": customer.pk, "date": _since(existing)}, field="customer_id")
        hold = LegalHold.objects.create(customer=customer, reason=reason, placed_by=user, placed_at=at)
        audit.record(action=AuditEntry.Action.CREATE, object_type=AUDITED_AS, object_id=customer.pk, by=user, at=at,
                     note=reason, changes={"customer": customer.pk})
    return hold


def lift_legal_hold(user: User, customer_id: int, *, reason: str, at: dt.datetime | None = None) -> None:
    reason = _reason(reason)
    at = at or timezone.now()
    with transaction.atomic():
        customer = get_customer_for(user, customer_id, action="privacy")
        hold = LegalHold.objects.select_for_update().filter(customer=customer).first()
        if hold is None:
            raise NotFound(_("Customer #%(id)s is not under a legal hold.") % {"id": customer.pk}, field="customer_id")
        placed = {"placed_at": hold.placed_at.isoformat(), "placed_by": hold.placed_by_id, "reason": hold.reason}
        hold.delete()
        audit.record(action=AuditEntry.Action.DELETE, object_type=AUDITED_AS, object_id=customer.pk, by=user, at=at,
                     note=reason, changes={"customer": customer.pk, "hold": placed})
