"""In a real browser: upload a GBK CSV, fix the mapping, read the validation report, import, watch it finish."""

from __future__ import annotations

import os
import re

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.customers.models import Customer
from tests.imports.conftest import DATA
from tests.web.test_browser import chromium, open_page, shot, sign_in  # noqa: F401 — fixtures

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_admin_imports_a_gbk_file_after_fixing_the_mapping(org, live_server, open_page):  # noqa: F811
    page = open_page()
    sign_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/imports/new/")
    page.set_input_files("#id_file", str(DATA / "browser_gbk.csv"))
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    # The file was read as GBK; its phone column was not recognised, so the mapping screen says what is missing
    expect(page.locator("h1")).to_have_text("browser_gbk.csv")
    expect(page.locator("#id_encoding")).to_have_value("gb18030")
    table = page.locator("#mapping-table")
    expect(table.get_by_role("cell", name="张伟")).to_be_visible()  # the preview, decoded right
    shot(page, "imports-01-mapping")
    # Map 移动号码 to the phone and check again
    page.select_option("#id_col_1", "phone")
    page.click("#mapping-save")
    page.wait_for_load_state()
    # The report names the bad row, its column, value and reason
    report = page.locator("#report-table")
    expect(report.get_by_role("cell", name="lina#example.com", exact=True)).to_be_visible()
    expect(report.get_by_text("is not a valid email address: it has no @.")).to_be_visible()
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").first).to_have_text("3")
    expect(page.locator("[data-count=valid]")).to_have_text("2")
    shot(page, "imports-02-report")
    # Import the two valid rows; the progress section follows the job to the end
    page.click("#import-commit")
    expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
    expect(page.locator("[data-count=created]")).to_have_text("2")
    shot(page, "imports-03-done")
    assert sorted(Customer.objects.values_list("name", "phone")) == [
        ("张伟", "+8613800138000"), ("王芳", "+8613700137000")]
    # The history lists it, with an undo
    page.goto(f"{live_server.url}/imports/")
    expect(page.locator("#import-history").get_by_role("link", name="browser_gbk.csv")).to_be_visible()
