"""Triggers and the one gate: consent, fatigue, sweeps that run twice, sending by real SMTP, one reminder."""

from __future__ import annotations

import datetime as dt

from loopcrm.core.choices import Channel
from loopcrm.customers.models import Consent
from loopcrm.feedback import services
from loopcrm.feedback.models import Invitation, SurveyKind, Trigger
from loopcrm.feedback.services import invitations
from loopcrm.service.models import Ticket
from tests import factories
from tests.feedback.conftest import NOW, make_survey, sent_invitation


def resolved_ticket(customer, agent, *, resolved_at=NOW, opened_at=None) -> Ticket:
    """A resolved ticket row (the service desk's own services are tested by its owners)."""
    return Ticket.objects.create(
        subject="冰箱不制冷", customer=customer, assignee=agent, department=agent.department, channel=Channel.PHONE,
        status=Ticket.Status.RESOLVED, opened_at=opened_at or resolved_at - dt.timedelta(hours=5),
        resolved_at=resolved_at,
    )


def withdraw(customer, channel=Channel.EMAIL, at=NOW - dt.timedelta(days=30)):
    return Consent.objects.create(customer=customer, channel=channel, purpose=Consent.Purpose.SURVEYS,
                                  status=Consent.Status.WITHDRAWN, at=at, method=Consent.Method.PHONE)


def test_resolved_ticket_sweep_schedules_after_the_delay_once(org, customer):
    survey = make_survey(org.admin, SurveyKind.CSAT, trigger=Trigger.TICKET_RESOLVED, delay_hours=24)
    ticket = resolved_ticket(customer, org.agent)

    assert services.invite_for_resolved_tickets(NOW + dt.timedelta(hours=1)) == 1
    assert services.invite_for_resolved_tickets(NOW + dt.timedelta(hours=2)) == 0  # a second sweep adds nothing

    invitation = Invitation.objects.get(ticket=ticket)
    assert invitation.survey == survey and invitation.status == Invitation.Status.SCHEDULED
    assert invitation.send_after == NOW + dt.timedelta(hours=24)
    assert (invitation.agent, invitation.department) == (org.agent, org.service)
    assert services.on_ticket_resolved(ticket, NOW)[0].pk == invitation.pk  # the direct hook is idempotent too


def test_nothing_is_sent_before_its_time_then_it_goes_by_smtp(org, customer, smtp, django_capture_on_commit_callbacks):
    make_survey(org.admin, SurveyKind.CSAT, trigger=Trigger.TICKET_RESOLVED, delay_hours=24)
    resolved_ticket(customer, org.agent)
    services.invite_for_resolved_tickets(NOW)

    assert services.send_due(NOW + dt.timedelta(hours=23)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due(NOW + dt.timedelta(hours=25)) == 1

    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.SENT and invitation.token_hash
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "zhang.wei@example.com"
    body = smtp.bodies()[0]
    assert invitations.public_link(invitations.make_token(invitation)) in body
    assert "张伟" in body  # the greeting


def test_order_delivered_sweep_invites_with_delivery_touchpoint(org, customer):
    make_survey(org.admin, SurveyKind.CES, trigger=Trigger.ORDER_DELIVERED, delay_hours=2)
    order = factories.order(customer, placed_at=NOW - dt.timedelta(days=3))
    order.delivered_at = NOW - dt.timedelta(hours=1)
    order.save()

    assert services.invite_for_delivered_orders(NOW) == 1
    assert services.invite_for_delivered_orders(NOW) == 0
    invitation = Invitation.objects.get(order=order)
    assert invitation.touchpoint == "delivery"
    assert invitation.send_after == order.delivered_at + dt.timedelta(hours=2)


def test_opted_out_customer_is_never_surveyed_by_any_trigger(org, customer, smtp, django_capture_on_commit_callbacks):
    withdraw(customer)
    csat = make_survey(org.admin, SurveyKind.CSAT, trigger=Trigger.TICKET_RESOLVED, delay_hours=0)
    relationship = make_survey(org.admin, SurveyKind.NPS, trigger=Trigger.RELATIONSHIP)
    resolved_ticket(customer, org.agent)

    services.invite_for_resolved_tickets(NOW)
    services.invite_relationship(relationship, NOW)
    services.send_to_customers(csat, [customer], by=org.admin, at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_due(NOW + dt.timedelta(days=1))

    rows = Invitation.objects.filter(customer=customer)
    assert rows.count() >= 2
    assert set(rows.values_list("status", "suppressed_reason")) == {(Invitation.Status.SUPPRESSED, "opted_out")}
    assert not rows.exclude(token_hash=None).exists()
    assert smtp.messages == []


def test_withdrawal_after_scheduling_stops_the_send(org, customer, smtp, django_capture_on_commit_callbacks):
    survey = make_survey(org.admin, SurveyKind.NPS)
    invitation = services.invite(survey, customer, trigger=Trigger.MANUAL, send_after=NOW + dt.timedelta(hours=1))
    withdraw(customer, at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_due(NOW + dt.timedelta(hours=2))
    invitation.refresh_from_db()
    assert (invitation.status, invitation.suppressed_reason) == (Invitation.Status.SUPPRESSED, "opted_out")
    assert smtp.messages == []


def test_a_regranted_consent_counts_again(org, customer):
    withdraw(customer, at=NOW - dt.timedelta(days=10))
    Consent.objects.create(customer=customer, channel=Channel.EMAIL, purpose=Consent.Purpose.SURVEYS,
                           status=Consent.Status.GRANTED, at=NOW - dt.timedelta(days=1), method=Consent.Method.WEB_FORM)
    assert services.may_survey(customer, channel=Channel.EMAIL, at=NOW) == ""


def test_fatigue_one_survey_per_period_across_surveys(org, customer, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 30
    nps = make_survey(org.admin, SurveyKind.NPS)
    csat = make_survey(org.admin, SurveyKind.CSAT)
    sent_invitation(nps, customer)

    second = services.invite(csat, customer, trigger=Trigger.MANUAL, send_after=NOW + dt.timedelta(days=10))
    assert (second.status, second.suppressed_reason) == (Invitation.Status.SUPPRESSED, "fatigue")

    later = services.invite(csat, customer, trigger=Trigger.MANUAL, send_after=NOW + dt.timedelta(days=31))
    assert later.status == Invitation.Status.SCHEDULED


def test_fatigue_period_is_configurable(org, customer, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 7
    nps = make_survey(org.admin, SurveyKind.NPS)
    csat = make_survey(org.admin, SurveyKind.CSAT)
    sent_invitation(nps, customer)
    assert services.invite(csat, customer, trigger=Trigger.MANUAL,
                           send_after=NOW + dt.timedelta(days=8)).status == Invitation.Status.SCHEDULED


def test_customer_without_email_is_not_invited_by_email(org):
    silent = factories.customer("李雷", email="")
    survey = make_survey(org.admin, SurveyKind.NPS)
    invitation = services.invite(survey, silent, trigger=Trigger.MANUAL, send_after=NOW)
    assert invitation.suppressed_reason == "no_address"


def test_one_reminder_only_and_not_after_an_answer(org, customer, smtp, django_capture_on_commit_callbacks):
    survey = make_survey(org.admin, SurveyKind.NPS, remind_after_days=3)
    other = factories.customer("王五", email="wang.wu@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        first, _token = sent_invitation(survey, customer)
        _second, token = sent_invitation(survey, other)
    services.save_answers(token, {f"q{survey.current_version.questions.first().pk}": 9}, submit=True,
                          at=NOW + dt.timedelta(days=1))
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders(NOW + dt.timedelta(days=2)) == 0  # too early
        assert services.send_reminders(NOW + dt.timedelta(days=4)) == 1
        assert services.send_reminders(NOW + dt.timedelta(days=5)) == 0  # only one

    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "zhang.wei@example.com"
    first.refresh_from_db()
    assert first.reminded_at == NOW + dt.timedelta(days=4)
    # The reminder carries the same link as the invitation.
    assert invitations.public_link(invitations.make_token(first)) in smtp.bodies()[0]


def test_manual_send_to_a_segment_skips_the_opted_out(org, api_as, settings):
    from loopcrm.value import services as value_services

    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 30
    survey = make_survey(org.admin, SurveyKind.NPS)
    willing = factories.customer("周杰", email="zhou@example.com")
    unwilling = factories.customer("吴磊", email="wu@example.com")
    withdraw(unwilling)
    segment = value_services.create_segment(by=org.admin, name="Everyone", rule={"all": []})

    sent = api_as("admin").post(f"surveys/{survey.pk}/send", json={"segment_id": segment.pk})
    assert sent.status_code == 200, sent.json()
    status = {row["customer_id"]: (row["status"], row["suppressed_reason"]) for row in sent.json()}
    assert status[willing.pk] == ("sent", "")
    assert status[unwilling.pk] == ("suppressed", "opted_out")


def test_the_periodic_task_runs_every_sweep(org, customer, smtp, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from loopcrm.feedback.tasks import feedback_sweep

    make_survey(org.admin, SurveyKind.CSAT, trigger=Trigger.TICKET_RESOLVED, delay_hours=0)
    resolved_ticket(customer, org.agent, resolved_at=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = feedback_sweep.enqueue().return_value
    assert result["tickets"] == 1 and result["sent"] == 1 and result["tickets_analysed"] == 1
    assert len(smtp.messages) == 1
