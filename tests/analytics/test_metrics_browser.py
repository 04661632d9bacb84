"""In a real browser: the quality manager reads the dashboard, narrows it to a department without leaving the
page, and follows a KPI to its metric page and its cut by agent."""

from __future__ import annotations

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

from playwright.sync_api import expect

from loopcrm.accounts.models import Role
from tests import factories
from tests.analytics.registry_data import build_desk
from tests.web.test_browser import chromium, mark_document, open_page, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_the_quality_manager_reads_and_narrows_the_dashboard(org, live_server, open_page):  # noqa: F811
    build_desk(org)
    factories.user("quality", role=Role.QUALITY_MANAGER, department=org.head)
    page = open_page()
    page.set_default_timeout(60_000)  # a loaded shared machine: the first page can take a while
    sign_in(page, live_server.url, username="quality")
    page.goto(f"{live_server.url}/quality/?start=2026-03-04&end=2026-03-08")
    expect(page.locator(".kpi-card")).to_have_count(8)
    expect(page.locator('[data-figure="spark-ticket_volume"] .main-svg').first).to_be_visible()
    volume = page.locator('.kpi-card[data-metric="ticket_volume"] [data-value]')
    expect(volume).to_have_text("2")
    expect(page.locator('.kpi-card[data-metric="first_response_minutes"]')).to_have_attribute(
        "data-direction", "worse")
    shot(page, "quality-dashboard")

    mark_document(page)
    page.select_option("#q-department", str(org.service.pk))  # its tickets were all opened before the 4th
    expect(page).to_have_url(f"{live_server.url}/quality/?start=2026-03-04&end=2026-03-08&department="
                             f"{org.service.pk}&team=&agent=&category=&kind=&channel=&touchpoint="
                             f"&customer_tier=&region=")
    expect(volume).to_have_text("0")
    expect(page.locator('.kpi-card[data-metric="ticket_volume"]')).to_have_attribute("data-direction", "better")
    assert page.evaluate("window.__sameDocument === true")

    page.click('.kpi-card[data-metric="ticket_volume"] .kpi-head a')
    page.wait_for_url("**/quality/metrics/ticket_volume/**")
    expect(page.locator('[data-figure="fig-trend"] .main-svg').first).to_be_visible()
    page.select_option("#q-by", "agent")
    expect(page.locator("#cut-table")).to_contain_text("Tom Baker")
    expect(page.locator('[data-figure="fig-cuts"] .main-svg').first).to_be_visible()
    shot(page, "metric-detail")
