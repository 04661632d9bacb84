"""A crash mid-import: the importer is killed with SIGKILL, then resumed — no row twice, none missing.

The importer runs in a real subprocess on the test database (the SQLite file, or the PostgreSQL test
database by name), so the kill is a real `kill -9`: the batch in flight is lost, the committed
batches and their checkpoint stay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from loopcrm.customers.models import Customer
from loopcrm.imports import services
from loopcrm.imports.models import ImportJob, StagedRow

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# customers_300.csv: 300 rows; 6 bad phones (every 50th); 6 more repeat an earlier phone (every 40th but
# row 200, which has a bad phone) -> 12 set aside, 288 customers.
EXPECTED_CREATED = 288
SET_ASIDE = 12


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_importer(job: ImportJob, *, size: int, pause: float) -> subprocess.Popen:
    code = (
        "import django; django.setup()\n"
        "from loopcrm.imports import services\n"
        "from loopcrm.imports.models import ImportJob\n"
        f"job = ImportJob.objects.get(pk={job.pk})\n"
        f"services.run_job(job, by=job.created_by, size={size}, pause={pause})\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "loopcrm.settings", "DATABASE_URL": _database_url(),
           "LOOPCRM_DATA_DIR": str(Path(settings.MEDIA_ROOT).parent), "LOOPCRM_IMMEDIATE_TASKS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)


def _kill_when(process: subprocess.Popen, job: ImportJob, ready) -> ImportJob:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if ready(job):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            job.refresh_from_db()
            return job
        if process.poll() is not None:
            pytest.fail(f"the importer ended before it was killed: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.01)
    process.kill()
    pytest.fail("the importer never reached the point to kill it")


def _check_complete(job: ImportJob) -> None:
    assert job.status == "done"
    assert (job.rows, job.created, job.invalid) == (300, EXPECTED_CREATED, SET_ASIDE)
    phones = list(Customer.objects.values_list("phone", flat=True))
    assert len(phones) == len(set(phones)) == EXPECTED_CREATED
    names = set(Customer.objects.values_list("name", flat=True))
    assert "客户0001" in names and "客户0299" in names and "客户0050" not in names
    assert job.errors.count() == SET_ASIDE


def test_kill_during_import_then_resume(upload, org):
    # Given a validated 300-row file
    job = upload("customers_300.csv")
    job = services.validate_job(job)
    assert (job.valid, job.invalid) == (EXPECTED_CREATED, SET_ASIDE)
    job = services.commit_job(job, by=org.admin)
    # When the importer is killed with SIGKILL after some batches of 10 rows
    process = _start_importer(job, size=10, pause=0.05)
    job = _kill_when(process, job, lambda j: j.status == "importing" and j.checkpoint >= 60)
    # Then the database holds exactly the committed batches: customers up to the checkpoint, no more
    assert job.status == "importing"
    committed = StagedRow.objects.filter(job=job, row__lte=job.checkpoint, action="create").count()
    assert 0 < Customer.objects.count() == committed == job.created < EXPECTED_CREATED
    # When it resumes
    job = services.run_job(job, by=org.admin)
    # Then every row is in, once
    _check_complete(job)


def test_kill_during_validation_then_resume(upload, org):
    job = upload("customers_300.csv", dry_run=False)
    process = _start_importer(job, size=10, pause=0)
    job = _kill_when(process, job, lambda j: j.staged_through >= 40 and not j.staging_done)
    assert job.status == "validating"
    assert StagedRow.objects.filter(job=job, row__gt=job.staged_through).count() == 0
    assert Customer.objects.count() == 0
    job = services.run_job(job, by=org.admin)
    _check_complete(job)


def test_big_files_are_cleaned_in_worker_processes_with_the_same_result(upload, org, monkeypatch):
    # Given the parallel path forced on for a small file (it normally starts at 8 MB)
    monkeypatch.setenv("LOOPCRM_IMPORT_PARALLEL_FROM_BYTES", "1")
    monkeypatch.setenv("LOOPCRM_IMPORT_WORKERS", "2")
    job = upload("customers_300.csv", dry_run=False)
    job = services.run_job(job, by=org.admin, size=70)
    _check_complete(job)
    # (file rows: the header is row 1, customer i is row i + 1)
    assert list(job.errors.values_list("row", flat=True)) == [41, 51, 81, 101, 121, 151, 161, 201, 241, 251, 281,
                                                              301]


def _report_and_rows(job: ImportJob) -> tuple[list, list]:
    report = list(job.errors.order_by("row", "id").values_list("row", "column", "value", "reason", "message"))
    fields = [f.name for f in StagedRow._meta.fields if f.name not in ("id", "job", "object_id")]
    rows = list(StagedRow.objects.filter(job=job).order_by("row").values_list(*fields))
    return report, rows


@pytest.mark.parametrize("name", ["bad_rows.csv", "duplicates.csv", "quoted_newlines.csv", "customers_300.csv",
                                  "ragged.csv", "salesforce.csv"])
def test_the_worker_processes_give_the_serial_report_and_rows(upload, org, monkeypatch, name):
    # Given one file validated in this process, and again by two worker processes in chunks of 7 rows
    serial = services.validate_job(upload(name))
    monkeypatch.setenv("LOOPCRM_IMPORT_PARALLEL_FROM_BYTES", "1")
    monkeypatch.setenv("LOOPCRM_IMPORT_WORKERS", "2")
    parallel = services.validate_job(upload(name), size=7)
    # Then the report lines (row, column, value, reason, message) and the staged rows are the same
    assert serial.status == parallel.status == "validated"
    assert (serial.rows, serial.valid, serial.invalid) == (parallel.rows, parallel.valid, parallel.invalid)
    assert _report_and_rows(serial) == _report_and_rows(parallel)
    assert _report_and_rows(serial)[1]


def test_ids_reserved_while_staging_are_the_new_customers_and_no_one_elses(upload, org):
    from loopcrm.customers import services as customer_services

    # Given a validated file: its rows to create hold customer ids reserved for them
    job = services.validate_job(upload("customers_300.csv"))
    reserved = set(StagedRow.objects.filter(job=job, action="create").values_list("object_id", flat=True))
    assert len(reserved) == EXPECTED_CREATED and None not in reserved
    # When someone adds a customer before the import is committed
    walk_in = customer_services.create_customer(by=org.admin, name="散客", phone="13911112222")
    # Then it got an id of its own, and the import creates exactly the reserved ids
    assert walk_in.pk not in reserved
    job = services.commit_job(job, by=org.admin)
    job = services.run_job(job, by=org.admin)
    assert job.created == EXPECTED_CREATED
    assert set(Customer.objects.exclude(pk=walk_in.pk).values_list("pk", flat=True)) == reserved
    # And the undo removes those and only those
    services.rollback_job(job, by=org.admin)
    assert list(Customer.objects.values_list("pk", flat=True)) == [walk_in.pk]


def test_moving_in_builds_every_index_again_on_two_connections(upload, org, monkeypatch):
    from loopcrm.imports import engine

    # Given the customer table's indexes, and an import that drops them and builds them after
    monkeypatch.setenv("LOOPCRM_IMPORT_WORKERS", "2")
    before = engine._secondary_indexes()
    foreign_keys = engine._foreign_keys()
    job = services.run_job(upload("customers_300.csv", dry_run=False, rebuild_indexes=True), by=org.admin)
    # Then the same indexes exist again (PostgreSQL: built by two connections at once), and the same
    # foreign keys (PostgreSQL: dropped during the load), and the job forgets them
    _check_complete(job)
    assert engine._secondary_indexes() == before
    assert engine._foreign_keys() == foreign_keys
    assert len(foreign_keys) == (4 if connection.vendor == "postgresql" else 0)
    job.refresh_from_db()
    assert job.options["dropped_indexes"] == job.options["dropped_constraints"] == []


def test_kill_during_a_moving_in_import_then_resume_brings_indexes_and_keys_back(upload, org):
    from loopcrm.imports import engine

    # Given a validated file to import with the customer indexes (and PostgreSQL's foreign keys) dropped
    indexes, keys = engine._secondary_indexes(), engine._foreign_keys()
    job = services.validate_job(upload("customers_300.csv", rebuild_indexes=True))
    job = services.commit_job(job, by=org.admin)
    # When the importer is killed with SIGKILL mid-import
    process = _start_importer(job, size=10, pause=0.05)
    job = _kill_when(process, job, lambda j: j.status == "importing" and j.checkpoint >= 60)
    # Then the table is without them, and the job remembers them
    assert engine._secondary_indexes() == [] and engine._foreign_keys() == []
    assert job.options["dropped_indexes"] == indexes and job.options["dropped_constraints"] == keys
    # When it resumes, every row is in once and the indexes and keys exist again
    job = services.run_job(job, by=org.admin)
    _check_complete(job)
    assert (engine._secondary_indexes(), engine._foreign_keys()) == (indexes, keys)


@pytest.mark.parametrize("name", ["duplicates.csv", "customers_300.csv", "bad_rows.csv"])
def test_the_repeat_check_from_digests_matches_the_check_on_the_staged_rows(upload, org, name):
    from loopcrm.imports import engine

    # Given a file prepared from the staged rows alone (as after a resumed staging)
    by_rows = upload(name)
    engine.stage(by_rows, Path(by_rows.file.path), services._file_info(by_rows))
    by_rows = engine.prepare(by_rows)
    # When the same file is validated in one go (the digests kept while staging are used)
    by_digests = services.validate_job(upload(name))
    # Then the report lines and the staged rows' actions are the same
    assert (by_rows.valid, by_rows.invalid, by_rows.matched) == (by_digests.valid, by_digests.invalid,
                                                                  by_digests.matched)
    assert _report_and_rows(by_rows) == _report_and_rows(by_digests)


def test_rows_whose_identity_hashes_collide_are_told_apart_by_their_values(upload, org):
    from array import array

    from loopcrm.imports import engine
    from loopcrm.imports.digests import IdentityDigests

    # Given a staged file, and digests in which every row's identities hash alike
    expected = upload("duplicates.csv")
    engine.stage(expected, Path(expected.file.path), services._file_info(expected))
    expected = engine.prepare(expected)
    job = upload("duplicates.csv")
    job = engine.stage(job, Path(job.file.path), services._file_info(job))
    rows = list(StagedRow.objects.filter(job=job).values_list("row", flat=True))
    digests = IdentityDigests()
    digests.start(from_the_first_row=True)
    digests.add((array("q", rows), *(array("q", [7] * len(rows)) for _identity in range(3))))
    digests.finish()
    assert digests.complete and len(digests) == job.valid  # so prepare takes them
    # When the repeats are checked with them
    job = engine.prepare(job, digests=digests)
    # Then only rows whose values are the same are reported, as without digests
    assert _report_and_rows(job) == _report_and_rows(expected)
    assert job.errors.filter(reason="duplicate_in_file").exists()


def test_digests_of_a_resumed_staging_are_not_used():
    from loopcrm.imports.digests import IdentityDigests, add_row, digest_part

    # Given digests started past the first row (a staging resumed after a crash)
    digests = IdentityDigests()
    digests.start(from_the_first_row=False)
    part = digest_part()
    add_row(part, 9, {"phone": "+8613800000001"})
    digests.add(part)
    digests.finish()
    # Then they hold nothing and are not complete
    assert not digests.complete and len(digests) == 0


class _Crash(BaseException):
    """Stops the importer like a kill would: not an error it catches and records."""


def test_a_batch_whose_upper_half_committed_before_a_crash_resumes_exactly(upload, org, monkeypatch):
    import threading

    from loopcrm.imports import engine

    if connection.vendor != "postgresql":
        pytest.skip("a second connection inserts half of each batch on PostgreSQL only")
    # Given a big-file import (the second connection inserts the upper half of each batch)
    monkeypatch.setenv("LOOPCRM_IMPORT_PARALLEL_FROM_BYTES", "1")
    monkeypatch.setenv("LOOPCRM_IMPORT_WORKERS", "2")
    job = services.commit_job(services.validate_job(upload("customers_300.csv")), by=org.admin)
    real_insert = engine._insert_new

    def insert(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            raise _Crash
        return real_insert(*args, **kwargs)

    # When the importer stops in its first batch of 100 rows, after the other connection committed its half
    monkeypatch.setattr(engine, "_insert_new", insert)
    with pytest.raises(_Crash):
        services.run_job(job, by=org.admin, size=100)
    job.refresh_from_db()
    upper = StagedRow.objects.filter(job=job, row__gte=52, row__lte=101, action="create")
    assert job.status == "importing" and job.checkpoint == 0 and job.created == 0
    assert Customer.objects.count() == upper.count() > 0
    # Then the resume inserts every other row once, and counts each customer once
    monkeypatch.setattr(engine, "_insert_new", real_insert)
    job = services.run_job(job, by=org.admin, size=100)
    _check_complete(job)
