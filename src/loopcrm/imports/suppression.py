"""Rows of a customer file that identify a person whose personal data was erased (customers.privacy): they are
not imported again, and the report says why, row by row — an old list must not bring the person back.

Runs while the job is prepared. With an empty suppression list (the usual case) it costs one query; otherwise
one keyed digest per identity of each new row (~1 µs each), since the list holds digests, not values.
"""

from __future__ import annotations

from django.utils import formats
from django.utils.translation import gettext as _

from loopcrm.customers.models import ErasedIdentity
from loopcrm.customers.privacy import KINDS, digest
from loopcrm.imports.models import ImportJob, ImportRowError, StagedRow

CHUNK = 5000


def refuse_erased_rows(job: ImportJob, *, header_of) -> int:
    """Mark the job's new rows that carry an erased phone, email or external id as not allowed, with a report
    line each (`header_of(field)`: the file's column for a field). Returns how many."""
    if not ErasedIdentity.objects.exists():
        return 0
    erased = {(kind, value): at for kind, value, at in ErasedIdentity.objects.values_list("kind", "digest",
                                                                                         "erased_at")}
    labels = {"phone": _("phone"), "email": _("email"), "external_id": _("external id")}
    hits: list[tuple[int, int, str, object]] = []
    rows = (StagedRow.objects.filter(job=job, action=StagedRow.Action.CREATE).order_by()
            .values_list("pk", "row", *KINDS))
    for pk, row, *values in rows.iterator(chunk_size=CHUNK):
        for kind, value in zip(KINDS, values, strict=True):
            at = erased.get((kind, digest(value))) if value else None
            if at is not None:
                hits.append((pk, row, kind, at))
                break
    for start in range(0, len(hits), CHUNK):
        chunk = [pk for pk, *_rest in hits[start:start + CHUNK]]
        StagedRow.objects.filter(pk__in=chunk).update(action=StagedRow.Action.DENIED, object_id=None)
    ImportRowError.objects.bulk_create([
        # The value is not echoed: the report would hold the erased person's phone again.
        ImportRowError(job=job, row=row, column=header_of(kind)[:200], value="",
                       reason=ImportRowError.Reason.NOT_ALLOWED,
                       message=(_("This %(field)s belongs to a person whose personal data was erased at their "
                                  "request on %(date)s; the row is not imported.")
                                % {"field": labels[kind], "date": formats.date_format(at, "SHORT_DATE_FORMAT")})[:500])
        for _pk, row, kind, at in hits], batch_size=2000)
    return len(hits)
