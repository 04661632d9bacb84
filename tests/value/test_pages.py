"""The value pages: dashboard, segment builder with its live count, and the customer value panel."""

from __future__ import annotations

import pytest
from django.test import Client

from loopcrm.value import services
from loopcrm.value.models import Segment
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.login(username=user.username, password=factories.PASSWORD)
    return client


@pytest.fixture
def computed(org, shop):
    services.recompute_all(at=shop.at)
    return shop


def test_dashboard_shows_the_figures(org, computed, django_assert_max_num_queries):
    client = client_for(org.exec)
    with django_assert_max_num_queries(20):
        response = client.get("/value/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="figure-rfm"' in page and 'id="figure-cohorts"' in page and 'id="rfm-grid"' in page
    assert "Recompute now" not in page  # the executive may not recompute


def test_dashboard_recompute_button_for_admin(org, computed):
    client = client_for(org.admin)
    assert "Recompute now" in client.get("/value/").content.decode()
    response = client.post("/value/recompute/")
    assert response.status_code == 302
    assert client_for(org.exec).post("/value/recompute/").status_code == 403


def test_dashboard_in_chinese(org, computed):
    client = client_for(org.exec)
    page = client.get("/value/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "客户价值" in page


def test_builder_live_count_and_save(org, computed):
    client = client_for(org.admin)
    assert client.get("/segments/new/").status_code == 200
    form = {"name": "高价值", "match": "all", "field_0": "tier", "op_0": "eq", "value_0": "high"}
    preview = client.post("/segments/preview/", form, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "data-count" in preview.content.decode()
    bad = client.post("/segments/preview/", {**form, "value_0": "gold"}, headers={"HX-Request": "true"})
    assert 'data-error-row="0"' in bad.content.decode()
    saved = client.post("/segments/new/", form)
    segment = Segment.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/segments/{segment.pk}/"
    assert segment.rule == {"all": [{"field": "tier", "op": "eq", "value": "high"}]}
    detail = client.get(f"/segments/{segment.pk}/").content.decode()
    assert computed.loyal.name in detail
    assert computed.loyal.name in client.get("/segments/").content.decode() or "高价值" in client.get(
        "/segments/").content.decode()


def test_builder_parses_lists_numbers_and_purchases(org, computed):
    client = client_for(org.admin)
    form = {"name": "Tea lovers", "match": "any",
            "field_0": "stage", "op_0": "in", "value_0": "new，won_back",
            "field_1": "bought_category", "op_1": "in_last_days", "value_1": "tea", "days_1": "30",
            "field_2": "r_score", "op_2": "between", "value_2": "4, 5"}
    assert client.post("/segments/new/", form).status_code == 302
    rule = Segment.objects.get().rule
    assert rule == {"any": [
        {"field": "stage", "op": "in", "value": ["new", "won_back"]},
        {"field": "bought_category", "op": "in_last_days", "value": {"category": "tea", "days": 30}},
        {"field": "r_score", "op": "between", "value": [4, 5]}]}


def test_builder_refuses_a_bad_rule_without_saving(org, computed):
    client = client_for(org.admin)
    response = client.post("/segments/new/", {"name": "x", "match": "all", "field_0": "r_score", "op_0": "gte",
                                              "value_0": "9"})
    assert response.status_code == 422
    response = client.post("/segments/new/", {"name": "x", "match": "all", "advanced": "{not json"})
    assert response.status_code == 422
    assert not Segment.objects.exists()


def test_edit_with_a_stale_version_is_refused(org, computed):
    segment = services.create_segment(by=org.admin, name="All", rule={"all": []})
    client = client_for(org.admin)
    ok = client.post(f"/segments/{segment.pk}/", {"name": "Everyone", "match": "all", "version": 1})
    assert ok.status_code == 302
    stale = client.post(f"/segments/{segment.pk}/", {"name": "Stale", "match": "all", "version": 1})
    assert stale.status_code == 422
    assert Segment.objects.get().name == "Everyone"


def test_segment_pages_permissions(org, computed):
    segment = services.create_segment(by=org.admin, name="All", rule={"all": []})
    agent = client_for(org.agent)
    assert agent.get("/segments/").status_code == 403
    assert agent.get(f"/segments/{segment.pk}/").status_code == 404
    executive = client_for(org.exec)
    assert executive.get(f"/segments/{segment.pk}/").status_code == 200
    assert executive.get("/segments/new/").status_code == 403
    assert executive.post(f"/segments/{segment.pk}/delete/").status_code == 403
    assert client_for(org.admin).post(f"/segments/{segment.pk}/delete/").status_code == 302
    assert not Segment.objects.exists()


def test_customer_value_panel(org, computed, django_assert_max_num_queries):
    client = client_for(org.agent)
    with django_assert_max_num_queries(12):
        response = client.get(f"/customers/{computed.fresh.pk}/value/")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="next-best"' in page and "龙井" in page
    # Sales East's lapsed customer: in every agent's sight (decision 0008), not in another sales team's.
    assert client.get(f"/customers/{computed.lapsed.pk}/value/").status_code == 200
    assert client_for(org.east_rep).get(f"/customers/{computed.lapsed.pk}/value/").status_code == 404


def test_builder_and_dashboard_speak_chinese(org, computed):
    client = client_for(org.admin)
    zh = {"accept-language": "zh-hans"}
    builder = client.get("/segments/new/", headers=zh).content.decode()
    assert "新建客户分群" in builder and "最近 … 天内" in builder
    dashboard = client.get("/value/", headers=zh).content.decode()
    assert "价值分层与生命周期" in dashboard and "冠军客户" in dashboard
    bad = client.post("/segments/preview/", {"match": "all", "field_0": "tier", "op_0": "eq", "value_0": "gold"},
                      headers={**zh, "HX-Request": "true"}).content.decode()
    assert "应为以下之一" in bad
