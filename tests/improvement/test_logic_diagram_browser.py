"""In a real browser: a quality manager relates a need to a process in the matrix and adds an element;
the drawing updates in place (htmx), the fishbone re-draws when a filter changes and a count opens the
complaints behind it.

Debian's Chromium through Playwright against a live server; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import urllib.request

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.improvement.models import LogicElement, LogicLink
from tests import factories
from tests.improvement.diagram_support import cause, complaint, need, process, quality_manager, survey
from tests.web.test_browser import ARTIFACTS, chromium  # noqa: F401 — the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]



def sign_in(page, base: str, username: str) -> None:
    # The live server's first answer loads every URL module and template (slow on a busy machine):
    # take it outside the browser's timeout.
    urllib.request.urlopen(f"{base}/login/", timeout=180).read()  # noqa: S310 - the test's own server
    page.goto(f"{base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_quality_manager_edits_the_logic_diagram_and_reads_the_fishbone(org, live_server, chromium):  # noqa: F811 — the shared fixture
    qm = quality_manager(org.head)
    complaints = process("投诉处理流程", [("受理", 30), ("调查", 240)])
    survey("满意度回访", "csat")
    need("delivery", 2)
    waiting = cause("等待太久", "process", code="waiting")
    complaint("2026-09-02", waiting, department=org.service)
    complaint("2026-09-03", waiting, department=org.sales_east)

    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, qm.username)
        page.goto(f"{live_server.url}/improvement/logic/")
        expect(page.locator("#logic-svg svg.logic-diagram")).to_be_visible()
        page.evaluate("window.__sameDocument = true")

        # Relate the delivery need strongly to the complaint process, in the matrix.
        process_key = f"process:{complaints.pk}"
        page.locator(f"tr[data-row='need:delivery'] td[data-column='{process_key}'] select").select_option("strong")
        expect(page.locator(f"#logic-svg rect.cell[data-row='need:delivery'][data-column='{process_key}']")) \
            .to_have_attribute("data-strength", "strong")
        assert LogicLink.objects.get().strength == "strong"

        # Add an element; it appears in the drawing with a dashed border.
        page.select_option("#id_layer", "need")
        page.fill("#id_label", "安装预约方便")
        page.click("#element-form button[type=submit]")
        element_rect = page.locator("#logic-svg rect.node.added")
        expect(element_rect).to_have_count(1)
        assert LogicElement.objects.get().label == "安装预约方便"
        assert page.evaluate("window.__sameDocument === true")  # no page load: htmx swapped the workspace
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "improvement-logic-diagram.png"), full_page=True)

        # The fishbone re-draws in place when the department filter changes.
        page.goto(f"{live_server.url}/improvement/fishbone/?start=2026-09-01&end=2026-09-30")
        expect(page.locator("#fishbone-svg svg.fishbone")).to_be_visible()
        expect(page.locator("#fishbone-heading")).to_contain_text("2 complaints,")
        page.evaluate("window.__sameDocument = true")
        page.select_option("#id_department_id", str(org.service.pk))
        expect(page.locator("#fishbone-heading")).to_contain_text("1 complaint,")
        assert page.evaluate("window.__sameDocument === true")
        assert f"department_id={org.service.pk}" in page.url

        # A count opens the complaints behind it, under the table, still in the same document.
        page.locator("#fishbone-counts tr.cause[data-cause='waiting'] a.drill-link").click()
        expect(page.locator("#drill-complaints tbody tr")).to_have_count(1)
        expect(page.locator("#drill-heading")).to_contain_text("等待太久: 1 complaint,")
        assert page.evaluate("window.__sameDocument === true")
        page.screenshot(path=str(ARTIFACTS / "improvement-fishbone.png"), full_page=True)
    finally:
        context.close()
