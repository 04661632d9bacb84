"""Closing the loop: an unhappy answer or comment opens ONE follow-up ticket; the agent's first public
reply on it is the loop's closure (read by queries.loop_metrics)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError
from loopcrm.feedback import text as text_analysis
from loopcrm.feedback.models import Feedback, FollowUp, Response, TextAnalysis
from loopcrm.service.models import Ticket

log = logging.getLogger(__name__)


def high_effort_from() -> int:
    """CES answers at or above this (of 7) count as high effort (LOOPCRM_CES_HIGH_EFFORT, default 5)."""
    return int(getattr(settings, "LOOPCRM_CES_HIGH_EFFORT", 5))


_UNKNOWN = object()


def reason_for_response(response: Response, *, comment_score: float | object | None = _UNKNOWN) -> str:
    """Why a complete response needs a follow-up ("" when it does not). `comment_score`: the lowest sentiment
    score of its comments when the caller has it (None: no comment)."""
    if response.nps is not None and response.nps <= 6:
        return FollowUp.Reason.DETRACTOR
    if response.csat is not None and response.csat <= 2:
        return FollowUp.Reason.LOW_CSAT
    if response.ces is not None and response.ces >= high_effort_from():
        return FollowUp.Reason.HIGH_EFFORT
    if comment_score is _UNKNOWN:
        comment_score = (TextAnalysis.objects.filter(answer__response=response).order_by("score")
                         .values_list("score", flat=True).first())
    if comment_score is not None and comment_score <= text_analysis.STRONGLY_NEGATIVE:
        return FollowUp.Reason.NEGATIVE_COMMENT
    return ""


def _open_ticket(**values) -> Ticket:
    """The service desk opens the ticket: routing picks the queue, the SLA policy sets the due times."""
    from loopcrm.service.services.tickets import open_ticket

    return open_ticket(**values)


def score_text(response: Response, reason: str) -> str:
    """The score behind `reason`, as the follow-up shows it ("NPS 3"); "" for a comment."""
    return {"detractor": f"NPS {response.nps}", "low_csat": f"CSAT {response.csat}",
            "high_effort": f"CES {response.ces}"}.get(reason, "")


def follow_up_subject(reason: str, score: str, customer_name: str) -> tuple[str, str]:
    """The follow-up ticket's subject and the reason's label, in the organisation's language."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(FollowUp.Reason(reason).label)
        subject = _("Follow up: %(reason)s %(score)s from %(customer)s") % {
            "reason": label, "score": score, "customer": customer_name}
    return subject[:200], label


def _create(follow_up: FollowUp, *, subject: str, description: str, at: dt.datetime) -> FollowUp:
    """Save the follow-up (once: unique per response / feedback) and open its ticket in the same transaction."""
    try:
        with transaction.atomic():
            follow_up.save()
    except IntegrityError:
        existing = FollowUp.objects.filter(response=follow_up.response) if follow_up.response_id else \
            FollowUp.objects.filter(feedback=follow_up.feedback)
        return existing.get()
    try:
        with transaction.atomic():
            ticket = _open_ticket(
                customer=follow_up.customer, subject=subject, description=description, kind=Ticket.Kind.COMPLAINT,
                channel=Channel.OTHER, department=follow_up.department, priority=Ticket.Priority.HIGH, by=None,
                at=at,
            )
    except DomainError as error:
        # The service desk refused (a rule of routing or intake): the follow-up stays, without a ticket, and
        # counts as "without ticket" in the loop metrics so a person picks it up.
        log.warning("follow-up %s: no ticket opened: %s", follow_up.pk, error.message)
        return follow_up
    follow_up.ticket = ticket
    follow_up.save(update_fields=["ticket"])
    return follow_up


def follow_up_response(response: Response, *, at: dt.datetime | None = None,
                       comment_score: float | object | None = _UNKNOWN, new: bool = False) -> FollowUp | None:
    """Open the follow-up ticket of a complete response that needs one (once, however often called).
    `new`: the response was completed in this transaction, so no follow-up can exist yet."""
    at = at or timezone.now()
    if not response.is_complete:
        return None
    if not new:
        existing = FollowUp.objects.filter(response=response).first()
        if existing is not None:
            return existing
    reason = reason_for_response(response, comment_score=comment_score)
    if not reason:
        return None
    score = score_text(response, reason)
    subject, _label = follow_up_subject(reason, score, response.customer.name)
    description = "\n".join(filter(None, [
        f"{response.survey.name} (v{response.version.number})", score, response.comment,
        f"ticket #{response.invitation.ticket_id}" if response.invitation.ticket_id else "",
    ]))
    department = response.department or response.customer.department
    return _create(FollowUp(response=response, customer=response.customer, reason=reason, department=department,
                            opened_at=at), subject=subject, description=description, at=at)


def follow_up_feedback(feedback: Feedback, *, at: dt.datetime | None = None) -> FollowUp | None:
    """Unsolicited feedback with a customer that is strongly negative (or rated 1) opens a follow-up ticket."""
    at = at or timezone.now()
    if feedback.customer_id is None:
        return None
    analysis = TextAnalysis.objects.filter(feedback=feedback).first()
    negative = analysis is not None and analysis.score <= text_analysis.STRONGLY_NEGATIVE
    if not negative and feedback.rating != 1:
        return None
    subject, _label = follow_up_subject(FollowUp.Reason.NEGATIVE_COMMENT, "", feedback.customer.name)
    return _create(FollowUp(feedback=feedback, customer=feedback.customer, reason=FollowUp.Reason.NEGATIVE_COMMENT,
                            department=feedback.department, opened_at=at),
                   subject=subject, description=feedback.text, at=at)
