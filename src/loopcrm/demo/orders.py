"""Demo orders: 1–4 lines each, on the days the customer's plan chose, in statuses that fit their age.

Orders older than a couple of weeks are delivered (or cancelled, or returned — more often after a
promotion); recent ones are still paid or on their way. Promotion days (618, 双十一, 双十二) carry
a discount; organisations buy in quantity at a corporate price.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal

from loopcrm.commerce.models import Order, OrderChannel, OrderLine
from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.catalogue import ADD_ONS, APPLIANCE_CATEGORIES, MAIN_WEIGHTS, Catalogue, Item
from loopcrm.demo.customers import Plan

CHANNELS_ZH = {
    OrderChannel.MARKETPLACE: 35, OrderChannel.ONLINE_STORE: 22, OrderChannel.RETAIL_STORE: 20,
    OrderChannel.WECHAT: 16, OrderChannel.PHONE: 5, OrderChannel.SALES_REP: 2,
}
CHANNELS_EN = {OrderChannel.ONLINE_STORE: 60, OrderChannel.MARKETPLACE: 30, OrderChannel.PHONE: 6,
               OrderChannel.SALES_REP: 4}
CHANNELS_ORGANISATION = {OrderChannel.SALES_REP: 60, OrderChannel.PHONE: 20, OrderChannel.ONLINE_STORE: 12,
                         OrderChannel.WECHAT: 8}
CORPORATE_WEIGHTS = {**MAIN_WEIGHTS, "air-conditioners": 18, "tvs": 12, "phones": 20, "tablets": 10,
                     "cookware": 2, "blenders": 1, "accessories": 4}
NOTES_ZH = ("请工作日送货", "送货前请电话联系", "礼品，请勿放价格单", "放小区快递柜即可", "老人在家，请耐心敲门")
NOTES_EN = ("Please leave at the front desk.", "Gift - no invoice in the box, please.", "Call before delivery.")
CENT = Decimal("0.01")


@dataclass
class PlacedOrder:
    """An order with what the interaction generator tells stories about."""

    order: Order
    lines: list[OrderLine]
    main: Item
    promotion: bool


def is_promotion(day: dt.date) -> bool:
    return (day.month == 6 and day.day <= 18) or (day.month == 11 and day.day <= 11) or (
        day.month == 12 and 10 <= day.day <= 12)


class OrderMaker:
    def __init__(self, *, seed: int, calendar: DemoCalendar, catalogue: Catalogue) -> None:
        self.rng = random.Random(f"{seed}/orders")
        self.calendar = calendar
        self.catalogue = catalogue
        self.sequence = itertools.count(1)

    def orders_for(self, plan: Plan) -> list[PlacedOrder]:
        placed = sorted((self._order(plan, day) for day in plan.order_days), key=lambda item: item.order.placed_at)
        if placed:
            first = placed[0].order.placed_at
            if first <= plan.customer.created_at:  # registered at checkout, minutes before paying
                plan.customer.created_at = first - dt.timedelta(minutes=self.rng.randint(2, 20))
            last = max(item.order.updated_at for item in placed)
            plan.customer.updated_at = max(plan.customer.updated_at, last)
        return placed

    def _main_item(self, plan: Plan, day: int) -> Item:
        rng = self.rng
        weights = CORPORATE_WEIGHTS if plan.is_organisation else MAIN_WEIGHTS
        while True:
            category = rng.choices(list(weights), weights=list(weights.values()))[0]
            items = sorted(self.catalogue.on_sale(category, day), key=lambda item: item.price)
            if items:
                # Taste: a higher affinity leans towards the dearer models of the category.
                position = int(rng.random() ** (1 / plan.affinity) * len(items))
                return items[min(position, len(items) - 1)]

    def _order(self, plan: Plan, day: int) -> PlacedOrder:
        rng, calendar = self.rng, self.calendar
        date = calendar.days[day]
        placed_at = calendar.order_time(rng, date)
        if plan.is_organisation:
            channel = _weighted(rng, CHANNELS_ORGANISATION)
            placed_at = calendar.office_time(rng, date)
        else:
            channel = _weighted(rng, CHANNELS_ZH if plan.locale == "zh" else CHANNELS_EN)
            if channel in (OrderChannel.RETAIL_STORE, OrderChannel.PHONE, OrderChannel.SALES_REP):
                placed_at = calendar.office_time(rng, date)
        placed_at = calendar.clamp(placed_at)
        promotion = is_promotion(date)
        main = self._main_item(plan, day)
        items = [main]
        extra = rng.choices((0, 1, 2, 3), weights=(42, 32, 18, 8))[0]
        choices = [sku for sku in ADD_ONS.get(main.category, ()) if self._on_sale(sku, day) and sku != main.sku]
        rng.shuffle(choices)
        items += [self.catalogue.items[sku] for sku in choices[:extra]]

        lines, total = [], Decimal("0")
        for position, item in enumerate(items):
            quantity = 1
            if plan.is_organisation:
                quantity = rng.randint(2, 12) if position == 0 else rng.randint(1, 6)
                if plan.segment == "big" or rng.random() < 0.15:
                    quantity *= rng.randint(2, 5)
            elif item.category == "accessories" and rng.random() < 0.25:
                quantity = 2
            unit_price = item.price
            if plan.is_organisation:
                unit_price = (unit_price * Decimal("0.90")).quantize(CENT)
            elif promotion and position == 0:
                off = max(Decimal(10), (item.price / 10 / 50).quantize(Decimal(1)) * 50)
                unit_price = item.price - off
            amount = (unit_price * quantity).quantize(CENT)
            total += amount
            lines.append(OrderLine(product=self.catalogue.products[item.sku], description=item.name,
                                   quantity=quantity, unit_price=unit_price, amount=amount))

        status, delivered_at, updated_at = self._fate(plan, main, channel, placed_at, promotion)
        notes = ""
        if plan.is_organisation and rng.random() < 0.4:
            notes = (f"发票抬头：{plan.customer.name}（增值税专用发票）" if plan.locale == "zh"
                     else f"PO number: PO-{rng.randint(10000, 99999)}")
        elif rng.random() < 0.05:
            notes = rng.choice(NOTES_ZH if plan.locale == "zh" else NOTES_EN)
        order = Order(
            number=f"SO{placed_at:%y%m%d}{next(self.sequence):07d}", customer=plan.customer, channel=channel,
            status=status, placed_at=placed_at, delivered_at=delivered_at, currency="CNY", total=total, notes=notes,
            version=1, created_by=plan.customer.owner if channel in (OrderChannel.SALES_REP, OrderChannel.PHONE)
            else None, created_at=placed_at, updated_at=updated_at,
        )
        return PlacedOrder(order=order, lines=lines, main=main, promotion=promotion)

    def _on_sale(self, sku: str, day: int) -> bool:
        item = self.catalogue.items[sku]
        return item.launched <= day and (item.withdrawn is None or day < item.withdrawn)

    def _fate(self, plan: Plan, main: Item, channel: str, placed_at: dt.datetime, promotion: bool):
        """Status, delivery moment and last change of an order placed at `placed_at`, as of the reference now."""
        rng, now = self.rng, self.calendar.now
        age = (now - placed_at).total_seconds() / 86400
        if age < 0.5:
            status = Order.Status.PENDING if rng.random() < 0.35 else Order.Status.PAID
            return status, None, placed_at
        if rng.random() < (0.06 if promotion else 0.035):
            cancelled_at = self.calendar.clamp(placed_at + dt.timedelta(hours=rng.uniform(0.2, 20)))
            return Order.Status.CANCELLED, None, cancelled_at
        if channel == OrderChannel.RETAIL_STORE and main.category not in APPLIANCE_CATEGORIES:
            transit = rng.uniform(0, 0.1)  # taken home from the store
        elif main.category == "service-plans":
            transit = rng.uniform(0, 0.05)
        else:
            transit = rng.uniform(1, 4) + (1 if main.category in APPLIANCE_CATEGORIES else 0)
            if plan.locale == "en":
                transit += rng.uniform(3, 8)  # shipped abroad
            if promotion:
                transit += rng.uniform(0.5, 3)  # couriers are swamped after 双十一 and 618
        delivered_at = placed_at + dt.timedelta(days=transit)
        if delivered_at >= now:
            status = Order.Status.PAID if age < 1 and rng.random() < 0.4 else Order.Status.SHIPPED
            return status, None, placed_at + dt.timedelta(hours=min(age * 24 * 0.5, 20))
        if (now - delivered_at).days >= 3 and rng.random() < (0.08 if promotion else 0.045):
            returned_at = delivered_at + dt.timedelta(days=rng.uniform(1, min(7, (now - delivered_at).days)))
            return Order.Status.RETURNED, delivered_at, returned_at
        return Order.Status.DELIVERED, delivered_at, delivered_at


def _weighted(rng: random.Random, table: dict) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def insert_orders(loader: Loader, placed: list[PlacedOrder]) -> None:
    loader.insert([item.order for item in placed])
    lines = []
    for item in placed:
        for line in item.lines:
            line.order_id = item.order.pk
            lines.append(line)
    # Lines are part of their order's creation (as in commerce.create_order): the order's audit row covers them.
    loader.insert(lines, audited=False)
