"""REST endpoints for import and export (thin): load through queries, call one service, serialise.

Mounted at /api/v1/: /imports, /import-mappings, /exports/{list}.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.imports import exports, mapping, queries, services
from loopcrm.imports.models import ImportJob, ImportKind, OnDuplicate
from loopcrm.imports.report import preview_rows, rejected_rows
from loopcrm.imports.tasks import enqueue_import

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem, 503: Problem}


class ImportJobOut(Schema):
    id: int
    kind: str
    file_name: str
    file_sha256: str
    file_size: int
    format: str
    encoding: str
    sheet: str
    headers: list[str]
    targets: list[str] = Field(description="One target field per column ('' = ignored).")
    unmapped: str
    dry_run: bool
    on_duplicate: str
    status: str
    progress: int = Field(description="Percent of the current phase.")
    rows: int
    valid: int
    invalid: int
    matched: int
    created: int
    updated: int
    skipped: int
    merged: int
    checkpoint: int
    message: str
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_targets(job: ImportJob) -> list[str]:
        return list(job.mapping.get("targets", []))

    @staticmethod
    def resolve_created_by(job: ImportJob) -> str | None:
        return job.created_by.username if job.created_by_id else None


class MappingIn(Schema):
    targets: list[str] | None = Field(None, max_length=500)
    unmapped: Literal["ignore", "notes", "tags"] | None = None
    sheet: str | None = Field(None, max_length=100)
    encoding: str | None = Field(None, max_length=30)
    on_duplicate: OnDuplicate | None = None


class ReportLineOut(Schema):
    id: int
    row: int
    column: str
    value: str
    reason: str
    message: str


class SavedMappingIn(Schema):
    name: str = Field(max_length=100)
    columns: dict[str, str]


class SavedMappingPatch(Schema):
    name: str | None = Field(None, max_length=100)
    columns: dict[str, str] | None = None


class SavedMappingOut(Schema):
    id: int
    name: str
    kind: str
    columns: dict[str, str]


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1)


class ReportParams(ListParams):
    format: Literal["json", "csv", "xlsx"] = "json"


def _page(page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


# --- jobs -------------------------------------------------------------------------------------

@router.post("imports", response={201: ImportJobOut, **CHANGE_ERRORS}, url_name="create_import",
             summary="Upload a file to import",
             description="Multipart: `file` plus options. The job validates in the background (a dry run by "
                         "default); poll GET /imports/{id}, read the report, then POST /imports/{id}/commit.")
def create_import(
    request,
    file: File[UploadedFile],
    kind: Form[ImportKind] = ImportKind.CUSTOMERS,
    encoding: Form[str] = "",
    sheet: Form[str] = "",
    mapping_id: Form[int | None] = None,
    preset: Form[Literal["", "salesforce", "hubspot", "zoho"]] = "",
    targets: Form[str] = "",  # a JSON list: one target per column
    unmapped: Form[Literal["ignore", "notes", "tags"]] = "ignore",
    on_duplicate: Form[OnDuplicate] = OnDuplicate.SKIP,
    dry_run: Form[bool] = True,
):
    saved = queries.get_mapping_for(request.user, mapping_id) if mapping_id else None
    target_list = None
    if targets:
        try:
            target_list = json.loads(targets)
        except ValueError as error:
            raise RuleViolation(_("targets is a JSON list of field names."), field="targets") from error
        if not isinstance(target_list, list):
            raise RuleViolation(_("targets is a JSON list of field names."), field="targets")
    job = services.create_job(
        by=request.user, file=file, file_name=file.name or "upload", kind=kind, encoding=encoding[:30], sheet=sheet,
        targets=target_list, saved_mapping=saved, preset=preset, unmapped=unmapped, on_duplicate=on_duplicate,
        dry_run=dry_run,
    )
    enqueue_import(job, request.user)
    job.refresh_from_db()  # the task may already have run (immediate backend, or a fast worker)
    return Status(201, job)


@router.get("imports", response={200: PageOut[ImportJobOut], **COMMON_ERRORS}, url_name="imports",
            summary="Import jobs you may see, newest first")
def list_imports(request, params: Query[ListParams]):
    return _page(paginate(queries.jobs_for(request.user), sort="-id", allowed=("-id",), cursor=params.cursor,
                          limit=params.limit))


@router.get("imports/{job_id}", response={200: ImportJobOut, **COMMON_ERRORS}, url_name="import",
            summary="One import job: status, progress and counts")
def get_import(request, job_id: int):
    job = queries.get_job_for(request.user, job_id)
    return job


@router.put("imports/{job_id}/mapping", response={200: ImportJobOut, **CHANGE_ERRORS}, url_name="import_mapping",
            summary="Fix the mapping (or encoding, sheet, duplicate handling); the job validates again")
def set_import_mapping(request, job_id: int, payload: MappingIn):
    job = queries.get_job_for(request.user, job_id)
    job = services.set_mapping(job, by=request.user, **payload.model_dump(exclude_none=True))
    enqueue_import(job, request.user)
    job.refresh_from_db()
    return job


@router.get("imports/{job_id}/preview", response={200: dict, **COMMON_ERRORS}, url_name="import_preview",
            summary="The first rows of the file as mapped")
def import_preview(request, job_id: int, rows: int = 10):
    rows = max(1, min(rows, 50))
    job = queries.get_job_for(request.user, job_id)
    return {"headers": job.headers, "targets": job.mapping.get("targets", []),
            "rows": [{"row": n, "cells": cells} for n, cells in preview_rows(job, rows)]}


@router.get("imports/{job_id}/errors", response={200: PageOut[ReportLineOut], **COMMON_ERRORS},
            url_name="import_errors", summary="The validation report",
            description="Paginated JSON, or the whole report as a download with ?format=csv or ?format=xlsx.")
def import_errors(request, job_id: int, params: Query[ReportParams]):
    job = queries.get_job_for(request.user, job_id)
    lines = queries.errors_of(job)
    if params.format == "csv":
        response = StreamingHttpResponse(exports.table_csv(exports.REPORT_HEADER, exports.report_rows(lines)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
        return response
    if params.format == "xlsx":
        handle = exports.table_xlsx(exports.REPORT_HEADER, exports.report_rows(lines))
        return FileResponse(handle, as_attachment=True, filename=f"import-{job.pk}-report.xlsx")
    return _page(paginate(lines, sort="id", allowed=("id",), cursor=params.cursor, limit=params.limit))


@router.get("imports/{job_id}/rejected", response={200: None, **COMMON_ERRORS}, url_name="import_rejected",
            summary="The rows that were set aside, as a CSV to correct and import again",
            description="The file's header plus an `errors` column, one line per rejected row.")
def import_rejected(request, job_id: int):
    job = queries.get_job_for(request.user, job_id)
    header, rows = rejected_rows(job)
    response = StreamingHttpResponse(exports.table_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@router.post("imports/{job_id}/commit", response={200: ImportJobOut, **CHANGE_ERRORS}, url_name="commit_import",
             summary="Import the valid rows of a validated job")
def commit_import(request, job_id: int):
    job = services.commit_job(queries.get_job_for(request.user, job_id), by=request.user)
    enqueue_import(job, request.user)
    job.refresh_from_db()
    return job


@router.post("imports/{job_id}/cancel", response={200: ImportJobOut, **CHANGE_ERRORS}, url_name="cancel_import",
             summary="Cancel a job (the batch in flight is its last)")
def cancel_import(request, job_id: int):
    return services.cancel_job(queries.get_job_for(request.user, job_id), by=request.user)


@router.post("imports/{job_id}/rollback", response={200: ImportJobOut, **CHANGE_ERRORS},
             url_name="rollback_import", summary="Undo a finished or cancelled import")
def rollback_import(request, job_id: int):
    return services.rollback_job(queries.get_job_for(request.user, job_id), by=request.user)


# --- saved mappings ---------------------------------------------------------------------------

@router.get("import-mappings", response={200: list[SavedMappingOut], **COMMON_ERRORS}, url_name="import_mappings",
            summary="Saved column mappings")
def list_mappings(request):
    return list(queries.mappings_for(request.user)[:500])


@router.post("import-mappings", response={201: SavedMappingOut, **CHANGE_ERRORS}, url_name="create_import_mapping",
             summary="Save a column mapping (header -> field)",
             description=f"Fields: {', '.join(mapping.CUSTOMER_TARGETS)}; '' ignores the column.")
def create_mapping(request, payload: SavedMappingIn):
    return Status(201, services.save_mapping(by=request.user, name=payload.name, columns=payload.columns))


@router.get("import-mappings/{mapping_id}", response={200: SavedMappingOut, **COMMON_ERRORS},
            url_name="import_mapping_detail", summary="One saved mapping")
def get_mapping(request, mapping_id: int):
    return queries.get_mapping_for(request.user, mapping_id)


@router.patch("import-mappings/{mapping_id}", response={200: SavedMappingOut, **CHANGE_ERRORS},
              url_name="update_import_mapping", summary="Rename or change a saved mapping")
def update_mapping(request, mapping_id: int, payload: SavedMappingPatch):
    saved = queries.get_mapping_for(request.user, mapping_id)
    return services.update_mapping(saved, by=request.user, **payload.model_dump(exclude_none=True))


@router.delete("import-mappings/{mapping_id}", response={204: None, **CHANGE_ERRORS},
               url_name="delete_import_mapping", summary="Delete a saved mapping")
def delete_mapping(request, mapping_id: int):
    services.delete_mapping(queries.get_mapping_for(request.user, mapping_id), by=request.user)
    return Status(204, None)


# --- exports ----------------------------------------------------------------------------------

def export_response(request: HttpRequest, what: str, fmt: str) -> HttpResponse:
    """A streamed CSV or an XLSX download of a list, filtered by the query string (shared with the pages)."""
    params = {key: request.GET.get(key) for key in request.GET if key not in ("format",)}
    export = exports.start_export(request.user, what, params, fmt=fmt)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        return FileResponse(exports.xlsx_file(export), as_attachment=True, filename=f"{what}-{stamp}.xlsx")
    response = StreamingHttpResponse(exports.csv_stream(export), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{what}-{stamp}.csv"'
    return response


@router.get("exports/{what}", response={200: None, **COMMON_ERRORS}, url_name="export",
            summary="Download a list you can see (customers, orders, interactions, tickets, a segment) as CSV or XLSX",
            description="The list's own filters go in the query string (customers: q, kind, province, city, "
                        "department_id, owner_id, tag, source_channel, is_vip; tickets: the inbox's view and "
                        "filters; segment: segment_id). CSV is UTF-8 with BOM.")
def export_list(request, what: Literal["customers", "orders", "interactions", "tickets", "segment"],
                format: Literal["csv", "xlsx"] = "csv"):
    return export_response(request, what, format)
