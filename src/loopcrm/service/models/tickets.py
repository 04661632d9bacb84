"""Tickets and complaints, their conversation, attachments and the event log process mining reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loopcrm.core.choices import Channel
from loopcrm.core.models import TimeStampedModel

# The statuses of active tickets (services.tickets.ACTIVE_STATUSES), for the partial indexes of the inbox.
_ACTIVE = ["new", "open", "pending", "on_hold", "reopened"]

__all__ = [
    "Attachment", "CannedReply", "Queue", "RootCause", "Ticket", "TicketCategory", "TicketEvent", "TicketMessage",
]


class TicketCategory(models.Model):
    """A node of the category tree (e.g. Delivery › Late delivery); `path` makes "this one and below" one query."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False, default="")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    """A configurable root cause of complaints; top-level causes are the branches of the fishbone."""

    class Branch(models.TextChoices):
        PEOPLE = "people", _("People")
        PROCESS = "process", _("Process")
        PRODUCT = "product", _("Product")
        POLICY = "policy", _("Policy")
        PLACE = "place", _("Place / environment")
        PARTNER = "partner", _("Partner / logistics")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    branch = models.CharField(_("branch"), max_length=20, choices=Branch.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="sub_causes",
        verbose_name=_("parent cause"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")
        ordering = ["branch", "name"]

    def __str__(self) -> str:
        return self.name


class Queue(TimeStampedModel):
    """A work queue inside a department; tickets in it are assigned to its available members."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")
        MANUAL = "manual", _("Manual (pick from queue)")

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="queues", verbose_name=_("department")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="queues", verbose_name=_("members")
    )
    strategy = models.CharField(_("assignment"), max_length=20, choices=Strategy.choices,
                                default=Strategy.LEAST_LOADED)
    # Round robin remembers who got the last ticket (updated under a row lock).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(TimeStampedModel):
    """A customer's request or complaint, handled under an SLA along a standard service process."""

    class Kind(models.TextChoices):
        INQUIRY = "inquiry", _("Inquiry")
        SERVICE_REQUEST = "service_request", _("Service request")
        COMPLAINT = "complaint", _("Complaint")
        REPAIR = "repair", _("After-sales / repair")
        RETURN = "return", _("Return")

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("ticket status", "New")  # not the customer stage "New"
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending customer")
        ON_HOLD = "on_hold", _("On hold")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Severity(models.IntegerChoices):
        MINOR = 1, _("Minor")
        MODERATE = 2, _("Moderate")
        MAJOR = 3, _("Major")
        CRITICAL = 4, _("Critical")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INQUIRY)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER)
    category = models.ForeignKey(
        TicketCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("category"),
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.ContactPerson", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
        verbose_name=_("contact"),
    )
    order = models.ForeignKey(
        "commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
        verbose_name=_("order"),
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("department"),
    )
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets", verbose_name=_("queue")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="followed_tickets", verbose_name=_("followers")
    )
    tags = models.ManyToManyField("customers.Tag", blank=True, related_name="tickets", verbose_name=_("tags"))

    # Complaint handling (meaningful when kind is complaint).
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices, null=True, blank=True)
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("root cause"),
    )
    corrective_action = models.TextField(_("corrective action"), blank=True)
    compensation_amount = models.DecimalField(_("compensation"), max_digits=12, decimal_places=2, null=True,
                                              blank=True)
    compensation_currency = models.CharField(_("compensation currency"), max_length=3, blank=True)
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats",
        verbose_name=_("repeat of"),
    )

    # Milestones (UTC), written by the services; the SLA clocks live in their own rows.
    opened_at = models.DateTimeField(_("opened"), db_index=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)

    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["assignee", "status", "-id"], name="ticket_assignee_idx"),
            models.Index(fields=["department", "status", "-id"], name="ticket_dept_idx"),
            models.Index(fields=["queue", "status", "-id"], name="ticket_queue_idx"),
            models.Index(fields=["customer", "-opened_at"], name="ticket_customer_idx"),
            models.Index(fields=["status", "-priority", "-id"], name="ticket_status_idx"),
            models.Index(fields=["customer", "category", "-opened_at"], name="ticket_repeat_idx"),
            # The metric registry's ticket KPIs by opening day: an index-only scan on PostgreSQL.
            models.Index(fields=["opened_at"], include=["kind", "first_response_at", "resolved_at", "reopen_count",
                                                        "repeat_of"], name="ticket_opened_cover_idx"),
            # The inbox's active views, newest first: a page of 25 reads 25 index entries, not every active
            # ticket of the agent (or queue) sorted (the status IN list breaks the order of the indexes above).
            models.Index(fields=["assignee", "-id"], name="ticket_active_assignee_idx",
                         condition=models.Q(status__in=_ACTIVE)),
            models.Index(fields=["queue", "-id"], name="ticket_unassigned_idx",
                         condition=models.Q(status__in=_ACTIVE, assignee__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class TicketMessage(models.Model):
    """One entry of a ticket's conversation: a public reply, an internal note, or the customer writing."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("From the customer")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("text"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER)
    # Email threading: our Message-ID for outgoing replies, the sender's for incoming mail.
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, db_index=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("written"), db_index=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_message_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"


class Attachment(models.Model):
    """A file on a ticket message; size and type are checked by the service before it is stored."""

    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), null=True, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One thing that happened to a ticket (who, when, what, old → new): the audit trail and the event log."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Opened")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        ROUTED = "routed", _("Routed")
        PRIORITY = "priority", _("Priority changed")
        FIELD = "field", _("Field changed")
        REPLY = "reply", _("Replied")
        NOTE = "note", _("Note added")
        CUSTOMER_MESSAGE = "customer_message", _("Customer wrote")
        STEP_STARTED = "step_started", _("Step started")
        STEP_COMPLETED = "step_completed", _("Step completed")
        STEP_OVERRIDDEN = "step_overridden", _("Open steps overridden")
        SLA_PAUSED = "sla_paused", _("SLA paused")
        SLA_RESUMED = "sla_resumed", _("SLA resumed")
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        ESCALATED = "escalated", _("Escalated")
        FOLLOWERS = "followers", _("Followers changed")
        TAGS = "tags", _("Tags changed")
        ATTACHMENT = "attachment", _("File attached")
        REPEAT = "repeat", _("Repeat complaint")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("who"),
    )
    field = models.CharField(_("field"), max_length=50, blank=True)
    old = models.CharField(_("old value"), max_length=255, blank=True)
    new = models.CharField(_("new value"), max_length=255, blank=True)
    # Process mining reads step events by step key; SLA events name their clock.
    step = models.CharField(_("step"), max_length=100, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_idx"),
            models.Index(fields=["kind", "at"], name="ticket_event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id} {self.at:%Y-%m-%d %H:%M}"


class CannedReply(TimeStampedModel):
    """A saved answer agents insert into the composer; shared with a department or everyone."""

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies",
        verbose_name=_("department"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
