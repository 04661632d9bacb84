"""Requests that arrive without an agent: inbound email and the public web form become tickets.

Mail threads onto its ticket by In-Reply-To / References (our outgoing Message-IDs and the
customer's earlier ones), then by the "[#123]" in the subject when the sender is that ticket's
customer. Anything else opens a new ticket for the customer found (or created) by address.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department
from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.core.text import clean_line, clean_text
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.customers.normalise import normalise_email, normalise_phone
from loopcrm.customers.services import create_customer
from loopcrm.service.mailparse import ParsedMail, parse_mail
from loopcrm.service.models import InboundMail, Mailbox, Ticket, TicketMessage
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.services.attachments import DEFAULT_MAX_BYTES, Upload, check_upload, per_message

SUBJECT_REFERENCE = re.compile(r"\[#(\d{1,12})\]")
MAX_SUBJECT = 200
MAX_BODY = 50_000


def attachment_limit() -> int:
    return int(getattr(settings, "LOOPCRM_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def accepts_recipient(address: str) -> bool:
    """With mailboxes configured, only their addresses take mail; with none, the desk takes all mail."""
    mailboxes = Mailbox.objects.filter(is_active=True)
    if not mailboxes.exists():
        return True
    return mailboxes.filter(address__iexact=address.strip()).exists()


def _mailbox_for(recipients: list[str]) -> Mailbox | None:
    addresses = [address.strip().lower() for address in recipients if address]
    if not addresses:
        return None
    return Mailbox.objects.filter(is_active=True, address__in=addresses).select_related("department").first()


def _ticket_by_thread(parsed: ParsedMail) -> Ticket | None:
    ids = parsed.thread_ids
    if not ids:
        return None
    message = TicketMessage.objects.filter(message_id__in=ids).select_related("ticket").order_by("-id").first()
    if message is not None:
        return message.ticket
    inbound = InboundMail.objects.filter(message_id__in=ids, ticket__isnull=False).select_related("ticket").first()
    return inbound.ticket if inbound is not None else None


def _ticket_by_subject(parsed: ParsedMail) -> Ticket | None:
    """"[#123]" in the subject counts only when the sender is that ticket's customer or contact."""
    match = SUBJECT_REFERENCE.search(parsed.subject)
    if not match:
        return None
    ticket = Ticket.objects.select_related("customer", "contact").filter(pk=int(match.group(1))).first()
    if ticket is None:
        return None
    senders = {ticket.customer.email.lower()} | ({ticket.contact.email.lower()} if ticket.contact_id else set())
    return ticket if parsed.from_address in senders - {""} else None


@dataclass(frozen=True)
class Sender:
    customer: Customer
    contact: ContactPerson | None


def find_or_create_sender(*, email: str, name: str, phone: str = "", department: Department | None,
                          channel: str, at: dt.datetime) -> Sender:
    """The customer behind an address: a customer's own email, else a contact person's, else a new customer."""
    customer = Customer.objects.filter(email=email, merged_into__isnull=True).order_by("id").first()
    if customer is not None:
        return Sender(customer=customer, contact=None)
    contact = (ContactPerson.objects.filter(email=email, organisation__merged_into__isnull=True)
               .select_related("organisation").order_by("id").first())
    if contact is not None:
        return Sender(customer=contact.organisation, contact=contact)
    if phone:
        customer = Customer.objects.filter(phone=phone, merged_into__isnull=True).order_by("id").first()
        if customer is not None:
            return Sender(customer=customer, contact=None)
    display = name.strip() or email.split("@", 1)[0]
    source = "website" if channel == Channel.WEB_FORM else "other"
    # Someone who writes to us is served, even if they once had their personal data erased.
    customer = create_customer(by=None, name=display[:200], email=email, phone=phone, department=department,
                               source_channel=source, at=at, came_back=True)
    return Sender(customer=customer, contact=None)


def receive_mail(raw: bytes, *, recipients: list[str] | None = None, at: dt.datetime | None = None) -> InboundMail:
    """Take one inbound email: thread it onto its ticket or open a new one. A redelivery changes nothing.

    Auto-replies and bounces are recorded and ignored (answering them would loop); a sender address
    that is not a valid email is recorded as rejected with the reason.
    """
    at = at or timezone.now()
    parsed = parse_mail(raw, max_attachment_bytes=attachment_limit())
    existing = InboundMail.objects.filter(message_id=parsed.message_id).first()
    if existing is not None:
        return existing
    mailbox = _mailbox_for(recipients or parsed.to)
    record = InboundMail(message_id=parsed.message_id, mailbox=mailbox, received_at=at,
                         from_address=parsed.from_address[:254], subject=parsed.subject[:255], size=len(raw))
    problems = list(parsed.problems)
    try:
        with transaction.atomic():
            if parsed.is_automatic:
                record.outcome = InboundMail.Outcome.AUTOMATIC
            else:
                try:
                    email = normalise_email(parsed.from_address, field="from")
                except RuleViolation as error:
                    email = ""
                    problems.append(str(error.message))
                if not email:
                    record.outcome = InboundMail.Outcome.REJECTED
                    problems.append("no usable sender address")
                else:
                    _file_mail(record, parsed, email=email, mailbox=mailbox, at=at, problems=problems)
            record.problems = "\n".join(problems)
            record.save()
    except IntegrityError:  # the same Message-ID arrived twice at once: the first one won
        return InboundMail.objects.get(message_id=parsed.message_id)
    return record


def acceptable_files(parsed: ParsedMail, problems: list[str]) -> list[Upload]:
    """The attachments a ticket may keep; each one refused (type, content, count) is named in `problems`."""
    files: list[Upload] = []
    for attachment in parsed.attachments:
        upload = Upload(filename=attachment.filename, content_type=attachment.content_type,
                        content=attachment.payload, size=attachment.size)
        if len(files) >= per_message():
            problems.append(f"attachment {attachment.filename!r} left out: more than {per_message()} files")
            continue
        try:
            check_upload(upload)
        except DomainError as error:
            problems.append(f"attachment {attachment.filename!r} left out: {error.message}")
            continue
        files.append(upload)
    return files


def _file_mail(record: InboundMail, parsed: ParsedMail, *, email: str, mailbox: Mailbox | None,
               at: dt.datetime, problems: list[str]) -> None:
    body = clean_text((parsed.body or parsed.subject or "(empty)")[:MAX_BODY], field="body")
    files = acceptable_files(parsed, problems)
    ticket = _ticket_by_thread(parsed) or _ticket_by_subject(parsed)
    if ticket is not None and ticket.status != Ticket.Status.CLOSED:
        message = ticket_services.record_customer_message(
            ticket, body=body, channel=Channel.EMAIL, at=at, message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to, attachments=files,
        )
        record.outcome, record.ticket, record.ticket_message = InboundMail.Outcome.THREADED, ticket, message
        return
    department = mailbox.department if mailbox is not None else None
    sender = find_or_create_sender(email=email, name=parsed.from_name, department=department,
                                   channel=Channel.EMAIL, at=at)
    first_line = next((line for line in body.splitlines() if line.strip()), "")
    subject = clean_line((parsed.subject or first_line)[:MAX_SUBJECT], field="subject") or _("(no subject)")
    if ticket is not None:  # a reply to a closed ticket opens a follow-up
        problems.append(f"ticket #{ticket.pk} is closed: a follow-up ticket was opened")
    new_ticket = ticket_services.open_ticket(
        by=None, at=at, customer=sender.customer, contact=sender.contact, subject=subject,
        description=body, channel=Channel.EMAIL,
        kind=mailbox.ticket_kind if mailbox is not None else Ticket.Kind.INQUIRY,
        department=department, queue=mailbox.queue if mailbox is not None else None,
        message_id=parsed.message_id, attachments=files,
    )
    record.outcome, record.ticket = InboundMail.Outcome.OPENED, new_ticket
    record.ticket_message = new_ticket.messages.order_by("id").first()


def submit_web_request(*, name: str, email: str, phone: str = "", subject: str, body: str,
                       order_reference: str = "", at: dt.datetime | None = None) -> Ticket:
    """A request from the public web form (no login): finds or creates the customer and opens a ticket."""
    at = at or timezone.now()
    name = clean_line(name, field="name", max_length=200)
    if not name:
        raise RuleViolation(_("Please tell us your name."), field="name")
    email = normalise_email(email, field="email")
    if not email:
        raise RuleViolation(_("Please give an email address so we can answer you."), field="email")
    phone = normalise_phone(phone, field="phone")[0] if phone else ""
    subject = clean_line(subject, field="subject", max_length=MAX_SUBJECT)
    if not subject:
        raise RuleViolation(_("Please give your request a short subject."), field="subject")
    body = clean_text(body, field="message", max_length=MAX_BODY)
    if not body:
        raise RuleViolation(_("Please describe your request."), field="message")
    order_reference = clean_line(order_reference, field="order", max_length=64)
    with transaction.atomic():
        sender = find_or_create_sender(email=email, name=name, phone=phone, department=None,
                                       channel=Channel.WEB_FORM, at=at)
        order = None
        if order_reference:
            order = sender.customer.orders.filter(number=order_reference).first()
        description = body if order or not order_reference else f"{body}\n\n({_('Order')}: {order_reference})"
        return ticket_services.open_ticket(
            by=None, at=at, customer=sender.customer, contact=sender.contact, subject=subject,
            description=description, channel=Channel.WEB_FORM, kind=Ticket.Kind.INQUIRY, order=order,
        )
