"""Standard service processes: versioned definitions, steps, and each ticket's step runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel

__all__ = ["ProcessDefinition", "ProcessStep", "ProcessVersion", "TicketProcess", "TicketStep"]


class ProcessDefinition(TimeStampedModel):
    """A standard service process (标准服务流程) for a ticket kind and/or category; its steps live in versions.

    The most specific active definition applies to a new ticket: kind and category over category over
    kind; an empty kind and category make a fallback for every ticket.
    """

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    ticket_kind = models.CharField(_("ticket kind"), max_length=20, blank=True,
                                   help_text=_("Empty: tickets of every kind."))
    category = models.ForeignKey(
        "service.TicketCategory", null=True, blank=True, on_delete=models.PROTECT, related_name="processes",
        verbose_name=_("category"), help_text=_("This category and its sub-categories; empty: every category."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("standard service process")
        verbose_name_plural = _("standard service processes")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ProcessVersion(models.Model):
    """One published version of a process. Never edited after publishing: a change is a new version,
    and tickets keep the version that was current when their process started."""

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.CASCADE, related_name="versions", verbose_name=_("process")
    )
    number = models.PositiveIntegerField(_("version"))
    published_at = models.DateTimeField(_("published"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("published by"),
    )
    change_note = models.CharField(_("what changed"), max_length=500, blank=True)
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        verbose_name = _("process version")
        verbose_name_plural = _("process versions")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="process_version_unique_number"),
            models.UniqueConstraint(fields=["definition"], condition=Q(is_current=True),
                                    name="process_version_one_current"),
        ]

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"


class ProcessStep(models.Model):
    """A step of a process version: who is responsible and its target time (a key control point 关键控制点).

    `start_on_status` / `complete_on_status` let a ticket's status change start or finish the step.
    """

    version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="steps",
                                verbose_name=_("version"))
    position = models.PositiveSmallIntegerField(_("position"))
    key = models.SlugField(_("key"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    responsible_role = models.CharField(_("responsible role"), max_length=20, blank=True)
    responsible_department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("responsible department"),
    )
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    is_mandatory = models.BooleanField(_("mandatory"), default=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    required_fields = models.JSONField(_("required ticket fields"), default=list, blank=True)
    start_on_status = models.CharField(_("start when status becomes"), max_length=20, blank=True)
    complete_on_status = models.CharField(_("complete when status becomes"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("process step")
        verbose_name_plural = _("process steps")
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="process_step_unique_key"),
            models.UniqueConstraint(fields=["version", "position"], name="process_step_unique_position"),
        ]

    def __str__(self) -> str:
        return self.name


class TicketProcess(models.Model):
    """The process a ticket follows: the version that was current when it started, kept for good."""

    ticket = models.OneToOneField("service.Ticket", on_delete=models.CASCADE, related_name="process",
                                  verbose_name=_("ticket"))
    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="ticket_processes",
                                verbose_name=_("process version"))
    started_at = models.DateTimeField(_("started"))

    class Meta:
        verbose_name = _("ticket process")
        verbose_name_plural = _("ticket processes")

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.version}"


class TicketStep(models.Model):
    """One step of one ticket's process: when it started and finished, by whom, and its checklist."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not started")
        ACTIVE = "active", _("In progress")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    ticket_process = models.ForeignKey(TicketProcess, on_delete=models.CASCADE, related_name="steps",
                                       verbose_name=_("ticket process"))
    step = models.ForeignKey(ProcessStep, on_delete=models.PROTECT, related_name="+", verbose_name=_("step"))
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("started by"),
    )
    completed_at = models.DateTimeField(_("finished"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("finished by"),
    )
    # Indexes of the step's checklist items that are ticked.
    checklist_state = models.JSONField(_("checklist ticked"), default=list, blank=True)
    # Minutes from start to finish, written when the step is done (what the control point is measured on).
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("ticket step")
        verbose_name_plural = _("ticket steps")
        ordering = ["ticket_process", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ticket_process", "step"], name="ticket_step_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.step} ({self.get_status_display()})"
