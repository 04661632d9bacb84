"""A quality manager's story in a real browser (Debian's Chromium via Playwright, against a live server):
she sees a control-chart signal on the chart page, opens a PDCA cycle from it, adds an action, and reads
the computed Check. Screenshots go to test-artifacts/ (not committed)."""

from __future__ import annotations

import os
import re

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still plain
# synchronous code, so Django's guard against async contexts does not apply.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.improvement.models import ChartSignal, Cycle, CycleAction
from loopcrm.improvement.services import charts as chart_services
from tests.improvement import charts_support as data
from tests.web.test_browser import chromium, open_page, shot  # noqa: F401 — the shared Chromium fixtures

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def sign_in(page, base: str, username: str) -> None:
    from tests import factories

    page.goto(f"{base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_quality_manager_opens_a_cycle_from_a_signal_and_reads_the_check(org, live_server, open_page):  # noqa: F811 — the shared fixture
    quality = data.quality_manager(org)
    data.steady_then_shift()  # first responses jump from about 60 to 100 minutes 12 days ago
    chart = chart_services.create_chart(chart_services.ChartSpec(
        name="First response 首次响应", metric_key="first_response_minutes",
        baseline_start=data.day(data.BASELINE[0]), baseline_end=data.day(data.BASELINE[1])), by=quality)
    chart_services.evaluate_chart(chart)
    first = ChartSignal.objects.filter(chart=chart, rule="WE1").order_by("bucket").first()
    assert first is not None and first.bucket == data.day(data.SHIFT_FROM)

    page = open_page(1366, 900)
    sign_in(page, live_server.url, quality.username)

    # The chart page shows the signal, with the rule that fired.
    page.goto(f"{live_server.url}/improvement/charts/{chart.pk}/")
    row = page.locator(f"#signal-{first.pk}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("WE1")
    shot(page, "quality-01-chart-signal")

    # Start a cycle from it: the Plan is prefilled with the metric, the chart, the signal and a baseline
    # that ends the day before the signal.
    row.get_by_role("link", name="Start a PDCA cycle").click()
    page.wait_for_url(re.compile(r"/improvement/cycles/new/\?"))
    assert page.input_value("#id_metric_key") == "first_response_minutes"
    assert page.input_value("#id_baseline_end") == data.day(data.SHIFT_FROM - 1).isoformat()
    assert "WE1" in page.input_value("#id_problem") or page.input_value("#id_problem")
    page.fill("#id_target_value", "60")
    page.fill("#id_after_start", data.day(data.SHIFT_FROM).isoformat())
    page.fill("#id_after_end", data.day(-1).isoformat())
    shot(page, "quality-02-plan-prefilled")
    page.click("#cycle-form button[type=submit]")
    page.wait_for_url(re.compile(r"/improvement/cycles/\d+/$"))
    cycle = Cycle.objects.get()
    assert (cycle.source_chart_id, cycle.source_signal_id) == (chart.pk, first.pk)
    assert cycle.baseline_n > 0
    first.refresh_from_db()
    assert first.status == ChartSignal.Status.CYCLE_OPENED

    # Do: move the cycle on and add an action, in place (htmx).
    page.click("button[data-move='do']")
    page.wait_for_url(re.compile(rf"/improvement/cycles/{cycle.pk}/$"))
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_new-title", "Call back within the hour 一小时内回电")
    page.select_option("#id_new-status", "done")
    page.click("#action-form button[type=submit]")
    expect(page.locator("#action-table")).to_contain_text("Call back within the hour")
    assert page.evaluate("window.__sameDocument === true")
    assert CycleAction.objects.get().status == CycleAction.Status.DONE
    shot(page, "quality-03-action")

    # Check: computed from the live tickets, explained in plain words.
    page.click("#compute-check")
    page.wait_for_url(re.compile(rf"/improvement/cycles/{cycle.pk}/#check$"))
    verdict = page.locator("#check-verdict")
    expect(verdict).to_have_text(re.compile("Significant change in the wrong direction"))
    expect(page.locator("#check-test")).to_have_text(re.compile("Mann–Whitney U|Welch"))
    expect(page.locator("#check-p")).to_have_text("< 0.001")
    expect(page.locator("#check-shift")).to_have_text("Yes, in the worse direction")
    expect(page.locator("#check-explanation")).to_contain_text("got worse")
    expect(page.locator("#before-after-chart .main-svg").first).to_be_visible()
    shot(page, "quality-04-check")
