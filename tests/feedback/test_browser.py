"""A customer answers an NPS survey on a phone, in Chinese, in a real browser; the detractor's
follow-up ticket is opened (and shown in the agent's inbox once the service desk has that page)."""

from __future__ import annotations

import os

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

from loopcrm.feedback.models import FollowUp, Response
from tests.feedback.conftest import make_survey, sent_invitation
from tests.web.test_browser import chromium, open_page, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_customer_answers_nps_on_a_phone_in_chinese(org, live_server, open_page):  # noqa: F811
    from tests import factories

    customer = factories.customer("刘洋", owner=org.agent, email="liu.yang@example.com")
    survey = make_survey(org.admin, "nps")
    _invitation, token = sent_invitation(survey, customer, at=timezone.now())

    page = open_page(width=390, height=844, locale="zh-CN")
    page.goto(f"{live_server.url}/s/{token}/")
    expect(page.get_by_text("刘洋，您好：")).to_be_visible()
    expect(page.get_by_text("您有多大可能把我们推荐给朋友或同事？")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(page, "feedback-01-nps-phone-zh")

    page.locator("label").filter(has_text="3").first.click()
    page.locator("textarea").fill("安装师傅迟到了两个小时，客服也不回电话")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="感谢您的作答！")).to_be_visible()
    shot(page, "feedback-02-thanks-zh")

    response = Response.objects.get()
    assert (response.nps, response.language) == (3, "zh-hans")
    follow_up = FollowUp.objects.get()
    assert follow_up.ticket is not None and follow_up.ticket.customer == customer

    # The link is single-use: opening it again says so, in Chinese.
    page.goto(f"{live_server.url}/s/{token}/?lang=zh-hans")
    expect(page.get_by_text("此调查已经作答过了")).to_be_visible()

    try:
        inbox = reverse("web:ticket_inbox")
    except NoReverseMatch:
        return  # the service desk's inbox page is not there yet
    desk = open_page()
    sign_in(desk, live_server.url, "agent")
    desk.goto(f"{live_server.url}{inbox}?view=all")
    expect(desk.get_by_text(follow_up.ticket.subject).first).to_be_visible()
    shot(desk, "feedback-03-follow-up-in-inbox")


def test_the_agent_sees_the_rating_of_the_ticket_beside_it(org, live_server, open_page, settings):  # noqa: F811
    from tests import factories
    from tests.feedback.conftest import answered

    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    customer = factories.customer("刘洋", owner=org.agent, department=org.service)
    response = answered(make_survey(org.admin, "csat"), customer, 2, agent=org.agent, department=org.service,
                        comment="送货晚了三天")
    page = open_page()
    sign_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}{reverse('web:ticket_detail', args=[response.invitation.ticket_id])}")
    card = page.locator("#ticket-satisfaction")
    expect(card.locator("[data-metric=csat]").first).to_have_text("CSAT 2/5")
    expect(card.locator("[data-metric=csat]").first).to_have_class("badge badge-danger")
    expect(card).to_contain_text("送货晚了三天")
    shot(page, "ticket-satisfaction-card")
