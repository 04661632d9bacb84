"""A small hand-built journey in the database (rows written directly, like tests.factories does).

January 2026 in Asia/Shanghai; T0 = 5 January 09:00 UTC.
- 张伟 (c1, high value, 上海市): two web-chat touches on the website in awareness (T0, T0+1 h); orders
  online (T0+1 d), delivered T0+3 d (48 h); answers a CSAT 5 about that order (T0+4 d); phones in a
  complaint (T0+5 d, resolved 10 h later, with a timeline touch), and answers NPS 3 / CES 6 about it (T0+5 d+12 h).
- Tom (c2, low value, 北京市): a social touch in awareness (T0); buys in a store (T0+3 d); complains through
  the web form an hour later, before the delivery (T0+4 d, 24 h after the order; unresolved); answers a
  relationship NPS 10 at the WeChat touchpoint (T0+6 d).
- 李静 (c3, no value row, 上海市): one email touch at 01:00 on 1 January Shanghai time (in the window), one at
  23:00 on 31 December (outside), and one touch without a stage (not on the journey).
"""

from __future__ import annotations

import datetime as dt

from loopcrm.commerce.models import Order, OrderChannel
from loopcrm.feedback.models import Invitation, Response, Survey, SurveyVersion, Trigger
from loopcrm.service.models import Ticket
from loopcrm.value.models import CustomerValue
from tests import factories

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
WINDOW = {"start": "2026-01-01", "end": "2026-01-31"}


def _order(customer, channel, placed, delivered) -> Order:
    order = factories.order(customer, placed_at=placed)
    order.channel, order.delivered_at = channel, delivered
    order.save(update_fields=["channel", "delivered_at"])
    return order


def _answer(survey, version, customer, at, *, ticket=None, order=None, touchpoint="", channel="email", **scores):
    invitation = Invitation.objects.create(
        survey=survey, version=version, customer=customer, trigger=survey.trigger, ticket=ticket, order=order,
        channel=channel, status=Invitation.Status.ANSWERED, send_after=at - H, sent_at=at - H, answered_at=at,
        created_at=at - H, touchpoint=touchpoint)
    return Response.objects.create(invitation=invitation, survey=survey, version=version, customer=customer,
                                   is_complete=True, started_at=at, answered_at=at, touchpoint=touchpoint,
                                   channel=channel, **scores)


def build_journey(org) -> dict:
    c1 = factories.customer("张伟", owner=org.agent, province="上海市")
    c2 = factories.customer("Tom Baker", owner=org.agent, province="北京市")
    c3 = factories.customer("李静", owner=org.agent, province="上海市")
    for customer, tier in ((c1, "high"), (c2, "low")):
        CustomerValue.objects.create(customer=customer, tier=tier, computed_at=T0)
    survey = Survey.objects.create(name="after", kind="csat", trigger=Trigger.MANUAL)
    version = SurveyVersion.objects.create(survey=survey, number=1, title_en="t", title_zh="t", published_at=T0)

    factories.interaction(c1, channel="web_chat", touchpoint="website", journey_stage="awareness", occurred_at=T0)
    factories.interaction(c1, channel="web_chat", touchpoint="website", journey_stage="awareness",
                          occurred_at=T0 + H)
    o1 = _order(c1, OrderChannel.ONLINE_STORE, T0 + D, T0 + 3 * D)
    _answer(survey, version, c1, T0 + 4 * D, order=o1, csat=5)
    t1 = Ticket.objects.create(subject="坏了", customer=c1, kind=Ticket.Kind.COMPLAINT, channel="phone",
                               status=Ticket.Status.RESOLVED, opened_at=T0 + 5 * D, resolved_at=T0 + 5 * D + 10 * H)
    factories.interaction(c1, channel="phone", touchpoint="hotline", journey_stage="service", occurred_at=T0 + 5 * D)
    _answer(survey, version, c1, T0 + 5 * D + 12 * H, ticket=t1, nps=3, ces=6)

    factories.interaction(c2, channel="social", touchpoint="social", journey_stage="awareness", occurred_at=T0)
    o2 = _order(c2, OrderChannel.RETAIL_STORE, T0 + 3 * D, T0 + 4 * D)
    Ticket.objects.create(subject="Where is it?", customer=c2, kind=Ticket.Kind.COMPLAINT, channel="web_form",
                          order=o2, opened_at=T0 + 3 * D + H)
    _answer(survey, version, c2, T0 + 6 * D, touchpoint="wechat", channel="wechat", nps=10)

    factories.interaction(c3, channel="email", touchpoint="email", journey_stage="awareness",
                          occurred_at=dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC))
    factories.interaction(c3, channel="email", touchpoint="email", journey_stage="awareness",
                          occurred_at=dt.datetime(2025, 12, 31, 15, 0, tzinfo=dt.UTC))
    factories.interaction(c3, channel="email", touchpoint="email", occurred_at=T0)
    return {"c1": c1, "c2": c2, "c3": c3}
