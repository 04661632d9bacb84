"""A small service desk, hand-built, whose every KPI is worked out by hand in the comments.

The week of Monday 2 March 2026, Asia/Shanghai. Rows are written directly (like tests.factories), with
milestones set where the ticket services would set them; SLA policies come from the SLA services.

Tickets (opened, first reply, resolved):
- t1 王芳 (agent, Service), 上海 customer c1, complaint by phone: 2 Mar 10:00, +30 min, +120 min.
- t2 王芳, c1, inquiry by email: 2 Mar 11:00, +90 min, +300 min; reopened once and resolved again.
- t3 Tom Baker (other_agent, Sales East), 北京 customer c2, complaint by phone repeating t1 (same customer
  in real life would be required; the flag is what counts): 4 Mar 09:00, +120 min, not resolved.
- t4 Tom Baker, c2, inquiry: 4 Mar 15:00, no reply.
Nothing on 3 March (a gap). Ticket volume 2, 0, 2; first response 60 (30, 90) on 2 Mar and 120 on 4 Mar,
80 over the week; resolution 210; reopen rate 1 of 2 resolved = 50 %; repeat complaints 1 of 2 = 50 %.

SLA clocks: t1 first response and resolution met on time, t2 first response met late, t3 first response
still running, t4 first response breached: 2 of 4 decided = 50 %.

Orders (paid/shipped/delivered count): c1 in January, c1 and c2 on 2 Mar, c3 twice on 4 Mar, and a cancelled
one on 4 Mar. In the week: 4 orders, 2 of them repeats (c1, c3's second) = 50 %; complaints 2 per 4 orders
= 500 ‰ (2 Mar: 1/2, 4 Mar: 1/2). Customers on the books: 8 (all created before the week): 250 ‰.

Answers: CSAT 5, 4, 2 → 2 of 3 = 66.7 %; NPS 10, 9, 7, 3 → (2 − 1) / 4 = 25; CES 2, 4 → 3.
Follow-ups: f1 on t1 opened 2 Mar 12:00, replied 12:30 (a reply at 10:30 came before and does not count):
closed in 30 min; f2 on t3 opened 4 Mar 10:00, never replied. Closed-loop rate 50 %, time 30 min.

Customer values (lapse 365 days): c5 first 2024-01-01, last 2025-03-05 (lapses on 5 Mar 2026); c6 active
(last 2025-12-01); c7 lapsed long ago (last 2024-12-01); c8 first order 3 Mar 2026 (CLV 1200, high), c4
first order 4 Mar 2026 (CLV 800, high). The week: 2 active at its start (c5, c6), 1 lost (c5): churn 50 %,
retention 50 %. 5 March alone: active at its start c5, c6, c8, c4 = 4, lost 1: churn 25 %; 6 March: 3, none
lost. Average CLV of the week's new customers: (1200 + 800) / 2 = 1000.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from loopcrm.commerce.models import Order
from loopcrm.customers.models import Customer
from loopcrm.feedback.models import FollowUp, Invitation, Response, Survey, SurveyVersion, Trigger
from loopcrm.service.models import SlaClock, Ticket, TicketMessage
from loopcrm.service.services import sla_config
from loopcrm.value.models import CustomerValue
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 8)
MIN = dt.timedelta(minutes=1)


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


@dataclass
class Desk:
    tickets: dict[str, Ticket]
    customers: dict[str, Customer]


def _ticket(customer, assignee, opened, *, kind="inquiry", channel="phone", first=None, resolved=None, **extra):
    return Ticket.objects.create(
        subject="问题", customer=customer, assignee=assignee, department=assignee.department, kind=kind,
        channel=channel, opened_at=opened, first_response_at=opened + first * MIN if first is not None else None,
        resolved_at=opened + resolved * MIN if resolved is not None else None,
        status=Ticket.Status.RESOLVED if resolved is not None else Ticket.Status.OPEN, **extra)


def _clock(policy, ticket, metric, *, state, breached=False):
    return SlaClock.objects.create(
        ticket=ticket, metric=metric, policy=policy, calendar=policy.calendar, target_minutes=60, state=state,
        started_at=ticket.opened_at, due_at=ticket.opened_at + 60 * MIN, breached=breached)


def _answer(survey, version, customer, at, *, agent, **scores):
    invitation = Invitation.objects.create(
        survey=survey, version=version, customer=customer, trigger=Trigger.MANUAL, status=Invitation.Status.ANSWERED,
        send_after=at, sent_at=at, answered_at=at, created_at=at, agent=agent, department=agent.department)
    return Response.objects.create(invitation=invitation, survey=survey, version=version, customer=customer,
                                   is_complete=True, started_at=at, answered_at=at, agent=agent,
                                   department=agent.department, **scores)


def build_desk(org) -> Desk:
    c = {name: factories.customer(name, owner=org.agent, province=province)
         for name, province in (("c1", "上海市"), ("c2", "北京市"), ("c3", "上海市"), ("c4", "上海市"),
                                ("c5", "上海市"), ("c6", "北京市"), ("c7", "上海市"), ("c8", "上海市"))}
    Customer.objects.update(created_at=sh(2025, 1, 1))

    t1 = _ticket(c["c1"], org.agent, sh(2026, 3, 2, 10), kind="complaint", first=30, resolved=120)
    t2 = _ticket(c["c1"], org.agent, sh(2026, 3, 2, 11), channel="email", first=90, resolved=300, reopen_count=1)
    t3 = _ticket(c["c2"], org.other_agent, sh(2026, 3, 4, 9), kind="complaint", first=120, repeat_of=t1)
    t4 = _ticket(c["c2"], org.other_agent, sh(2026, 3, 4, 15))

    calendar = sla_config.create_calendar(by=None, name="24/7", time_zone="Asia/Shanghai", weekly_hours={
        day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    policy = sla_config.create_policy(by=None, name="Standard", first_response_minutes=60, calendar=calendar)
    M = SlaClock.Metric
    _clock(policy, t1, M.FIRST_RESPONSE, state=SlaClock.State.MET)
    _clock(policy, t1, M.RESOLUTION, state=SlaClock.State.MET)
    _clock(policy, t2, M.FIRST_RESPONSE, state=SlaClock.State.MET, breached=True)
    _clock(policy, t3, M.FIRST_RESPONSE, state=SlaClock.State.RUNNING)
    _clock(policy, t4, M.FIRST_RESPONSE, state=SlaClock.State.BREACHED, breached=True)

    factories.order(c["c1"], placed_at=sh(2026, 1, 10, 12))
    factories.order(c["c1"], placed_at=sh(2026, 3, 2, 12))
    factories.order(c["c2"], placed_at=sh(2026, 3, 2, 13))
    factories.order(c["c3"], placed_at=sh(2026, 3, 4, 12))
    factories.order(c["c3"], placed_at=sh(2026, 3, 4, 18))
    factories.order(c["c4"], placed_at=sh(2026, 3, 4, 19), status=Order.Status.CANCELLED)

    survey = Survey.objects.create(name="After service", kind="csat", trigger=Trigger.MANUAL)
    version = SurveyVersion.objects.create(survey=survey, number=1, title_en="t", title_zh="t",
                                           published_at=sh(2026, 1, 1))
    _answer(survey, version, c["c1"], sh(2026, 3, 2, 16), agent=org.agent, csat=5, nps=10, ces=2)
    _answer(survey, version, c["c1"], sh(2026, 3, 3, 16), agent=org.agent, csat=4, nps=9)
    _answer(survey, version, c["c2"], sh(2026, 3, 5, 16), agent=org.other_agent, csat=2, nps=3, ces=4)
    _answer(survey, version, c["c2"], sh(2026, 3, 6, 16), agent=org.other_agent, nps=7)

    TicketMessage.objects.create(ticket=t1, kind=TicketMessage.Kind.REPLY, body="先回复", author=org.agent,
                                 created_at=sh(2026, 3, 2, 10, 30))
    TicketMessage.objects.create(ticket=t1, kind=TicketMessage.Kind.REPLY, body="跟进", author=org.agent,
                                 created_at=sh(2026, 3, 2, 12, 30))
    FollowUp.objects.create(customer=c["c1"], ticket=t1, reason=FollowUp.Reason.LOW_CSAT,
                            department=org.service, opened_at=sh(2026, 3, 2, 12))
    FollowUp.objects.create(customer=c["c2"], ticket=t3, reason=FollowUp.Reason.DETRACTOR,
                            department=org.sales_east, opened_at=sh(2026, 3, 4, 10))

    for name, first, last, clv, tier in (
        ("c5", sh(2024, 1, 1), sh(2025, 3, 5, 12), None, "low"),
        ("c6", sh(2024, 6, 1), sh(2025, 12, 1), "300", "medium"),
        ("c7", sh(2023, 1, 1), sh(2024, 12, 1), None, "low"),
        ("c8", sh(2026, 3, 3, 12), sh(2026, 3, 3, 12), "1200", "high"),
        ("c4", sh(2026, 3, 4, 12), sh(2026, 3, 4, 12), "800", "high"),
    ):
        CustomerValue.objects.create(customer=c[name], first_order_at=first, last_order_at=last, tier=tier,
                                     clv=Decimal(clv) if clv else None, computed_at=sh(2026, 3, 1))
    return Desk(tickets={"t1": t1, "t2": t2, "t3": t3, "t4": t4}, customers=c)
