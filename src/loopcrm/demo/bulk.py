"""Writing demo rows fast: bulk inserts in batches, an audit row per object, timestamps as generated."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import models

from loopcrm.core import audit
from loopcrm.demo.calendar import DemoCalendar

AUDIT_NOTE = "demo data"
BATCH_SIZE = 1000


@dataclass
class Loader:
    """What every demo module needs: the calendar, a way to report progress, and audited bulk inserts."""

    calendar: DemoCalendar
    progress: Callable[[str], object]
    counts: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        self.progress(f"    {message}")

    def insert(self, rows: Sequence[models.Model], *, audited: bool = True) -> None:
        """Insert `rows` (one model) and note them in the audit trail; their primary keys are set afterwards."""
        if not rows:
            return
        model = type(rows[0])
        model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        label = model._meta.label_lower
        self.counts[label] = self.counts.get(label, 0) + len(rows)
        if audited:
            audit.record_many(action="create", object_type=label, object_ids=[row.pk for row in rows], by=None,
                              note=AUDIT_NOTE)

    def link(self, through: type[models.Model], rows: Sequence[models.Model]) -> None:
        """Insert many-to-many link rows (tags, team members): part of their owner's creation, not audited apart."""
        if rows:
            through.objects.bulk_create(rows, batch_size=BATCH_SIZE)
            label = through._meta.label_lower
            self.counts[label] = self.counts.get(label, 0) + len(rows)


@contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let the demo write `created_at` / `updated_at` itself while the block runs.

    The demo's history is two years long: a customer who first bought 18 months ago was created
    then, not at load time. Django's auto_now(_add) would overwrite the values, so they are switched
    off for these models and switched back on afterwards. This changes the fields process-wide, which
    is fine for the CLI, where the demo load runs alone before the server starts.
    """
    switched = []
    for model in model_classes:
        for model_field in model._meta.concrete_fields:
            if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                switched.append((model_field, model_field.auto_now, model_field.auto_now_add))
                model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in switched:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add
