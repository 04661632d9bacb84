"""PDCA cycles (PDCA 循环): a problem, a metric, a baseline and a target (Plan); actions (Do);
a before/after test computed from live data (Check); standardise or go round again (Act)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel

__all__ = ["CheckResult", "Cycle", "CycleAction", "CycleEvent", "Lesson"]


class Cycle(TimeStampedModel):
    """One improvement cycle (改进循环) on one metric of the registry, for one scope."""

    class Phase(models.TextChoices):
        PLAN = "plan", _("Plan")
        DO = "do", _("Do")
        CHECK = "check", _("Check")
        ACT = "act", _("Act")
        CLOSED = "closed", _("Closed")

    class Decision(models.TextChoices):
        NONE = "", _("not decided")
        STANDARDISE = "standardise", _("Standardise")
        ADJUST = "adjust", _("Adjust and go round again")

    title = models.CharField(_("title"), max_length=200)
    problem = models.TextField(_("problem statement"), blank=True)
    metric_key = models.CharField(_("metric"), max_length=60, db_index=True)
    filters = models.JSONField(_("scope"), default=dict, blank=True,
                               help_text=_("Dimension filters of the metric, e.g. {\"region\": \"east\"}."))
    baseline_start = models.DateField(_("baseline from"))
    baseline_end = models.DateField(_("baseline to"))
    baseline_value = models.FloatField(_("baseline value"), null=True, blank=True)
    baseline_n = models.PositiveIntegerField(_("baseline cases"), default=0)
    target_value = models.FloatField(_("target"), null=True, blank=True)
    hypothesis = models.TextField(_("hypothesis"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cycles",
                              verbose_name=_("owner"))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="cycles",
                                     verbose_name=_("team"))
    departments = models.ManyToManyField("accounts.Department", blank=True, related_name="cycles",
                                         verbose_name=_("departments"))
    phase = models.CharField(_("phase"), max_length=10, choices=Phase.choices, default=Phase.PLAN, db_index=True)
    after_start = models.DateField(_("after from"), null=True, blank=True)
    after_end = models.DateField(_("after to"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=12, choices=Decision.choices, default="", blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    source_chart = models.ForeignKey("improvement.ControlChart", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="cycles", verbose_name=_("control chart"))
    source_signal = models.ForeignKey("improvement.ChartSignal", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="cycles", verbose_name=_("signal"))
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_cycles",
                                 verbose_name=_("previous cycle"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("improvement cycle")
        verbose_name_plural = _("improvement cycles")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["phase", "-updated_at"], name="cycle_phase_updated")]

    def __str__(self) -> str:
        return self.title


class CycleAction(TimeStampedModel):
    """One improvement action (改进措施) of the Do phase, with an owner and a due date."""

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        DOING = "doing", _("Doing")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="actions", verbose_name=_("cycle"))
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="cycle_actions", verbose_name=_("owner"))
    due_date = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.TODO)
    process_version = models.ForeignKey("service.ProcessVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="cycle_actions", verbose_name=_("process version changed"))
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["cycle", "due_date", "id"]

    def __str__(self) -> str:
        return self.title


class CheckResult(models.Model):
    """A computed Check, stored as it was: the test, its figures and the plain-language explanation.

    `data` is the whole `analytics.stats.Check` (messages as msgid + parameters, so they translate later).
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="checks", verbose_name=_("cycle"))
    computed_at = models.DateTimeField(_("computed"), db_index=True)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    test = models.CharField(_("test"), max_length=30)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    effect = models.FloatField(_("effect"), null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    before_value = models.FloatField(null=True, blank=True)
    after_value = models.FloatField(null=True, blank=True)
    significant = models.BooleanField(_("significant"), default=False)
    improved = models.BooleanField(_("improved"), null=True)
    sustained_shift = models.BooleanField(_("sustained shift on the control chart"), null=True)
    explanation = models.TextField(_("explanation"), blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("check result")
        verbose_name_plural = _("check results")
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"{self.cycle} · {self.test} · p={self.p_value}"


class Lesson(TimeStampedModel):
    """A lesson learned (经验总结) from a cycle, searchable by everyone who may see improvement work."""

    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.SET_NULL, related_name="lessons",
                              verbose_name=_("cycle"))
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("lesson"))
    tags = models.JSONField(_("tags"), default=list, blank=True)
    search_text = models.TextField(editable=False, blank=True,
                                   help_text="Lower-cased title, text and tags, for the lessons search.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("written by"))

    class Meta:
        verbose_name = _("lesson learned")
        verbose_name_plural = _("lessons learned")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class CycleEvent(models.Model):
    """One line of a cycle's history: who did what, when."""

    class Kind(models.TextChoices):
        PLANNED = "planned", _("planned")
        UPDATED = "updated", _("updated")
        PHASE = "phase", _("moved phase")
        ACTION_ADDED = "action_added", _("added an action")
        ACTION_UPDATED = "action_updated", _("updated an action")
        ACTION_DELETED = "action_deleted", _("deleted an action")
        CHECKED = "checked", _("computed the Check")
        STANDARDISED = "standardised", _("standardised")
        ADJUSTED = "adjusted", _("adjusted: opened the next cycle")
        LESSON = "lesson", _("recorded a lesson")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="events", verbose_name=_("cycle"))
    at = models.DateTimeField(_("when"), db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("who"))
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("cycle event")
        verbose_name_plural = _("cycle events")
        ordering = ["cycle", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"
