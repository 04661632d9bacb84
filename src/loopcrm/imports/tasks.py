"""Background work of imports (django-tasks): the runner takes ids and is safe to run twice."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from loopcrm.accounts.models import User
from loopcrm.imports import services
from loopcrm.imports.models import ImportJob


@task()
def process_import(job_id: int, user_id: int | None = None) -> str:
    """Validate the job and, unless it is a dry run, import it (resuming from its checkpoint)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    by = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        job = services.run_job(job, by=by)
    except Exception:  # recorded on the job as failed by run_job; the task itself ends quietly
        return "failed"
    return job.status


def enqueue_import(job: ImportJob, by: User | None) -> None:
    """Start (or resume) the job's work once the current transaction commits."""
    user_id = by.pk if by is not None and by.pk else None
    transaction.on_commit(lambda: process_import.enqueue(job_id=job.pk, user_id=user_id))
