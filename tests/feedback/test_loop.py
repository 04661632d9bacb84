"""Closing the loop: one follow-up ticket per unhappy answer; the agent's reply closes it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopcrm.feedback import queries, services
from loopcrm.feedback.models import FollowUp, SurveyKind
from loopcrm.service.models import Ticket, TicketMessage
from tests.feedback.conftest import make_survey
from tests.feedback.test_metrics import answered

tickets = pytest.importorskip("loopcrm.service.services.tickets")
if not hasattr(tickets, "open_ticket"):
    pytest.skip("the service desk's open_ticket is not there yet", allow_module_level=True)


def test_a_detractor_opens_one_follow_up_ticket(org, customer, nps_survey):
    response = answered(nps_survey, customer, 3, comment="送货太慢，客服也不理人")
    follow_up = FollowUp.objects.get()
    assert follow_up.reason == FollowUp.Reason.DETRACTOR and follow_up.ticket is not None
    assert follow_up.ticket.customer == customer
    # Asking again never opens a second one.
    assert services.follow_up_response(response).pk == follow_up.pk
    assert FollowUp.objects.count() == 1
    assert Ticket.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("kind, score, reason", [
    (SurveyKind.CSAT, 2, "low_csat"), (SurveyKind.CES, 5, "high_effort"), (SurveyKind.NPS, 9, None),
    (SurveyKind.CSAT, 3, None), (SurveyKind.CES, 4, None),
])
def test_which_answers_need_a_follow_up(org, customer, kind, score, reason):
    survey = make_survey(org.admin, kind)
    answered(survey, customer, score)
    assert list(FollowUp.objects.values_list("reason", flat=True)) == ([reason] if reason else [])


def test_strongly_negative_feedback_opens_a_follow_up(org, customer):
    services.record_feedback(text="客服态度恶劣，还骂人，太过分了，再也不会来了", channel="phone", customer=customer,
                             by=org.agent)
    assert FollowUp.objects.get().reason == FollowUp.Reason.NEGATIVE_COMMENT


def test_the_agents_reply_closes_the_loop(org, customer, nps_survey):
    answered(nps_survey, customer, 2)
    follow_up = FollowUp.objects.get()
    filters = queries.MetricFilter(since=timezone.now() - dt.timedelta(days=1))
    assert queries.loop_metrics(org.admin, filters).closed == 0
    TicketMessage.objects.create(ticket=follow_up.ticket, kind=TicketMessage.Kind.REPLY, author=org.agent,
                                 body="您好，已安排师傅明天上门",
                                 created_at=follow_up.opened_at + dt.timedelta(hours=3))
    loop = queries.loop_metrics(org.admin, filters)
    assert (loop.opened, loop.closed, loop.rate) == (1, 1, 100.0)
    assert loop.median_hours == pytest.approx(3.0)
