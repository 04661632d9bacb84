"""Routing rules: conditions that pick department, queue, priority and SLA policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel

__all__ = ["RoutingRule"]


class RoutingRule(TimeStampedModel):
    """One rule of the ordered routing table: when a new ticket meets every condition set, it gets the actions.

    Conditions left empty match anything; the first active rule (lowest position) that matches wins.
    List conditions (kinds, channels, priorities, tiers, provinces, keywords) match when any item does.
    """

    class Tier(models.TextChoices):
        HIGH = "high", _("High value")
        MEDIUM = "medium", _("Medium value")
        LOW = "low", _("Low value")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Conditions.
    kinds = models.JSONField(_("ticket kinds"), default=list, blank=True)
    category = models.ForeignKey(
        "service.TicketCategory", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules",
        verbose_name=_("category"),
    )
    include_subcategories = models.BooleanField(_("and its sub-categories"), default=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    customer_vip = models.BooleanField(_("customer is VIP"), null=True, blank=True,
                                       help_text=_("Empty: any customer; yes: only VIPs; no: only non-VIPs."))
    customer_tiers = models.JSONField(_("customer value tiers"), default=list, blank=True)
    customer_tag = models.ForeignKey(
        "customers.Tag", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules",
        verbose_name=_("customer tag"),
    )
    provinces = models.JSONField(_("customer provinces / regions"), default=list, blank=True)
    keywords = models.JSONField(_("keywords in the subject"), default=list, blank=True)

    # Actions.
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules",
        verbose_name=_("to department"),
    )
    queue = models.ForeignKey(
        "service.Queue", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules",
        verbose_name=_("to queue"),
    )
    set_priority = models.PositiveSmallIntegerField(_("set priority"), null=True, blank=True)
    # A deleted policy leaves the rule without one: the ticket then gets the first SLA policy that matches.
    sla_policy = models.ForeignKey(
        "service.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="routing_rules",
        verbose_name=_("SLA policy"),
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
