"""Every write on import jobs and saved mappings: upload, map, validate, import, cancel, undo.

Rules kept here:
- Importing needs the "transfer/import" permission and the right to change customers; rows that
  match a customer the user may not change are skipped with a report line.
- A job validates first (the dry run): every bad row gets report lines, duplicates inside the file
  are marked, the rest are matched to existing customers. Nothing is written to customers until
  the import runs (`commit_job`), and then only valid rows go in; bad rows wait in the report.
- Batches commit with the checkpoint (engine.py for customers, records.py for contact persons,
  products, orders with lines and interactions), so a crashed job resumes where it stopped.
- A finished or cancelled job can be rolled back once; every step leaves an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line
from loopcrm.imports import engine, kinds, mapping, records
from loopcrm.imports.models import FileFormat, ImportJob, ImportKind, ImportMapping, ImportRowError, OnDuplicate
from loopcrm.imports.reading import FileInfo, FileProblem, inspect, iter_rows

MAX_FILE_BYTES = 1024**3
# Kinds with an import path: customers set-based (engine.py), the others through their services
# (records.py); see docs/import-export.md.
KINDS = frozenset(ImportKind.values)
Status = ImportJob.Status


def require_can_import(by: User | None, kind: str = ImportKind.CUSTOMERS) -> None:
    """Importing needs the import permission and the right to change what the file holds."""
    if by is None:
        return
    if not can(by, "transfer", "import"):
        raise PermissionDenied(_("Your role may not import."))
    if kind == ImportKind.PRODUCTS:
        if not can(by, "product", "change"):
            raise PermissionDenied(_("Your role may not import products."))
    elif kind == ImportKind.TICKETS:
        if not can(by, "ticket", "change"):
            raise PermissionDenied(_("Your role may not import tickets."))
    elif not can(by, "customer", "change"):
        raise PermissionDenied(_("Your role may not import customers."))


def _file_info(job: ImportJob) -> FileInfo:
    info = inspect(job.file.path, encoding=job.encoding if job.format != FileFormat.XLSX else "")
    return info


def _read_headers(path: str, info: FileInfo, sheet: str) -> list[str]:
    for _number, cells in iter_rows(path, info, sheet=sheet):
        headers = [clean_line(cell.lstrip("\ufeff"), field="headers", max_length=None) for cell in cells]
        return [header or _("Column %(n)d") % {"n": i + 1} for i, header in enumerate(headers)]
    raise FileProblem(_("The file has no header row."))


@transaction.atomic
def create_job(
    *,
    by: User | None,
    file: IO[bytes],
    file_name: str,
    kind: str = ImportKind.CUSTOMERS,
    encoding: str = "",
    sheet: str = "",
    targets: Sequence[str] | None = None,
    saved_mapping: ImportMapping | None = None,
    preset: str = "",
    unmapped: str = "ignore",
    on_duplicate: str = OnDuplicate.SKIP,
    dry_run: bool = True,
    rebuild_indexes: bool = False,
    at: dt.datetime | None = None,
) -> ImportJob:
    """Store an uploaded file and read its header; the columns are mapped automatically unless given.

    `rebuild_indexes` (moving in, administrators only; see engine.py) rebuilds the customer indexes
    once after the import instead of updating them row by row.
    """
    require_can_import(by, kind)
    if kind not in KINDS:
        raise RuleViolation(_("Importing %(kind)s is not available yet.") % {"kind": ImportKind(kind).label},
                            field="kind")
    if on_duplicate not in OnDuplicate.values:
        raise RuleViolation(_("On duplicate must be skip, update or merge."), field="on_duplicate")
    if problem := records.supports(kind, on_duplicate):
        raise RuleViolation(problem, field="on_duplicate")
    if kind != ImportKind.CUSTOMERS and getattr(by, "pk", None) is None:
        raise RuleViolation(_("Records other than customers are imported as a user, through the same rules "
                              "as their forms: name the user (loopcrm import … --user NAME)."), field="user")
    if unmapped not in mapping.UNMAPPED_CHOICES:
        raise RuleViolation(_("Unmapped columns go to ignore, notes or tags."), field="unmapped")
    file_name = clean_line(os.path.basename(file_name or "upload"), field="file", max_length=255) or "upload"
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise RuleViolation(_("The file is over 1 GB."), field="file")
    if size == 0:
        raise RuleViolation(_("The file is empty."), field="file")
    file.seek(0)
    if rebuild_indexes and by is not None and not by.is_superuser:
        raise PermissionDenied(_("Only an administrator may rebuild the customer indexes during an import."))
    job = ImportJob(kind=kind, file_name=file_name, file_sha256=digest.hexdigest(), file_size=size,
                    options={"rebuild_indexes": bool(rebuild_indexes)},
                    on_duplicate=on_duplicate, dry_run=dry_run, unmapped=unmapped, sheet=sheet,
                    created_by=by if getattr(by, "pk", None) else None, department=getattr(by, "department", None))
    job.file.save(file_name, File(file), save=False)
    try:
        info = inspect(job.file.path, encoding=encoding)
        job.format, job.encoding = info.format, info.encoding
        if info.format == FileFormat.XLSX and not sheet:
            job.sheet = info.sheets[0] if info.sheets else ""
        job.headers = _read_headers(job.file.path, info, job.sheet)
    except FileProblem as problem:
        job.file.delete(save=False)
        raise RuleViolation(problem.message, field="file") from problem
    if targets is None:  # automatic: may be incomplete, the mapping screen shows what is missing
        targets = _auto_targets(kind, job.headers, saved=saved_mapping, preset=preset)
        targets = _checked_targets(job.headers, targets, complete=False, kind=kind)
    else:
        targets = _checked_targets(job.headers, targets, kind=kind)
    job.mapping = {"targets": targets,
                   "preset": (preset or mapping.detect_preset(job.headers)) if kind == ImportKind.CUSTOMERS else ""}
    job.save()
    audit.record(action="create", obj=job, by=by, at=at, changes={
        "file": file_name, "sha256": job.file_sha256, "size": size, "format": job.format, "encoding": job.encoding,
    })
    return job


def _auto_targets(kind: str, headers: Sequence[str], *, saved: ImportMapping | None = None,
                  preset: str = "") -> list[str]:
    if kind == ImportKind.CUSTOMERS:
        return (mapping.apply_saved(headers, saved.columns) if saved is not None
                else mapping.auto_mapping(headers, preset=preset))
    auto = kinds.auto_mapping(kinds.KINDS[kind], headers)
    return [saved.columns.get(h, auto[i]) for i, h in enumerate(headers)] if saved is not None else auto


def target_problems(kind: str, targets: Sequence[str]) -> list[str]:
    """What keeps a mapping of a file of this kind from being used (empty when it is complete)."""
    if kind == ImportKind.CUSTOMERS:
        return mapping.validate_targets(targets)
    return kinds.validate_targets(kinds.KINDS[kind], targets)


def _checked_targets(headers: Sequence[str], targets: Sequence[str], *, complete: bool = True,
                     kind: str = ImportKind.CUSTOMERS) -> list[str]:
    targets = [str(t or "") for t in targets][: len(headers)]
    targets += [""] * (len(headers) - len(targets))
    problems = target_problems(kind, targets)
    if problems and complete:
        raise RuleViolation(" ".join(problems), field="mapping")
    return targets


def _reset_staging(job: ImportJob) -> None:
    job.staged.all().delete()
    job.records.all().delete()
    job.errors.all().delete()
    for name in ("rows", "valid", "invalid", "created", "updated", "skipped", "merged", "matched", "staged_through",
                 "checkpoint"):
        setattr(job, name, 0)
    job.staging_done = job.prepared = False
    job.status = Status.VALIDATING
    job.message = ""


@transaction.atomic
def set_mapping(
    job: ImportJob,
    *,
    by: User | None,
    targets: Sequence[str] | None = None,
    unmapped: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    on_duplicate: str | None = None,
) -> ImportJob:
    """Change how the file is read or mapped before it is imported; the validation starts over."""
    require_can_import(by, job.kind)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (Status.VALIDATING, Status.VALIDATED, Status.FAILED) or job.checkpoint:
        raise Conflict(_("Import #%(id)s has started; its mapping can no longer change.") % {"id": job.pk},
                       field="mapping")
    if encoding is not None and encoding != job.encoding and job.format != FileFormat.XLSX:
        try:
            "".encode(encoding)
        except LookupError as error:
            raise RuleViolation(_("Unknown encoding %(name)s.") % {"name": repr(encoding)}, field="encoding") from error
        job.encoding = encoding
    if sheet is not None and sheet != job.sheet and job.format == FileFormat.XLSX:
        job.sheet = sheet
    if (encoding is not None or sheet is not None):
        try:
            headers = _read_headers(job.file.path, _file_info(job), job.sheet)
        except FileProblem as problem:
            raise RuleViolation(problem.message, field="encoding" if encoding else "sheet") from problem
        if headers != job.headers:
            job.headers = headers
            if targets is None:
                targets = _auto_targets(job.kind, headers)
    if targets is not None:
        job.mapping = {**job.mapping, "targets": _checked_targets(job.headers, targets, kind=job.kind)}
    if unmapped is not None:
        if unmapped not in mapping.UNMAPPED_CHOICES:
            raise RuleViolation(_("Unmapped columns go to ignore, notes or tags."), field="unmapped")
        job.unmapped = unmapped
    if on_duplicate is not None:
        if on_duplicate not in OnDuplicate.values:
            raise RuleViolation(_("On duplicate must be skip, update or merge."), field="on_duplicate")
        if problem := records.supports(job.kind, on_duplicate):
            raise RuleViolation(problem, field="on_duplicate")
        job.on_duplicate = on_duplicate
    _reset_staging(job)
    job.save()
    audit.record(action="update", obj=job, by=by, changes={"mapping": job.mapping, "unmapped": job.unmapped,
                                                            "encoding": job.encoding, "sheet": job.sheet})
    return job


def mapping_problems(job: ImportJob) -> list[str]:
    """What keeps the job's mapping from being used (empty when it is complete)."""
    return target_problems(job.kind, job.mapping.get("targets", []))


def validate_job(job: ImportJob, *, size: int | None = None, progress: engine.Progress | None = None) -> ImportJob:
    """Read and check every row (resumes a validation that stopped), then mark duplicates and matches."""
    job.refresh_from_db()
    if job.status not in (Status.VALIDATING, Status.VALIDATED):
        return job
    problems = mapping_problems(job)
    if problems:  # waits for the mapping screen (or PUT /imports/{id}/mapping)
        ImportJob.objects.filter(pk=job.pk).update(message=" ".join(problems))
        job.refresh_from_db()
        return job
    digests = engine.IdentityDigests()  # kept while staging, for the repeat check
    if not job.staging_done:
        try:
            info = _file_info(job)
        except FileProblem as problem:
            ImportJob.objects.filter(pk=job.pk).update(status=Status.FAILED, message=problem.message)
            job.refresh_from_db()
            return job
        if job.kind == ImportKind.CUSTOMERS:
            job = engine.stage(job, Path(job.file.path), info, size=size, progress=progress, digests=digests)
        else:
            job = records.stage(job, Path(job.file.path), info, by=job.created_by, size=size, progress=progress)
        if job.status != Status.VALIDATING:
            return job
    if job.kind == ImportKind.CUSTOMERS:
        job = engine.prepare(job, digests=digests)
    ImportJob.objects.filter(pk=job.pk, status=Status.VALIDATING).update(status=Status.VALIDATED,
                                                                         updated_at=timezone.now())
    job.refresh_from_db()
    return job


@transaction.atomic
def commit_job(job: ImportJob, *, by: User | None) -> ImportJob:
    """Let a validated job import its valid rows (the runner then does the work in batches)."""
    require_can_import(by, job.kind)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == Status.IMPORTING:
        return job
    if job.status != Status.VALIDATED:
        raise Conflict(_("Import #%(id)s is %(status)s; only a validated import can start.")
                       % {"id": job.pk, "status": job.get_status_display().lower()}, field="status")
    job.dry_run = False
    job.save(update_fields=["dry_run", "updated_at"])
    return job


def run_job(job: ImportJob, *, by: User | None, size: int | None = None, pause: float = 0.0,
            progress: engine.Progress | None = None) -> ImportJob:
    """Do whatever the job still needs: validate, then (unless a dry run) import. Safe to call again after a crash.

    `by` is the person the rows are imported for (owner of new customers, scope of updates).
    """
    job.refresh_from_db()
    if job.status in (Status.VALIDATING, Status.VALIDATED):
        job = validate_job(job, size=size, progress=progress)
        if job.status != Status.VALIDATED or job.dry_run:
            return job
        with transaction.atomic():
            updated = ImportJob.objects.filter(pk=job.pk, status=Status.VALIDATED).update(
                status=Status.IMPORTING, started_at=timezone.now(), updated_at=timezone.now())
            if updated:
                audit.record(action="import", obj=job, by=by, changes={"phase": "started", "sha256": job.file_sha256,
                                                                       "rows": job.rows, "valid": job.valid})
        job.refresh_from_db()
    if job.status != Status.IMPORTING:
        return job
    try:
        if job.kind != ImportKind.CUSTOMERS:
            job = records.merge(job, by=by, size=size, pause=pause, progress=progress)
        else:
            if job.options.get("rebuild_indexes") and not job.checkpoint:
                engine.drop_indexes(job)
            job = engine.merge(job, by=by, size=size, pause=pause, progress=progress)
    except Exception as error:
        ImportJob.objects.filter(pk=job.pk).update(status=Status.FAILED, message=str(error)[:2000],
                                                   finished_at=timezone.now())
        engine.restore_indexes(job)
        raise
    engine.restore_indexes(job)  # done or cancelled: the indexes exist again before anyone relies on it
    job.refresh_from_db()
    if job.status == Status.DONE:
        audit.record(action="import", obj=job, by=by, changes={
            "phase": "done", "file": job.file_name, "sha256": job.file_sha256, **_counts(job)})
    return job


def _counts(job: ImportJob) -> dict[str, int]:
    return {name: getattr(job, name) for name in ("rows", "valid", "invalid", "created", "updated", "merged",
                                                  "skipped")}


@transaction.atomic
def cancel_job(job: ImportJob, *, by: User | None) -> ImportJob:
    """Stop a job: before the import nothing was written; during it the batch in flight is the last."""
    require_can_import(by, job.kind)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (Status.VALIDATING, Status.VALIDATED, Status.IMPORTING):
        raise Conflict(_("Import #%(id)s is %(status)s and cannot be cancelled.")
                       % {"id": job.pk, "status": job.get_status_display().lower()}, field="status")
    job.status = Status.CANCELLED
    job.cancel_requested = True
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "cancel_requested", "finished_at", "updated_at"])
    audit.record(action="update", obj=job, by=by, changes={"status": "cancelled", **_counts(job)})
    engine.restore_indexes(job)  # a crashed moving-in job that is cancelled instead of resumed
    return job


# Set on a job's options (ISO time) when a retention rule removed its file and staged rows.
PURGED = "rows_removed_at"


@transaction.atomic
def rollback_job(job: ImportJob, *, by: User | None) -> ImportJob:
    """Undo an import: delete the customers it created, restore the ones it changed."""
    require_can_import(by, job.kind)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (Status.DONE, Status.CANCELLED, Status.FAILED):
        raise Conflict(_("Import #%(id)s is %(status)s; only a finished, failed or cancelled import can be "
                         "rolled back.") % {"id": job.pk, "status": job.get_status_display().lower()},
                       field="status")
    if job.options.get(PURGED):  # its staged rows, the undo record, went with a retention rule (overview.retention)
        raise Conflict(_("Import #%(id)s can no longer be undone: its rows were removed under the data retention "
                         "rules on %(date)s.") % {"id": job.pk, "date": job.options[PURGED][:10]}, field="status")
    if job.kind == ImportKind.CUSTOMERS:
        result = engine.undo(job)
        message = _("Rolled back: %(deleted)d customers deleted, %(restored)d restored, %(kept)d kept because "
                    "other records now depend on them.")
    else:
        result = records.undo(job)
        message = _("Rolled back: %(deleted)d records deleted, %(restored)d restored, %(kept)d kept because "
                    "other records now depend on them.")
    job.status = Status.ROLLED_BACK
    job.message = message % result
    job.save(update_fields=["status", "message", "updated_at"])
    audit.record(action="delete", obj=job, by=by, changes={"rolled_back": result, "sha256": job.file_sha256})
    return job


# --- saved mappings ---------------------------------------------------------------------------

def _clean_mapping(name: Any, columns: Any) -> tuple[str, dict[str, str]]:
    name = clean_line(name if isinstance(name, str) else "", field="name", max_length=100, required=True)
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise RuleViolation(_("Columns map header names to field names."), field="columns")
    if len(columns) > 500:
        raise RuleViolation(_("At most 500 columns."), field="columns")
    unknown = sorted({v for v in columns.values() if v and v not in mapping.CUSTOMER_TARGETS})
    if unknown:
        raise RuleViolation(_("Unknown target field(s): %(fields)s.") % {"fields": ", ".join(unknown)},
                            field="columns")
    return name, {clean_line(k, field="columns", max_length=200): v for k, v in columns.items()}


@transaction.atomic
def save_mapping(*, by: User | None, name: str, columns: dict[str, str],
                 kind: str = ImportKind.CUSTOMERS) -> ImportMapping:
    require_can_import(by)
    name, columns = _clean_mapping(name, columns)
    if ImportMapping.objects.filter(kind=kind, name=name).exists():
        raise Conflict(_("A mapping named %(name)s exists.") % {"name": repr(name)}, field="name")
    saved = ImportMapping.objects.create(name=name, kind=kind, columns=columns,
                                         created_by=by if getattr(by, "pk", None) else None)
    audit.record(action="create", obj=saved, by=by, changes={"name": name, "columns": columns})
    return saved


@transaction.atomic
def update_mapping(saved: ImportMapping, *, by: User | None, name: str | None = None,
                   columns: dict[str, str] | None = None) -> ImportMapping:
    require_can_import(by)
    new_name, new_columns = _clean_mapping(name if name is not None else saved.name,
                                           columns if columns is not None else saved.columns)
    if ImportMapping.objects.filter(kind=saved.kind, name=new_name).exclude(pk=saved.pk).exists():
        raise Conflict(_("A mapping named %(name)s exists.") % {"name": repr(new_name)}, field="name")
    changes = audit.diff({"name": saved.name, "columns": saved.columns}, {"name": new_name, "columns": new_columns})
    saved.name, saved.columns = new_name, new_columns
    saved.save()
    audit.record(action="update", obj=saved, by=by, changes=changes)
    return saved


@transaction.atomic
def delete_mapping(saved: ImportMapping, *, by: User | None) -> None:
    require_can_import(by)
    audit.record(action="delete", obj=saved, by=by, changes={"name": saved.name})
    saved.delete()


def error_reasons() -> dict[str, str]:
    return {value: str(label) for value, label in ImportRowError.Reason.choices}
