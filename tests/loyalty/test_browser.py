"""Story in a real browser: a marketing manager opens a member's page, pages through the ledger, redeems a
voucher without a page load, and is told plainly when a redemption is more than the balance.

Debian's Chromium driven by Playwright against a live server; skipped when Chromium is missing
(unless LOOPCRM_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.loyalty import services
from loopcrm.loyalty.models import Membership
from tests import factories
from tests.web.test_browser import ARTIFACTS, chromium  # noqa: F401 — the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]



def test_member_page_ledger_and_redeem(club, org, live_server, chromium):  # noqa: F811 — the shared fixture
    factories.user("marketer", role="marketing", department=org.head)
    for n in range(30):
        services.earn_points(club.member, points=100, idempotency_key=f"visit-{n}", reason=f"到店 Visit {n + 1}",
                             by=None)
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "marketer")
        page.fill("#id_password", factories.PASSWORD)
        page.click("form[action='/login/'] button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

        page.goto(f"{live_server.url}/loyalty/members/{club.member.pk}/")
        expect(page.get_by_test_id("balance")).to_have_text("3000")
        ledger = page.locator("#ledger tbody tr:not(.more-row)")
        expect(ledger).to_have_count(25)
        page.evaluate("window.__sameDocument = true")

        # "Show more" brings the last five entries in place
        page.get_by_role("link", name="Show more entries").click()
        expect(ledger).to_have_count(30)
        expect(page.get_by_text("到店 Visit 1", exact=True)).to_be_visible()

        # Redeem a voucher: the balance and the ledger update without a page load
        page.fill("#redeem-form input[name=points]", "500")
        page.fill("#redeem-form input[name=reason]", "代金券 Voucher 50")
        page.click("#redeem-form button[type=submit]")
        expect(page.get_by_test_id("balance")).to_have_text("2500")
        expect(page.get_by_text("代金券 Voucher 50")).to_be_visible()
        assert page.evaluate("window.__sameDocument === true")

        # More than the balance: refused next to the field, nothing changes
        page.fill("#redeem-form input[name=points]", "999999")
        page.click("#redeem-form button[type=submit]")
        expect(page.locator("#redeem-form .field-error")).to_contain_text("Only 2,500 points are available")
        assert Membership.objects.get(pk=club.member.pk).balance == 2500
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "loyalty-member.png"), full_page=True)
    finally:
        context.close()
