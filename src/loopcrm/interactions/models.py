"""The unified timeline: every touch with a customer, on any channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.choices import Channel, JourneyStage, Touchpoint


class Interaction(models.Model):
    """One touch: a call, a mail, a visit, a chat… who, when, on which channel, at which touchpoint."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal note")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="interactions", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.ContactPerson", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions",
        verbose_name=_("contact person"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices, blank=True)
    journey_stage = models.CharField(_("journey stage"), max_length=20, choices=JourneyStage.choices, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions",
        verbose_name=_("by"),
    )
    order = models.ForeignKey(
        "commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions",
        verbose_name=_("order"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_timeline_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent_idx"),
            models.Index(fields=["channel", "-occurred_at"], name="interaction_channel_idx"),
            models.Index(fields=["touchpoint", "-occurred_at"], name="interaction_touchpoint_idx"),
            models.Index(fields=["journey_stage", "-occurred_at"], name="interaction_stage_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_channel_display()} {self.occurred_at:%Y-%m-%d}"
