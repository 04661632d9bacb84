"""Demo interactions: the customer's timeline on every channel, consistent with their orders.

Before the first order come awareness and consideration touches (ads, social posts, pre-sales chats
and calls, store visits, sales visits and quotes for organisations). Each order brings a purchase
touch, delivery notices and installation calls, sometimes a usage question, a review request or a
service issue (late delivery, damage, installation, repair, return, invoice) with a callback.
Customers who agreed to marketing get campaign messages and birthday wishes on the channel they
agreed to; lapsed customers get a win-back attempt; organisations get account reviews.

One improvement is planted for the PDCA module to find: IMPROVEMENT_DAYS_AGO days before the
reference now, logistics changed courier, and late-delivery complaints fall from about 5 % to
about 2 % of orders (more in promotion weeks, when couriers are swamped).
"""

from __future__ import annotations

import datetime as dt
import random

from loopcrm.accounts.models import Role, User
from loopcrm.commerce.models import Order, OrderChannel
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.demo.calendar import HISTORY_DAYS, DemoCalendar
from loopcrm.demo.catalogue import APPLIANCE_CATEGORIES
from loopcrm.demo.customers import Plan
from loopcrm.demo.orders import PlacedOrder
from loopcrm.demo.organisation import Staff
from loopcrm.demo.texts import COURIERS, text_for
from loopcrm.interactions.models import Interaction

IMPROVEMENT_DAYS_AGO = 120
# Messages systems send (kept to 08:00–22:00) and touches that happen at any hour; people work 08:30–21:00.
AUTOMATED = frozenset({"shipped_sms", "review_request", "birthday", "winback_message"})
ANY_HOUR = frozenset({"order_sms", "social_post", "social_praise", "social_complaint", "ad_chat", "campaign_618",
                      "campaign_1111"})
COMPLAINTS = ("delivery_delay", "damaged", "install_problem", "social_complaint")
COMPLAINED_TAG = "投诉过 Complained"
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

IN, OUT, NOTE = Interaction.Direction.INBOUND, Interaction.Direction.OUTBOUND, Interaction.Direction.INTERNAL
C, T, S = Channel, Touchpoint, JourneyStage

# story -> (channel, direction, touchpoint, journey stage) for the touches whose channel is fixed
EARLY_PERSON = {
    "ad_chat": ((C.WEB_CHAT, IN, T.WEBSITE, S.AWARENESS), 12),
    "social_post": ((C.SOCIAL, IN, T.SOCIAL, S.AWARENESS), 8),
    "event_visit": ((C.VISIT, IN, T.EVENT, S.AWARENESS), 4),
    "presales_chat": ((C.WEB_CHAT, IN, T.WEBSITE, S.CONSIDERATION), 20),
    "presales_wechat": ((C.WECHAT, IN, T.WECHAT, S.CONSIDERATION), 15),
    "presales_form": ((C.WEB_FORM, IN, T.WEBSITE, S.CONSIDERATION), 8),
    "presales_call": ((C.PHONE, IN, T.HOTLINE, S.CONSIDERATION), 12),
    "store_visit": ((C.VISIT, IN, T.STORE, S.CONSIDERATION), 10),
}
EARLY_ORGANISATION = {
    "presales_form": ((C.WEB_FORM, IN, T.WEBSITE, S.CONSIDERATION), 3),
    "presales_call": ((C.PHONE, IN, T.HOTLINE, S.CONSIDERATION), 3),
    "sales_visit": ((C.VISIT, OUT, T.SALES_VISIT, S.CONSIDERATION), 5),
    "quote_email": ((C.EMAIL, OUT, T.EMAIL, S.CONSIDERATION), 5),
}
SERVICE_CHANNELS = {
    "zh": {C.PHONE: 50, C.WEB_CHAT: 20, C.WECHAT: 18, C.WEB_FORM: 5, C.EMAIL: 7},
    "en": {C.EMAIL: 45, C.WEB_CHAT: 30, C.PHONE: 20, C.WEB_FORM: 5},
}
TOUCHPOINT_OF = {C.PHONE: T.HOTLINE, C.WEB_CHAT: T.WEBSITE, C.WECHAT: T.WECHAT, C.WEB_FORM: T.WEBSITE,
                 C.EMAIL: T.EMAIL, C.SMS: T.OTHER, C.SOCIAL: T.SOCIAL, C.VISIT: T.STORE}
PURCHASE_TOUCHPOINT = {OrderChannel.ONLINE_STORE: T.WEBSITE, OrderChannel.MARKETPLACE: T.APP,
                       OrderChannel.WECHAT: T.WECHAT}


class TimelineMaker:
    def __init__(self, *, seed: int, calendar: DemoCalendar, staff: Staff) -> None:
        self.rng = random.Random(f"{seed}/interactions")
        self.calendar = calendar
        self.staff = staff
        self.hotline = staff.team("hotline")
        self.online = staff.team("online")
        # English-speaking customers are served by the agents who speak it, on any channel.
        self.english_service = [user for user in self.hotline + self.online if user.language == "en"] or self.online
        self.marketing = staff.by_role(Role.MARKETING)
        self.improved_at = calendar.at(calendar.days[HISTORY_DAYS - IMPROVEMENT_DAYS_AGO])

    # — helpers —

    def _touch(self, plan: Plan, rows: list[Interaction], story: str, how, at: dt.datetime, *,
               user: User | None = None, order: PlacedOrder | None = None, before: dt.datetime | None = None,
               **values) -> bool:
        """Add one interaction unless `at` (moved into working hours) is not before `before` and now."""
        calendar, rng = self.calendar, self.rng
        if story in AUTOMATED:
            at = calendar.within_hours(rng, at, opens=8 * 60, closes=22 * 60)
        elif story not in ANY_HOUR:
            at = calendar.within_hours(rng, at)
        if at >= min(before or calendar.now, calendar.now - dt.timedelta(minutes=5)) or at < plan.customer.created_at:
            return False
        channel, direction, touchpoint, stage = how
        locale = plan.locale
        item = order.main if order else None
        contact = None
        if plan.contacts:
            contact = plan.contacts[0] if rng.random() < 0.6 else rng.choice(plan.contacts)
        when = values.pop("when", at + dt.timedelta(days=1))
        subject, body = text_for(
            story, locale, rng.choice,
            product=(item.name if locale == "zh" else item.name_en) if item else self._any_product(locale),
            order=order.order.number if order else "", amount=f"{order.order.total:,.2f}" if order else "",
            courier=rng.choice(COURIERS[locale]), days=rng.randint(2, 4), months=rng.randint(2, 14),
            date=f"{when.month}月{when.day}日" if locale == "zh" else f"{MONTHS_EN[when.month - 1]} {when.day}",
            name=plan.customer.name, company=plan.customer.name, contact=contact.name if contact else "",
            quantity=order.lines[0].quantity if order else rng.randint(5, 40),
        )
        if channel != C.SMS:
            body = body.replace("回TD退订", "").rstrip()
        rows.append(Interaction(
            customer=plan.customer, contact=contact, channel=channel, direction=direction, touchpoint=touchpoint,
            journey_stage=stage, subject=subject, body=body, occurred_at=at, user=user,
            order=order.order if order else None,
            created_at=min(at + dt.timedelta(minutes=rng.randint(1, 30)), calendar.now),
        ))
        return True

    def _any_product(self, locale: str) -> str:
        return self.rng.choice(("空调", "冰箱", "洗衣机", "手机", "电视") if locale == "zh"
                               else ("phone", "TV", "air conditioner", "fridge", "earbuds"))

    def _sales(self, plan: Plan) -> User:
        owner = plan.customer.owner
        if owner is not None and owner.role in (Role.SALES, Role.TEAM_LEAD) and owner.department_id != (
                self.staff.departments["cs"].pk):
            return owner
        team = "intl" if plan.locale == "en" else plan.city.region
        return self.rng.choice(self.staff.team(team))

    def _agent(self, plan: Plan, channel: str) -> User:
        if plan.locale == "en":
            return self.rng.choice(self.english_service)
        return self.rng.choice(self.hotline if channel == C.PHONE else self.online)

    def _between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment in office hours between two moments (or just before `end` when they are close)."""
        span = (end - start).total_seconds()
        if span < 3600:
            return end - dt.timedelta(seconds=self.rng.uniform(60, 3600 * 3))
        moment = start + dt.timedelta(seconds=self.rng.uniform(0, span))
        office = self.calendar.office_time(self.rng, moment.astimezone(self.calendar.tz).date())
        return office if start <= office < end else moment

    # — the stages of a customer's life —

    def early(self, plan: Plan) -> list[Interaction]:
        """Awareness and consideration touches before the first order; may move `created_at` back to the first."""
        rng, calendar, customer = self.rng, self.calendar, plan.customer
        rows: list[Interaction] = []
        if plan.orders:
            count = rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]
            end = plan.orders[0].order.placed_at
            start = min(customer.created_at, end - dt.timedelta(days=rng.uniform(1, 45)))
        else:
            count = rng.randint(1, 4)
            start, end = customer.created_at, calendar.now
        table = EARLY_ORGANISATION if plan.is_organisation else EARLY_PERSON
        stories = [story for story in table if plan.locale == "zh" or story != "presales_wechat"]
        moments = sorted(self._between(start, end) for _ in range(count))
        if moments and moments[0] < customer.created_at:
            customer.created_at = moments[0]
        for at in moments:
            story = rng.choices(stories, weights=[table[name][1] for name in stories])[0]
            how = table[story][0]
            user = None
            if (how[0] == C.VISIT and how[2] == T.SALES_VISIT) or how[0] == C.EMAIL:
                user = self._sales(plan)
            elif how[0] in (C.WEB_CHAT, C.WECHAT, C.PHONE, C.WEB_FORM):
                user = self._agent(plan, how[0])
            self._touch(plan, rows, story, how, at, user=user, before=end)
        return rows

    def later(self, plan: Plan) -> list[Interaction]:
        rows: list[Interaction] = []
        for placed in plan.orders:
            self._order_story(plan, placed, rows)
        self._loyalty(plan, rows)
        if self.rng.random() < 0.03 and plan.customer.owner is not None:
            at = self._between(plan.customer.created_at, self.calendar.now)
            self._touch(plan, rows, "internal_note", (C.OTHER, NOTE, "", ""), at, user=plan.customer.owner)
        return rows

    def _order_story(self, plan: Plan, placed: PlacedOrder, rows: list[Interaction]) -> None:
        rng, order = self.rng, placed.order
        english = plan.locale == "en"
        at = order.placed_at
        # purchase
        if order.channel in PURCHASE_TOUCHPOINT and rng.random() < 0.45:
            how = (C.EMAIL if english else C.SMS, OUT, PURCHASE_TOUCHPOINT[order.channel], S.PURCHASE)
            self._touch(plan, rows, "order_sms", how, at + dt.timedelta(minutes=rng.randint(1, 5)), order=placed)
        elif order.channel == OrderChannel.RETAIL_STORE and rng.random() < 0.8:
            self._touch(plan, rows, "store_purchase", (C.VISIT, IN, T.STORE, S.PURCHASE), at, order=placed,
                        user=plan.customer.owner)
        elif order.channel == OrderChannel.PHONE:
            self._touch(plan, rows, "phone_order", (C.PHONE, IN, T.HOTLINE, S.PURCHASE),
                        at - dt.timedelta(minutes=rng.randint(3, 15)), order=placed, user=self._agent(plan, C.PHONE))
        elif order.channel == OrderChannel.SALES_REP:
            how = (C.VISIT, OUT, T.SALES_VISIT, S.PURCHASE) if rng.random() < 0.5 else (
                C.EMAIL, IN, T.EMAIL, S.PURCHASE)
            story = "corporate_order" if plan.is_organisation else "phone_order"
            self._touch(plan, rows, story, how, at, order=placed, user=self._sales(plan))
        if order.status == Order.Status.CANCELLED:
            if rng.random() < 0.6:
                channel = rng.choice((C.WEB_CHAT, C.PHONE, C.WECHAT) if not english else (C.WEB_CHAT, C.EMAIL))
                moment = at + (order.updated_at - at) * 0.5
                self._touch(plan, rows, "cancel_request", (channel, IN, TOUCHPOINT_OF[channel], S.PURCHASE), moment,
                            order=placed, user=self._agent(plan, channel))
            return
        if order.status in (Order.Status.PENDING, Order.Status.PAID):
            return
        # delivery
        shipped = at + dt.timedelta(hours=rng.uniform(4, 30))
        if (order.delivered_at is None or shipped < order.delivered_at) and rng.random() < 0.5:
            how = (C.EMAIL if english else C.SMS, OUT, T.DELIVERY, S.DELIVERY)
            self._touch(plan, rows, "shipped_sms", how, shipped, order=placed)
        self._delay(plan, placed, rows)
        delivered = order.delivered_at
        if delivered is None:
            return
        main = placed.main
        if main.installed and rng.random() < 0.75:
            self._touch(plan, rows, "install_call", (C.PHONE, OUT, T.INSTALLATION, S.DELIVERY),
                        delivered + dt.timedelta(hours=rng.uniform(1, 20)), order=placed,
                        user=self._agent(plan, C.PHONE), when=delivered + dt.timedelta(days=1))
        if not english and rng.random() < 0.25:
            self._touch(plan, rows, "delivery_wechat", (C.WECHAT, OUT, T.DELIVERY, S.DELIVERY),
                        delivered + dt.timedelta(hours=rng.uniform(0.5, 6)), order=placed,
                        user=self._agent(plan, C.WECHAT))
        # use
        if rng.random() < 0.2:
            how = (C.EMAIL if english else C.SMS, OUT, T.APP, S.USE)
            self._touch(plan, rows, "review_request", how, delivered + dt.timedelta(days=rng.uniform(1, 3)),
                        order=placed)
        if rng.random() < 0.08:
            channel = rng.choice((C.WEB_CHAT, C.WECHAT, C.PHONE) if not english else (C.WEB_CHAT, C.EMAIL))
            self._touch(plan, rows, "usage_question", (channel, IN, TOUCHPOINT_OF[channel], S.USE),
                        delivered + dt.timedelta(days=rng.uniform(1, 60)), order=placed,
                        user=self._agent(plan, channel))
        if rng.random() < 0.02:
            self._touch(plan, rows, "social_praise", (C.SOCIAL, IN, T.SOCIAL, S.USE),
                        delivered + dt.timedelta(days=rng.uniform(1, 20)), order=placed)
        # service
        appliance = main.category in APPLIANCE_CATEGORIES
        issues = []
        if appliance and rng.random() < 0.025:
            issues.append(("damaged", delivered + dt.timedelta(hours=rng.uniform(1, 30))))
        if main.installed and rng.random() < 0.06:
            issues.append(("install_problem", delivered + dt.timedelta(days=rng.uniform(1, 3))))
        if rng.random() < (0.08 if appliance else 0.04):
            issues.append(("repair", delivered + dt.timedelta(days=rng.uniform(20, 400))))
        if order.status == Order.Status.RETURNED:
            issues.append(("return_request", delivered + (order.updated_at - delivered) * 0.3))
        if rng.random() < (0.3 if plan.is_organisation else 0.04):
            issues.append(("invoice", at + dt.timedelta(days=rng.uniform(1, 10))))
        if rng.random() < 0.006:
            issues.append(("social_complaint", delivered + dt.timedelta(days=rng.uniform(2, 40))))
        for story, moment in issues:
            self._issue(plan, placed, rows, story, moment)

    def _delay(self, plan: Plan, placed: PlacedOrder, rows: list[Interaction]) -> None:
        """A late-delivery complaint: less likely since the courier change (the planted improvement)."""
        rng, order = self.rng, placed.order
        chance = 0.05 if order.placed_at < self.improved_at else 0.02
        if placed.promotion:
            chance *= 1.8
        if rng.random() < chance:
            end = order.delivered_at or self.calendar.now
            moment = order.placed_at + (end - order.placed_at) * rng.uniform(0.55, 0.95)
            self._issue(plan, placed, rows, "delivery_delay", moment)

    def _issue(self, plan: Plan, placed: PlacedOrder | None, rows: list[Interaction], story: str,
               at: dt.datetime) -> None:
        rng = self.rng
        if story == "social_complaint":
            how = (C.SOCIAL, IN, T.SOCIAL, S.SERVICE)
            user = None
        else:
            table = SERVICE_CHANNELS[plan.locale]
            channel = rng.choices(list(table), weights=list(table.values()))[0]
            if story == "invoice":
                channel = rng.choice((C.EMAIL, C.WEB_FORM))
            how = (channel, IN, TOUCHPOINT_OF[channel], S.SERVICE)
            user = self._agent(plan, channel)
        added = self._touch(plan, rows, story, how, at, user=user, order=placed,
                            when=at + dt.timedelta(days=rng.randint(2, 7)))
        if not added:
            return
        if story in COMPLAINTS and COMPLAINED_TAG not in plan.tags:
            plan.tags.append(COMPLAINED_TAG)
        if story != "invoice" and rng.random() < 0.5:
            self._touch(plan, rows, "callback", (C.PHONE, OUT, T.HOTLINE, S.SERVICE),
                        at + dt.timedelta(days=rng.uniform(1, 5)), user=self._agent(plan, C.PHONE), order=placed)

    def _loyalty(self, plan: Plan, rows: list[Interaction]) -> None:
        rng, calendar, customer = self.rng, self.calendar, plan.customer
        marketer = self.marketing
        for year in range(calendar.days[0].year, calendar.today.year + 1):
            for story, moment in (("campaign_618", calendar.at(dt.date(year, 6, 10), 10)),
                                  ("campaign_1111", calendar.at(dt.date(year, 10, 24), 20))):
                channel = plan.marketing_allowed(moment)
                if channel and rng.random() < 0.7:
                    self._touch(plan, rows, story, (channel, OUT, TOUCHPOINT_OF[channel], S.LOYALTY), moment,
                                user=rng.choice(marketer))
            if customer.birthday is not None:
                try:
                    day = customer.birthday.replace(year=year)
                except ValueError:
                    continue
                moment = calendar.at(day, 9)
                channel = plan.marketing_allowed(moment)
                if channel and rng.random() < 0.8:
                    self._touch(plan, rows, "birthday", (channel, OUT, TOUCHPOINT_OF[channel], S.LOYALTY), moment)
        if plan.segment == "lapsed" and plan.orders:
            last = plan.orders[-1]
            moment = last.order.placed_at + dt.timedelta(days=rng.uniform(180, 330))
            channel = plan.marketing_allowed(moment)
            if channel and rng.random() < 0.5:
                self._touch(plan, rows, "winback_message", (channel, OUT, TOUCHPOINT_OF[channel], S.LOYALTY), moment,
                            user=rng.choice(marketer), order=last)
            else:
                self._touch(plan, rows, "winback_call", (C.PHONE, OUT, T.HOTLINE, S.LOYALTY), moment,
                            user=customer.owner or self._agent(plan, C.PHONE), order=last)
        if plan.is_organisation and plan.orders:
            moment = plan.orders[0].order.placed_at + dt.timedelta(days=rng.uniform(60, 120))
            while moment < calendar.now:
                if rng.random() < 0.6:
                    how = (C.VISIT, OUT, T.SALES_VISIT, S.LOYALTY) if rng.random() < 0.6 else (
                        C.EMAIL, OUT, T.EMAIL, S.LOYALTY)
                    self._touch(plan, rows, "account_review", how, calendar.office_time(rng, moment.date()),
                                user=self._sales(plan))
                moment += dt.timedelta(days=rng.uniform(75, 110))
