"""Staff pages: the survey builder with preview, survey detail and send, verbatims, words, needs, logging."""

from __future__ import annotations

import pytest
from django.test import Client

from loopcrm.feedback import services
from loopcrm.feedback.models import Invitation, Survey, TextAnalysis
from tests import factories
from tests.factories import signed_in
from tests.feedback.conftest import make_survey

BUILDER = {
    "name": "门店体验 Store visit", "kind": "custom", "trigger": "manual", "delay_hours": "24", "valid_days": "14",
    "remind_after_days": "3", "title_en": "Your store visit", "title_zh": "您的门店体验", "publish": "on",
    "q-0-kind": "rating", "q-0-metric": "csat", "q-0-text_en": "How satisfied are you?", "q-0-text_zh": "您满意吗？",
    "q-0-labels": "1 | Bad | 差\n5 | Great | 很好", "q-0-required": "1",
    "q-1-kind": "single", "q-1-text_en": "Which store?", "q-1-text_zh": "哪家门店？",
    "q-1-choices": "sh | Shanghai | 上海店\nbj | Beijing | 北京店", "q-1-required": "1",
    "q-2-kind": "text", "q-2-text_en": "Anything else?", "q-2-text_zh": "还有什么建议？",
}



def test_builder_previews_in_chinese_then_creates_a_published_survey(org):
    client = signed_in(org.admin)
    assert client.get("/surveys/new/?kind=nps").status_code == 200
    preview = client.post("/surveys/new/preview/", {**BUILDER, "preview_lang": "zh-hans"}, HTTP_HX_REQUEST="true")
    html = preview.content.decode()
    assert "您的门店体验" in html and "上海店" in html and "很好" in html
    assert not Survey.objects.exists()  # a preview saves nothing
    created = client.post("/surveys/new/", BUILDER)
    survey = Survey.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/surveys/{survey.pk}/"
    assert survey.current_version.questions.count() == 3
    detail = client.get(f"/surveys/{survey.pk}/").content.decode()
    assert "哪家门店？" in detail


def test_builder_shows_what_is_wrong_and_saves_nothing(org):
    response = signed_in(org.admin).post("/surveys/new/", {**BUILDER, "q-1-choices": "only one | x | 一"})
    assert response.status_code == 422
    assert "at least two options" in response.content.decode()
    assert not Survey.objects.exists()


def test_agents_may_not_build_surveys(org):
    client = signed_in(org.agent)
    assert client.get("/surveys/new/").status_code == 403
    assert client.post("/surveys/new/", BUILDER).status_code == 403
    assert client.get("/surveys/").status_code == 403
    assert not Survey.objects.exists()


def test_send_from_the_detail_page(org, customer):
    survey = make_survey(org.admin, "csat")
    response = signed_in(org.admin).post(f"/surveys/{survey.pk}/", {"customer_ids": f"{customer.pk}"})
    assert response.status_code == 302
    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_verbatims_words_and_needs_pages(org, django_assert_max_num_queries):
    people = [factories.customer(owner=org.agent) for _ in range(3)]
    texts = ["送货太慢了，物流太差", "快递员态度很差，送货还迟到", "The courier was late again"]
    for person, text in zip(people, texts, strict=True):
        services.record_feedback(text=text, channel="phone", customer=person, by=org.agent)
    client = signed_in(org.admin)
    with django_assert_max_num_queries(12):
        verbatims = client.get("/feedback/verbatims/?sentiment=negative&topic=delivery")
    html = verbatims.content.decode()
    assert verbatims.status_code == 200 and html.count('class="timeline-item verbatim"') == 3
    assert "<mark>" in html
    words = client.get("/feedback/words/").content.decode()
    assert "送货" in words and 'data-figure="fig-words"' in words
    with django_assert_max_num_queries(12):
        needs = client.get("/feedback/needs/")
    assert "/feedback/verbatims/?topic=delivery" in needs.content.decode()


def test_an_agent_logs_feedback_from_a_call(org, customer):
    client = signed_in(org.agent)
    response = client.post("/feedback/new/", {"customer_id": customer.pk, "channel": "phone",
                                              "touchpoint": "hotline", "text": "热水器安装后漏水，希望尽快上门"})
    assert response.status_code == 302
    assert TextAnalysis.objects.get().sentiment == "negative"
    bad = client.post("/feedback/new/", {"channel": "phone", "text": ""})
    assert bad.status_code == 422 and TextAnalysis.objects.count() == 1


@pytest.mark.parametrize("path", ["/feedback/", "/feedback/verbatims/", "/feedback/words/", "/feedback/needs/"])
def test_pages_need_a_feedback_scope(org, path):
    from loopcrm.accounts.models import Role

    sales = factories.user("sales1", role=Role.SALES, department=org.sales_east)
    assert signed_in(sales).get(path).status_code == 403
    assert Client().get(path).status_code == 302  # to the sign-in page


def test_dashboard_in_chinese(org, customer, nps_survey):
    client = signed_in(org.admin)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/feedback/"})
    html = client.get("/feedback/").content.decode()
    assert "客户满意度" in html and "回复率" in html
