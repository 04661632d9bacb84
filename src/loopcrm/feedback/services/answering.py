"""The anonymous survey taker: a link's token opens one invitation; answers are kept while partial
and counted once when submitted (row lock + one response per invitation)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.core.errors import Conflict, DomainError, NotFound, RuleViolation
from loopcrm.core.text import clean_text
from loopcrm.feedback.models import Answer, Invitation, Question, Response, TextAnalysis
from loopcrm.feedback.services import rollup
from loopcrm.feedback.services.invitations import token_hash
from loopcrm.feedback.services.listening import store_analysis, tier_of
from loopcrm.feedback.services.loop import follow_up_response

MAX_ANSWER_TEXT = 2000
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class InvalidLink(NotFound):
    """A token that names no invitation (mistyped, tampered, forged)."""


class ExpiredLink(DomainError):
    status = 410
    title = "Gone"


class AlreadyAnswered(Conflict):
    pass


def invitation_for_token(token: str, *, at: dt.datetime | None = None, lock: bool = False) -> Invitation:
    """The sent, unexpired, unanswered invitation a token opens; a clear error for anything else."""
    at = at or timezone.now()
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise InvalidLink(_("This survey link is not valid."), field="token")
    rows = Invitation.objects.select_related("survey", "version", "customer")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(token_hash=token_hash(token)).first()
    if invitation is None or invitation.status == Invitation.Status.SCHEDULED:
        raise InvalidLink(_("This survey link is not valid."), field="token")
    if invitation.status == Invitation.Status.ANSWERED or invitation.answered_at is not None:
        raise AlreadyAnswered(_("This survey has already been answered. Thank you!"), field="token")
    if invitation.expires_at is not None and invitation.expires_at <= at:
        raise ExpiredLink(_("This survey link has expired."), field="token")
    return invitation


def open_survey(token: str, *, at: dt.datetime | None = None) -> Invitation:
    """The invitation behind a link, marked opened the first time."""
    at = at or timezone.now()
    invitation = invitation_for_token(token, at=at)
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=at)
        invitation.opened_at = at
    return invitation


@dataclass(frozen=True)
class CleanAnswer:
    question: Question
    number: int | None
    choices: list[str]
    text: str


def _clean(question: Question, value: Any) -> CleanAnswer | None:
    field = f"q{question.pk}"
    if value is None or value == "" or value == []:
        return None
    if question.kind == Question.Kind.RATING:
        if isinstance(value, bool):
            raise RuleViolation(_("Choose a rating on the scale."), field=field)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise RuleViolation(_("Choose a rating on the scale."), field=field) from None
        if not question.scale_min <= number <= question.scale_max:
            raise RuleViolation(_("Choose a rating between %(low)d and %(high)d.")
                                % {"low": question.scale_min, "high": question.scale_max}, field=field)
        return CleanAnswer(question, number, [], "")
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        values = value if isinstance(value, list) else [value]
        allowed = {c["value"] for c in question.choices}
        chosen = [str(v) for v in values]
        if any(v not in allowed for v in chosen) or len(set(chosen)) != len(chosen):
            raise RuleViolation(_("Choose among the options given."), field=field)
        if question.kind == Question.Kind.SINGLE and len(chosen) > 1:
            raise RuleViolation(_("Choose one option."), field=field)
        return CleanAnswer(question, None, chosen, "")
    if not isinstance(value, str):
        raise RuleViolation(_("Write your answer as text."), field=field)
    text = clean_text(value, field=field, max_length=MAX_ANSWER_TEXT)
    return CleanAnswer(question, None, [], text) if text else None


def clean_answers(invitation: Invitation, raw: dict[str, Any], *,
                  questions: list[Question] | None = None) -> dict[int, CleanAnswer | None]:
    """Answers keyed "q<id>" (or the id) checked against the invitation's own version; anything else refused."""
    by_id = {q.pk: q for q in (questions if questions is not None else invitation.version.questions.all())}
    cleaned: dict[int, CleanAnswer | None] = {}
    for key, value in raw.items():
        key = str(key)
        digits = key[1:] if key.startswith("q") else key
        if not digits.isdigit() or int(digits) not in by_id:
            raise RuleViolation(_("This survey has no such question."), field=key[:20])
        cleaned[int(digits)] = _clean(by_id[int(digits)], value)
    return cleaned


def _copy_metrics(response: Response, answers: list[Answer]) -> None:
    response.csat = response.nps = response.ces = None
    comments = []
    for answer in sorted(answers, key=lambda a: a.question.position):
        metric = answer.question.metric
        if metric and answer.number is not None and getattr(response, metric) is None:
            setattr(response, metric, answer.number)
        if answer.text:
            comments.append(answer.text)
    response.comment = "\n".join(comments)[:MAX_ANSWER_TEXT * 2]


def save_answers(token: str, raw: dict[str, Any], *, submit: bool, language: str = "",
                 at: dt.datetime | None = None) -> Response:
    """Keep the answers given so far; with `submit`, check required ones and count the response (once)."""
    at = at or timezone.now()
    with transaction.atomic():
        invitation = invitation_for_token(token, at=at, lock=True)  # the row lock serialises double submits
        questions = list(invitation.version.questions.all())
        cleaned = clean_answers(invitation, raw, questions=questions)
        response, _created = Response.objects.get_or_create(
            invitation=invitation,
            defaults={"survey": invitation.survey, "version": invitation.version, "customer": invitation.customer,
                      "started_at": at, "language": language or invitation.language},
        )
        for question_id, answer in cleaned.items():
            if answer is None:
                Answer.objects.filter(response=response, question_id=question_id).delete()
                continue
            Answer.objects.update_or_create(response=response, question_id=question_id, defaults={
                "number": answer.number, "choices": answer.choices, "text": answer.text})
        by_id = {q.pk: q for q in questions}
        answers = list(response.answers.all())
        for answer in answers:
            answer.question = by_id[answer.question_id]
        if not submit:
            if language:
                response.language = language
                response.save(update_fields=["language"])
            return response
        missing = [q for q in questions if q.required and q.pk not in {a.question_id for a in answers}]
        if missing:
            raise RuleViolation(_("Please answer: %(question)s") % {"question": missing[0].text(language or "en")},
                                field=f"q{missing[0].pk}")
        _complete(response, invitation, answers, language=language, at=at)
    return response


def _complete(response: Response, invitation: Invitation, answers: list[Answer], *, language: str,
              at: dt.datetime) -> None:
    ticket = invitation.ticket
    _copy_metrics(response, answers)
    response.is_complete = True
    response.answered_at = at
    response.language = language or response.language
    response.agent_id = invitation.agent_id
    response.department_id = invitation.department_id
    response.category_id = getattr(ticket, "category_id", None)
    response.channel = getattr(ticket, "channel", "") or invitation.channel
    response.touchpoint = invitation.touchpoint
    response.tier = tier_of(invitation.customer)
    customer = invitation.customer
    if customer.kind == customer.Kind.ORGANISATION:
        response.organisation = customer
    response.save()
    invitation.status = Invitation.Status.ANSWERED
    invitation.answered_at = at
    invitation.save(update_fields=["status", "answered_at"])
    rollup.count_response(response)
    rollup.count_invitation(invitation, answered=1)
    lowest = None
    for answer in answers:
        if answer.text:
            row = store_analysis(text=answer.text, source=TextAnalysis.Source.SURVEY, at=at, customer=customer,
                                 answer=answer, agent_id=response.agent_id, department_id=response.department_id,
                                 channel=response.channel, touchpoint=response.touchpoint, tier=response.tier)
            if row is not None and (lowest is None or row.score < lowest):
                lowest = row.score
    follow_up_response(response, at=at, comment_score=lowest, new=True)
