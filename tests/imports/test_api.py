"""The import and export API, told as stories of the personas (admin imports; agents may not; scopes hold)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from loopcrm.accounts.models import Role
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Customer
from loopcrm.imports.models import ImportJob, ImportMapping
from tests import factories
from tests.conftest import ApiClient
from tests.imports.conftest import DATA

pytestmark = pytest.mark.django_db


# The background task is enqueued when the request's transaction commits (tests run tasks at once): the
# stories that follow a job through its task run with real commits.
committed = pytest.mark.django_db(transaction=True)


def _upload(api, name: str, **fields):
    with (DATA / name).open("rb") as handle:
        return api.client.post("/api/v1/imports", data={"file": handle, **fields}, headers=api.headers)


@committed
def test_upload_validate_read_the_report_commit_and_undo(api_as):
    admin = api_as("admin")
    # When the admin uploads a file (a dry run by default)
    response = _upload(admin, "bad_rows.csv")
    assert response.status_code == 201, response.content
    job = response.json()
    # Then it has been checked (tasks run at once in tests) and nothing written
    job = admin.get(f"imports/{job['id']}").json()
    assert (job["status"], job["rows"], job["valid"], job["invalid"], job["created"]) == ("validated", 10, 1, 9, 0)
    assert job["targets"] == ["name", "phone", "email", "birthday", "source_channel", "kind"]
    assert Customer.objects.count() == 0
    # The report pages through its lines
    page = admin.get(f"imports/{job['id']}/errors", limit=4).json()
    assert [line["row"] for line in page["items"]] == [3, 4, 5, 6]
    rest = admin.get(f"imports/{job['id']}/errors", cursor=page["next_cursor"], limit=50).json()
    assert [line["row"] for line in rest["items"]] == [7, 8, 9, 10, 11]
    assert rest["items"][0] == {"id": rest["items"][0]["id"], "row": 7, "column": "Birthday", "value": "2021-02-30",
                                "reason": "bad_date", "message": "'2021-02-30' is not a real date."}
    # And downloads as CSV (UTF-8 with BOM) and XLSX
    download = admin.get(f"imports/{job['id']}/errors", format="csv")
    text = b"".join(download.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffrow,column,value,reason,message\r\n")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[1][:4] == ["3", "Mobile", "12345", "bad_phone"]
    assert len(lines) == 10
    download = admin.get(f"imports/{job['id']}/errors", format="xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("row", "column", "value", "reason", "message")
    assert rows[2][:4] == (4, "Email", "not-an-email", "bad_email")
    # The rows set aside come back as the file was, with the reasons, to correct and import again
    rejected = b"".join(admin.get(f"imports/{job['id']}/rejected").streaming_content).decode()
    rejected_rows = list(csv.reader(io.StringIO(rejected.lstrip("\ufeff"))))
    assert rejected_rows[0] == ["Name", "Mobile", "Email", "Birthday", "Source", "Kind", "errors"]
    assert rejected_rows[1][:2] == ["坏电话", "12345"]
    assert len(rejected_rows) == 10
    # When the admin commits, the valid row goes in
    job = admin.post(f"imports/{job['id']}/commit").json()
    job = admin.get(f"imports/{job['id']}").json()
    assert (job["status"], job["created"], job["progress"]) == ("done", 1, 100)
    assert list(Customer.objects.values_list("name", flat=True)) == ["好人"]
    # And an undo removes it
    job = admin.post(f"imports/{job['id']}/rollback").json()
    assert job["status"] == "rolled_back"
    assert Customer.objects.count() == 0


@committed
def test_upload_with_options_imports_at_once(api_as):
    admin = api_as("admin")
    job = _upload(admin, "customers.xlsx", sheet="客户", dry_run="false", on_duplicate="update").json()
    job = admin.get(f"imports/{job['id']}").json()
    assert (job["status"], job["created"], job["sheet"], job["format"]) == ("done", 4, "客户", "xlsx")


@committed
def test_fix_the_mapping_then_import(api_as):
    admin = api_as("admin")
    job = _upload(admin, "customers_gbk.csv").json()
    assert job["encoding"] == "gb18030"
    preview = admin.get(f"imports/{job['id']}/preview", rows=2).json()
    assert preview["rows"][0]["cells"][:2] == ["张伟", "13800138000"]
    targets = job["targets"]
    targets[7] = "notes"  # 会员号 to the notes instead of the external id
    job = admin.put(f"imports/{job['id']}/mapping", json={"targets": targets, "on_duplicate": "merge"}).json()
    assert (job["status"], job["targets"][7], job["on_duplicate"]) == ("validated", "notes", "merge")
    admin.post(f"imports/{job['id']}/commit")
    assert Customer.objects.get(name="张伟").notes == "会员号: M0001"
    response = admin.put(f"imports/{job['id']}/mapping", json={"unmapped": "tags"})
    assert response.status_code == 409


def test_a_bad_mapping_is_a_422(api_as):
    admin = api_as("admin")
    job = _upload(admin, "customers_utf8.csv").json()
    response = admin.put(f"imports/{job['id']}/mapping", json={"targets": ["phone", "phone"]})
    assert response.status_code == 422
    assert "more than one column" in response.json()["detail"]


def test_cancel_a_validated_job(api_as):
    admin = api_as("admin")
    job = _upload(admin, "customers_utf8.csv").json()
    job = admin.post(f"imports/{job['id']}/cancel").json()
    assert job["status"] == "cancelled"
    assert admin.post(f"imports/{job['id']}/commit").status_code == 409


@pytest.mark.parametrize("persona", ["agent", "lead", "exec"])
def test_import_is_refused_to_roles_without_the_permission(api_as, persona):
    response = _upload(api_as(persona), "customers_utf8.csv")
    assert response.status_code == 403
    assert ImportJob.objects.count() == 0 and Customer.objects.count() == 0


def test_jobs_of_others_are_not_found(api_as, org):
    admin = api_as("admin")
    job = _upload(admin, "customers_utf8.csv").json()
    sales = ApiClient(factories.user("sales1", role=Role.SALES, department=org.sales_east))
    assert sales.get(f"imports/{job['id']}").status_code == 404
    assert sales.post(f"imports/{job['id']}/rollback").status_code == 404
    assert sales.get("imports").json()["items"] == []
    assert admin.get("imports").json()["items"][0]["id"] == job["id"]


def test_saved_mappings_crud(api_as):
    admin = api_as("admin")
    created = admin.post("import-mappings", json={"name": "门店", "columns": {"会员号": "external_id"}})
    assert created.status_code == 201
    saved = created.json()
    assert admin.post("import-mappings", json={"name": "门店", "columns": {}}).status_code == 409
    assert admin.post("import-mappings", json={"name": "x", "columns": {"a": "salary"}}).status_code == 422
    changed = admin.patch(f"import-mappings/{saved['id']}", json={"columns": {"会员号": "notes"}}).json()
    assert changed["columns"] == {"会员号": "notes"}
    assert [m["name"] for m in admin.get("import-mappings").json()] == ["门店"]
    job = _upload(admin, "customers_utf8.csv", mapping_id=saved["id"]).json()
    assert job["targets"][7] == "notes"
    assert admin.delete(f"import-mappings/{saved['id']}").status_code == 204
    assert ImportMapping.objects.count() == 0
    assert api_as("agent").get("import-mappings").json() == []


# --- export ---

def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def customers(org):
    return [
        factories.customer("张伟", owner=org.agent, department=org.service, province="广东"),
        factories.customer("=HYPERLINK(\"http://x\")", owner=org.agent, department=org.service, province="广东"),
        factories.customer("East one", owner=org.other_agent, department=org.sales_east, province="上海"),
    ]


def test_export_customers_as_csv_with_filters_and_audit(api_as, customers, org):
    response = api_as("admin").get("exports/customers", format="csv", province="广东")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:4] == ["ID", "Name", "Kind", "Phone"]
    names = [row[1] for row in rows[1:]]
    assert names == ["张伟", "'=HYPERLINK(\"http://x\")"]  # a formula is neutralised
    phone = rows[1][3]
    assert phone == "'" + customers[0].phone  # "+86…" would be read as a formula too
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.object_type, entry.changes["filters"]["province"]) == (org.admin,
                                                                                      "customers.customer", "广东")


def test_export_respects_the_row_scope(api_as, customers, org):
    rows = _csv(api_as("lead").get("exports/customers"))  # a team lead exports their department only
    assert {row[1] for row in rows[1:]} == {"张伟", "=HYPERLINK(\"http://x\")".join(["'", ""])}
    assert api_as("agent").get("exports/customers").status_code == 403
    assert not AuditEntry.objects.filter(action="export", actor=org.agent).exists()


def test_export_xlsx_keeps_text_as_text(api_as, customers):
    response = api_as("exec").get("exports/customers", format="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4
    assert rows[2][1] == "=HYPERLINK(\"http://x\")"  # stored as a string, never evaluated
    assert rows[1][3] == customers[0].phone


def test_export_orders_and_interactions(api_as, customers):
    factories.order(customers[0])
    factories.interaction(customers[2], subject="来电咨询")
    orders = _csv(api_as("admin").get("exports/orders"))
    assert len(orders) == 2 and orders[1][3] == "张伟"
    interactions = _csv(api_as("admin").get("exports/interactions"))
    assert interactions[1][5] == "来电咨询"
    assert _csv(api_as("lead").get("exports/interactions"))[1:] == []  # another department's


def test_export_bad_filter_is_a_422(api_as):
    assert api_as("admin").get("exports/customers", is_vip="maybe").status_code == 422
    assert api_as("admin").get("exports/robots").status_code == 422  # not a list that can be exported
    bad_kind = api_as("admin").get("exports/tickets", kind="robot")
    assert bad_kind.status_code == 422 and "kind" in bad_kind.content.decode()
