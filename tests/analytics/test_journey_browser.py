"""A quality manager reads the journey map in a real browser: the funnel draws with the packaged
plotly.min.js, and switching the measure recolours the grid in place (htmx, no page load)."""

from __future__ import annotations

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.accounts.models import Role
from tests import factories
from tests.analytics.journey_data import WINDOW, build_journey
from tests.web.test_browser import chromium, open_page, shot, sign_in  # noqa: F401 — fixtures shared

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_the_quality_manager_switches_the_measure_and_reads_the_drop_off(org, live_server, open_page):  # noqa: F811
    build_journey(org)
    factories.user("quality", role=Role.QUALITY_MANAGER, department=org.head)
    page = open_page()
    page.set_default_timeout(60_000)  # a shared, busy machine
    sign_in(page, live_server.url, "quality")
    page.goto(f"{live_server.url}/analytics/journey/?start={WINDOW['start']}&end={WINDOW['end']}")
    expect(page.locator("h1")).to_have_text("Customer journey map")
    expect(page.locator("[data-figure='fig-funnel'] .main-svg").first).to_be_attached()  # plotly drew the funnel
    page.evaluate("window.__sameDocument = true")

    page.select_option("#j-measure", "complaint_rate")
    grid = page.locator("#journey-grid")
    expect(grid).to_have_attribute("data-measure", "complaint_rate")
    hotline = page.locator("td.journey-cell[data-stage='service'][data-touchpoint='hotline']")
    assert "hsl(0, 70%" in hotline.get_attribute("style")
    assert page.evaluate("window.__sameDocument === true")  # swapped in place
    assert "measure=complaint_rate" in page.url  # and the address keeps it
    expect(page.locator("[data-figure='fig-funnel'] .main-svg").first).to_be_attached()  # redrawn after the swap
    expect(page.locator("#journey-drop-off tr[data-stage='awareness']")).to_contain_text("33.3 %")
    shot(page, "journey-map")
