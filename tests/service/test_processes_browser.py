"""In a real browser: an administrator defines a standard service process, publishes it, sees its
flowchart, edits it into version 2, and adds a routing rule. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread; the ORM stays sync

from playwright.sync_api import expect, sync_playwright

from loopcrm.service.models import ProcessVersion, RoutingRule
from tests import factories
from tests.service.test_processes_helpers import queue

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
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def fill_step(page, index: int, *, key: str, name: str, target: str, role: str = "", checklist: str = "") -> None:
    prefix = f"#id_steps-{index}-"
    page.fill(f"{prefix}key", key)
    page.fill(f"{prefix}name", name)
    page.fill(f"{prefix}target_minutes", target)
    page.fill(f"{prefix}ORDER", str(index + 1))
    if role:
        page.select_option(f"{prefix}responsible_role", role)
    if checklist:
        page.fill(f"{prefix}checklist", checklist)


def test_admin_defines_a_process_sees_its_flowchart_and_adds_a_routing_rule(org, live_server, page):
    base = live_server.url
    queue("Repairs 维修", department=org.service, members=[org.agent])
    sign_in(page, base, "admin")

    page.goto(f"{base}/service/processes/new/")
    page.fill("#id_key", "repair")
    page.fill("#id_name", "Repair 维修流程")
    page.select_option("#id_ticket_kind", "repair")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/service/processes/\d+/edit/$"))

    fill_step(page, 0, key="diagnose", name="Diagnose 诊断", target="60", role="agent",
              checklist="Serial number noted\nPhoto received")
    page.select_option("#id_steps-0-complete_on_status", "on_hold")
    fill_step(page, 1, key="repair", name="Repair 维修", target="240", role="team_lead")
    page.fill("#id_change_note", "first version")
    shot(page, "service-process-editor")
    page.click("#process-editor button[type=submit]")
    page.wait_for_url(re.compile(r"/service/processes/\d+/versions/1/$"))

    chart = page.locator("#process-flowchart svg.flowchart")
    expect(chart.locator("g.step")).to_have_count(2)
    expect(chart.locator("g.step.mandatory").first).to_contain_text("Diagnose 诊断")
    expect(page.locator("#process-steps")).to_contain_text("Serial number noted")
    shot(page, "service-process-version-1")

    # Editing publishes version 2; version 1 stays as it was.
    page.get_by_role("link", name="Edit (publishes a new version)").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    assert page.input_value("#id_steps-1-target_minutes") == "240"
    page.fill("#id_steps-1-target_minutes", "180")
    fill_step(page, 2, key="call-back", name="Call back 回访", target="30")
    page.uncheck("#id_steps-2-is_mandatory")
    page.fill("#id_change_note", "faster repair, call back")
    page.click("#process-editor button[type=submit]")
    page.wait_for_url(re.compile(r"/versions/2/$"))
    expect(page.locator("#process-flowchart g.step")).to_have_count(3)
    expect(page.locator("#process-flowchart g.step.optional")).to_contain_text("Call back 回访")
    expect(page.locator("#process-versions li")).to_have_count(2)
    assert [v.number for v in ProcessVersion.objects.filter(is_current=True)] == [2]
    shot(page, "service-process-version-2")

    # A routing rule: repairs from Jiangsu go to the repair desk at High priority.
    page.goto(f"{base}/service/routing-rules/new/")
    page.fill("#id_name", "Jiangsu repairs 江苏维修")
    page.check("input[name=kinds][value=repair]")
    page.fill("#id_provinces", "江苏省")
    page.select_option("#id_queue", label="Repairs 维修")
    page.select_option("#id_set_priority", "3")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/service/routing-rules/$"))
    expect(page.locator("#routing-rules")).to_contain_text("Jiangsu repairs 江苏维修")
    rule = RoutingRule.objects.get()
    assert (rule.kinds, rule.provinces, rule.set_priority) == (["repair"], ["江苏省"], 3)
    shot(page, "service-routing-rules")
