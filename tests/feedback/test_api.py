"""The API of surveys, versions, sends, the public answer endpoint, feedback, needs and words."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from loopcrm.feedback.models import Invitation, Response, Survey, SurveyVersion, TextAnalysis
from loopcrm.feedback.services.invitations import make_token
from tests import factories
from tests.feedback.conftest import make_survey, sent_invitation

CUSTOM = {
    "name": "安装回访 Installation follow-up", "kind": "custom", "trigger": "order_delivered",
    "texts": {"title_en": "How was your installation?", "title_zh": "安装服务怎么样？"},
    "questions": [
        {"kind": "rating", "metric": "csat", "text_en": "Overall", "text_zh": "总体满意度",
         "labels": [{"value": "1", "en": "Bad", "zh": "差"}, {"value": "5", "en": "Great", "zh": "很好"}]},
        {"kind": "single", "text_en": "Did the installer arrive on time?", "text_zh": "师傅是否准时？",
         "choices": [{"value": "yes", "en": "Yes", "zh": "是"}, {"value": "no", "en": "No", "zh": "否"}]},
        {"kind": "multiple", "text_en": "What went well?", "text_zh": "哪些方面做得好？", "required": False,
         "choices": [{"value": "clean", "en": "Clean", "zh": "干净"}, {"value": "fast", "en": "Fast", "zh": "快"},
                     {"value": "polite", "en": "Polite", "zh": "礼貌"}]},
        {"kind": "text", "text_en": "Anything else?", "text_zh": "还有其他意见吗？", "required": False},
    ],
    "publish": True,
}


def test_admin_builds_a_custom_survey_and_a_customer_answers_it_through_the_api(org, api_as):
    admin = api_as("admin")
    created = admin.post("surveys", json=CUSTOM)
    assert created.status_code == 201, created.json()
    survey = Survey.objects.get(pk=created.json()["id"])
    versions = admin.get(f"surveys/{survey.pk}/versions").json()
    assert versions[0]["published_at"] and len(versions[0]["questions"]) == 4
    customer = factories.customer("陈静", email="chen.jing@example.com")
    sent = admin.post(f"surveys/{survey.pk}/send", json={"customer_ids": [customer.pk]}).json()
    assert sent[0]["status"] == "sent"
    token = make_token(Invitation.objects.get(pk=sent[0]["id"]))

    public = Client()  # no credentials at all
    shown = public.get(f"/api/v1/public/surveys/{token}", {"language": "zh-hans"}).json()
    assert shown["title"] == "安装服务怎么样？" and shown["greeting"] == "陈静"
    assert set(shown) == {"greeting", "title", "intro", "language", "questions", "answers"}
    q = [question["id"] for question in shown["questions"]]
    answer = public.post(f"/api/v1/public/surveys/{token}", data={"answers": {
        f"q{q[0]}": 5, f"q{q[1]}": "yes", f"q{q[2]}": ["clean", "polite"], f"q{q[3]}": "师傅很专业，走线整齐"},
        "language": "zh-hans"}, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"complete": True, "saved": 4}
    again = public.post(f"/api/v1/public/surveys/{token}", data={"answers": {f"q{q[0]}": 1}},
                        content_type="application/json")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    response = Response.objects.get()
    assert response.csat == 5 and response.answers.get(question_id=q[2]).choices == ["clean", "polite"]
    assert TextAnalysis.objects.get().sentiment == "positive"


def test_public_endpoint_errors_store_nothing(org, customer, nps_survey):
    _invitation, token = sent_invitation(nps_survey, customer, at=timezone.now())
    public = Client()
    assert public.get("/api/v1/public/surveys/" + "B" * 43).status_code == 404
    bad = public.post(f"/api/v1/public/surveys/{token}", data={"answers": {"q999999": 1}},
                      content_type="application/json")
    assert bad.status_code == 422
    big = public.post(f"/api/v1/public/surveys/{token}", data={"answers": {"q1": "x" * 3000}, "extra": 1},
                      content_type="application/json")
    assert big.status_code == 422
    assert not Response.objects.exists()


def test_published_versions_are_frozen_and_answers_keep_their_version(org, api_as, customer):
    admin = api_as("admin")
    survey = make_survey(org.admin, "nps")
    first_version = survey.current_version
    _invitation, token = sent_invitation(survey, customer, at=timezone.now())
    frozen = admin.put(f"surveys/{survey.pk}/versions/1", json={"texts": {"title_en": "x", "title_zh": "x"}})
    assert frozen.status_code == 409
    draft = admin.post(f"surveys/{survey.pk}/versions", json={
        "texts": {"title_en": "Would you recommend us?", "title_zh": "您愿意推荐我们吗？"}})
    assert draft.status_code == 201 and draft.json()["number"] == 2 and draft.json()["published_at"] is None
    assert admin.post(f"surveys/{survey.pk}/versions", json={}).status_code == 409  # one draft at a time
    assert admin.post(f"surveys/{survey.pk}/versions/2/publish").status_code == 200
    rating = first_version.questions.first()
    Client().post(f"/api/v1/public/surveys/{token}", data={"answers": {f"q{rating.pk}": 9}},
                  content_type="application/json")
    assert Response.objects.get().version == first_version  # the version it was sent
    survey.refresh_from_db()
    assert survey.current_version.number == 2 and SurveyVersion.objects.filter(survey=survey).count() == 2


@pytest.mark.parametrize("persona, status", [("agent", 403), ("lead", 403), ("exec", 403), ("admin", 201)])
def test_who_may_create_surveys(org, api_as, persona, status):
    before = Survey.objects.count()
    response = api_as(persona).post("surveys", json={**CUSTOM, "name": f"by {persona}"})
    assert response.status_code == status
    assert Survey.objects.count() == before + (1 if status == 201 else 0)


def test_an_agent_cannot_see_surveys(org, api_as):
    survey = make_survey(org.admin, "csat")
    assert api_as("agent").get("surveys").json() == []
    assert api_as("agent").get(f"surveys/{survey.pk}").status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"questions": [{"kind": "rating", "text_en": "x", "text_zh": "x", "scale_min": 3, "scale_max": 2}]},
     "questions.0"),
    ({"questions": [{"kind": "single", "text_en": "x", "text_zh": "x", "choices": []}]}, "questions.0.choices"),
    ({"questions": [{"kind": "video", "text_en": "x", "text_zh": "x"}]}, "questions.0.kind"),
    ({"name": ""}, "name"),
    ({"texts": {"title_en": "x"}}, "texts.title_zh"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_survey_input_names_the_field(org, api_as, change, field):
    response = api_as("admin").post("surveys", json={**CUSTOM, **change})
    assert response.status_code == 422
    assert any(error["field"].startswith(field) for error in response.json()["errors"]), response.json()
    assert not Survey.objects.exists()


def test_feedback_is_recorded_analysed_listed_and_ranked_as_needs(org, api_as):
    agent = api_as("agent")
    people = [factories.customer(f"客户{n}", owner=org.agent, department=org.service) for n in range(3)]
    texts = ["送货太慢了，等了一个星期", "快递员把箱子摔坏了，物流太差", "安装师傅很专业"]
    for person, text in zip(people, texts, strict=True):
        created = agent.post("feedback", json={"text": text, "channel": "phone", "customer_id": person.pk,
                                               "touchpoint": "delivery"})
        assert created.status_code == 201, created.json()
    body = created.json()
    assert body["analysis"]["language"] == "zh" and body["analysis"]["topics"][0] == "installation"
    listed = api_as("admin").get("feedback", sentiment="negative").json()["items"]
    assert {item["text"] for item in listed} == set(texts[:2])
    needs = api_as("admin").get("feedback/needs").json()
    assert needs[0]["topic"] == "delivery" and needs[0]["customers"] == 2
    assert needs[0]["verbatims_url"] == "/feedback/verbatims/?topic=delivery"
    words = {row["word"] for row in api_as("admin").get("feedback/words").json()}
    assert {"送货", "物流"} <= words and "了" not in words


@pytest.mark.parametrize("payload", [
    {"text": "", "channel": "phone"}, {"text": "x", "channel": "pigeon"}, {"text": "x" * 5001, "channel": "email"},
    {"text": "ok", "channel": "email", "rating": 6}, {"text": "ok\x00", "channel": "email"},
])
def test_bad_feedback_is_refused(org, api_as, payload):
    assert api_as("admin").post("feedback", json=payload).status_code == 422
    assert not TextAnalysis.objects.exists()
