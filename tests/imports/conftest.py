"""Fixtures of the import stories: the committed test files and a helper that uploads one as a persona."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopcrm.imports import services

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def upload(org):
    """upload("customers_gbk.csv", by="admin", **options) -> the new ImportJob."""

    def upload_(name: str, *, by: str = "admin", **options):
        with (DATA / name).open("rb") as handle:
            return services.create_job(by=getattr(org, by) if by else None, file=handle, file_name=name, **options)

    return upload_


@pytest.fixture
def run(org):
    """run(job) validates and, unless it is a dry run, imports, as the job's creator."""

    def run_(job, **kw):
        return services.run_job(job, by=job.created_by, **kw)

    return run_
