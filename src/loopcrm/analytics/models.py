"""The metric registry's daily roll-up: closed days of the additive parts of the registry's own terms.

Not a second definition of any KPI: a `DailyFact` row holds, for one source table (tickets by opening, SLA
clocks by start), one local day and one (department, assignee), the value of every term the catalogue
defines on that table — the same aggregate expressions, run over that day's rows — in slots `v0`, `v1`, …
whose order the state row's `layout` fingerprints. The registry reads closed days from here and the rest
live (loopcrm.analytics.metrics.rollup); a fingerprint or time-zone mismatch means "not rolled", so a
changed definition can never be read from stale rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

SLOTS = 16


class DailyFact(models.Model):
    """One local day of one source for one department and assignee: the sums of the catalogue's terms."""

    source = models.CharField(max_length=60)  # "<source>.<date column>", e.g. "tickets.opened_at"
    day = models.DateField()
    # The ticket's department and assignee: the dimensions the ticket scope (scope_filter) is decided on, so
    # a user's scope applies to these rows exactly as it applies to the tickets. No constraint: a roll-up row
    # must not block deleting a department or a user (the next full refresh drops their rows).
    department = models.ForeignKey("accounts.Department", null=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                                 db_constraint=False, related_name="+")
    v0 = models.FloatField(default=0.0)
    v1 = models.FloatField(default=0.0)
    v2 = models.FloatField(default=0.0)
    v3 = models.FloatField(default=0.0)
    v4 = models.FloatField(default=0.0)
    v5 = models.FloatField(default=0.0)
    v6 = models.FloatField(default=0.0)
    v7 = models.FloatField(default=0.0)
    v8 = models.FloatField(default=0.0)
    v9 = models.FloatField(default=0.0)
    v10 = models.FloatField(default=0.0)
    v11 = models.FloatField(default=0.0)
    v12 = models.FloatField(default=0.0)
    v13 = models.FloatField(default=0.0)
    v14 = models.FloatField(default=0.0)
    v15 = models.FloatField(default=0.0)

    class Meta:
        indexes = [models.Index(fields=["source", "day"], name="analytics_fact_day_idx")]

    def __str__(self) -> str:
        return f"{self.source} {self.day} d{self.department_id} a{self.assignee_id}"


class RollupState(models.Model):
    """How far a source is rolled up: every local day up to `rolled_through` (in `zone`) is in DailyFact,
    computed with the terms `layout` names; ticket events up to `last_event_id` have been looked at."""

    source = models.CharField(max_length=60, primary_key=True)
    zone = models.CharField(max_length=64)
    layout = models.CharField(max_length=64)  # sha256 of the roll-up statement's SQL and the slot order
    rolled_through = models.DateField(null=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)
    rebuilt_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.source} through {self.rolled_through}"
