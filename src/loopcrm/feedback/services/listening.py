"""Free text in: unsolicited feedback from any channel, and the analysis of every comment."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.errors import RuleViolation
from loopcrm.core.text import clean_text
from loopcrm.customers.models import Customer
from loopcrm.feedback import text as text_analysis
from loopcrm.feedback.models import Answer, Feedback, TextAnalysis, TopicMention
from loopcrm.service.models import Ticket

MAX_TEXT = 5000


def tier_of(customer: Customer | None) -> str:
    """The customer's value tier now ("high", "medium", "low"; "" when not scored yet)."""
    if customer is None:
        return ""
    from loopcrm.value.queries import tier_of as value_tier_of

    return value_tier_of(customer) or ""


def store_analysis(*, text: str, source: str, at: dt.datetime, customer: Customer | None, answer: Answer | None = None,
                   feedback: Feedback | None = None, ticket: Ticket | None = None, agent_id: int | None = None,
                   department_id: int | None = None, channel: str = "", touchpoint: str = "",
                   tier: str = "") -> TextAnalysis | None:
    """Analyse one text and keep the result with its topic mentions (nothing for empty text)."""
    if not text.strip():
        return None
    result = text_analysis.analyse(text)
    row = TextAnalysis.objects.create(
        source=source, answer=answer, feedback=feedback, ticket=ticket, customer=customer, agent_id=agent_id,
        department_id=department_id, at=at, text=text, channel=channel, touchpoint=touchpoint,
        language=result.language, tokens=result.tokens[:500], keywords=result.keywords, topics=result.topics,
        sentiment=result.sentiment, score=result.score, category=result.category, tier=tier,
    )
    TopicMention.objects.bulk_create([
        TopicMention(analysis=row, topic=topic, customer=customer, at=at,
                     negative=result.sentiment == TextAnalysis.Sentiment.NEGATIVE)
        for topic in result.topics
    ])
    return row


@transaction.atomic
def record_feedback(*, text: str, channel: str, by: User | None, customer: Customer | None = None,
                    rating: int | None = None, touchpoint: str = "", at: dt.datetime | None = None) -> Feedback:
    """Unsolicited feedback from any channel, analysed at once; a strongly negative one is followed up."""
    from loopcrm.feedback.services.loop import follow_up_feedback

    at = at or timezone.now()
    text = clean_text(text, field="text", max_length=MAX_TEXT)
    if not text:
        raise RuleViolation(_("Feedback needs some text."), field="text")
    if channel not in Channel.values:
        raise RuleViolation(_("Unknown channel."), field="channel")
    if touchpoint and touchpoint not in Touchpoint.values:
        raise RuleViolation(_("Unknown touchpoint."), field="touchpoint")
    if rating is not None and not 1 <= rating <= 5:
        raise RuleViolation(_("A rating is between 1 and 5."), field="rating")
    feedback = Feedback.objects.create(
        customer=customer, text=text, rating=rating, channel=channel, touchpoint=touchpoint, received_at=at,
        department=getattr(customer, "department", None), recorded_by=by if getattr(by, "pk", None) else None,
    )
    tier = tier_of(customer)
    store_analysis(text=text, source=TextAnalysis.Source.FEEDBACK, at=at, customer=customer, feedback=feedback,
                   department_id=feedback.department_id, channel=channel, touchpoint=touchpoint, tier=tier)
    audit.record(action="create", obj=feedback, by=by, at=at)
    follow_up_feedback(feedback, at=at)
    return feedback


def analyse_tickets(since: dt.datetime, *, until: dt.datetime | None = None, limit: int = 5000) -> int:
    """Analyse the subject and description of tickets opened since `since` (once each) for the needs list."""
    until = until or timezone.now()
    tickets = (Ticket.objects.filter(opened_at__gte=since, opened_at__lt=until, text_analysis__isnull=True)
               .order_by("opened_at")[:limit])
    count = 0
    for ticket in tickets:
        with transaction.atomic():
            store_analysis(text=f"{ticket.subject}\n{ticket.description}"[:MAX_TEXT],
                           source=TextAnalysis.Source.TICKET, at=ticket.opened_at, customer=ticket.customer,
                           ticket=ticket, agent_id=ticket.assignee_id, department_id=ticket.department_id,
                           channel=ticket.channel, tier=tier_of(ticket.customer))
        count += 1
    return count
