"""Stories in a real browser: Debian's Chromium driven by Playwright against a live server.

Screenshots go to test-artifacts/ (not committed). Without /usr/bin/chromium these tests skip,
unless LOOPCRM_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still
# plain synchronous code, so Django's guard against async contexts does not apply.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright

from loopcrm.interactions.models import Interaction
from tests import factories
from tests.web import scenario

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LOOPCRM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and LOOPCRM_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium):
    contexts = []

    def open_(width: int = 1366, height: int = 768, locale: str = "en-US"):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_in(page, base: str, username: str = "agent") -> None:
    page.goto(f"{base}/")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def mark_document(page) -> None:
    """Tag the loaded document: the tag survives htmx swaps and disappears on a full page load."""
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_agent_story_search_open_360_and_log_a_call(org, live_server, open_page):
    book = scenario.build(by=org.admin, agent=org.agent)
    page = open_page()
    sign_in(page, live_server.url)
    shot(page, "01-home-en")

    # The agent prefers Chinese.
    page.click(".topbar .lang-switch button[value='zh-hans']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("nav.sidebar").get_by_role("link", name="客户", exact=True).is_visible()

    # Live search on two characters of a Chinese name, without reloading the page.
    page.locator("nav.sidebar").get_by_role("link", name="客户", exact=True).click()
    page.wait_for_url(re.compile(r"/customers/$"))
    mark_document(page)
    page.fill("#id_q", "伟明")
    results = page.locator("#customer-results")
    expect(results.get_by_role("link", name="李娜")).to_have_count(0)  # the list narrowed in place
    expect(results.get_by_role("link", name="张伟明")).to_be_visible()
    assert still_same_document(page)
    assert re.search(r"/customers/\?q=%E4%BC%9F%E6%98%8E$", page.url)  # the address bar keeps the search
    shot(page, "02-search-zh")

    # Open the 360° page.
    results.get_by_role("link", name="张伟明").click()
    page.wait_for_url(re.compile(rf"/customers/{book.star.pk}/$"))
    assert page.locator("h1").inner_text().startswith("张伟明")
    assert page.get_by_text("未结工单").first.is_visible()  # the service desk's slot on the 360 page
    shot(page, "03-customer-360-zh")

    # Log a call; it appears on top of the timeline without a page load.
    mark_document(page)
    before = Interaction.objects.filter(customer=book.star).count()
    page.select_option("#id_channel", "phone")
    page.select_option("#id_direction", "outbound")
    page.fill("#id_subject", "回访：确认滤芯已收到")
    page.fill("#id_body", "客户确认已收货，对配送速度满意。")
    page.click("#log-form button[type=submit]")
    first = page.locator("#timeline-list .timeline-item").first
    first.get_by_text("回访：确认滤芯已收到").wait_for()
    assert still_same_document(page)
    assert page.locator("#log-form [role=status]").is_visible()
    assert page.input_value("#id_subject") == ""  # a fresh form for the next call
    assert Interaction.objects.filter(customer=book.star).count() == before + 1
    shot(page, "04-logged-zh")

    # A mistake is explained next to its field, still without a page load.
    page.click("#log-form .more-fields summary")
    page.fill("#id_occurred_at", "2999-01-01T09:00")
    page.click("#log-form button[type=submit]")
    page.locator("#log-form .field-error").first.wait_for()
    assert still_same_document(page)
    assert Interaction.objects.filter(customer=book.star).count() == before + 1


def test_customer_list_is_usable_on_a_phone(org, live_server, open_page):
    scenario.build(by=org.admin, agent=org.agent)
    page = open_page(390, 844, locale="zh-CN")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    # The sidebar is folded away, the menu button brings it back.
    sidebar = page.locator("#sidebar")
    assert not sidebar.is_visible() or sidebar.bounding_box()["x"] < 0
    page.click("[data-nav-toggle]")
    page.wait_for_timeout(300)
    assert sidebar.bounding_box()["x"] >= 0
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    # Rows are cards that fit the screen: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.locator("#customer-results tbody tr").first
    assert row.bounding_box()["width"] <= 390
    shot(page, "05-phone-list-zh")
    page.fill("#id_q", "陈静")
    expect(page.locator("#customer-results tbody tr")).to_have_count(1)
    page.locator("#customer-results").get_by_role("link", name="陈静").click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "06-phone-360-zh")


def test_screenshot_of_the_360_page_for_the_readme(org, live_server, open_page):
    """The picture at the top of README.md (copied from test-artifacts/customer-360.png to docs/images/)."""
    book = scenario.build(by=org.admin, agent=org.agent)
    page = open_page(1366, 768)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/{book.star.pk}/")
    page.evaluate("document.fonts.ready")
    shot(page, "customer-360")
