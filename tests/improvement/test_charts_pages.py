"""Control chart pages: 赵敏 creates a chart, sees its signals marked, acts on them; others see or are refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.improvement.models import ChartSignal, ControlChart
from loopcrm.improvement.queries import charts as queries
from loopcrm.improvement.services import charts as services
from tests import factories
from tests.factories import signed_in
from tests.improvement import charts_support as data


@pytest.fixture
def zhao(org):
    return data.quality_manager(org)



@pytest.fixture
def chart(zhao, django_capture_on_commit_callbacks):
    data.steady_then_shift()
    chart = services.create_chart(services.ChartSpec(
        name="First response 首次响应", metric_key="first_response_minutes", usl=90,
        baseline_start=data.day(data.BASELINE[0]), baseline_end=data.day(data.BASELINE[1])), by=zhao)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluate_chart(chart)
    return chart


def test_the_new_chart_form_creates_a_chart_and_shows_it(zhao):
    data.steady_then_shift()
    client = signed_in(zhao)
    page = client.get(reverse("web:control_chart_new"), {"metric": "first_response_minutes"})
    assert page.status_code == 200
    assert 'value="first_response_minutes" selected' in page.content.decode()
    response = client.post(reverse("web:control_chart_new"), {
        "name": "FRT 首次响应", "metric_key": "first_response_minutes", "chart_type": "", "grain": "day",
        "baseline_start": data.day(data.BASELINE[0]).isoformat(),
        "baseline_end": data.day(data.BASELINE[1]).isoformat(),
        "rule_set": "nelson", "usl": "90", "owner": zhao.pk, "is_active": "on"})
    chart = ControlChart.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:control_chart_detail",
                                                                           args=[chart.pk])
    assert chart.chart_type == "xmr" and chart.rule_set == "nelson" and chart.usl == 90


def test_a_bad_chart_is_shown_on_the_form_field(zhao):
    data.steady_then_shift()
    response = signed_in(zhao).post(reverse("web:control_chart_new"), {
        "name": "FRT", "metric_key": "first_response_minutes", "chart_type": "p", "grain": "day",
        "baseline_start": data.day(-60).isoformat(), "baseline_end": data.day(-33).isoformat(), "rule_set": "we"})
    assert response.status_code == 200
    assert "does not fit" in response.content.decode()
    assert not ControlChart.objects.exists()


def test_the_chart_page_marks_signals_with_their_rules_and_offers_a_cycle(zhao, chart):
    response = signed_in(zhao).get(reverse("web:control_chart_detail", args=[chart.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="control-chart"' in html and "vendor/plotly.min.js" in html
    figure = json.loads(response.context["figure"])
    names = [trace.get("name") for trace in figure["data"]]
    assert {"UCL", "LCL", "Centre line", "Signal"} <= set(names)
    signal_trace = figure["data"][names.index("Signal")]
    assert signal_trace["marker"]["color"] == "#dc2626"
    assert any("WE1: One point beyond 3 sigma" in text for text in signal_trace["text"])
    assert "Zone A" in names
    signal = ChartSignal.objects.filter(chart=chart, rule="WE1").order_by("-bucket").first()
    assert f'data-signal="{signal.pk}"' in html
    cycle_url = reverse("web:cycle_new") + f"?chart={chart.pk}&amp;signal={signal.pk}&amp;metric=first_response_minutes"
    assert cycle_url in html
    assert 'data-index="cpk"' in html


def test_acknowledge_and_dismiss_by_htmx_swap_the_row(zhao, chart):
    client = signed_in(zhao)
    signal = ChartSignal.objects.filter(chart=chart).first()
    url = reverse("web:control_chart_signal", args=[chart.pk, signal.pk, "acknowledge"])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<tr" in response.content.decode() and "acknowledged" in response.content.decode().lower()
    signal.refresh_from_db()
    assert signal.status == "acknowledged" and signal.status_changed_by == zhao
    dismissed = client.post(reverse("web:control_chart_signal", args=[chart.pk, signal.pk, "dismiss"]))
    assert dismissed.status_code == 302
    signal.refresh_from_db()
    assert signal.status == "dismissed"
    conflict = client.post(url, HTTP_HX_REQUEST="true")
    assert conflict.status_code == 409


def test_an_agent_sees_but_cannot_act_and_sales_sees_nothing(org, chart):
    agent = signed_in(org.agent)
    page = agent.get(reverse("web:control_chart_detail", args=[chart.pk]))
    assert page.status_code == 200 and 'data-action="dismiss"' not in page.content.decode()
    signal = ChartSignal.objects.filter(chart=chart).first()
    refused = agent.post(reverse("web:control_chart_signal", args=[chart.pk, signal.pk, "dismiss"]))
    assert refused.status_code == 403
    signal.refresh_from_db()
    assert signal.status == "new"
    assert agent.get(reverse("web:control_chart_new")).status_code == 403
    sales = signed_in(factories.user("sales", role="sales", department=org.sales_east))
    assert sales.get(reverse("web:control_chart_detail", args=[chart.pk])).status_code == 404
    assert sales.get(reverse("web:control_chart_list")).status_code == 403
    assert Client().get(reverse("web:control_chart_list")).status_code == 302


def test_the_list_counts_open_signals(zhao, chart):
    response = signed_in(zhao).get(reverse("web:control_chart_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "First response 首次响应" in html
    assert f'>{ChartSignal.objects.filter(chart=chart).count()}</span>' in html


def test_edit_and_recompute(zhao, chart):
    client = signed_in(zhao)
    assert client.get(reverse("web:control_chart_edit", args=[chart.pk])).status_code == 200
    response = client.post(reverse("web:control_chart_edit", args=[chart.pk]), {
        "name": "Renamed", "metric_key": "first_response_minutes", "chart_type": "xmr", "grain": "day",
        "baseline_start": data.day(-60).isoformat(), "baseline_end": data.day(-33).isoformat(), "rule_set": "we",
        "owner": zhao.pk, "is_active": "on"})
    assert response.status_code == 302
    chart.refresh_from_db()
    assert chart.name == "Renamed"
    assert client.post(reverse("web:control_chart_recompute", args=[chart.pk])).status_code == 302


def test_the_pareto_page(zhao):
    data.complaints_with_causes()
    client = signed_in(zhao)
    response = client.get(reverse("web:pareto"), {"start": data.day(-7).isoformat(), "end": data.day(-1).isoformat(),
                                                 "level": "sub_cause"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Late delivery 延迟送达" in html and "vital few" in html
    figure = json.loads(response.context["figure"])
    assert [trace["type"] for trace in figure["data"]] == ["bar", "scatter"]
    assert figure["data"][1]["y"][-1] == pytest.approx(100)
    empty = client.get(reverse("web:pareto"))
    assert empty.status_code == 200


def test_the_dashboard_fragment_lists_open_signals(zhao, chart):
    from django.template.loader import render_to_string

    signals = queries.open_signals_for(zhao, limit=5)
    assert len(signals) == 5
    html = render_to_string("improvement/_dashboard_signals.html", {"signals": signals})
    assert "One point beyond 3 sigma" in html or "Eight consecutive points" in html
    assert reverse("web:control_chart_detail", args=[chart.pk]) in html
    assert "No open signal" in render_to_string("improvement/_dashboard_signals.html", {"signals": []})


def test_the_chart_page_in_chinese(zhao, chart):
    client = signed_in(zhao)
    response = client.get(reverse("web:control_chart_detail", args=[chart.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200


def test_the_list_costs_the_same_queries_for_one_chart_or_many(zhao, chart, django_assert_max_num_queries):
    client = signed_in(zhao)
    client.get(reverse("web:control_chart_list"))  # warm the session and the registry's catalogue
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("web:control_chart_list"))
    for n in range(4):
        ControlChart.objects.create(name=f"Copy {n}", metric_key=chart.metric_key, chart_type=chart.chart_type,
                                    baseline_start=chart.baseline_start, baseline_end=chart.baseline_end,
                                    owner=zhao, limits=chart.limits)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("web:control_chart_list"))
    assert response.content.decode().count("data-chart=") == 5
