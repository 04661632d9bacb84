"""Email intake: mailboxes and the message-id map that threads replies onto tickets."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["InboundMail", "Mailbox", "OutboundMail"]


class Mailbox(models.Model):
    """An address customers write to (e.g. service@…); its mail becomes tickets of this kind and department.

    The connection (IMAP host and password, or the SMTP listener) is configured in the environment,
    not stored here; the mailbox says what to do with what arrives at its address.
    """

    address = models.CharField(_("address"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="mailboxes",
        verbose_name=_("department"),
    )
    queue = models.ForeignKey(
        "service.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="mailboxes",
        verbose_name=_("queue"),
    )
    ticket_kind = models.CharField(_("ticket kind"), max_length=20, default="inquiry")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class InboundMail(models.Model):
    """One received email and what became of it; its Message-ID is unique, so a redelivery is a no-op."""

    class Outcome(models.TextChoices):
        OPENED = "opened", _("Opened a ticket")
        THREADED = "threaded", _("Added to a ticket")
        AUTOMATIC = "automatic", _("Ignored: automatic reply or bounce")
        REJECTED = "rejected", _("Rejected")

    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="mails", verbose_name=_("mailbox")
    )
    received_at = models.DateTimeField(_("received"), db_index=True)
    from_address = models.CharField(_("from"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    ticket = models.ForeignKey(
        "service.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mails",
        verbose_name=_("ticket"),
    )
    ticket_message = models.ForeignKey(
        "service.TicketMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("ticket message"),
    )
    problems = models.TextField(_("problems"), blank=True, help_text=_("What had to be repaired or left out."))

    class Meta:
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"


class OutboundMail(models.Model):
    """A public reply sent (or still to be sent) to the customer by email; failures are kept for a retry."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket_message = models.OneToOneField(
        "service.TicketMessage", on_delete=models.CASCADE, related_name="outbound_mail",
        verbose_name=_("ticket message"),
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    to_address = models.CharField(_("to"), max_length=254)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("outbound mail")
        verbose_name_plural = _("outbound mail")
        indexes = [models.Index(fields=["status", "created_at"], name="outbound_mail_status_idx")]

    def __str__(self) -> str:
        return f"{self.to_address} ({self.get_status_display()})"
