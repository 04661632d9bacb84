"""Fixtures of voice-of-the-customer stories: published surveys, a real SMTP server, sent invitations."""

from __future__ import annotations

import datetime as dt
import socket
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.utils import timezone

from loopcrm.feedback import services
from loopcrm.feedback.models import Invitation, Survey, SurveyKind, Trigger
from loopcrm.feedback.services.invitations import make_token
from loopcrm.service.models import Ticket
from tests import factories

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def bodies(self) -> list[str]:
        out = []
        for message in self.messages:
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    out.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
        return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) on localhost; Django sends to it."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def make_survey(by, kind: str = SurveyKind.NPS, *, trigger: str = Trigger.MANUAL, **extra) -> Survey:
    titles = {"nps": ("How likely are you to recommend us?", "您会推荐我们吗？"),
              "csat": ("How did we do?", "您对这次服务满意吗？"),
              "ces": ("Was it easy?", "办理是否轻松？"), "custom": ("Tell us more", "告诉我们更多")}
    en, zh = titles[kind]
    return services.create_survey(name=f"{kind.upper()} survey", kind=kind, trigger=trigger, by=by, publish=True,
                                  texts=services.VersionTexts(title_en=en, title_zh=zh), at=NOW, **extra)


@pytest.fixture
def nps_survey(org) -> Survey:
    return make_survey(org.admin, SurveyKind.NPS)


@pytest.fixture
def customer(org):
    return factories.customer("张伟", owner=org.agent, email="zhang.wei@example.com")


def sent_invitation(survey: Survey, customer, *, at: dt.datetime = NOW, **source) -> tuple[Invitation, str]:
    """An invitation scheduled and sent at `at`; returns it with its link token."""
    invitation = services.invite(survey, customer, trigger=Trigger.MANUAL, send_after=at, at=at, **source)
    invitation = services.invitations.send_invitation(invitation, at=at)
    assert invitation.status == Invitation.Status.SENT, invitation.suppressed_reason
    return invitation, make_token(invitation)


def now() -> dt.datetime:
    return timezone.now()


def answered(survey, customer, score, *, agent=None, department=None, at=None, comment=""):
    """One complete answer, given through the token as a customer would."""
    at = at or timezone.now()
    ticket = None
    if agent is not None:
        ticket = Ticket.objects.create(subject="咨询", customer=customer, assignee=agent, department=department,
                                       status=Ticket.Status.RESOLVED, opened_at=at - dt.timedelta(days=1),
                                       resolved_at=at - dt.timedelta(hours=2))
    invitation = services.invite(survey, customer, trigger=Trigger.MANUAL, send_after=at - dt.timedelta(hours=1),
                                 at=at - dt.timedelta(hours=1),
                                 source=services.invitations.Source(ticket=ticket))
    assert invitation.status == Invitation.Status.SCHEDULED, invitation.suppressed_reason
    invitation = services.invitations.send_invitation(invitation, at=at - dt.timedelta(hours=1))
    token = services.invitations.make_token(invitation)
    rating, comment_question = survey.current_version.questions.all()[:2]
    answers = {f"q{rating.pk}": score}
    if comment:
        answers[f"q{comment_question.pk}"] = comment
    return services.save_answers(token, answers, submit=True, at=at)
