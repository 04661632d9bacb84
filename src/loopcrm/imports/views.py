"""Import pages (thin): upload -> mapping screen with a preview -> validation report -> import with live
progress (htmx polling) -> history with undo. Downloads of the report and of the rejected rows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import DomainError
from loopcrm.core.pages import domain_pages
from loopcrm.imports import exports, queries, services
from loopcrm.imports.api import export_response
from loopcrm.imports.forms import MappingForm, UploadForm
from loopcrm.imports.models import ImportJob
from loopcrm.imports.report import preview_rows
from loopcrm.imports.tasks import enqueue_import

REPORT_LINES_SHOWN = 200


@login_required
@domain_pages
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = list(queries.jobs_for(request.user)[:100])
    return render(request, "imports/import_list.html", {
        "jobs": jobs, "can_import": can(request.user, "transfer", "import"),
    })


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    services.require_can_import(request.user, request.POST.get("kind") or "customers")
    form = UploadForm(request.POST or None, request.FILES or None, mappings=queries.mappings_for(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.create_job(
                by=request.user, file=data["file"], file_name=data["file"].name, kind=data["kind"] or "customers",
                encoding=data["encoding"],
                sheet=data["sheet"], saved_mapping=data["saved_mapping"], preset=data["preset"],
                on_duplicate=data["on_duplicate"], unmapped=data["unmapped"], dry_run=True,
            )
        except DomainError as error:
            form.add_error("file" if error.field in (None, "file", "mapping") else None, error.message)
        else:
            enqueue_import(job, request.user)
            return redirect("web:import_detail", job_id=job.pk)
    return render(request, "imports/import_new.html", {"form": form})


def _detail_context(request: HttpRequest, job: ImportJob, form: MappingForm | None = None) -> dict:
    editable = job.status in (ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED, ImportJob.Status.FAILED) \
        and not job.checkpoint
    if form is None and editable:
        initial = {f"col_{i}": t for i, t in enumerate(job.mapping.get("targets", []))}
        initial.update(unmapped=job.unmapped, on_duplicate=job.on_duplicate, encoding=job.encoding)
        form = MappingForm(initial=initial, headers=job.headers, kind=job.kind)
    preview = preview_rows(job, 5) if editable else []
    mapping_rows = []
    if editable and form is not None:
        for index, field in enumerate(form.columns()):
            mapping_rows.append((field, [cells[index] if index < len(cells) else "" for _n, cells in preview]))
    return {
        "job": job, "form": form if editable else None, "editable": editable,
        "problems": services.mapping_problems(job),
        "preview": preview, "mapping_rows": mapping_rows,
        "lines": list(queries.errors_of(job)[:REPORT_LINES_SHOWN]),
        "more_lines": max(0, queries.errors_of(job).count() - REPORT_LINES_SHOWN),
        "polling": job.status == ImportJob.Status.IMPORTING or (
            job.status == ImportJob.Status.VALIDATING and not services.mapping_problems(job)),
        "can_import": can(request.user, "transfer", "import"),
    }


@login_required
@domain_pages
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.get_job_for(request.user, job_id)
    if request.htmx and request.GET.get("fragment") == "progress":  # polled every second: job row only
        problems = services.mapping_problems(job)
        polling = job.status == ImportJob.Status.IMPORTING or (job.status == ImportJob.Status.VALIDATING
                                                               and not problems)
        response = render(request, "imports/import_detail.html#progress", {
            "job": job, "polling": polling, "can_import": can(request.user, "transfer", "import")})
        if not polling and job.status != ImportJob.Status.VALIDATING:
            response["HX-Refresh"] = "true"  # the phase changed: the report and buttons need the whole page
        return response
    return render(request, "imports/import_detail.html", _detail_context(request, job))


@login_required
@domain_pages
@require_POST
def import_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.get_job_for(request.user, job_id)
    form = MappingForm(request.POST, headers=job.headers, kind=job.kind)
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = services.set_mapping(job, by=request.user, targets=form.targets(), unmapped=data["unmapped"],
                                       on_duplicate=data["on_duplicate"],
                                       encoding=data["encoding"] if data["encoding"] != job.encoding else None)
            if data["save_as"]:
                columns = dict(zip(job.headers, form.targets(), strict=True))
                services.save_mapping(by=request.user, name=data["save_as"], columns=columns)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            enqueue_import(job, request.user)
            return redirect("web:import_detail", job_id=job.pk)
    return render(request, "imports/import_detail.html", _detail_context(request, job, form), status=422)


def _action(request: HttpRequest, job_id: int, service, done: str) -> HttpResponse:
    job = queries.get_job_for(request.user, job_id)
    try:
        job = service(job, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
        if job.status == ImportJob.Status.VALIDATED and not job.dry_run:
            enqueue_import(job, request.user)
    return redirect("web:import_detail", job_id=job.pk)


@login_required
@domain_pages
@require_POST
def import_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    return _action(request, job_id, services.commit_job, _("The import has started."))


@login_required
@domain_pages
@require_POST
def import_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    return _action(request, job_id, services.cancel_job, _("The import was cancelled."))


@login_required
@domain_pages
@require_POST
def import_rollback(request: HttpRequest, job_id: int) -> HttpResponse:
    return _action(request, job_id, services.rollback_job, _("The import was rolled back."))


@login_required
@domain_pages
def import_report(request: HttpRequest, job_id: int, fmt: str) -> HttpResponse:
    job = queries.get_job_for(request.user, job_id)
    lines = exports.report_rows(queries.errors_of(job))
    if fmt == "xlsx":
        return FileResponse(exports.table_xlsx(exports.REPORT_HEADER, lines), as_attachment=True,
                            filename=f"import-{job.pk}-report.xlsx")
    response = StreamingHttpResponse(exports.table_csv(exports.REPORT_HEADER, lines),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


@login_required
@domain_pages
def import_rejected(request: HttpRequest, job_id: int) -> HttpResponse:
    from loopcrm.imports.report import rejected_rows

    job = queries.get_job_for(request.user, job_id)
    header, rows = rejected_rows(job)
    response = StreamingHttpResponse(exports.table_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@login_required
@domain_pages
def export_list(request: HttpRequest, what: str) -> HttpResponse:
    """/exports/customers/?format=csv&province=… — the list's filters from the query string."""
    try:
        return export_response(request, what, request.GET.get("format", "csv"))
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
