"""Email out: an agent's public reply goes to the customer by SMTP, with a Message-ID that threads.

The customer's answer carries our Message-ID in In-Reply-To, so inbound mail finds its ticket
(services/intake.py). A failed send is kept as an OutboundMail row and retried by a task; it never
undoes the reply, which is already on the ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from loopcrm.service.models import OutboundMail, TicketMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
THREAD_REFERENCES = 10  # how many earlier Message-IDs go into References


def recipient_of(message: TicketMessage) -> str:
    """Where a reply goes: the ticket's contact person if they have an address, else the customer."""
    ticket = message.ticket
    if ticket.contact_id and ticket.contact.email:
        return ticket.contact.email
    return ticket.customer.email


def deliver_reply(message: TicketMessage) -> OutboundMail | None:
    """Send a public reply to the customer by email (called on commit); stamps its Message-ID for threading.

    Safe to call twice: a reply already sent is not sent again. Returns None when there is nothing to
    send (an internal note, or a customer without an email address).
    """
    if message.kind != TicketMessage.Kind.REPLY:
        return None
    message = TicketMessage.objects.select_related("ticket__customer", "ticket__contact").get(pk=message.pk)
    to_address = recipient_of(message)
    if not to_address:
        return None
    with transaction.atomic():
        outbound, _created = OutboundMail.objects.get_or_create(
            ticket_message=message,
            defaults={
                "message_id": make_msgid(idstring=f"t{message.ticket_id}.m{message.pk}",
                                         domain=settings.LOOPCRM_MAIL_DOMAIN),
                "to_address": to_address,
                "created_at": timezone.now(),
            },
        )
        TicketMessage.objects.filter(pk=message.pk, message_id="").update(message_id=outbound.message_id)
    if outbound.status != OutboundMail.Status.SENT:
        send_outbound(outbound)
    return outbound


def _thread_headers(message: TicketMessage, own_id: str) -> dict[str, str]:
    earlier = list(
        TicketMessage.objects.filter(ticket_id=message.ticket_id, created_at__lte=message.created_at)
        .exclude(pk=message.pk).exclude(message_id="").exclude(kind=TicketMessage.Kind.NOTE)
        .order_by("-created_at", "-id").values_list("kind", "message_id")[:THREAD_REFERENCES]
    )
    headers = {"Message-ID": own_id}
    customer_ids = [message_id for kind, message_id in earlier if kind == TicketMessage.Kind.CUSTOMER]
    if customer_ids:
        headers["In-Reply-To"] = customer_ids[0]
    if earlier:
        headers["References"] = " ".join(message_id for _kind, message_id in reversed(earlier))
    return headers


def build_email(outbound: OutboundMail) -> EmailMessage:
    message = outbound.ticket_message
    ticket = message.ticket
    footer = (
        f"\n\n--\n回复此邮件即可补充工单 #{ticket.pk} 的信息。"
        f"\nReply to this email to add to ticket #{ticket.pk}."
    )
    return EmailMessage(
        subject=f"Re: {ticket.subject} [#{ticket.pk}]",
        body=message.body + footer,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbound.to_address],
        headers=_thread_headers(message, outbound.message_id),
    )


def send_outbound(outbound: OutboundMail, *, at: dt.datetime | None = None) -> bool:
    """One attempt at sending; the outcome (sent, or the error) is written on the row."""
    outbound = OutboundMail.objects.select_related("ticket_message__ticket").get(pk=outbound.pk)
    attempt_at = at or timezone.now()
    try:
        build_email(outbound).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        log.warning("reply mail %s to %s failed: %s", outbound.message_id, outbound.to_address, error)
        OutboundMail.objects.filter(pk=outbound.pk).update(
            status=OutboundMail.Status.FAILED, attempts=outbound.attempts + 1, error=str(error)[:500]
        )
        return False
    OutboundMail.objects.filter(pk=outbound.pk).update(
        status=OutboundMail.Status.SENT, attempts=outbound.attempts + 1, error="", sent_at=attempt_at
    )
    return True


def retry_failed_mail(*, at: dt.datetime | None = None) -> int:
    """Send again every reply whose earlier attempts failed (up to MAX_ATTEMPTS); returns how many went out."""
    sent = 0
    failed = OutboundMail.objects.filter(status=OutboundMail.Status.FAILED, attempts__lt=MAX_ATTEMPTS)
    for outbound in failed.order_by("created_at")[:500]:
        sent += send_outbound(outbound, at=at)
    return sent
