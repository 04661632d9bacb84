"""Erasing a customer's personal data at their request (PIPL art. 47, GDPR art. 17), keeping every count true.

The customer's record and every record about them stay — orders, tickets, survey scores, points — so that
sales, SLA attainment, NPS and the improvement charts do not change; what identifies the person is
overwritten: names, phones, emails, addresses, birthday, notes, the words of messages, answers, feedback and
interaction notes, attachments (files deleted), mail addresses, staged import rows, the values in the audit
trail, and the uploaded files of finished imports that brought them in (deleted: they hold other people's
rows too, and a finished import no longer reads its file). Region, kind, source, owner, tags, times,
amounts, ratings and statuses stay: they are what the aggregates count. The phones, emails and external ids
go onto the suppression list (customers.privacy) so the person does not come back from an old import.
Records merged into the customer are erased with it.

Staff-written case notes that are the company's own (a complaint's corrective action) stay. Application logs
hold no phones or emails (RELIABILITY.md), so there is nothing to rewrite there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.errors import RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.core.text import clean_line
from loopcrm.customers.holds import refuse_if_held
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.customers.privacy import suppress
from loopcrm.customers.queries import get_customer_for
from loopcrm.feedback.models import Answer, Feedback, Response, TextAnalysis
from loopcrm.imports.models import ImportJob, StagedRow
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Attachment, InboundMail, OutboundMail, Ticket, TicketEvent, TicketMessage

ERASED = "—"  # what a required text field holds once erased
MAX_REASON = 500
FINISHED_IMPORTS = (ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.CANCELLED,
                    ImportJob.Status.ROLLED_BACK)
# Ticket events whose old and new values are the customer's words or identity.
PERSONAL_EVENT_FIELDS = ("subject", "description", "contact", "customer", "attachment")  # attachment: file name
CUSTOMER_FIELDS = {"phone": "", "phone_raw": "", "email": "", "external_id": "", "birthday": None, "district": "",
                   "street": "", "postal_code": "", "notes": ""}
STAGED_FIELDS = {"name": ERASED, "phone": "", "phone_raw": "", "email": "", "external_id": "", "birthday": None,
                 "district": "", "street": "", "postal_code": "", "notes": "", "before": None}


@dataclass
class Erasure:
    """What an erasure overwrote, per kind of record (for the audit entry and the caller)."""

    customer_id: int
    erased_at: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)


def erase_customer(user: User, customer_id: int, *, reason: str, at: dt.datetime | None = None) -> Erasure:
    """Erase the personal data of `customer_id` (and of the records merged into it), if `user` may handle
    its privacy requests. `reason` says why (the request's reference), without personal data of its own."""
    reason = clean_line(reason, field="reason", max_length=MAX_REASON)
    if not reason:
        raise RuleViolation(_("Say why (the request's reference), without personal data."), field="reason")
    at = at or timezone.now()
    with transaction.atomic():
        customer = get_customer_for(user, customer_id, action="privacy")
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        ids = [customer.pk, *Customer.objects.filter(merged_into=customer).values_list("pk", flat=True)]
        refuse_if_held(ids, "erase")  # a legal obligation to keep the records comes first
        result = Erasure(customer_id=customer.pk, erased_at=at)
        counts = result.counts
        counts["suppressed identities"] = suppress(
            Customer.objects.filter(pk__in=ids).values("phone", "email", "external_id"), at=at)
        files = erase_customers(ids, at=at, counts=counts)
        # By type and id: the record's name is what was just erased.
        audit.record(action=AuditEntry.Action.ERASE, object_type=Customer._meta.label_lower, object_id=customer.pk,
                     by=user, at=at, note=reason, changes={"records": counts})
        transaction.on_commit(lambda: [stored.delete(save=False) for stored in files])
    return result


def erase_customers(ids: list[int], *, at: dt.datetime, counts: dict[str, int]) -> list:
    """Overwrite customers `ids` and every record about them (inside the caller's transaction); returns the files
    to delete once it commits. No permission check, no suppression, no audit: the callers' (a person's request
    above, a retention rule in overview.retention)."""
    files = _erase_records(ids, counts)
    counts["customers"] = Customer.objects.filter(pk__in=ids).update(name=_number_sign(), erased_at=at,
                                                                      updated_at=at, **CUSTOMER_FIELDS)
    return files


def _erase_records(ids: list[int], counts: dict[str, int]) -> list:
    """Overwrite every record about customers `ids` but their own rows; returns the attachment files to delete
    once the transaction commits (a rollback must not lose them)."""
    contacts = ContactPerson.objects.filter(organisation_id__in=ids)
    contact_ids = list(contacts.values_list("pk", flat=True))
    counts["contacts"] = contacts.update(name=_number_sign(), title="", phone="", phone_raw="", email="", notes="")
    counts["consent notes"] = Consent.objects.filter(customer_id__in=ids).exclude(note="").update(note="")
    counts["interactions"] = Interaction.objects.filter(customer_id__in=ids).update(subject="", body="")
    counts["order notes"] = Order.objects.filter(customer_id__in=ids).exclude(notes="").update(notes="")
    tickets = Ticket.objects.filter(customer_id__in=ids)
    counts["tickets"] = tickets.update(subject=ERASED, description="")
    messages = TicketMessage.objects.filter(ticket__customer_id__in=ids)
    counts["ticket messages"] = messages.update(body=ERASED, in_reply_to="")
    attachments = Attachment.objects.filter(message__ticket__customer_id__in=ids)
    files = [attachment.file for attachment in attachments if attachment.file]
    counts["attachments"] = attachments.delete()[0]
    counts["ticket events"] = TicketEvent.objects.filter(ticket__customer_id__in=ids,
                                                         field__in=PERSONAL_EVENT_FIELDS).update(old="", new="")
    counts["mails in"] = InboundMail.objects.filter(ticket__customer_id__in=ids).update(from_address="",
                                                                                         subject="")
    counts["mails out"] = OutboundMail.objects.filter(ticket_message__ticket__customer_id__in=ids).update(
        to_address="")
    counts["survey answers"] = Answer.objects.filter(response__customer_id__in=ids).exclude(text="").update(text="")
    counts["survey comments"] = Response.objects.filter(customer_id__in=ids).exclude(comment="").update(comment="")
    counts["feedback"] = Feedback.objects.filter(customer_id__in=ids).update(text=ERASED)
    counts["text analyses"] = TextAnalysis.objects.filter(customer_id__in=ids).update(text="", tokens=[])
    staged = StagedRow.objects.filter(object_id__in=ids)
    # The uploaded files of finished imports that brought them in (a running import still reads its file).
    jobs = ImportJob.objects.filter(pk__in=staged.values("job_id"), status__in=FINISHED_IMPORTS).exclude(file="")
    files += [job.file for job in jobs]
    counts["import files"] = jobs.update(file="")
    counts["staged import rows"] = staged.update(**STAGED_FIELDS)
    counts["audit entries"] = _erase_audit(
        Q(object_type=Customer._meta.label_lower, object_id__in=[str(pk) for pk in ids])
        | Q(object_type=ContactPerson._meta.label_lower, object_id__in=[str(pk) for pk in contact_ids]))
    return files


def _number_sign() -> Concat:
    """"#<id>", the name an erased record keeps (one UPDATE for every row, each with its own id)."""
    return Concat(Value("#"), Cast("pk", CharField()))


def _erase_audit(condition: Q) -> int:
    """Keep who changed which field when; drop the values (and the record's name)."""
    entries = list(AuditEntry.objects.filter(condition).only("pk", "changes"))
    for entry in entries:
        entry.changes = {key: "[erased]" for key in entry.changes} if isinstance(entry.changes, dict) else {}
        entry.object_repr = ""
    AuditEntry.objects.bulk_update(entries, ["changes", "object_repr"], batch_size=500)
    return len(entries)
