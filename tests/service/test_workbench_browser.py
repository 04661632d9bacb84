"""In a real browser: 王芳 opens her inbox, takes an unassigned complaint with the keyboard, works through
its process checklist, replies to the customer with a canned reply and resolves it. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM stays sync

from playwright.sync_api import expect, sync_playwright

from loopcrm.service.models import CannedReply, Ticket, TicketMessage
from loopcrm.service.queries.processes import process_progress
from tests import factories
from tests.service.test_workbench_pages import complaint_process, sla_policy  # noqa: F401 — fixtures

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LOOPCRM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and LOOPCRM_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_an_agent_takes_works_replies_and_resolves(org, live_server, page, hotline_queue, zhang, open_ticket,
                                                   complaint_process, sla_policy):  # noqa: F811
    open_ticket(zhang, subject="发票 Invoice copy", assignee=org.lead, by=org.lead)
    complaint = open_ticket(zhang, subject="送货太慢 Delivery too slow", kind="complaint")
    CannedReply.objects.create(title="致歉 Apology", body="非常抱歉给您带来不便，我们已加急处理。")
    base = live_server.url

    sign_in(page, base, "agent")
    page.goto(f"{base}/service/tickets/")
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    page.locator("label.view-tab", has_text="Unassigned").click()  # the filters answer in place
    results = page.locator("#inbox-results")
    expect(results.get_by_role("link", name=re.compile("送货太慢"))).to_be_visible()
    expect(results.get_by_role("link", name=re.compile("发票"))).to_have_count(0)
    assert "view=unassigned" in page.url
    shot(page, "01-inbox-unassigned")

    # The keyboard: j picks the first row, a takes it (and opens it).
    page.locator("body").press("Escape")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("j")
    expect(page.locator("[data-ticket-row].is-current")).to_have_count(1)
    page.keyboard.press("a")
    page.wait_for_url(re.compile(rf"/service/tickets/{complaint.pk}/$"))
    expect(page.locator("[data-assignee]")).to_have_text("王芳")
    shot(page, "02-ticket-taken")

    # The process: tick the checklist, complete acknowledge, then investigate.
    process = page.locator("#process")
    process.get_by_role("checkbox", name=re.compile("Apologised")).click()
    expect(process.get_by_role("checkbox", name=re.compile("Apologised"))).to_have_attribute("aria-checked", "true")
    process.get_by_role("checkbox", name=re.compile("Order checked")).click()
    expect(process.get_by_role("checkbox", name=re.compile("Order checked"))).to_have_attribute("aria-checked", "true")
    process.get_by_role("button", name=re.compile("Complete Acknowledge")).click()
    expect(page.locator('[data-step="acknowledge"] [data-step-status]')).to_have_text("Done")
    page.locator("#process").get_by_role("button", name=re.compile("Complete Investigate")).click()
    expect(page.locator('[data-step="investigate"] [data-step-status]')).to_have_text("Done")
    shot(page, "03-steps-done")

    # r opens the reply; a canned reply goes in at the cursor; send.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("r")
    expect(page.locator("#id_reply-body")).to_be_focused()
    page.select_option("#canned-reply", label="致歉 Apology")
    expect(page.locator("#id_reply-body")).to_have_value("非常抱歉给您带来不便，我们已加急处理。")
    page.locator("#reply-panel").get_by_role("button", name="Send reply").click()
    expect(page.locator('#thread [data-message-kind="reply"]')).to_have_count(1)
    expect(page.locator('#sla [data-sla-metric="first_response"]')).to_contain_text("met")

    # Resolve from the status menu.
    page.locator(".ticket-actions summary", has_text="Status").click()
    page.select_option("#id_status-status", "resolved")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("[data-status]")).to_have_text("Resolved")
    shot(page, "04-resolved")

    complaint.refresh_from_db()
    assert (complaint.status, complaint.assignee) == (Ticket.Status.RESOLVED, org.agent)
    assert TicketMessage.objects.filter(ticket=complaint, kind="reply").count() == 1
    assert [(s.key, s.status) for s in process_progress(complaint).steps][:2] == [
        ("acknowledge", "done"), ("investigate", "done")]


def test_an_agent_opens_a_ticket_for_a_picked_customer_and_the_lead_sees_the_load(
        org, live_server, page, hotline_queue, zhang, open_ticket, sla_policy):  # noqa: F811
    order = factories.order(zhang)
    base = live_server.url
    sign_in(page, base, "agent")
    page.goto(f"{base}/service/tickets/new/")
    page.fill("#customer-search", "张伟")
    page.locator("#customer-choices").get_by_role("link", name=re.compile("张伟")).click()
    expect(page.locator("[data-picked-customer]")).to_contain_text("张伟")
    page.select_option("#id_order", str(order.pk))  # the picked customer's orders are offered
    page.select_option("#id_kind", "complaint")
    page.fill("#id_subject", "快递丢件 Parcel lost")
    page.fill("#id_description", "包裹显示已签收但未收到")
    page.get_by_role("button", name="Open ticket").click()
    page.wait_for_url(re.compile(r"/service/tickets/\d+/$"))
    expect(page.locator("#ticket-title")).to_contain_text("快递丢件")
    ticket = Ticket.objects.get(subject="快递丢件 Parcel lost")
    assert (ticket.customer, ticket.order, ticket.created_by) == (zhang, order, org.agent)
    shot(page, "05-opened")

    page.context.clear_cookies()
    sign_in(page, base, "lead")
    page.goto(f"{base}/service/team/")
    expect(page.locator('[data-stat="open"]')).to_have_text("1")
    expect(page.locator('[data-queue]')).to_have_count(1)
    shot(page, "06-team")
