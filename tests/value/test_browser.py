"""In a real browser: a marketing user builds a segment, watches its count follow the conditions, and saves it."""

from __future__ import annotations

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

from playwright.sync_api import expect

from loopcrm.value import services
from loopcrm.value.models import Segment
from tests.web.test_browser import chromium, open_page, shot, sign_in  # noqa: F401 — fixtures shared

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def still_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_build_a_segment_and_see_its_count(org, shop, live_server, open_page):  # noqa: F811
    services.recompute_all(at=shop.at)
    page = open_page()
    sign_in(page, live_server.url, username="admin")
    page.goto(f"{live_server.url}/segments/new/")
    page.evaluate("window.__sameDocument = true")

    page.fill("#id_name", "杭州的冠军客户")
    # Choosing a field redraws its row: its operators, and its values by name (no codes to type).
    page.select_option("#id_field_0", "rfm_segment")
    expect(page.locator("#id_op_0 option")).to_have_count(4)
    page.select_option("#id_value_0", "champions")
    count = page.locator("#segment-count [data-count]")
    expect(count).to_be_visible()
    champions = int(count.inner_text())
    assert champions >= 1

    # A second condition narrows the count in place, without a page load; the city is typed (suggested).
    page.select_option("#id_field_1", "city")
    expect(page.locator("#segment-values-1 option[value='杭州市']")).to_have_count(1)
    page.select_option("#id_op_1", "eq")
    page.fill("#id_value_1", "杭州市")
    expect(count).to_have_text("1")
    assert still_same_document(page)

    # "Is one of" takes several values from a multiple select.
    page.select_option("#id_op_0", "in")
    expect(page.locator("#id_value_0[multiple]")).to_be_visible()
    page.select_option("#id_value_0", ["champions", "loyal"])
    expect(page.locator("#segment-count [data-count]")).to_have_text("1")

    # A mistake is explained in place, and undone.
    page.select_option("#id_field_2", "recency_days")
    page.select_option("#id_op_2", "between")
    page.fill("#id_value_2", "30")
    expect(page.locator("#segment-count .field-error")).to_be_visible()
    page.select_option("#id_field_2", "")
    expect(page.locator("#segment-count [data-count]")).to_have_text("1")
    shot(page, "value-segment-builder")

    page.click("#segment-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/segments/*/")
    segment = Segment.objects.get()
    assert segment.name == "杭州的冠军客户"
    expect(page.get_by_role("link", name=shop.loyal.name)).to_be_visible()


def test_dashboard_figures_draw_with_plotly(org, shop, live_server, open_page):  # noqa: F811
    """The figures shipped as JSON draw with the plotly.min.js the page loads from the installed package."""
    services.recompute_all(at=shop.at)
    page = open_page()
    sign_in(page, live_server.url, username="exec")
    page.goto(f"{live_server.url}/value/")
    for name in ("tiers", "rfm", "clv", "cohorts", "churn"):
        expect(page.locator(f"#chart-{name} .main-svg").first).to_be_visible()
    shot(page, "value-dashboard")
