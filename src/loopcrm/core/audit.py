"""Writing the audit trail. Services call these inside their transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from loopcrm.core.models import AuditEntry


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value for the changes column."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields`, as they would be written in the audit trail."""
    return {name: _plain(getattr(instance, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value changed, as {field: [old, new]}."""
    return {key: [before.get(key), after[key]] for key in after if before.get(key) != after[key]}


def record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    by: Any = None,
    changes: Mapping[str, Any] | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Leave one audit row. Pass `obj`, or `object_type` and `object_id` for bulk work."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=by if getattr(by, "pk", None) else None,
        action=action,
        object_type=object_type or "",
        object_id=str(object_id),
        object_repr=str(obj)[:200] if obj is not None else "",
        changes={key: _plain(value) for key, value in (changes or {}).items()},
        note=note[:500],
    )


def record_many(*, action: str, object_type: str, object_ids: Iterable[Any], by: Any, note: str = "") -> int:
    """Audit rows for a bulk operation, one per object, in one INSERT."""
    now = timezone.now()
    actor = by if getattr(by, "pk", None) else None
    rows = [
        AuditEntry(at=now, actor=actor, action=action, object_type=object_type, object_id=str(pk), note=note)
        for pk in object_ids
    ]
    AuditEntry.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
