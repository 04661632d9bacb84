"""The stamp of the service desk's configuration: what cached copies of it are checked against."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["ConfigStamp"]


class ConfigStamp(models.Model):
    """One row (id 1) whose `token` changes, to a fresh random value, whenever the desk's configuration does.

    Database triggers (migration 0002) replace the token after every write to the tables opening a
    ticket reads (categories, routing rules, queues, SLA policies, calendars and their days, process
    definitions, versions and steps, departments), whatever wrote them: services, the admin, imports,
    raw SQL. A process caches the configuration with the token it read (service.queries.config) and
    re-reads it when the token differs. A random token rather than a counter: a change rolled back
    can never come back as the same value.
    """

    token = models.CharField(_("token"), max_length=40)

    class Meta:
        verbose_name = _("configuration stamp")
        verbose_name_plural = _("configuration stamps")

    def __str__(self) -> str:
        return self.token
