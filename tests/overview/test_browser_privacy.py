"""In a real browser: an administrator answers 张伟's privacy requests from his 360 page — downloads his personal
data, then erases it after giving a reason and confirming — and the page then shows an erased record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

from playwright.sync_api import expect

from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer
from tests.web.test_browser import chromium, open_page, shot, sign_in  # noqa: F401 — fixtures shared

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_download_then_erase_personal_data(org, live_server, open_page):  # noqa: F811
    zhang = customer_services.create_customer(by=org.admin, name="张伟", phone="13800138000",
                                              email="zhang.wei@example.com", owner=org.agent)
    page = open_page()
    sign_in(page, live_server.url, username="admin")
    page.goto(f"{live_server.url}/customers/{zhang.pk}/")
    with page.expect_download() as download:
        page.click("text=Personal data")
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["customer"]["email"] == "zhang.wei@example.com"

    page.click("text=Erase personal data")
    expect(page.locator("h1")).to_have_text("Erase personal data")
    page.fill("#id_reason", "PR-2026-001")
    page.click("form.card button[type=submit]")  # not confirmed: the form says so, nothing is erased
    expect(page.locator("form.card")).to_contain_text("This field is required")
    assert Customer.objects.get(pk=zhang.pk).erased_at is None
    page.check("#id_confirm")
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/customers/{zhang.pk}/")
    expect(page.locator(".badge-danger")).to_contain_text("Personal data erased")
    expect(page.locator("h1")).to_contain_text(f"#{zhang.pk}")
    shot(page, "customer-erased")
    erased = Customer.objects.get(pk=zhang.pk)
    assert (erased.phone, erased.email, erased.name) == ("", "", f"#{zhang.pk}")
