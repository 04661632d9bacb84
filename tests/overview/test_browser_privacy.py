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


def test_a_legal_hold_stops_the_erasure_until_lifted(org, live_server, open_page):  # noqa: F811
    from loopcrm.customers.models import LegalHold

    zhang = customer_services.create_customer(by=org.admin, name="张伟", phone="13800138000", owner=org.agent)
    page = open_page()
    sign_in(page, live_server.url, username="admin")
    page.goto(f"{live_server.url}/customers/{zhang.pk}/")
    page.get_by_role("link", name="Legal hold", exact=True).click()
    expect(page.locator("#legal-hold-status")).to_contain_text("No legal hold.")
    page.fill("#id_reason", "诉讼 2026-沪-0173")
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/customers/{zhang.pk}/")
    expect(page.locator("#legal-hold-badge")).to_have_text("Under legal hold")
    expect(page.locator("text=Erase personal data")).to_have_count(0)  # not offered while the hold stands
    shot(page, "customer-legal-hold")
    page.get_by_role("link", name="Legal hold", exact=True).click()
    expect(page.locator("#legal-hold-status")).to_contain_text("诉讼 2026-沪-0173")
    page.fill("#id_reason", "案件已结")
    page.click("form.card button[type=submit]")
    expect(page.locator("#legal-hold-badge")).to_have_count(0)
    expect(page.locator("text=Erase personal data")).to_have_count(1)
    assert not LegalHold.objects.exists()


def test_a_retention_rule_is_turned_on_and_applied(org, live_server, open_page):  # noqa: F811
    import datetime as dt

    from django.utils import timezone

    from loopcrm.interactions.models import Interaction
    from tests import factories

    zhang = customer_services.create_customer(by=org.admin, name="张伟", owner=org.agent)
    factories.interaction(zhang, subject="张伟来电", occurred_at=timezone.now() - dt.timedelta(days=400))
    page = open_page()
    sign_in(page, live_server.url, username="admin")
    page.goto(f"{live_server.url}/privacy/retention/")
    row = page.locator("tr[data-category=interactions]")
    row.locator("input[name=keep_days]").fill("365")
    row.locator("input[name=is_active]").check()
    row.locator("button[type=submit]").click()
    expect(page.locator("tr[data-category=interactions] [data-preview]")).to_have_text("1")
    page.click("#retention-apply button[type=submit]")  # the browser asks for the confirmation box first
    assert Interaction.objects.get().subject == "张伟来电"
    page.check("#retention-apply input[name=confirm]")
    page.click("#retention-apply button[type=submit]")
    expect(page.locator(".alert-success, [role=status]").first).to_contain_text("1 records overwritten")
    shot(page, "retention-rules")
    assert Interaction.objects.get().subject == ""
