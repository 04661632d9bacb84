"""The ticket page's satisfaction card: the answer about this ticket and the customer's latest, within scope."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from loopcrm.accounts.models import Role
from loopcrm.feedback.models import SurveyKind
from tests import factories
from tests.factories import signed_in
from tests.feedback.conftest import answered, make_survey


@pytest.fixture
def rated(org, settings):
    """A customer who rated CSAT 5 for a ticket the agent handled, and NPS 3 a week earlier for another."""
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    customer = factories.customer("李娜", email="li.na@example.com", department=org.service)
    now = timezone.now()
    earlier = answered(make_survey(org.admin, SurveyKind.NPS), customer, 3, agent=org.agent,
                       department=org.service, at=now - dt.timedelta(days=7), comment="等了太久")
    latest = answered(make_survey(org.admin, SurveyKind.CSAT), customer, 5, agent=org.agent,
                      department=org.service, at=now, comment="很快解决了，谢谢")
    return latest.invitation.ticket, earlier.invitation.ticket


def card(client, ticket) -> str:
    page = client.get(reverse("web:ticket_detail", args=[ticket.pk]))
    assert page.status_code == 200
    found = re.search(r'<section class="card"[^>]*id="ticket-satisfaction">.*?</section>', page.content.decode(), re.S)
    return found.group(0) if found else ""


def test_the_agent_sees_the_rating_of_this_ticket_and_the_customers_other_answers(org, rated):
    ticket, other = rated
    text = card(signed_in(org.agent), ticket)
    about_ticket, others = re.split(r"The customer(?:&#x27;|')s other answers", text)
    # This ticket: CSAT 5 of 5, shown as good, with the customer's words
    assert re.search(r'class="badge badge-success" data-metric="csat">CSAT 5/5<', about_ticket)
    assert "很快解决了，谢谢" in about_ticket and "NPS" not in about_ticket
    # The other answers: the detractor's NPS 3 a week earlier, about the other ticket (linked); not this one again
    assert re.search(r'class="badge badge-danger" data-metric="nps">NPS 3/10<', others)
    assert "Detractor" in others and f'href="{reverse("web:ticket_detail", args=[other.pk])}"' in others
    assert "等了太久" in others and "CSAT" not in others
    # And from the other ticket's page, the same two answers the other way round
    text = card(signed_in(org.agent), other)
    about_other, others = re.split(r"The customer(?:&#x27;|')s other answers", text)
    assert "NPS 3/10" in about_other and "CSAT 5/5" in others and "很快解决了，谢谢" in others


def test_a_ticket_not_yet_rated_says_so(org, rated):
    from loopcrm.service.models import Ticket

    ticket = Ticket.objects.create(subject="新问题", customer=rated[0].customer, assignee=org.agent,
                                   department=org.service, opened_at=timezone.now())
    text = card(signed_in(org.agent), ticket)
    assert "Not rated yet." in text
    assert text.index("CSAT 5/5") < text.index("NPS 3/10")  # the customer's other answers, newest first


def test_answers_follow_the_feedback_scope(org, rated):
    ticket, _other = rated
    # Another agent of the department may work the ticket, but sees answers about tickets they handled only
    colleague = factories.user("colleague", role=Role.AGENT, department=org.service)
    text = card(signed_in(colleague), ticket)
    assert text and "CSAT 5/5" not in text and "NPS 3/10" not in text
    # The team lead sees the department's answers
    assert "CSAT 5/5" in card(signed_in(org.lead), ticket)


def test_a_role_without_survey_answers_gets_no_card(org, rated):
    ticket, _other = rated
    ticket.assignee = factories.user("rep", role=Role.SALES, department=org.service)
    ticket.save(update_fields=["assignee"])
    client = signed_in(ticket.assignee)
    assert client.get(reverse("web:ticket_detail", args=[ticket.pk])).status_code == 200
    assert card(client, ticket) == ""


def test_the_card_reads_in_chinese(org, rated):
    ticket, _other = rated
    org.agent.language = "zh-hans"
    org.agent.save(update_fields=["language"])
    text = card(signed_in(org.agent), ticket)
    assert "关于此工单" in text and "贬损者" in text and "Not rated" not in text
