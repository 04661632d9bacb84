"""The record-by-record import of contact persons, products, orders with lines and interactions.

Each record is written by its app's own service (kinds.py), so it obeys the rules of the form and
the API. The steps mirror the customer import (engine.py):

1. **Validate** (the dry run): rows past `job.staged_through` are read, parsed and written *inside a
   savepoint that is rolled back* — the service itself says what is wrong, field by field, and
   nothing stays. Valid records are staged (`StagedRecord`) with the existing record their identity
   matches; bad rows become report lines. Batches commit with `staged_through`, so a crash resumes.
2. **Import**: staged records past `job.checkpoint`, in committed batches: created through the
   service, matched ones skipped or updated as chosen; `checkpoint` commits with the batch, so a
   `kill -9` loses at most the batch in flight and the resume redoes it.
3. **Undo**: created records deleted (unless something now protects them), updated ones restored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core.errors import DomainError
from loopcrm.imports.kinds import CUSTOMER_REFS, KINDS, Lookups, Problem, RecordKind, RowProblem
from loopcrm.imports.models import ImportJob, ImportRowError, OnDuplicate, StagedRecord
from loopcrm.imports.reading import FileInfo, FileProblem, iter_rows

Reason = ImportRowError.Reason
Action = StagedRecord.Action
log = logging.getLogger("loopcrm.imports")
BATCH = 500  # records per committed batch: each is a few queries through its service


class _DryRun(Exception):
    """Raised inside the savepoint of a validation write, so that nothing it wrote stays."""


Unit = list[tuple[int, dict[str, str]]]  # (row number, mapped cells) — one row, or an order's lines


def _units(job: ImportJob, kind: RecordKind, path: Path, info: FileInfo) -> Iterator[Unit]:
    """The file's records past the checkpoint, in file order; an order's adjacent lines together."""
    targets = job.mapping.get("targets", [])
    rows = iter_rows(path, info, sheet=job.sheet)
    next(rows, None)  # the header
    current: Unit = []
    for number, cells in rows:
        if number <= job.staged_through:
            continue
        values = {target: cells[i].strip() for i, target in enumerate(targets) if target and i < len(cells)}
        if kind.grouped and current and values.get(kind.identity, "") == current[0][1].get(kind.identity, ""):
            current.append((number, values))
            continue
        if current:
            yield current
        current = [(number, values)]
    if current:
        yield current


def _header(job: ImportJob, target: str) -> str:
    """The file's header of a target; a service's field name (`category_id`) names its target (`category`)."""
    targets = job.mapping.get("targets", [])
    if target not in targets and target.endswith("_id") and target[:-3] in targets:
        target = target[:-3]
    for index, name in enumerate(targets):
        if name == target:
            return job.headers[index]
    return target


def _problem_of(error: DomainError, unit: Unit) -> tuple[int, Problem]:
    """Where a service's error points: `lines.2.sku` is the third line's SKU, `customer_id` the customer."""
    field = error.field or ""
    row = unit[0][0]
    parts = field.split(".")
    if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(unit):
        row = unit[int(parts[1])][0]
        field = parts[2] if len(parts) > 2 else "sku"
    if field in ("customer_id", "customer"):
        values = unit[0][1]
        field = next((ref for ref in CUSTOMER_REFS if values.get(ref)), "customer_id")
    values = dict(next(cells for number, cells in unit if number == row))
    reason = Reason.NOT_ALLOWED if error.status in (403, 404) else Reason.BAD_VALUE
    return row, Problem(field, values.get(field, ""), reason, error.message)


def _check(kind: RecordKind, unit: Unit, lookups: Lookups, by: User | None) -> tuple[list[dict], list[tuple]]:
    """Parse a record's rows and let its service try it in a rolled-back savepoint.

    Returns (parsed rows, []) when it would be written, or ([], [(row, Problem)…]) saying why not.
    """
    parsed: list[dict[str, Any]] = []
    problems: list[tuple[int, Problem]] = []
    for number, values in unit:
        try:
            parsed.append(kind.parse(values, lookups))
        except RowProblem as failure:
            problems.append((number, failure.problem))
    if problems:
        return [], problems
    try:
        with transaction.atomic():
            kind.write(parsed, by)
            raise _DryRun
    except _DryRun:
        return parsed, []
    except DomainError as error:
        return [], [_problem_of(error, unit)]


def stage(job: ImportJob, path: Path, info: FileInfo, *, by: User | None, size: int | None = None,
          progress: Any = None) -> ImportJob:
    """Validate the file's records past `job.staged_through` and stage the valid ones, batch by batch."""
    kind = KINDS[job.kind]
    size = size or BATCH
    lookups = Lookups(by=by)
    seen = set(StagedRecord.objects.filter(job=job).exclude(identity="").values_list("identity", flat=True))
    units = _units(job, kind, path, info)
    started = time.perf_counter()
    try:
        while True:
            with transaction.atomic():
                current = ImportJob.objects.select_for_update().get(pk=job.pk)
                if current.status == ImportJob.Status.CANCELLED:
                    return current
                batch = [unit for _i, unit in zip(range(size), units, strict=False)]
                done = len(batch) < size
                staged: list[StagedRecord] = []
                errors: list[ImportRowError] = []
                counts = {"rows": 0, "valid": 0, "invalid": 0}
                identities = [unit[0][1].get(kind.identity, "") for unit in batch] if kind.identity else []
                existing = kind.find([i for i in identities if i]) if kind.find and identities else {}
                for unit in batch:
                    counts["rows"] += len(unit)
                    identity = unit[0][1].get(kind.identity, "") if kind.identity else ""
                    if identity and identity in seen:
                        counts["invalid"] += len(unit)
                        errors.append(_line(job, unit[0][0], kind.identity, identity, Reason.DUPLICATE_IN_FILE,
                                            _("Repeats %(field)s %(value)s of an earlier row of the file.")
                                            % {"field": kind.targets[kind.identity], "value": identity}))
                        continue
                    if identity in existing:  # matched: skipped or updated at import, never created twice
                        seen.add(identity)
                        try:
                            parsed = [kind.parse(values, lookups) for _n, values in unit]
                        except RowProblem as failure:
                            counts["invalid"] += len(unit)
                            errors.append(_line(job, unit[0][0], *_fields(failure.problem)))
                            continue
                        counts["valid"] += len(unit)
                        staged.append(StagedRecord(job=job, row=unit[0][0], last_row=unit[-1][0], identity=identity,
                                                   data=parsed, matched_id=existing[identity]))
                        continue
                    parsed, problems = _check(kind, unit, lookups, by)
                    if problems:
                        counts["invalid"] += len(unit)
                        errors.extend(_line(job, number, *_fields(problem)) for number, problem in problems)
                        if kind.grouped and len(unit) > 1:
                            errors.append(_line(job, unit[0][0], kind.identity, identity, Reason.BAD_ROW,
                                                _("The whole order (%(lines)d lines) is set aside: one line is wrong.")
                                                % {"lines": len(unit)}))
                        continue
                    if identity:
                        seen.add(identity)
                    counts["valid"] += len(unit)
                    staged.append(StagedRecord(job=job, row=unit[0][0], last_row=unit[-1][0], identity=identity,
                                               data=parsed))
                StagedRecord.objects.bulk_create(staged)
                ImportRowError.objects.bulk_create([_with_header(job, e) for e in errors])
                last = batch[-1][-1][0] if batch else current.staged_through
                ImportJob.objects.filter(pk=job.pk).update(
                    rows=F("rows") + counts["rows"], valid=F("valid") + counts["valid"],
                    invalid=F("invalid") + counts["invalid"], staged_through=last, staging_done=done,
                    matched=F("matched") + sum(1 for s in staged if s.matched_id), updated_at=timezone.now())
            job.refresh_from_db()
            if progress:
                progress(job)
            if done:
                ImportJob.objects.filter(pk=job.pk).update(prepared=True)
                job.refresh_from_db()
                log.info("import #%s validated %d rows in %.1fs", job.pk, job.rows, time.perf_counter() - started)
                return job
    except FileProblem as problem:
        with transaction.atomic():
            ImportRowError.objects.create(job=job, row=problem.row or job.staged_through + 1, column="", value="",
                                          reason=Reason.BAD_ROW, message=problem.message[:500])
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, message=problem.message,
                                                       finished_at=timezone.now(), updated_at=timezone.now())
        job.refresh_from_db()
        return job
    finally:
        units.close()


def _fields(problem: Problem) -> tuple[str, str, str, str]:
    return problem.target, problem.value, problem.reason, problem.message


def _line(job: ImportJob, row: int, target: str, value: str, reason: str, message: str) -> ImportRowError:
    return ImportRowError(job_id=job.pk, row=row, column=target, value=str(value)[:200], reason=reason,
                          message=str(message)[:500])


def _with_header(job: ImportJob, error: ImportRowError) -> ImportRowError:
    error.column = _header(job, error.column)[:200] if error.column else ""
    return error


def merge(job: ImportJob, *, by: User | None, size: int | None = None, pause: float = 0.0,
          progress: Any = None) -> ImportJob:
    """Write the staged records past `job.checkpoint`, one committed batch at a time."""
    kind = KINDS[job.kind]
    size = size or BATCH
    started = time.perf_counter()
    while True:
        with transaction.atomic():
            current = ImportJob.objects.select_for_update().get(pk=job.pk)
            if current.status != ImportJob.Status.IMPORTING:
                return current
            batch = list(StagedRecord.objects.filter(job=current, row__gt=current.checkpoint).order_by("row")[:size])
            if not batch:
                ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=timezone.now(),
                                                           updated_at=timezone.now())
                current.refresh_from_db()
                log.info("import #%s wrote its records in %.1fs", job.pk, time.perf_counter() - started)
                return current
            counts = {"created": 0, "updated": 0, "skipped": 0}
            errors: list[ImportRowError] = []
            written = _write_together(kind, batch, by, counts)
            for record in batch:
                if record.row not in written:
                    _write_one(current, kind, record, by, counts, errors)
            StagedRecord.objects.bulk_update(batch, ["action", "object_id", "before"])
            ImportRowError.objects.bulk_create(errors)
            ImportJob.objects.filter(pk=job.pk).update(
                checkpoint=batch[-1].row, created=F("created") + counts["created"],
                updated=F("updated") + counts["updated"], skipped=F("skipped") + counts["skipped"],
                updated_at=timezone.now())
        job.refresh_from_db()
        if progress:
            progress(job)
        if pause:
            time.sleep(pause)


def _write_together(kind: RecordKind, batch: list[StagedRecord], by: User | None, counts: dict[str, int]) -> set[int]:
    """Write the batch's new records in one call when the kind can; the rows written. If the service refuses
    any of them, nothing is written here and the batch goes one by one, so the refused row gets its own line."""
    new = [record for record in batch if not record.matched_id]
    if kind.write_many is None or not new:
        return set()
    try:
        with transaction.atomic():
            objects = kind.write_many([record.data for record in new], by)
    except DomainError:
        return set()
    for record, written in zip(new, objects, strict=True):
        record.action, record.object_id = Action.CREATE, written.pk
    counts["created"] += len(new)
    return {record.row for record in new}


def _write_one(job: ImportJob, kind: RecordKind, record: StagedRecord, by: User | None, counts: dict[str, int],
               errors: list[ImportRowError]) -> None:
    try:
        with transaction.atomic():
            if record.matched_id:
                if job.on_duplicate == OnDuplicate.UPDATE and kind.update is not None:
                    record.before = kind.update(record.matched_id, record.data[0], by)
                    record.action, record.object_id = Action.UPDATE, record.matched_id
                    counts["updated"] += 1
                else:
                    record.action, record.object_id = Action.SKIP, record.matched_id
                    counts["skipped"] += 1
                return
            written = kind.write(record.data, by)
            record.action, record.object_id = Action.CREATE, written.pk
            counts["created"] += 1
    except DomainError as error:  # the database changed since the validation (a SKU taken meanwhile…)
        record.action = Action.DENIED
        counts["skipped"] += 1
        errors.append(ImportRowError(job_id=job.pk, row=record.row, column=_header(job, error.field or "")[:200],
                                     value="", reason=Reason.NOT_ALLOWED, message=error.message[:500]))


def undo(job: ImportJob) -> dict[str, int]:
    """Delete the records the job created (newest first) and restore those it updated."""
    kind = KINDS[job.kind]
    result = {"deleted": 0, "restored": 0, "kept": 0}
    created = (StagedRecord.objects.filter(job=job, action=Action.CREATE, object_id__isnull=False)
               .order_by("-row").values_list("object_id", flat=True))
    for pk in created.iterator(chunk_size=1000):
        try:
            with transaction.atomic():
                deleted, _detail = kind.model._default_manager.filter(pk=pk).delete()
            result["deleted"] += 1 if deleted else 0
        except (ProtectedError, RestrictedError):
            result["kept"] += 1
    if kind.restore is not None:
        updated = StagedRecord.objects.filter(job=job, action=Action.UPDATE, before__isnull=False)
        for object_id, before in updated.values_list("object_id", "before").iterator(chunk_size=1000):
            kind.restore(object_id, before)
            result["restored"] += 1
    return result


def supports(kind: str, on_duplicate: str) -> str | None:
    """Why this duplicate handling cannot apply to this kind of file (None when it can)."""
    record_kind = KINDS.get(kind)
    if record_kind is None or on_duplicate == OnDuplicate.SKIP:
        return None
    if record_kind.update is None:
        return _("Records of this kind that already exist are skipped; choose skip.")
    if on_duplicate == OnDuplicate.MERGE:
        return _("Records of this kind that already exist are skipped or updated, not merged.")
    return None
