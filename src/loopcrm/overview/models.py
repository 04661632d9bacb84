"""Retention rules: how long each category of personal data is kept (overview.retention applies them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionRule(models.Model):
    """One category's keeping period. Off until an administrator turns it on: nothing is removed by default."""

    class Category(models.TextChoices):
        INTERACTIONS = "interactions", _("Words of interactions")
        CLOSED_TICKETS = "closed_tickets", _("Conversations of closed tickets")
        SURVEY_WORDS = "survey_words", _("Survey comments and feedback")
        IMPORT_FILES = "import_files", _("Import files and their rows")
        INACTIVE_CUSTOMERS = "inactive_customers", _("Personal data of inactive customers")

    category = models.CharField(_("category"), max_length=30, choices=Category.choices, unique=True)
    keep_days = models.PositiveIntegerField(_("keep for (days)"))
    is_active = models.BooleanField(_("applied"), default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("changed"), null=True, blank=True)
    last_applied_at = models.DateTimeField(_("last applied"), null=True, blank=True)
    last_count = models.PositiveIntegerField(_("records last removed"), default=0)

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category}: {self.keep_days} days"
