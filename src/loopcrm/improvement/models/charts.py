"""Models: control points — a control chart watching one registry metric in one scope, and its signals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loopcrm.core.models import TimeStampedModel

__all__ = ["ChartSignal", "ControlChart"]


class ControlChart(TimeStampedModel):
    """A control point: a registry metric, in a scope, charted per day/week/month against limits.

    Phase I limits are computed from the baseline window and stored (``limits``: the centre and,
    for variables charts, the spread); later buckets are judged against them (phase II). The owner
    is alerted when a run rule fires.
    """

    class Type(models.TextChoices):
        P = "p", _("p chart (proportion)")
        U = "u", _("u chart (count per unit)")
        C = "c", _("c chart (count)")
        XMR = "xmr", _("Individuals and moving range (XmR)")
        XBAR_S = "xbar_s", _("X̄ and S chart")

    class Grain(models.TextChoices):
        DAY = "day", _("day")
        WEEK = "week", _("week")
        MONTH = "month", _("month")

    class RuleSet(models.TextChoices):
        WESTERN_ELECTRIC = "we", _("Western Electric rules 1–4")
        NELSON = "nelson", _("Nelson rules 1–8")

    name = models.CharField(_("name"), max_length=200)
    metric_key = models.CharField(_("metric"), max_length=64, db_index=True)
    filters = models.JSONField(_("scope"), default=dict, blank=True)
    chart_type = models.CharField(_("chart type"), max_length=10, choices=Type.choices)
    grain = models.CharField(_("grain"), max_length=10, choices=Grain.choices, default=Grain.DAY)
    baseline_start = models.DateField(_("baseline start"))
    baseline_end = models.DateField(_("baseline end"))
    exclude_out_of_control = models.BooleanField(
        _("exclude out-of-control baseline points"), default=False,
        help_text=_("Recompute the limits without the baseline points beyond 3 sigma."),
    )
    limits = models.JSONField(_("phase I limits"), default=dict, blank=True)
    limits_computed_at = models.DateTimeField(_("limits computed"), null=True, blank=True)
    rule_set = models.CharField(_("run rules"), max_length=10, choices=RuleSet.choices,
                                default=RuleSet.WESTERN_ELECTRIC)
    lsl = models.FloatField(_("lower specification limit"), null=True, blank=True)
    usl = models.FloatField(_("upper specification limit"), null=True, blank=True,
                            help_text=_("For times, the SLA target."))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="control_charts",
                              verbose_name=_("owner"))
    is_active = models.BooleanField(_("active"), default=True)
    last_evaluated_at = models.DateTimeField(_("last evaluated"), null=True, blank=True)

    class Meta:
        verbose_name = _("control chart")
        verbose_name_plural = _("control charts")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["is_active", "id"], name="impr_chart_active_idx")]

    def __str__(self) -> str:
        return self.name


class ChartSignal(TimeStampedModel):
    """A run rule that fired on one bucket of a chart: what an owner is alerted about and acts on."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("signal status", "new")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        CYCLE_OPENED = "cycle_opened", _("cycle opened")
        DISMISSED = "dismissed", _("dismissed")

    chart = models.ForeignKey(ControlChart, on_delete=models.CASCADE, related_name="signals",
                              verbose_name=_("control chart"))
    bucket = models.DateField(_("period"))
    rule = models.CharField(_("rule"), max_length=10)  # "WE1".."WE4", "N1".."N8"
    rule_number = models.PositiveSmallIntegerField(_("rule number"))
    description = models.CharField(_("description"), max_length=200)
    value = models.FloatField(_("value"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    notified_at = models.DateTimeField(_("owner notified"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("status changed by"),
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)

    class Meta:
        verbose_name = _("chart signal")
        verbose_name_plural = _("chart signals")
        ordering = ["-bucket", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["chart", "bucket", "rule"], name="impr_signal_unique_rule_per_bucket"),
        ]
        indexes = [models.Index(fields=["status", "-bucket"], name="impr_signal_status_idx")]

    def __str__(self) -> str:
        return f"{self.chart} {self.bucket} {self.rule}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.NEW, self.Status.ACKNOWLEDGED)
