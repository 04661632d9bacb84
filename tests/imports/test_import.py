"""Stories of imports: the validation report, duplicates each way, undo, cancel, permissions and audit."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.accounts.models import Role
from loopcrm.core.errors import Conflict, PermissionDenied
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Customer
from loopcrm.imports import services
from loopcrm.imports.models import ImportJob
from tests import factories

pytestmark = pytest.mark.django_db

BAD_ROWS_REPORT = [
    (3, "Mobile", "12345", "bad_phone",
     "'12345' is a short service number (a hotline such as a bank's or a carrier's), which never reaches the "
     "customer and has no international form; enter the customer's own mobile or landline (organisations: their "
     "400/800 number)."),
    (4, "Email", "not-an-email", "bad_email", "'not-an-email' is not a valid email address: it has no @."),
    (5, "Source", "电视购物", "unknown_category",
     "'电视购物' is not a known source; use one of: Website, Referral, Advertising, Store, Event, Phone, WeChat, "
     "Social media, Marketplace, Partner, Import, Other."),
    (6, "Birthday", "2999-01-01", "date_out_of_range", "A birthday cannot be in the future (2999-01-01)."),
    (7, "Birthday", "2021-02-30", "bad_date", "'2021-02-30' is not a real date."),
    (8, "Name", "", "missing_required", "The name is missing."),
    (9, "Kind", "robot", "unknown_category",
     "'robot' is not a kind of customer: use person or organisation (个人 / 企业)."),
    (10, "Mobile", "1.38001E+10", "bad_phone",
     "'1.38001E+10' looks like a phone number a spreadsheet turned into scientific notation; its digits are lost. "
     "Format the column as text and export it again."),
    (11, "Birthday", "03/04/2025", "bad_date",
     "'03/04/2025' is ambiguous (day/month or month/day?): write it as YYYY-MM-DD."),
]


def _report(job):
    return list(job.errors.order_by("row", "id").values_list("row", "column", "value", "reason", "message"))


def test_dry_run_reports_every_bad_row_exactly_and_writes_nothing(upload, run):
    # Given a file with one good row and one row per kind of bad input
    job = run(upload("bad_rows.csv"))  # a dry run by default
    # Then the report names each row, column, value and reason
    assert job.status == "validated"
    assert (job.rows, job.valid, job.invalid) == (10, 1, 9)
    assert _report(job) == BAD_ROWS_REPORT
    # And nothing reached the customers
    assert Customer.objects.count() == 0


def test_valid_rows_go_in_while_bad_rows_wait_in_the_report(upload, run, org):
    job = run(upload("bad_rows.csv"))
    job = services.commit_job(job, by=org.admin)
    job = run(job)
    assert (job.status, job.created) == ("done", 1)
    good = Customer.objects.get()
    assert (good.name, good.phone, good.email, good.birthday, good.source_channel, good.kind) == (
        "好人", "+8613800138001", "good@example.com", dt.date(1980, 1, 1), "website", "person")
    assert (good.owner, good.department, good.created_by) == (org.admin, org.admin.department, org.admin)
    assert _report(job) == BAD_ROWS_REPORT  # still there to download and correct


@pytest.fixture
def existing(org):
    return {
        "phone": factories.customer("Old by phone", phone="+8613911112222", email="", owner=org.agent,
                                    department=org.service),
        "email": factories.customer("Old by email", email="known@example.com", phone="", phone_raw="", city="Old city",
                                    owner=org.agent,
                                    department=org.service, notes="met at the fair"),
        "external_id": factories.customer("Old by id", external_id="EXT-9", phone="", phone_raw="", email="",
                                          owner=org.agent, department=org.service),
    }


DUPLICATES_IN_FILE = [
    (3, "Phone", "+8613900000001", "duplicate_in_file", "Same phone as row 2; the first row is kept."),
    (4, "Email", "a@example.com", "duplicate_in_file", "Same email as row 2; the first row is kept."),
    (5, "External ID", "X-1", "duplicate_in_file", "Same external id as row 2; the first row is kept."),
]


def test_duplicates_inside_the_file_and_against_the_database_are_skipped(upload, run, existing):
    job = run(upload("duplicates.csv", dry_run=False, on_duplicate="skip"))
    assert (job.rows, job.valid, job.invalid, job.matched) == (8, 5, 3, 3)
    assert (job.created, job.updated, job.merged, job.skipped) == (2, 0, 0, 3)
    assert _report(job) == DUPLICATES_IN_FILE
    assert set(Customer.objects.values_list("name", flat=True)) == {
        "Old by phone", "Old by email", "Old by id", "First A", "New"}
    assert Customer.objects.get(pk=existing["email"].pk).city == "Old city"


def test_duplicates_update_the_existing_customers(upload, run, existing):
    job = run(upload("duplicates.csv", dry_run=False, on_duplicate="update"))
    assert (job.created, job.updated, job.skipped) == (2, 3, 0)
    by_phone = Customer.objects.get(pk=existing["phone"].pk)
    assert (by_phone.name, by_phone.email, by_phone.city, by_phone.external_id, by_phone.version) == (
        "Existing by phone", "e@example.com", "Hangzhou", "X-5", 2)
    by_email = Customer.objects.get(pk=existing["email"].pk)
    assert (by_email.name, by_email.city, by_email.phone) == ("Existing by email", "Suzhou", "+8613900000006")
    assert by_email.notes == "met at the fair"  # notes were not in the file
    assert Customer.objects.count() == 5
    assert AuditEntry.objects.filter(action="update", object_type="customers.customer",
                                     note=f"import #{job.pk}").count() == 3


def test_duplicates_merge_only_fill_empty_fields(upload, run, existing):
    job = run(upload("duplicates.csv", dry_run=False, on_duplicate="merge"))
    assert (job.created, job.merged) == (2, 3)
    by_email = Customer.objects.get(pk=existing["email"].pk)
    assert (by_email.name, by_email.city, by_email.phone, by_email.external_id) == (
        "Old by email", "Old city", "+8613900000006", "X-6")


def test_rollback_deletes_what_was_created_and_restores_what_was_updated(upload, run, existing, org):
    job = run(upload("duplicates.csv", dry_run=False, on_duplicate="update"))
    job = services.rollback_job(job, by=org.admin)
    assert job.status == "rolled_back"
    assert set(Customer.objects.values_list("name", flat=True)) == {"Old by phone", "Old by email", "Old by id"}
    by_email = Customer.objects.get(pk=existing["email"].pk)
    assert (by_email.city, by_email.phone, by_email.external_id) == ("Old city", "", "")
    assert AuditEntry.objects.filter(object_type="imports.importjob", object_id=str(job.pk), action="delete").exists()
    with pytest.raises(Conflict):
        services.rollback_job(job, by=org.admin)


def test_rollback_keeps_customers_that_gained_orders(upload, run, org):
    job = run(upload("customers_utf8.csv", dry_run=False))
    factories.order(Customer.objects.get(name="张伟"))
    job = services.rollback_job(job, by=org.admin)
    assert list(Customer.objects.values_list("name", flat=True)) == ["张伟"]
    assert "1 kept" in job.message


def test_rollback_keeps_customers_under_a_legal_hold(upload, run, org):
    from loopcrm.customers import holds

    job = run(upload("customers_utf8.csv", dry_run=False))
    holds.place_legal_hold(org.admin, Customer.objects.get(name="张伟").pk, reason="诉讼 2026-沪-0173")
    job = services.rollback_job(job, by=org.admin)
    assert list(Customer.objects.values_list("name", flat=True)) == ["张伟"]
    assert "1 kept" in job.message


def test_cancel_before_import_writes_nothing_and_can_not_be_committed(upload, run, org):
    job = run(upload("customers_utf8.csv"))
    job = services.cancel_job(job, by=org.admin)
    assert job.status == "cancelled"
    with pytest.raises(Conflict):
        services.commit_job(job, by=org.admin)
    assert run(job).status == "cancelled"
    assert Customer.objects.count() == 0


def test_cancel_during_import_stops_after_the_batch_in_flight(upload, org):
    job = upload("customers_utf8.csv", dry_run=False)
    seen = []

    def cancel_after_first_batch(current):
        if current.status == "importing" and current.checkpoint and not seen:
            seen.append(current.checkpoint)
            services.cancel_job(current, by=org.admin)

    job = services.run_job(job, by=org.admin, size=2, progress=cancel_after_first_batch)
    assert job.status == "cancelled"
    assert (job.checkpoint, job.created) == (3, 2)  # rows 2 and 3
    assert Customer.objects.count() == 2
    job = services.rollback_job(job, by=org.admin)
    assert Customer.objects.count() == 0


def test_every_import_is_recorded_and_audited(upload, run, org):
    job = run(upload("customers_utf8.csv", dry_run=False))
    job.refresh_from_db()
    assert job.created_by == org.admin
    assert len(job.file_sha256) == 64
    done = AuditEntry.objects.get(object_type="imports.importjob", object_id=str(job.pk), action="import",
                                  changes__phase="done")
    assert done.actor == org.admin
    assert done.changes["created"] == 5 and done.changes["sha256"] == job.file_sha256
    assert AuditEntry.objects.filter(object_type="imports.importjob", action="create").exists()


@pytest.mark.parametrize("persona", ["agent", "lead", "exec", "other_agent"])
def test_roles_without_the_import_permission_are_refused(upload, persona):
    with pytest.raises(PermissionDenied):
        upload("customers_utf8.csv", by=persona)
    assert ImportJob.objects.count() == 0


def test_a_manager_cannot_update_customers_of_another_department(upload, run, existing, org):
    org.east_manager = factories.user("east_manager", role=Role.MANAGER, department=org.sales_east)
    job = run(upload("duplicates.csv", by="east_manager", dry_run=False, on_duplicate="update"))
    assert (job.created, job.updated, job.skipped) == (2, 0, 3)
    denied = [line for line in _report(job) if line[3] == "not_allowed"]
    assert [line[0] for line in denied] == [6, 7, 8]
    assert Customer.objects.get(pk=existing["phone"].pk).name == "Old by phone"
    assert set(Customer.objects.filter(owner=org.east_manager).values_list("department", flat=True)) == {
        org.sales_east.pk}


def test_unmapped_columns_can_become_notes_or_tags(upload, run, org):
    job = upload("customers_utf8.csv", dry_run=False)
    targets = list(job.mapping["targets"])
    targets[3] = targets[4] = ""  # province and city not mapped
    job = services.set_mapping(job, by=org.admin, targets=targets, unmapped="tags")
    run(job)
    zhang = Customer.objects.get(name="张伟")
    assert sorted(zhang.tags.values_list("name", flat=True)) == ["广东", "深圳"]
    assert zhang.province == ""


def test_saved_mapping_is_reused(org, upload):
    saved = services.save_mapping(by=org.admin, name="门店导出", columns={"会员号": "", "来源": "notes"})
    job = upload("customers_utf8.csv", saved_mapping=saved)
    assert job.mapping["targets"] == ["name", "phone", "email", "province", "city", "birthday", "notes", ""]


def test_mapping_cannot_change_once_the_import_started(upload, run, org):
    job = run(upload("customers_utf8.csv", dry_run=False))
    with pytest.raises(Conflict):
        services.set_mapping(job, by=org.admin, unmapped="notes")


def test_a_mapping_without_a_name_waits_for_the_mapping_screen(upload, run, org):
    job = upload("customers_utf8.csv", dry_run=False)
    job = services.set_mapping(job, by=org.admin, targets=["first_name", "phone"])
    assert job.mapping["targets"][:2] == ["first_name", "phone"]
    from loopcrm.core.errors import RuleViolation

    with pytest.raises(RuleViolation, match="No column is mapped to the name"):
        services.set_mapping(job, by=org.admin, targets=["", "phone"])


def test_moving_in_rebuilds_the_customer_indexes_once(upload, run, org):
    from loopcrm.imports import engine

    before = engine._secondary_indexes()
    assert before  # phone, email, external id…
    job = run(upload("customers_utf8.csv", dry_run=False, rebuild_indexes=True))
    assert (job.status, job.created) == ("done", 5)
    assert engine._secondary_indexes() == before
    assert job.options["dropped_indexes"] == []


def test_only_administrators_may_rebuild_indexes(upload, org):
    org.east_manager = factories.user("east_manager", role=Role.MANAGER, department=org.sales_east)
    with pytest.raises(PermissionDenied):
        upload("customers_utf8.csv", by="east_manager", rebuild_indexes=True)


def test_the_report_speaks_chinese_when_the_importer_does(upload, run):
    from django.utils import translation

    with translation.override("zh-hans"):
        job = run(upload("bad_rows.csv"))
    lines = {row: message for row, _c, _v, _r, message in _report(job)}
    assert lines[8] == "缺少名称。"
    assert lines[11] == "'03/04/2025' 有歧义（日/月还是月/日？），请写成 YYYY-MM-DD。"
