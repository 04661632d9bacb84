"""`loopcrm import` and `loopcrm export` through their entry functions, as the integrator wires them."""

from __future__ import annotations

import pytest

from loopcrm.customers.models import Customer
from loopcrm.imports.cli import export_command, import_command
from loopcrm.imports.models import ImportJob
from tests.imports.conftest import DATA

pytestmark = pytest.mark.django_db


def test_dry_run_then_import_with_a_report(org, capsys, tmp_path):
    path = str(DATA / "bad_rows.csv")
    assert import_command(["customers", path, "--user", "admin", "--dry-run"]) == 0
    assert "validated: rows 10, valid 1, invalid 9" in capsys.readouterr().out
    assert Customer.objects.count() == 0
    report = tmp_path / "report.csv"
    assert import_command(["customers", path, "--user", "admin", "--report", str(report)]) == 0
    assert "done: rows 10, valid 1, invalid 9, matching existing 0, created 1" in capsys.readouterr().out
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3,Mobile,12345,bad_phone,")
    assert Customer.objects.get().owner == org.admin


def test_on_duplicate_and_refusals(org, capsys):
    path = str(DATA / "customers_utf8.csv")
    assert import_command(["customers", path]) == 0  # the system (no user): owner left empty
    assert import_command(["customers", path, "--on-duplicate", "update"]) == 0
    assert "matching existing 5, created 0, updated 5" in capsys.readouterr().out
    assert import_command(["customers", path, "--user", "agent"]) == 2
    assert "may not import" in capsys.readouterr().err
    assert import_command(["customers", path, "--mapping", "nope"]) == 2
    assert import_command(["customers", str(DATA / "empty.csv")]) == 2


def test_resume_a_job(org, capsys):
    job_id = None
    assert import_command(["customers", str(DATA / "customers_utf8.csv"), "--dry-run"]) == 0
    job_id = ImportJob.objects.get().pk
    ImportJob.objects.filter(pk=job_id).update(dry_run=False)
    assert import_command(["customers", "--resume", str(job_id)]) == 0
    assert Customer.objects.count() == 5


def test_export_to_a_file(org, tmp_path, capsys):
    import_command(["customers", str(DATA / "customers_utf8.csv"), "--user", "admin"])
    out = tmp_path / "customers.csv"
    assert export_command(["customers", "--user", "admin", "-o", str(out), "--filter", "province=广东"]) == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and "张伟" in lines[1]
    assert export_command(["customers", "--user", "agent", "-o", str(out)]) == 2
    xlsx = tmp_path / "customers.xlsx"
    assert export_command(["customers", "--user", "admin", "--format", "xlsx", "-o", str(xlsx)]) == 0
    assert xlsx.stat().st_size > 1000
