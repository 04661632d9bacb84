"""Reads of import jobs and saved mappings: the doors every page, API call and download goes through."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.core.errors import NotFound
from loopcrm.imports.models import ImportJob, ImportMapping, ImportRowError

MAX_ID = 2**63 - 1


def jobs_for(user: User) -> QuerySet[ImportJob]:
    """Import jobs the user may see: their own, their department's, or all (the "transfer/import" scope)."""
    condition = scope_filter(user, "transfer", "import", owner="created_by", department="department")
    if condition is None:
        return ImportJob.objects.none()
    return ImportJob.objects.filter(condition).select_related("created_by")


def get_job_for(user: User, job_id: int) -> ImportJob:
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not 0 < job_id <= MAX_ID:
        raise NotFound(_("No import #%(id)s.") % {"id": job_id}, field="job_id")
    job = jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No import #%(id)s.") % {"id": job_id}, field="job_id")
    return job


def errors_of(job: ImportJob) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(job=job)


def mappings_for(user: User) -> QuerySet[ImportMapping]:
    """Saved mappings are shared by everyone who may import."""
    if not can(user, "transfer", "import"):
        return ImportMapping.objects.none()
    return ImportMapping.objects.all()


def get_mapping_for(user: User, mapping_id: int) -> ImportMapping:
    if isinstance(mapping_id, bool) or not isinstance(mapping_id, int) or not 0 < mapping_id <= MAX_ID:
        raise NotFound(_("No mapping #%(id)s.") % {"id": mapping_id}, field="mapping_id")
    saved = mappings_for(user).filter(pk=mapping_id).first()
    if saved is None:
        raise NotFound(_("No mapping #%(id)s.") % {"id": mapping_id}, field="mapping_id")
    return saved
