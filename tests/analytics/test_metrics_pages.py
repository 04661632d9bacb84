"""The quality dashboard and the metric pages: what a quality manager and an agent see, htmx fragments,
bad input, and who may not come in."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from loopcrm.accounts.models import Role
from loopcrm.analytics.metrics import dashboard as dashboards
from tests import factories
from tests.analytics.registry_data import build_desk
from tests.factories import signed_in

pytestmark = pytest.mark.django_db
WEEK = {"start": "2026-03-04", "end": "2026-03-08"}


@pytest.fixture
def desk(org):
    return build_desk(org)


@pytest.fixture
def quality(org):
    return factories.user("quality", role=Role.QUALITY_MANAGER, department=org.head, display_name="质量经理")



def card(html: str, key: str) -> str:
    match = re.search(rf'<article class="card kpi-card" data-metric="{key}".*?</article>', html, re.S)
    assert match, key
    return match.group(0)


def test_the_quality_manager_sees_eight_kpi_cards_coloured_by_which_way_is_better(desk, quality):
    response = signed_in(quality).get("/quality/", WEEK)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="card kpi-card"') == 8
    first_response = card(html, "first_response_minutes")
    assert 'data-direction="worse"' in first_response  # 120 min against 60 before: lower is better
    assert "/quality/metrics/first_response_minutes/" in first_response
    assert 'data-direction="same"' in card(html, "ticket_volume")
    assert 'data-direction="worse"' in card(html, "nps")  # −50 against 100
    figure = json.loads(re.search(r'<script id="spark-ticket_volume" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))
    assert figure["data"][0]["y"] == [2, 0, 0, 0, 0]
    assert "vendor/plotly.min.js" in html


def test_the_dashboard_filters_through_htmx_and_answers_the_fragment(desk, quality, org):
    response = signed_in(quality).get("/quality/", {**WEEK, "department": org.sales_east.pk},
                                       HTTP_HX_REQUEST="true", HTTP_HX_TARGET="quality-results")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert re.search(r'data-metric="ticket_volume".*?<span class="kpi-number" data-value>2</span>', html, re.S)


def test_an_agent_sees_their_department_only(desk, org):
    html = signed_in(org.agent).get("/quality/", {"start": "2026-03-02", "end": "2026-03-08"}).content.decode()
    assert re.search(r'data-metric="ticket_volume".*?data-value>2</span>', html, re.S)


def test_bad_dates_show_the_problem_naming_the_field(quality):
    response = signed_in(quality).get("/quality/", {"start": "2026-13-01"})
    assert response.status_code == 400
    assert 'data-field="start"' in response.content.decode()
    response = signed_in(quality).get("/quality/metrics/csat/", {"grain": "hour"})
    assert response.status_code == 400 and 'data-field="grain"' in response.content.decode()


def test_the_metric_list_names_every_metric(quality):
    html = signed_in(quality).get("/quality/metrics/").content.decode()
    assert html.count("<tr data-metric=") >= 17
    assert "/quality/metrics/closed_loop_rate/" in html


def test_a_metric_page_has_a_trend_a_grain_switch_and_a_cut(desk, quality):
    response = signed_in(quality).get("/quality/metrics/ticket_volume/",
                                       {"start": "2026-03-02", "end": "2026-03-08", "grain": "day", "by": "agent"})
    assert response.status_code == 200
    html = response.content.decode()
    trend = json.loads(re.search(r'<script id="fig-trend" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert trend["data"][0]["y"] == [2, 0, 2, 0, 0, 0, 0]
    assert 'id="grain-switch"' in html and "grain=week" in html
    table = re.search(r'<table class="table" id="cut-table">.*?</table>', html, re.S).group(0)
    assert "王芳" in table and "Tom Baker" in table
    weekly = signed_in(quality).get("/quality/metrics/ticket_volume/",
                                     {"start": "2026-03-02", "end": "2026-03-08", "grain": "week"},
                                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="metric-results").content.decode()
    assert "<html" not in weekly
    assert json.loads(re.search(r'id="fig-trend" type="application/json">(.*?)</script>', weekly,
                                re.S).group(1))["data"][0]["y"] == [4]


def test_an_unknown_metric_is_404_and_a_role_without_access_403(org, quality):
    assert signed_in(quality).get("/quality/metrics/happiness/").status_code == 404
    seller = factories.user("seller", role=Role.SALES, department=org.sales_east)
    for path in ("/quality/", "/quality/metrics/", "/quality/metrics/csat/"):
        assert signed_in(seller).get(path).status_code == 403
    assert Client().get("/quality/").status_code == 302  # to the sign-in page


def test_slots_render_what_another_app_registers(desk, quality, monkeypatch):
    monkeypatch.setitem(dashboards.SLOTS, "cycles", dashboards.Slot(
        "cycles", "improvement/_dashboard_cycles.html", lambda user: {"cycles": []}))
    assert "improvement/_dashboard_cycles.html" in [t for _n, t, _c in dashboards.slots_for(quality)]
    monkeypatch.setitem(dashboards.SLOTS, "signals", dashboards.Slot("signals", "improvement/_no_such_file.html"))
    html = signed_in(quality).get("/quality/", WEEK).content.decode()
    assert 'data-slot="cycles"' in html and "No cycle in progress." in html
    assert 'data-slot="signals"' not in html


def test_the_dashboard_speaks_chinese(desk, quality):
    client = signed_in(quality)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/quality/"})
    html = client.get("/quality/", WEEK).content.decode()
    assert "质量看板" in html and "首次响应时间" in html and "SLA 达成率" in html


def test_a_sparkline_is_the_figure_plotly_would_build(desk):
    """The cards' sparklines are written as plain JSON (plotly's objects cost ~20 ms each): the same figure."""
    import datetime as dt

    from loopcrm.analytics.views import metrics as pages

    board = dashboards.dashboard(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 8))
    for kpi in board.kpis:
        assert json.loads(json.dumps(pages.sparkline(kpi))) == pages._plotly_sparkline(kpi)
