"""In a browser: 赵敏 opens a control chart, sees the plot with its signals, acknowledges one in place.

Uses Debian's Chromium through Playwright like tests/web/test_browser.py; skips without it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loopcrm.improvement.models import ChartSignal
from loopcrm.improvement.services import charts as services
from tests.improvement import charts_support as data
from tests.web.test_browser import chromium, mark_document, open_page, shot, sign_in, still_same_document  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_quality_manager_reads_the_chart_and_acknowledges_a_signal(org, live_server, open_page):  # noqa: F811
    zhao = data.quality_manager(org)
    data.steady_then_shift()
    chart = services.create_chart(services.ChartSpec(
        name="First response 首次响应", metric_key="first_response_minutes", usl=90,
        baseline_start=data.day(data.BASELINE[0]), baseline_end=data.day(data.BASELINE[1])), by=zhao)
    services.evaluate_chart(chart)  # a live-server test commits: the owner's mail goes out as usual
    signal = ChartSignal.objects.filter(chart=chart, rule="WE1").order_by("-bucket").first()

    page = open_page()
    sign_in(page, live_server.url, username="quality")
    page.goto(f"{live_server.url}/improvement/charts/")
    page.get_by_role("link", name="First response 首次响应").click()
    page.wait_for_url(re.compile(rf"/improvement/charts/{chart.pk}/$"))
    # plotly (served from the package, no CDN) has drawn the chart with its signal markers.
    expect(page.locator("#control-chart .main-svg").first).to_be_visible()
    assert page.locator("#control-chart .scatterlayer .trace").count() >= 8
    expect(page.locator("#capability [data-index='cpk']")).to_be_visible()
    shot(page, "improvement-control-chart")

    row = page.locator(f"tr[data-signal='{signal.pk}']")
    expect(row.get_by_role("link", name="Start a PDCA cycle")).to_have_attribute(
        "href", re.compile(rf"chart={chart.pk}&signal={signal.pk}&metric=first_response_minutes"))
    mark_document(page)
    row.locator("[data-action='acknowledge']").click()
    expect(page.locator(f"tr[data-signal='{signal.pk}'] .badge")).to_have_text(re.compile("acknowledged", re.I))
    assert still_same_document(page)
    signal.refresh_from_db()
    assert signal.status == "acknowledged"
