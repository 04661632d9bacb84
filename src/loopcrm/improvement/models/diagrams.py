"""Models: diagrams — fishbones pinned to a cycle with their 5-whys, and what a quality manager adds to
the customer quality logic diagram (elements and the relationships between elements)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["FishbonePin", "LogicElement", "LogicLink", "Strength", "WhyNote"]


class FishbonePin(models.Model):
    """A cause-and-effect diagram as it stood when an improvement cycle pinned it: scope, period and counts."""

    cycle = models.ForeignKey("improvement.Cycle", on_delete=models.CASCADE, related_name="fishbone_pins",
                              verbose_name=_("cycle"))
    effect = models.CharField(_("effect"), max_length=200, help_text=_("The problem at the fish's head."))
    filters = models.JSONField(_("scope"), default=dict, blank=True)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    # The fishbone's counts at pinning time (branches, causes, sub-causes, previous period, monthly series).
    snapshot = models.JSONField(_("counts"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("pinned by"))
    created_at = models.DateTimeField(_("pinned"))

    class Meta:
        verbose_name = _("pinned fishbone")
        verbose_name_plural = _("pinned fishbones")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cycle", "-created_at"], name="fishbone_pin_cycle")]

    def __str__(self) -> str:
        return self.effect


class WhyNote(models.Model):
    """One answer of a 5-whys chain on a pinned fishbone: why number `position` (1–5) for one branch or cause."""

    pin = models.ForeignKey(FishbonePin, on_delete=models.CASCADE, related_name="whys", verbose_name=_("fishbone"))
    branch = models.CharField(_("branch"), max_length=20)
    cause_code = models.CharField(_("cause"), max_length=50, blank=True, help_text=_("Empty: the whole branch."))
    cause_label = models.CharField(_("cause name"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("why number"))
    text = models.TextField(_("why"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    created_at = models.DateTimeField(_("written"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("5-whys note")
        verbose_name_plural = _("5-whys notes")
        ordering = ["pin", "branch", "cause_code", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pin", "branch", "cause_code", "position"], name="why_note_unique"),
            models.CheckConstraint(condition=models.Q(position__gte=1, position__lte=5), name="why_note_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.branch}/{self.cause_code} #{self.position}"


class LogicElement(models.Model):
    """Something a quality manager adds to the customer quality logic diagram (客户质量管理逻辑图), in one of
    its four layers; it may point at a live object (a process, a metric, a survey…) by type and id."""

    class Layer(models.TextChoices):
        NEED = "need", _("Customer needs")
        PROCESS = "process", _("Service processes")
        INDICATOR = "indicator", _("Key indicators")
        FEEDBACK = "feedback", _("Feedback mechanisms")

    layer = models.CharField(_("layer"), max_length=10, choices=Layer.choices)
    label = models.CharField(_("label"), max_length=120)
    note = models.TextField(_("note"), blank=True)
    # A live object this element refers to: need (topic), process, step, metric, chart, survey, channel.
    source_type = models.CharField(_("linked object type"), max_length=20, blank=True)
    source_id = models.CharField(_("linked object id"), max_length=64, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("added by"))
    created_at = models.DateTimeField(_("added"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("changed"))

    class Meta:
        verbose_name = _("logic diagram element")
        verbose_name_plural = _("logic diagram elements")
        ordering = ["layer", "position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def key(self) -> str:
        return f"element:{self.pk}"


class Strength(models.TextChoices):
    """How strongly two elements relate: the QFD matrix's ● (strong), ○ (medium) and △ (weak)."""

    STRONG = "strong", _("Strong")
    MEDIUM = "medium", _("Medium")
    WEAK = "weak", _("Weak")


class LogicLink(models.Model):
    """A relationship between two elements of the logic diagram, live or added, named by their keys
    ("process:3", "metric:csat", "need:delivery", "element:7"…); a need × process/indicator link is a matrix cell."""

    source = models.CharField(_("from"), max_length=90)
    target = models.CharField(_("to"), max_length=90)
    strength = models.CharField(_("strength"), max_length=10, choices=Strength.choices, default=Strength.MEDIUM)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("added by"))
    created_at = models.DateTimeField(_("added"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("changed"))

    class Meta:
        verbose_name = _("logic diagram link")
        verbose_name_plural = _("logic diagram links")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="logic_link_unique")]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.strength})"
