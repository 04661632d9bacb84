"""People who use LoopCRM, where they sit (departments, teams) and how integrators sign in (tokens)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    MANAGER = "manager", _("Manager")
    TEAM_LEAD = "team_lead", _("Team lead")
    AGENT = "agent", _("Service agent")
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    EXECUTIVE = "executive", _("Executive (read-only)")


class Department(TimeStampedModel):
    """A unit of the organisation. Departments form a tree; `path` makes "this one and below" one query."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    # "/1/4/9/": ids from the root down to this department, maintained by services.
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: their role decides what they may do, department and teams what they see."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members",
        verbose_name=_("department"),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, help_text=_("Empty: the browser's."))
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    is_available = models.BooleanField(_("available for new work"), default=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Team(TimeStampedModel):
    """A group of people in a department that shares work (a queue of it, once tickets exist)."""

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="teams", verbose_name=_("department")
    )
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams", verbose_name=_("lead")
    )
    members = models.ManyToManyField(User, blank=True, related_name="teams", verbose_name=_("members"))

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["department__path", "name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="team_unique_name_in_department")]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A named credential for an integrator. Only a hash is kept; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active_at(self, moment) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)
