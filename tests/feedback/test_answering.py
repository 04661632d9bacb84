"""The anonymous survey taker: token abuse answers a clear error and stores nothing; one answer counts once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loopcrm.core.errors import RuleViolation
from loopcrm.feedback import services
from loopcrm.feedback.models import Answer, Invitation, Response, SurveyKind, TextAnalysis
from loopcrm.feedback.services import answering
from loopcrm.feedback.services.invitations import make_token
from tests import factories
from tests.feedback.conftest import NOW, make_survey, sent_invitation


def questions(survey):
    return list(survey.current_version.questions.all())


def page(token: str) -> str:
    return reverse("web:survey_answer", args=[token])


def nothing_stored():
    return not Response.objects.exists() and not Answer.objects.exists() and not TextAnalysis.objects.exists()


@pytest.fixture
def sent(org, customer, nps_survey):
    invitation, token = sent_invitation(nps_survey, customer, at=timezone.now())
    rating, comment = questions(nps_survey)
    return invitation, token, rating, comment


def test_the_page_greets_and_reveals_nothing_else(sent, customer):
    invitation, token, _rating, _comment = sent
    response = Client().get(page(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "张伟" in html and "您会推荐我们吗？" in html
    assert customer.email not in html and customer.phone not in html
    invitation.refresh_from_db()
    assert invitation.opened_at is not None


def test_language_switch_shows_english(sent):
    _invitation, token, _rating, _comment = sent
    html = Client().get(page(token) + "?lang=en").content.decode()
    assert "How likely are you to recommend us" in html and 'lang="en"' in html


def test_answer_through_the_page_counts_once(sent, customer):
    _invitation, token, rating, comment = sent
    browser = Client(enforce_csrf_checks=True)
    form = browser.get(page(token))
    csrf = form.cookies["csrftoken"].value
    body = {"csrfmiddlewaretoken": csrf, f"q{rating.pk}": "9",
            f"q{comment.pk}": "送货很快，师傅很专业", "action": "submit", "lang": "zh-hans"}
    first = browser.post(page(token), body)
    second = browser.post(page(token), body)
    assert first.status_code == 200 and "感谢" in first.content.decode()
    assert second.status_code == 409 and "已经" in second.content.decode()
    response = Response.objects.get()
    assert (response.nps, response.is_complete, response.language) == (9, True, "zh-hans")
    assert Response.objects.count() == 1


def test_a_post_without_csrf_token_is_refused(sent):
    _invitation, token, rating, _comment = sent
    response = Client(enforce_csrf_checks=True).post(page(token), {f"q{rating.pk}": "3", "action": "submit"})
    assert response.status_code == 403
    assert nothing_stored()


@pytest.mark.parametrize("mangle", [
    lambda token: "not-a-token",
    lambda token: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # tampered
    lambda token: token + "x",
    lambda token: "A" * len(token),  # forged, well-formed
])
def test_invalid_or_tampered_token_answers_a_clear_error_and_stores_nothing(sent, mangle):
    _invitation, token, rating, _comment = sent
    client = Client()
    bad = mangle(token)
    assert client.get(page(bad)).status_code == 404
    response = client.post(page(bad), {f"q{rating.pk}": "2", "action": "submit"})
    assert response.status_code == 404
    assert "not valid" in response.content.decode() or "无效" in response.content.decode()
    assert nothing_stored()


def test_expired_token_is_gone(sent):
    invitation, token, rating, _comment = sent
    with pytest.raises(answering.ExpiredLink):
        services.save_answers(token, {f"q{rating.pk}": 10}, submit=True, at=invitation.sent_at + dt.timedelta(days=15))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().post(page(token), {f"q{rating.pk}": "10", "action": "submit"})
    assert response.status_code == 410
    assert "expired" in response.content.decode() or "过期" in response.content.decode()
    assert nothing_stored()


def test_reused_token_after_answering_is_refused(sent):
    _invitation, token, rating, _comment = sent
    services.save_answers(token, {f"q{rating.pk}": 10}, submit=True)
    with pytest.raises(answering.AlreadyAnswered):
        services.save_answers(token, {f"q{rating.pk}": 0}, submit=True)
    assert Response.objects.get().nps == 10


def test_another_customers_questions_cannot_be_answered_with_my_token(org, sent):
    _invitation, token, _rating, _comment = sent
    other_survey = make_survey(org.admin, SurveyKind.CSAT)
    someone = factories.customer("赵六", email="zhao@example.com")
    _other_invitation, other_token = sent_invitation(other_survey, someone, at=timezone.now())
    foreign = questions(other_survey)[0]
    with pytest.raises(RuleViolation):
        services.save_answers(token, {f"q{foreign.pk}": 1}, submit=False)
    assert nothing_stored()
    assert token != other_token


def test_a_scheduled_invitations_token_does_not_open(org, customer, nps_survey):
    invitation = services.invite(nps_survey, customer, trigger="manual", send_after=NOW + dt.timedelta(days=1))
    invitation.token_nonce = "x" * 32  # even guessing the nonce: not sent, no hash, no page
    assert Client().get(page(make_token(invitation))).status_code == 404


@pytest.mark.parametrize("value, message", [
    (11, "between 0 and 10"), (-1, "between 0 and 10"), ("ten", "rating"), (True, "rating"),
])
def test_out_of_scale_ratings_are_refused(sent, value, message):
    _invitation, token, rating, _comment = sent
    with pytest.raises(RuleViolation, match=message):
        services.save_answers(token, {f"q{rating.pk}": value}, submit=True)
    assert nothing_stored()


def test_oversized_answer_is_refused(sent):
    _invitation, token, rating, comment = sent
    with pytest.raises(RuleViolation, match="At most 2000"):
        services.save_answers(token, {f"q{rating.pk}": 5, f"q{comment.pk}": "慢" * 2001}, submit=True)
    assert nothing_stored()
    response = Client().post(page(token), {f"q{rating.pk}": "5", f"q{comment.pk}": "x" * 2001, "action": "submit"})
    assert response.status_code == 422
    assert nothing_stored()


def test_script_in_a_comment_is_stored_as_text_and_escaped(org, sent, api_as):
    _invitation, token, rating, comment = sent
    script = '<script>alert("x")</script> 客服态度很差'
    services.save_answers(token, {f"q{rating.pk}": 2, f"q{comment.pk}": script}, submit=True)
    assert Response.objects.get().comment == script
    client = Client()
    client.force_login(org.admin)
    html = client.get(reverse("web:verbatims")).content.decode()
    assert "&lt;" in html and "(&quot;x&quot;)" in html  # shown as text (keywords may be highlighted inside)
    assert "<script>alert" not in html and "<mark>script</mark>" in html


def test_partial_answers_are_kept_and_completed_later(sent):
    invitation, token, rating, comment = sent
    services.save_answers(token, {f"q{comment.pk}": "还没想好"}, submit=False)
    response = Response.objects.get()
    assert not response.is_complete and response.answers.count() == 1
    with pytest.raises(RuleViolation, match="Please answer"):
        services.save_answers(token, {}, submit=True)
    services.save_answers(token, {f"q{rating.pk}": "8"}, submit=True)
    response.refresh_from_db()
    assert response.is_complete and response.nps == 8 and response.comment == "还没想好"
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ANSWERED


def test_partial_save_through_the_page_is_shown_again(sent):
    _invitation, token, _rating, comment = sent
    client = Client()
    saved = client.post(page(token), {f"q{comment.pk}": "先写一半", "action": "save"})
    assert saved.status_code == 200
    assert "先写一半" in client.get(page(token)).content.decode()


def test_the_page_is_rate_limited(sent, settings):
    settings.LOOPCRM_SURVEY_RATE_LIMIT = (3, 300)
    _invitation, token, _rating, _comment = sent
    client = Client()
    responses = [client.get(page(token)) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    # Counted in the database, so every server process shares the count; the wait is what is left.
    assert 0 < int(responses[-1]["Retry-After"]) <= 300


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_count_once(org, customer, nps_survey):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers itself; the row lock is exercised on PostgreSQL")
    _invitation, token = sent_invitation(nps_survey, customer, at=timezone.now())
    rating = questions(nps_survey)[0]
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        barrier.wait()
        try:
            services.save_answers(token, {f"q{rating.pk}": 4}, submit=True)
            outcomes.append("ok")
        except answering.AlreadyAnswered:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert Response.objects.filter(is_complete=True).count() == 1
