"""Demo voice of the customer: surveys, invitations and answers whose scores follow the service reality.

- CSAT after resolved tickets: the longer a ticket took to resolve, the lower the score (a ticket
  resolved within a working day mostly scores 4–5; one that took over three days mostly 1–3).
- CES after delivered orders: a delivery that took more than five days costs the customer effort.
- Relationship NPS every quarter for a sample of customers: customers with complaint tickets in
  the previous 90 days are far more often detractors.
Comments come in the customer's language (Chinese for customers in China, else English) and go
through the real text analysis. Survey fatigue (one survey per 30 days) and withdrawn survey consent
are respected. Recent detractors open follow-up tickets in the complaints queue, and most have the
agent's call back (the closed loop: the ticket's first response) and were resolved soon after. Runs
before the demo's SLA clocks and process steps, so follow-up tickets get theirs too. Everything is
bulk-inserted with the demo's timestamps.
"""

from __future__ import annotations

import datetime as dt
import random

from loopcrm.commerce.models import Order
from loopcrm.customers.models import Consent, Customer
from loopcrm.demo.bulk import Loader, explicit_timestamps
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.organisation import Staff
from loopcrm.demo.tickets import CLOSE_AFTER
from loopcrm.feedback import text as text_analysis
from loopcrm.feedback.models import (
    Answer,
    FollowUp,
    Invitation,
    Response,
    Survey,
    SurveyKind,
    TextAnalysis,
    TopicMention,
    Trigger,
)
from loopcrm.feedback.services import VersionTexts, create_survey
from loopcrm.feedback.services.loop import follow_up_subject, score_text
from loopcrm.service.models import Queue, Ticket, TicketEvent, TicketMessage
from loopcrm.service.services.events import event_row

FATIGUE = dt.timedelta(days=30)

COMMENTS = {
    ("zh", "negative"): [
        "等了好几天才有人处理，太慢了", "客服一直推来推去，问题拖了一个星期", "送货晚了三天，也没人通知我",
        "维修师傅迟迟不上门，非常失望", "退款到现在还没到账", "安装师傅迟到了两个小时，还多收了费用",
        "问题反复出现，修了两次还是不行", "电话一直占线，打了五次才接通", "快递把箱子摔坏了，冰箱门上有凹痕",
        "客服态度很差，说话很敷衍",
    ],
    ("zh", "neutral"): ["问题解决了，就是过程有点长", "还可以吧，速度一般", "整体还行，希望以后能快一点",
                        "送货准时，但是没有提前打电话"],
    ("zh", "positive"): [
        "客服很耐心，问题当天就解决了", "送货很快，师傅还帮忙搬上楼，非常满意", "安装师傅很专业，走线很整齐",
        "售后处理得很及时，点赞", "退款很快就到账了，谢谢", "服务周到，下次还会再来买",
    ],
    ("en", "negative"): [
        "It took days before anyone picked it up. Far too slow", "I was passed from one agent to another for a week",
        "Delivery was three days late and nobody told me", "The repair technician never showed up. Very disappointed",
        "Still waiting for my refund", "The installer was two hours late and charged extra",
        "The same fault came back after two repairs", "The hotline was always busy",
    ],
    ("en", "neutral"): ["Solved in the end, but it took a while", "It was ok. Average speed",
                        "Delivered on time but no call beforehand"],
    ("en", "positive"): [
        "The agent was patient and fixed it the same day", "Fast delivery and they carried it upstairs. Great",
        "Very professional installer, neat work", "Quick refund, thank you", "Helpful and friendly support",
    ],
}


def _survey(kind: str, trigger: str, name: str, en: str, zh: str, *, by, at: dt.datetime) -> Survey:
    return create_survey(name=name, kind=kind, trigger=trigger, by=by, publish=True, at=at,
                         texts=VersionTexts(title_en=en, title_zh=zh, thanks_en="Thank you for your feedback!",
                                            thanks_zh="感谢您的反馈！"))


def _sentiment_for(metric: str, score: int) -> str:
    if metric == "nps":
        return "negative" if score <= 6 else "neutral" if score <= 8 else "positive"
    if metric == "csat":
        return "negative" if score <= 2 else "neutral" if score == 3 else "positive"
    return "negative" if score >= 5 else "neutral" if score == 4 else "positive"  # ces


def _csat_for(rng: random.Random, hours: float) -> int:
    if hours <= 24:
        weights = (2, 3, 8, 35, 52)
    elif hours <= 72:
        weights = (6, 10, 22, 36, 26)
    else:
        weights = (24, 26, 24, 17, 9)
    return rng.choices(range(1, 6), weights=weights)[0]


def _nps_for(rng: random.Random, complained: bool) -> int:
    weights = (6, 3, 4, 5, 5, 7, 10, 14, 14, 14, 18) if complained else (1, 1, 1, 1, 2, 3, 5, 12, 20, 24, 30)
    return rng.choices(range(11), weights=weights)[0]


def _ces_for(rng: random.Random, transit_days: float) -> int:
    weights = (8, 10, 14, 18, 20, 18, 12) if transit_days > 5 else (34, 28, 16, 10, 6, 4, 2)
    return rng.choices(range(1, 8), weights=weights)[0]


class _Writer:
    """Collects the rows of one batch of answers and writes them with bulk inserts."""

    def __init__(self, loader: Loader, rng: random.Random) -> None:
        self.loader, self.rng = loader, rng
        self.surveyed: dict[int, list[dt.datetime]] = {}
        self.invitations: list[Invitation] = []
        self.plans: list[tuple] = []

    def may(self, customer_id: int, at: dt.datetime, opted_out: set[int]) -> bool:
        if customer_id in opted_out:
            return False
        moments = self.surveyed.setdefault(customer_id, [])
        if any(abs(at - moment) < FATIGUE for moment in moments):
            return False
        moments.append(at)
        return True

    def add(self, survey: Survey, customer: Customer, *, sent_at: dt.datetime, answer_rate: float,
            metric: str, score: int, trigger: str, ticket: Ticket | None = None, order: Order | None = None,
            touchpoint: str = "", now: dt.datetime) -> None:
        version = survey.current_version
        answered = self.rng.random() < answer_rate
        answered_at = sent_at + dt.timedelta(hours=self.rng.uniform(0.5, 60)) if answered else None
        if answered_at is not None and answered_at >= now:
            answered, answered_at = False, None
        language = "zh-hans" if customer.country in ("", "CN") else "en"
        invitation = Invitation(
            survey=survey, version=version, customer=customer, channel="email", language=language,
            status=Invitation.Status.ANSWERED if answered else Invitation.Status.SENT, trigger=trigger,
            ticket=ticket, order=order, agent_id=getattr(ticket, "assignee_id", None),
            department_id=getattr(ticket, "department_id", None), touchpoint=touchpoint,
            send_after=sent_at, sent_at=sent_at, expires_at=sent_at + dt.timedelta(days=survey.valid_days),
            reminded_at=sent_at + dt.timedelta(days=3) if not answered and self.rng.random() < 0.8 else None,
            opened_at=answered_at or (sent_at + dt.timedelta(hours=5) if self.rng.random() < 0.3 else None),
            answered_at=answered_at, created_at=sent_at - dt.timedelta(hours=survey.delay_hours),
        )
        self.invitations.append(invitation)
        self.plans.append((invitation, metric, score, answered_at, language, ticket))


def load_feedback(loader: Loader, *, staff: Staff, calendar: DemoCalendar, seed: int) -> None:
    """Surveys, invitations, answers, comments and follow-ups (see the module docstring)."""
    rng = random.Random(f"{seed}/feedback")
    now = calendar.now
    admin = next(iter(staff.users.values()), None)
    csat = _survey(SurveyKind.CSAT, Trigger.TICKET_RESOLVED, "服务满意度 Service CSAT", "How did we do?",
                   "您对这次服务满意吗？", by=admin, at=calendar.start)
    ces = _survey(SurveyKind.CES, Trigger.ORDER_DELIVERED, "配送费力度 Delivery effort",
                  "Was receiving your order easy?", "收货过程是否轻松？", by=admin, at=calendar.start)
    nps = _survey(SurveyKind.NPS, Trigger.RELATIONSHIP, "季度净推荐值 Quarterly NPS",
                  "Would you recommend us?", "您会向朋友推荐我们吗？", by=admin, at=calendar.start)
    opted_out = set(Consent.objects.filter(purpose=Consent.Purpose.SURVEYS, status=Consent.Status.WITHDRAWN)
                    .values_list("customer_id", flat=True))
    writer = _Writer(loader, rng)

    tickets = (Ticket.objects.filter(resolved_at__isnull=False, resolved_at__lt=now - dt.timedelta(days=1))
               .select_related("customer").order_by("resolved_at"))
    complained: dict[int, list[dt.datetime]] = {}
    for ticket in tickets:
        complained.setdefault(ticket.customer_id, []).append(ticket.opened_at)
        sent_at = ticket.resolved_at + dt.timedelta(hours=csat.delay_hours)
        if rng.random() > 0.6 or not writer.may(ticket.customer_id, sent_at, opted_out):
            continue
        hours = (ticket.resolved_at - ticket.opened_at).total_seconds() / 3600
        writer.add(csat, ticket.customer, sent_at=sent_at, answer_rate=0.38, metric="csat",
                   score=_csat_for(rng, hours), trigger=Trigger.TICKET_RESOLVED, ticket=ticket, now=now)

    orders = (Order.objects.filter(status=Order.Status.DELIVERED, delivered_at__isnull=False,
                                   delivered_at__gte=now - dt.timedelta(days=240), delivered_at__lt=now)
              .select_related("customer").order_by("delivered_at"))
    for order in orders:
        sent_at = order.delivered_at + dt.timedelta(hours=ces.delay_hours)
        if rng.random() > 0.25 or not writer.may(order.customer_id, sent_at, opted_out):
            continue
        transit = (order.delivered_at - order.placed_at).total_seconds() / 86400
        writer.add(ces, order.customer, sent_at=sent_at, answer_rate=0.3, metric="ces", score=_ces_for(rng, transit),
                   trigger=Trigger.ORDER_DELIVERED, order=order, touchpoint="delivery", now=now)

    customers = list(Customer.objects.filter(merged_into__isnull=True).exclude(email="").order_by("id"))
    for quarter in range(8):
        when = now - dt.timedelta(days=90 * quarter + 10)
        for customer in rng.sample(customers, k=min(len(customers), max(1, len(customers) // 12))):
            sent_at = when + dt.timedelta(hours=rng.uniform(0, 72))
            if not writer.may(customer.pk, sent_at, opted_out):
                continue
            recent = any(dt.timedelta(0) <= sent_at - opened <= dt.timedelta(days=90)
                         for opened in complained.get(customer.pk, []))
            writer.add(nps, customer, sent_at=sent_at, answer_rate=0.22, metric="nps", score=_nps_for(rng, recent),
                       trigger=Trigger.RELATIONSHIP, now=now)

    loader.insert(writer.invitations)
    _answers(loader, writer, rng, now=now, surveys={"csat": csat, "ces": ces, "nps": nps})
    loader.say(f"{len(writer.invitations):,} survey invitations, "
               f"{sum(1 for plan in writer.plans if plan[3]):,} answered")


def _answers(loader: Loader, writer: _Writer, rng: random.Random, *, now: dt.datetime, surveys: dict) -> None:
    questions = {metric: list(survey.current_version.questions.all()) for metric, survey in surveys.items()}
    responses, plans = [], []
    for invitation, metric, score, answered_at, language, ticket in writer.plans:
        if answered_at is None:
            continue
        lang = "zh" if language == "zh-hans" else "en"
        mood = _sentiment_for(metric, score)
        comment = rng.choice(COMMENTS[(lang, mood)]) if rng.random() < 0.55 else ""
        responses.append(Response(
            invitation=invitation, survey=invitation.survey, version=invitation.version, customer=invitation.customer,
            is_complete=True, started_at=answered_at, answered_at=answered_at, language=language,
            comment=comment, agent_id=invitation.agent_id, department_id=invitation.department_id,
            category_id=getattr(ticket, "category_id", None), channel=getattr(ticket, "channel", "") or "email",
            touchpoint=invitation.touchpoint, **{metric: score},
            organisation=invitation.customer if invitation.customer.kind == Customer.Kind.ORGANISATION else None,
        ))
        plans.append((metric, score, comment))
    loader.insert(responses)
    answers, commented = [], []
    for response, (metric, score, comment) in zip(responses, plans, strict=True):
        rating_question, comment_question = questions[metric][:2]
        answers.append(Answer(response=response, question=rating_question, number=score))
        if comment:
            answer = Answer(response=response, question=comment_question, text=comment)
            answers.append(answer)
            commented.append((answer, response))
    loader.insert(answers)
    analyses, results = [], []
    for answer, response in commented:
        result = text_analysis.analyse(answer.text)
        analyses.append(TextAnalysis(
            source=TextAnalysis.Source.SURVEY, answer=answer, customer=response.customer, agent_id=response.agent_id,
            department_id=response.department_id, at=response.answered_at, text=answer.text,
            channel=response.channel, touchpoint=response.touchpoint, language=result.language,
            tokens=result.tokens, keywords=result.keywords, topics=result.topics, sentiment=result.sentiment,
            score=result.score, category=result.category))
        results.append(result)
    loader.insert(analyses, audited=False)
    loader.insert([TopicMention(analysis=row, topic=topic, customer=row.customer, at=row.at,
                                negative=row.sentiment == "negative")
                   for row, result in zip(analyses, results, strict=True) for topic in result.topics], audited=False)
    _follow_ups(loader, responses, rng, now=now)


def _follow_ups(loader: Loader, responses: list[Response], rng: random.Random, *, now: dt.datetime) -> None:
    """Detractors, low CSAT and high effort of the last 60 days get a follow-up ticket in the complaints queue,
    titled as the service titles it. Most were called back (the loop's closure: the ticket's first response,
    by a member of the queue); most of those were resolved a few hours later, and closed a week after."""
    def unhappy(r: Response) -> bool:
        return (r.nps is not None and r.nps <= 6) or (r.csat is not None and r.csat <= 2) or (
            r.ces is not None and r.ces >= 5)

    queue = Queue.objects.filter(code="complaints").first()
    members = list(queue.members.order_by("pk")) if queue else []
    recent = [r for r in responses if r.answered_at >= now - dt.timedelta(days=60) and unhappy(r)]
    follow_ups, tickets, replies = [], [], []  # replies: the ticket's messages (the answer, then the call back)
    for response in recent:
        reason = "detractor" if response.nps is not None else "low_csat" if response.csat is not None else "high_effort"
        subject, _label = follow_up_subject(reason, score_text(response, reason), response.customer.name)
        ticket = Ticket(subject=subject, description=response.comment, kind=Ticket.Kind.COMPLAINT,
                        status=Ticket.Status.NEW, priority=Ticket.Priority.HIGH, channel="other",
                        customer=response.customer, department_id=queue.department_id if queue else None,
                        queue=queue, opened_at=response.answered_at)
        tickets.append(ticket)
        follow_ups.append(FollowUp(response=response, customer=response.customer, reason=reason, ticket=ticket,
                                   department_id=response.department_id, opened_at=response.answered_at))
    handled: dict[int, tuple] = {}  # index -> (agent, called back at, resolved at or None)
    for index, follow_up in enumerate(follow_ups):
        if members and rng.random() < 0.72:
            replied = follow_up.opened_at + dt.timedelta(hours=rng.lognormvariate(2.3, 0.9))
            resolved = replied + dt.timedelta(hours=rng.lognormvariate(1.5, 0.8))
            if replied < now:
                handled[index] = (rng.choice(members), replied, resolved if resolved < now else None)
    with explicit_timestamps(Ticket):
        for index, ticket in enumerate(tickets):
            ticket.created_at = ticket.updated_at = ticket.opened_at
            if index not in handled:
                continue
            agent, replied, resolved = handled[index]
            ticket.assignee, ticket.first_response_at = agent, replied
            ticket.status, ticket.updated_at = Ticket.Status.OPEN, replied
            if resolved is not None:
                ticket.status, ticket.resolved_at, ticket.updated_at = Ticket.Status.RESOLVED, resolved, resolved
                if resolved + CLOSE_AFTER < now:
                    ticket.status, ticket.closed_at = Ticket.Status.CLOSED, resolved + CLOSE_AFTER
                    ticket.updated_at = ticket.closed_at
        loader.insert(tickets)
    loader.insert(follow_ups)
    events = []
    for index, follow_up in enumerate(follow_ups):
        ticket = follow_up.ticket
        replies.append(TicketMessage(ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, channel="other",
                                     body=ticket.description or ticket.subject, created_at=ticket.opened_at))
        events.append(event_row(ticket.pk, TicketEvent.Kind.CREATED, by=None, at=ticket.opened_at,
                                new=Ticket.Status.NEW, data={"kind": ticket.kind, "channel": ticket.channel,
                                                             "priority": int(ticket.priority),
                                                             "follow_up": follow_up.reason}))
        if queue is not None:
            events.append(event_row(ticket.pk, TicketEvent.Kind.ROUTED, by=None, at=ticket.opened_at, field="queue",
                                    new=queue.pk, data={"queue_id": queue.pk, "department_id": queue.department_id,
                                                        "reasons": [f"Rule “{queue.name}” matched (follow-up)."]}))
        if index not in handled:
            continue
        agent, replied, resolved = handled[index]
        events.append(event_row(ticket.pk, TicketEvent.Kind.ASSIGNED, by=None, at=replied, field="assignee",
                                new=agent.pk, data={"new_name": str(agent), "how": "routing"}))
        replies.append(TicketMessage(ticket=ticket, kind=TicketMessage.Kind.REPLY, author=agent,
                                     body="您好，我们已了解您的情况，会尽快为您处理。", channel="phone",
                                     created_at=replied))
        events.append(event_row(ticket.pk, TicketEvent.Kind.REPLY, by=agent, at=replied))
        events.append(event_row(ticket.pk, TicketEvent.Kind.STATUS, by=agent, at=replied, field="status",
                                old=Ticket.Status.NEW, new=Ticket.Status.OPEN))
        if ticket.resolved_at is not None:
            events.append(event_row(ticket.pk, TicketEvent.Kind.STATUS, by=agent, at=ticket.resolved_at,
                                    field="status", old=Ticket.Status.OPEN, new=Ticket.Status.RESOLVED))
        if ticket.closed_at is not None:
            events.append(event_row(ticket.pk, TicketEvent.Kind.STATUS, by=None, at=ticket.closed_at,
                                    field="status", old=Ticket.Status.RESOLVED, new=Ticket.Status.CLOSED))
    loader.insert(replies, audited=False)
    loader.insert(events, audited=False)
