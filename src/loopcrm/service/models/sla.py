"""Business calendars, SLA policies and each ticket's SLA clocks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel

__all__ = ["BusinessCalendar", "CalendarDay", "SlaClock", "SlaPolicy"]

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar(TimeStampedModel):
    """When the service desk works: a time zone, weekly working hours, holidays and make-up working days.

    `weekly_hours` maps "mon" … "sun" to [["09:00", "12:00"], ["13:00", "18:00"]] (validated by the
    service). SLA targets are measured in business time on a calendar.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    weekly_hours = models.JSONField(_("weekly working hours"), default=dict, blank=True)
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="business_calendar_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarDay(models.Model):
    """A date that departs from the weekly hours: a holiday (no work) or a make-up working day with its hours."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        WORKDAY = "workday", _("Make-up working day")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days",
                                 verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    hours = models.JSONField(_("working hours"), default=list, blank=True)  # make-up days only

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class SlaPolicy(TimeStampedModel):
    """Service targets for the tickets it matches: first response, next response and resolution, in
    business minutes on its calendar; with a warning threshold and what to do on warning and breach.

    Conditions left empty match anything; the first active policy (lowest position) that matches a
    new ticket applies, unless routing names one.
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Conditions (any item of a list matches).
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    kinds = models.JSONField(_("ticket kinds"), default=list, blank=True)
    category = models.ForeignKey(
        "service.TicketCategory", null=True, blank=True, on_delete=models.PROTECT, related_name="sla_policies",
        verbose_name=_("category"),
    )
    include_subcategories = models.BooleanField(_("and its sub-categories"), default=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    customer_tiers = models.JSONField(_("customer value tiers"), default=list, blank=True)
    customer_vip = models.BooleanField(_("customer is VIP"), null=True, blank=True,
                                       help_text=_("Empty: any customer; yes: only VIPs; no: only non-VIPs."))
    customer_tag = models.ForeignKey(
        "customers.Tag", null=True, blank=True, on_delete=models.PROTECT, related_name="sla_policies",
        verbose_name=_("customer tag"),
    )

    # Targets in business minutes (empty: no target for that metric).
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"), null=True,
                                                         blank=True)
    next_response_minutes = models.PositiveIntegerField(_("next response (business minutes)"), null=True,
                                                        blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"), null=True, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies",
        verbose_name=_("business calendar"), help_text=_("Empty: the default calendar."),
    )
    warning_percent = models.PositiveSmallIntegerField(_("warning at (percent of target)"), default=80)
    pause_on_hold = models.BooleanField(_("pause while on hold"), default=False)

    # Escalation.
    warning_notify_lead = models.BooleanField(_("on warning: notify the team lead"), default=True)
    warning_raise_priority = models.BooleanField(_("on warning: raise priority"), default=False)
    breach_notify_lead = models.BooleanField(_("on breach: notify the team lead"), default=True)
    breach_raise_priority = models.BooleanField(_("on breach: raise priority"), default=False)
    breach_queue = models.ForeignKey(
        "service.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("on breach: move to queue"),
    )
    breach_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("on breach: reassign to"),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SlaClock(models.Model):
    """One SLA target running on one ticket: when it started, is due, was paused, met, warned or breached.

    Business time is measured on `calendar`. `paused_seconds` is the business time spent paused so
    far; `elapsed_seconds` the business time it took, once met or stopped. The next-response and
    (after a reopen) resolution clocks restart: `cycle` counts the starts; `breached` stays true once
    any cycle breached.
    """

    class Metric(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        WARNING = "warning", _("Warning")
        BREACHED = "breached", _("Breached")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        STOPPED = "stopped", _("Stopped")

    ticket = models.ForeignKey("service.Ticket", on_delete=models.CASCADE, related_name="sla_clocks",
                               verbose_name=_("ticket"))
    metric = models.CharField(_("target"), max_length=20, choices=Metric.choices)
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="clocks", verbose_name=_("policy"))
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("calendar"))
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    warning_percent = models.PositiveSmallIntegerField(_("warning at (percent of target)"), default=80)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RUNNING)
    cycle = models.PositiveIntegerField(_("cycle"), default=1)
    started_at = models.DateTimeField(_("started"))
    warning_at = models.DateTimeField(_("warning due"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"))
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_seconds = models.PositiveBigIntegerField(_("paused (business seconds)"), default=0)
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    elapsed_seconds = models.PositiveBigIntegerField(_("took (business seconds)"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    breached = models.BooleanField(_("breached"), default=False)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["ticket", "metric"]
        constraints = [models.UniqueConstraint(fields=["ticket", "metric"], name="sla_clock_unique")]
        indexes = [
            models.Index(fields=["state", "due_at"], name="sla_clock_due_idx"),
            models.Index(fields=["state", "warning_at"], name="sla_clock_warning_idx"),
            models.Index(fields=["policy", "started_at"], name="sla_clock_policy_idx"),
            models.Index(fields=["started_at"], name="sla_clock_started_idx"),
            # The metric registry's SLA-attainment statement reads only these: an index-only scan on PostgreSQL.
            models.Index(fields=["started_at"], include=["state", "breached", "ticket"],
                         name="sla_clock_started_cover_idx"),
        ]

    ACTIVE = (State.RUNNING, State.WARNING, State.BREACHED)
    OPEN = (State.RUNNING, State.WARNING, State.BREACHED, State.PAUSED)

    def __str__(self) -> str:
        return f"{self.get_metric_display()} #{self.ticket_id} ({self.get_state_display()})"
