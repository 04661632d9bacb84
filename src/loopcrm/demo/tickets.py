"""Demo tickets: every service touch on the timeline becomes a ticket, worked with realistic timing.

The timeline (demo/interactions.py) already holds the customers' service issues: late deliveries,
damaged goods, installation problems, repairs, returns, invoices, usage questions and complaints on
social media, each an inbound touch on the day it happened. Each becomes a ticket opened at that
moment, on that channel, about that order, in the Customer Service queues, with its conversation
(the customer's words, the first reply, sometimes a note), its event log (opened, routed, assigned,
replied, status changes) and complaint handling (severity, root cause, corrective action,
compensation). Repeat complaints (same customer and category within 30 days) point at the earlier one.

Timing follows the channel and the kind: phone calls are answered on the spot, email and web forms
within hours (slower at weekends and in promotion weeks), repairs take days. Complaints follow their
process version: a call back after hours before complaint process v2, an acknowledgement within
minutes since (demo/story.py). The SLA clocks, with their warnings and breaches, are written
afterwards by demo/clocks.py from the demo's SLA policies.

Stories planted, consistent with the timeline's courier change (see also demo/story.py):
- IMPROVEMENT_DAYS_AGO days ago logistics changed courier and late-delivery complaints fell (that is
  the timeline's own story; the tickets simply follow it);
- over the last RISE_WEEKS weeks the new courier's South China hub fell behind: late-delivery
  complaints from Guangdong (广东省) rise week by week, with their own inbound touches on the
  timeline and the root cause "South China hub backlog" under Partner / logistics.

Everything is written with bulk inserts and explicit timestamps; nothing happens after the demo's
reference now.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.customers.models import Customer, Tag
from loopcrm.demo.bulk import Loader, explicit_timestamps
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.orders import is_promotion
from loopcrm.demo.organisation import Staff
from loopcrm.demo.story import (
    COMPLAINT_FIRST_RESPONSE,
    REGION_BASELINE_WEEKS,
    REGION_PROVINCE,
    RISE_WEEKS,
    rise_start,
    version_two_at,
)
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import (
    CannedReply,
    Queue,
    RootCause,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketMessage,
)
from loopcrm.service.services.complaints import REPEAT_TAG, ensure_default_root_causes
from loopcrm.service.services.events import event_row

REGION_DAYS = RISE_WEEKS * 7
REPEAT_DAYS = 30
CLOSE_AFTER = dt.timedelta(days=7)
S, K, P, E = Ticket.Status, Ticket.Kind, Ticket.Priority, TicketEvent.Kind

# (code, parent code, name)
CATEGORIES = (
    ("delivery", "", "配送 Delivery"),
    ("late-delivery", "delivery", "延迟送达 Late delivery"),
    ("damaged", "delivery", "运输破损 Damaged in transit"),
    ("installation", "", "安装 Installation"),
    ("after-sales", "", "售后 After-sales"),
    ("repair", "after-sales", "维修 Repair"),
    ("return", "after-sales", "退换货 Returns"),
    ("billing", "", "账务 Billing"),
    ("invoice", "billing", "发票 Invoice"),
    ("usage", "", "使用咨询 Usage"),
    ("service-attitude", "", "服务体验 Service experience"),
)
# (code, parent code, name) below the six default branches
SUB_CAUSES = (
    ("courier-late", "partner", "快递延误 Courier late"),
    ("south-hub", "partner", "华南分拨中心积压 South China hub backlog"),
    ("courier-damage", "partner", "运输破损 Rough handling"),
    ("installer-late", "people", "安装师傅迟到 Installer late"),
    ("install-quality", "people", "安装不规范 Installation quality"),
    ("product-defect", "product", "产品缺陷 Product defect"),
    ("slow-reply", "process", "响应慢 Slow reply"),
)
# story -> (subject prefixes, kind, category code, priority, root cause codes)
STORIES = {
    "delivery_delay": (("投诉：物流延迟", "催件：", "Complaint: late delivery"), K.COMPLAINT, "late-delivery",
                       P.NORMAL, ("courier-late",)),
    "damaged": (("投诉：商品破损", "Arrived damaged"), K.COMPLAINT, "damaged", P.HIGH,
                ("courier-damage", "product-defect")),
    "install_problem": (("投诉：安装", "Installer did not show up"), K.COMPLAINT, "installation", P.NORMAL,
                        ("installer-late", "install-quality")),
    "repair": (("报修", "维修进度", "Repair"), K.REPAIR, "repair", P.NORMAL, ()),
    "return_request": (("退货申请", "七天无理由退货", "Return request"), K.RETURN, "return", P.NORMAL, ()),
    "invoice": (("开具发票", "Invoice request"), K.SERVICE_REQUEST, "invoice", P.LOW, ()),
    "usage_question": (("使用咨询", "How-to question", "App pairing problem"), K.INQUIRY, "usage", P.LOW, ()),
    "social_complaint": (("微博投诉", "Complaint on social media"), K.COMPLAINT, "service-attitude", P.HIGH,
                         ("slow-reply",)),
}
# Typical minutes to resolve, by kind (the median of a log-normal).
RESOLVE_MINUTES = {K.INQUIRY: 90, K.SERVICE_REQUEST: 600, K.COMPLAINT: 1200, K.REPAIR: 3 * 1440,
                   K.RETURN: 2 * 1440}
CORRECTIVE = {
    "courier-late": "已催促快递并升级至物流经理；每日跟踪在途订单。",
    "south-hub": "华南分拨中心积压：临时改由备选快递发运广东订单，物流部与快递方周会跟进。",
    "courier-damage": "已换新并向快递公司索赔；加强易碎品包装。",
    "installer-late": "已致歉并重新预约；安装服务商按迟到次数考核。",
    "install-quality": "安排二次上门整改；安装师傅复训。",
    "product-defect": "换新处理；批次问题已反馈质量部。",
    "slow-reply": "已致歉；社交媒体消息纳入在线组队列，30分钟内响应。",
}
CANNED = (
    ("问候 Greeting", "{customer}您好，您的工单{ticket}已收到，我们会尽快处理。", ""),
    ("催件回复 Chasing the courier", "{customer}您好，已为您向快递公司催件，我们会在24小时内回电告知进展。", "cs"),
    ("上门预约 Booking a visit", "{customer}您好，已为您预约工程师上门，届时请保持电话畅通。", "cs"),
    ("致歉 Apology", "非常抱歉给您带来不便，我们已记录您的反馈并安排专人跟进。", ""),
)
REPLY = {
    "zh": "您好，已收到您的反馈，我们正在处理，稍后回复您进展。",
    "en": "Thanks for reaching out — we are on it and will update you shortly.",
}
NOTE = {
    "zh": "已联系相关部门跟进，等待反馈。",
    "en": "Chased the team responsible; waiting for their answer.",
}


@dataclass
class Planned:
    """A ticket being generated, with the rows that hang on it (written once the ticket has its id)."""

    ticket: Ticket
    story: str
    locale: str
    messages: list[TicketMessage] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)


def _story(subject: str) -> str | None:
    for story, (prefixes, *_rest) in STORIES.items():
        if subject.startswith(prefixes):
            return story
    return None


class TicketMaker:
    def __init__(self, *, seed: int, calendar: DemoCalendar, staff: Staff, config: dict) -> None:
        self.rng = random.Random(f"{seed}/tickets")
        self.calendar = calendar
        self.staff = staff
        self.config = config
        self.hotline: list[User] = staff.team("hotline")
        self.online: list[User] = staff.team("online")
        self.leads = [self.hotline[0], self.online[0]]
        self.version_two_at = version_two_at(calendar)
        self.rise_start = rise_start(calendar)

    def _agent(self, channel: str, preferred_id: int | None) -> User:
        team = self.hotline if channel == Channel.PHONE else self.online
        for user in team:
            if user.pk == preferred_id:
                return user
        return self.rng.choice(team)

    def _minutes(self, median: float, spread: float = 0.8) -> float:
        return max(1.0, self.rng.lognormvariate(0, spread) * median)

    def plan(self, *, source: dict, story: str, opened: dt.datetime, locale: str) -> Planned | None:
        """One ticket from a service touch (`source`: the interaction's values)."""
        rng, now = self.rng, self.calendar.now
        _prefixes, kind, category, priority, causes = STORIES[story]
        channel = source["channel"]
        if source["is_vip"] and priority < P.URGENT:
            priority = P(priority + 1)
        if story == "delivery_delay" and source.get("province") == REGION_PROVINCE and opened >= self.rise_start:
            causes = ("south-hub",)
        agent = self._agent(channel, source["user_id"])
        queue = self.config["queues"]["hotline" if channel == Channel.PHONE else "online"]
        ticket = Ticket(
            kind=kind, subject=source["subject"][:200], description=source["body"], channel=channel,
            priority=priority, category=self.config["categories"][category], customer_id=source["customer_id"],
            contact_id=source["contact_id"], order_id=source["order_id"], department=self.config["department"],
            queue=queue, assignee=agent, opened_at=opened, created_at=opened, updated_at=opened,
        )
        planned = Planned(ticket=ticket, story=story, locale=locale)
        events, messages = planned.events, planned.messages
        messages.append(TicketMessage(kind=TicketMessage.Kind.CUSTOMER, body=source["body"] or ticket.subject,
                                      channel=channel, created_at=opened))
        events.append(event_row(0, E.CREATED, by=None, at=opened, new=S.NEW,
                                data={"kind": kind, "channel": channel, "priority": int(priority)}))
        events.append(event_row(0, E.ROUTED, by=None, at=opened, field="queue", new=queue.pk,
                                data={"reasons": [f"Rule “{queue.name}” matched (channel)."],
                                      "queue_id": queue.pk, "department_id": self.config["department"].pk}))
        events.append(event_row(0, E.ASSIGNED, by=None, at=opened, field="assignee", new=agent.pk,
                                data={"new_name": str(agent), "how": "routing"}))

        day = opened.astimezone(self.calendar.tz).date()
        busy = (1.6 if day.weekday() >= 5 else 1.0) * (1.5 if is_promotion(day) else 1.0)
        if kind == K.COMPLAINT:  # the complaint process decides (see demo/story.py)
            version = 2 if opened >= self.version_two_at else 1
            first_at = opened + dt.timedelta(minutes=self._minutes(COMPLAINT_FIRST_RESPONSE[version] * busy, 0.6))
        else:
            first = 3 if channel == Channel.PHONE else (20 if channel in (Channel.WEB_CHAT, Channel.WECHAT) else 75)
            first_at = opened + dt.timedelta(minutes=self._minutes(first * busy))
        resolve_at = first_at + dt.timedelta(minutes=self._minutes(RESOLVE_MINUTES[kind] * busy, 0.9))
        if first_at >= now:
            ticket.status = S.NEW
            return planned
        ticket.first_response_at = first_at
        messages.append(TicketMessage(kind=TicketMessage.Kind.REPLY, author=agent, body=REPLY[locale],
                                      channel=channel if channel != Channel.WEB_FORM else Channel.EMAIL,
                                      created_at=first_at))
        events.append(event_row(0, E.REPLY, by=agent, at=first_at))
        events.append(event_row(0, E.STATUS, by=agent, at=first_at, field="status", old=S.NEW, new=S.OPEN))
        status = S.OPEN
        if kind in (K.REPAIR, K.RETURN, K.COMPLAINT) and rng.random() < 0.35:
            noted = first_at + (resolve_at - first_at) * rng.uniform(0.2, 0.6)
            if noted < now:
                messages.append(TicketMessage(kind=TicketMessage.Kind.NOTE, author=agent, body=NOTE[locale],
                                              channel=Channel.OTHER, created_at=noted))
                events.append(event_row(0, E.NOTE, by=agent, at=noted))
        if resolve_at >= now:
            if kind in (K.REPAIR, K.RETURN) and rng.random() < 0.4:
                waiting = first_at + dt.timedelta(minutes=self._minutes(60))
                if waiting < now:
                    events.append(event_row(0, E.STATUS, by=agent, at=waiting, field="status", old=S.OPEN,
                                            new=S.PENDING))
                    status = S.PENDING
            ticket.status = status
            return planned
        events.append(event_row(0, E.STATUS, by=agent, at=resolve_at, field="status", old=S.OPEN, new=S.RESOLVED))
        ticket.status, ticket.resolved_at = S.RESOLVED, resolve_at
        if kind == K.COMPLAINT:
            self._complaint(ticket, causes)
        if rng.random() < 0.04:  # the customer writes again: reopened, then resolved for good
            again = resolve_at + dt.timedelta(hours=rng.uniform(4, 72))
            done = again + dt.timedelta(minutes=self._minutes(600))
            if done < now:
                messages.append(TicketMessage(kind=TicketMessage.Kind.CUSTOMER, body=source["body"][:200] or "…",
                                              channel=channel, created_at=again))
                events.append(event_row(0, E.CUSTOMER_MESSAGE, by=None, at=again))
                events.append(event_row(0, E.STATUS, by=None, at=again, field="status", old=S.RESOLVED,
                                        new=S.REOPENED, data={"reason": "The customer wrote again."}))
                events.append(event_row(0, E.STATUS, by=agent, at=done, field="status", old=S.REOPENED,
                                        new=S.RESOLVED))
                ticket.reopen_count, ticket.resolved_at, resolve_at = 1, done, done
        if resolve_at + CLOSE_AFTER < now:
            closed = resolve_at + CLOSE_AFTER
            events.append(event_row(0, E.STATUS, by=None, at=closed, field="status", old=S.RESOLVED, new=S.CLOSED))
            ticket.status, ticket.closed_at = S.CLOSED, closed
        ticket.updated_at = max(event.at for event in events)
        return planned

    def _complaint(self, ticket: Ticket, causes: tuple[str, ...]) -> None:
        rng = self.rng
        ticket.severity = rng.choices(list(Ticket.Severity.values), weights=[30, 45, 20, 5])[0]
        if causes:
            code = rng.choice(causes)
            ticket.root_cause = self.config["causes"][code]
            ticket.corrective_action = CORRECTIVE[code]
        if rng.random() < 0.3:
            ticket.compensation_amount = Decimal(rng.choice((20, 30, 50, 100, 200))).quantize(Decimal("0.01"))
            ticket.compensation_currency = "CNY"


# --- configuration --------------------------------------------------------------------------------

def _configure(loader: Loader, staff: Staff) -> dict:
    """Categories, root causes, queues and canned replies of the demo service desk."""
    categories: dict[str, TicketCategory] = {}
    for code, parent, name in CATEGORIES:
        category = TicketCategory.objects.create(code=code, name=name, parent=categories.get(parent))
        category.path = f"{categories[parent].path if parent else '/'}{category.pk}/"
        category.save(update_fields=["path"])
        categories[code] = category
    loader.counts["service.ticketcategory"] = len(categories)
    causes = {cause.code: cause for cause in ensure_default_root_causes()}
    for code, parent, name in SUB_CAUSES:
        causes[code] = RootCause.objects.create(code=code, name=name, branch=causes[parent].branch,
                                                parent=causes[parent])
    department = staff.departments["cs"]
    queues = {}
    for key, name, strategy in (("hotline", "热线队列 Hotline", Queue.Strategy.LEAST_LOADED),
                                ("online", "在线队列 Online", Queue.Strategy.ROUND_ROBIN)):
        queue = Queue.objects.create(name=name, code=key, department=department, strategy=strategy)
        queue.members.set(staff.team(key))
        queues[key] = queue
    complaints = Queue.objects.create(name="投诉处理 Complaints", code="complaints", department=department,
                                      strategy=Queue.Strategy.LEAST_LOADED)
    complaints.members.set([staff.team("hotline")[0], staff.team("online")[0]])
    queues["complaints"] = complaints
    CannedReply.objects.bulk_create([
        CannedReply(title=title, body=body, department=staff.departments.get(dept) if dept else None)
        for title, body, dept in CANNED
    ])
    return {"categories": categories, "causes": causes, "queues": queues, "department": department}


# --- sources ----------------------------------------------------------------------------------------

def _touches(calendar: DemoCalendar) -> list[dict]:
    """The inbound service touches of the timeline, oldest first, with what a ticket needs of them."""
    prefixes = [prefix for prefixes, *_rest in STORIES.values() for prefix in prefixes]
    condition = Q()
    for prefix in prefixes:
        condition |= Q(subject__startswith=prefix)
    return list(
        Interaction.objects.filter(condition, direction=Interaction.Direction.INBOUND, occurred_at__lt=calendar.now)
        .order_by("occurred_at", "id")
        .values("id", "customer_id", "contact_id", "order_id", "channel", "occurred_at", "subject", "body",
                "user_id", "customer__province", "customer__country", "customer__is_vip")
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _region_rise(rng: random.Random, calendar: DemoCalendar) -> list[tuple[dict, Interaction]]:
    """Late-delivery complaints from Guangdong: a steady few a week for REGION_BASELINE_WEEKS weeks (the
    usual courier delays), then more each week over the last RISE_WEEKS weeks (the hub's backlog).

    The counts follow the region's customer base (a Poisson mean of 0.4 % of its customers a week,
    at least 0.6; in the rise about 2 % more by the last week, at least one to three more), so a
    small demo tells the same story as a big one.
    """
    start = rise_start(calendar)
    customers = Customer.objects.filter(province=REGION_PROVINCE, merged_into__isnull=True).count()
    orders = list(Order.objects.filter(customer__province=REGION_PROVINCE, placed_at__lt=calendar.now)
                  .exclude(status=Order.Status.CANCELLED)
                  .values("id", "number", "customer_id", "placed_at", "customer__is_vip", "customer__country")
                  .order_by("placed_at", "id"))
    rows: list[tuple[dict, Interaction]] = []
    used: set[int] = set()
    placed = [order["placed_at"] for order in orders]
    usual = max(0.6, customers * 0.004)
    for week in range(-REGION_BASELINE_WEEKS, RISE_WEEKS):
        count = _poisson(rng, usual)
        if week >= 0:
            progress = (week + 1) / RISE_WEEKS
            count += max(round(1 + 2 * progress), round(customers * 0.02 * progress))
        week_start = start + dt.timedelta(weeks=week)
        for _n in range(count):
            at = calendar.within_hours(rng, week_start + dt.timedelta(days=rng.uniform(0, 6.5)))
            if at >= min(week_start + dt.timedelta(days=7), calendar.now - dt.timedelta(minutes=5)):
                at = calendar.at((week_start + dt.timedelta(days=rng.randrange(5))).date(), 10, rng.randrange(60))
            if at >= calendar.now - dt.timedelta(minutes=5):
                continue
            low = bisect.bisect_left(placed, at - dt.timedelta(days=14))
            high = bisect.bisect_left(placed, at - dt.timedelta(days=2))
            recent = [order for order in orders[low:high] if order["id"] not in used]
            if not recent:  # few recent orders (a small demo): a customer chasing their latest order
                latest: dict[int, dict] = {}
                for order in orders:
                    if order["placed_at"] < at - dt.timedelta(days=2) and order["id"] not in used:
                        latest[order["customer_id"]] = order
                recent = list(latest.values())
            if not recent:
                continue
            order = rng.choice(recent)
            used.add(order["id"])
            subject = f"投诉：物流延迟 {order['number']}"
            body = (f"客户反映订单{order['number']}在华南分拨中心停滞多日未派送，多次查询无果，情绪激动。"
                    "已向快递催件并上报物流部。") if week >= 0 else \
                f"客户反映订单{order['number']}比预计晚到两天，快递未提前通知。已向快递催件。"
            channel = rng.choices((Channel.PHONE, Channel.WECHAT, Channel.WEB_CHAT), weights=(55, 30, 15))[0]
            touch = Interaction(customer_id=order["customer_id"], order_id=order["id"], channel=channel,
                                direction=Interaction.Direction.INBOUND, touchpoint=Touchpoint.DELIVERY,
                                journey_stage=JourneyStage.SERVICE, subject=subject, body=body, occurred_at=at,
                                created_at=at)
            rows.append(({"customer_id": order["customer_id"], "contact_id": None, "order_id": order["id"],
                          "channel": channel, "occurred_at": at, "subject": subject, "body": body, "user_id": None,
                          "province": REGION_PROVINCE, "is_vip": order["customer__is_vip"],
                          "country": order["customer__country"]}, touch))
    return rows


# --- writing ----------------------------------------------------------------------------------------

def _mark_repeats(planned: list[Planned], repeat_tag: Tag) -> list[Ticket]:
    """repeat_of for complaints of the same customer and category within REPEAT_DAYS (needs ticket ids)."""
    last: dict[tuple[int, int], Ticket] = {}
    repeats = []
    for item in sorted(planned, key=lambda p: (p.ticket.opened_at, p.ticket.pk)):
        ticket = item.ticket
        if ticket.kind != K.COMPLAINT:
            continue
        key = (ticket.customer_id, ticket.category_id)
        earlier = last.get(key)
        if earlier is not None and ticket.opened_at - earlier.opened_at <= dt.timedelta(days=REPEAT_DAYS):
            ticket.repeat_of = earlier
            repeats.append(ticket)
            item.tags.append(repeat_tag.pk)
            item.events.append(event_row(ticket.pk, E.REPEAT, by=None, at=ticket.opened_at, field="repeat_of",
                                         new=earlier.pk, data={"window_days": REPEAT_DAYS}))
        last[key] = ticket
    return repeats


def load_tickets(loader: Loader, *, staff: Staff, calendar: DemoCalendar, seed: int) -> None:
    """Tickets for the demo's service touches, plus the Guangdong late-delivery rise (see the module docstring)."""
    rng = random.Random(f"{seed}/tickets/region")
    config = _configure(loader, staff)
    with explicit_timestamps(Ticket):
        maker = TicketMaker(seed=seed, calendar=calendar, staff=staff, config=config)
        sources = []
        for touch in _touches(calendar):
            story = _story(touch["subject"])
            if story is not None:
                touch.update(province=touch.pop("customer__province"), is_vip=touch.pop("customer__is_vip"),
                             country=touch.pop("customer__country"))
                sources.append((touch, story))
        extra = _region_rise(rng, calendar)
        loader.insert([touch for _values, touch in extra])
        for (values, touch) in extra:
            values["id"] = touch.pk
            sources.append((values, "delivery_delay"))
        sources.sort(key=lambda pair: (pair[0]["occurred_at"], pair[0]["id"]))

        planned = []
        for values, story in sources:
            locale = "zh" if values.get("country", "CN") == "CN" else "en"
            item = maker.plan(source=values, story=story, opened=values["occurred_at"], locale=locale)
            if item is not None:
                planned.append(item)
        loader.insert([item.ticket for item in planned])
        repeat_tag, _created = Tag.objects.get_or_create(name=REPEAT_TAG)
        repeats = _mark_repeats(planned, repeat_tag)
        Ticket.objects.bulk_update(repeats, ["repeat_of"], batch_size=1000)

        messages, events, links = [], [], []
        for item in planned:
            for message in item.messages:
                message.ticket = item.ticket
                messages.append(message)
            for event in item.events:
                event.ticket_id = item.ticket.pk
                events.append(event)
            links += [Ticket.tags.through(ticket_id=item.ticket.pk, tag_id=tag_id) for tag_id in item.tags]
        loader.insert(messages, audited=False)
        loader.insert(events, audited=False)
        loader.link(Ticket.tags.through, links)
        loader.say(f"Tickets: {len(planned):,} ({len(extra):,} late deliveries from {REGION_PROVINCE} in the last "
                   f"{REGION_BASELINE_WEEKS + RISE_WEEKS} weeks), "
                   f"{len(events):,} events, {len(repeats):,} repeat complaints.")

