"""Demo customers: people in China and abroad, organisations with contact persons, tags and consent.

Composition is fixed by proportion, not by chance, so even a small load has every kind: about 80 %
people with Chinese names and mainland mobiles, 15 % English-speaking customers abroad and 5 %
organisations (1–3 contact persons each). Each customer gets a purchasing *segment* that decides
the shape of their history: prospects who never bought, one-time buyers, occasional and regular
buyers, a few big spenders, and lapsed customers whose last order is more than a year old.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from faker import Faker

from loopcrm.accounts.models import User
from loopcrm.customers.models import Consent, ContactPerson, Customer, SourceChannel, Tag
from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import HISTORY_DAYS, DemoCalendar
from loopcrm.demo.geography import ABROAD, CITIES, RESIDENCES, STREETS, TOWERS, Abroad, City
from loopcrm.demo.organisation import Staff
from loopcrm.demo.phones import PhoneBook

if TYPE_CHECKING:
    from loopcrm.demo.orders import PlacedOrder

# segment -> (share of customers, fewest orders, most orders, earliest and latest first-order day)
SEGMENTS: dict[str, tuple[float, int, int, int, int]] = {
    "prospect": (0.07, 0, 0, 0, 0),
    "one_time": (0.33, 1, 1, 0, HISTORY_DAYS - 1),
    "occasional": (0.30, 2, 6, 0, HISTORY_DAYS - 120),
    "regular": (0.17, 6, 16, 0, 420),
    "big": (0.03, 12, 40, 0, 200),
    "lapsed": (0.10, 1, 5, 0, 250),
}
LAPSED_LAST_DAY = HISTORY_DAYS - 366  # lapsed customers bought nothing in the last year

# kind/locale -> share of customers
KINDS: dict[str, float] = {"person-zh": 0.80, "person-en": 0.15, "organisation-zh": 0.04, "organisation-en": 0.01}

TAGS: tuple[tuple[str, str], ...] = (
    ("老客户 Loyal", "#16a34a"), ("高潜力 High potential", "#2563eb"), ("价格敏感 Price-sensitive", "#d97706"),
    ("以旧换新 Trade-in", "#0891b2"), ("企业采购 Corporate", "#7c3aed"), ("投诉过 Complained", "#dc2626"),
    ("英文服务 English service", "#475569"), ("会员 Member", "#db2777"), ("经销商 Dealer", "#65a30d"),
    ("直播引流 Live-stream lead", "#ea580c"),
)

SOURCES_PERSON_ZH = {
    SourceChannel.MARKETPLACE: 22, SourceChannel.WEBSITE: 16, SourceChannel.STORE: 16, SourceChannel.WECHAT: 16,
    SourceChannel.REFERRAL: 8, SourceChannel.ADVERTISING: 6, SourceChannel.SOCIAL: 7, SourceChannel.PHONE: 4,
    SourceChannel.EVENT: 2, SourceChannel.IMPORT: 3,
}
SOURCES_PERSON_EN = {
    SourceChannel.WEBSITE: 40, SourceChannel.MARKETPLACE: 20, SourceChannel.SOCIAL: 12,
    SourceChannel.REFERRAL: 12, SourceChannel.ADVERTISING: 10, SourceChannel.EVENT: 3, SourceChannel.IMPORT: 3,
}
SOURCES_ORGANISATION = {
    SourceChannel.REFERRAL: 25, SourceChannel.EVENT: 20, SourceChannel.PARTNER: 20, SourceChannel.PHONE: 15,
    SourceChannel.WEBSITE: 15, SourceChannel.IMPORT: 5,
}
INDUSTRIES_ZH = ("酒店餐饮", "连锁零售", "教育培训", "医疗健康", "物业管理", "制造业", "互联网", "房地产", "物流运输")
INDUSTRIES_EN = ("Hospitality", "Retail", "Education", "Healthcare", "Property management", "Technology")
TITLES_ZH = ("采购经理", "行政主管", "总经理", "IT负责人", "财务经理", "后勤主管", "运营总监")
TITLES_EN = ("Procurement Manager", "Office Manager", "IT Lead", "Finance Manager", "Operations Director")
NOTES_ZH = (
    "偏好周末送货，工作日白天家中无人。", "对价格敏感，主要在大促期间下单。", "老客户，曾推荐两位朋友购买。",
    "上门前请提前一小时电话联系。", "家中有老人，安装时请讲解清楚操作方法。", "希望只通过微信联系。",
)
NOTES_EN = (
    "Prefers email; please do not call before 10:00.", "Ships to a US forwarding address; check customs notes.",
    "Referred by a colleague; interested in the whole appliance range.", "Asks for English manuals with every order.",
)
NOTES_ORGANISATION = (
    "年度框架协议客户，按季度集中采购。", "开票需增值税专用发票，抬头见合同。", "对接人更换时请同步更新联系人。",
)
ZH_EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com")
EN_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com")
# Privacy notice versions and when they took effect.
NOTICES = ((dt.date(2000, 1, 1), "2022.09"), (dt.date(2024, 3, 1), "2024.03"), (dt.date(2025, 5, 1), "2025.05"))


@dataclass
class Plan:
    """One customer as generated: the row and what the order and interaction generators need to know."""

    index: int
    locale: str  # "zh" | "en"
    segment: str
    order_days: list[int]
    affinity: float  # how expensive their taste is (1.0: typical)
    customer: Customer
    city: City | None = None
    abroad: Abroad | None = None
    contacts: list[ContactPerson] = field(default_factory=list)
    marketing: tuple[dt.datetime, dt.datetime | None, str] | None = None  # granted, withdrawn, channel
    tags: list[str] = field(default_factory=list)
    orders: list[PlacedOrder] = field(default_factory=list)  # by the order generator, oldest first

    @property
    def is_organisation(self) -> bool:
        return self.customer.kind == Customer.Kind.ORGANISATION

    def marketing_allowed(self, moment: dt.datetime) -> str | None:
        """The channel marketing may use at `moment`, or None without a standing consent."""
        if self.marketing is None:
            return None
        granted, withdrawn, channel = self.marketing
        return channel if granted <= moment and (withdrawn is None or moment < withdrawn) else None


def exact_mix(rng: random.Random, count: int, shares: dict[str, float]) -> list[str]:
    """`count` labels in the given proportions (largest remainders), shuffled."""
    raw = {label: share * count for label, share in shares.items()}
    counts = {label: int(value) for label, value in raw.items()}
    for label in sorted(raw, key=lambda key: raw[key] - counts[key], reverse=True)[: count - sum(counts.values())]:
        counts[label] += 1
    labels = [label for label, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    return labels


def _weighted(rng: random.Random, table: dict) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class CustomerMaker:
    """Makes customers one by one from seeded random streams; the same seed makes the same people."""

    def __init__(self, *, seed: int, count: int, calendar: DemoCalendar, staff: Staff) -> None:
        self.rng = random.Random(f"{seed}/customers")
        self.fake_zh, self.fake_en = Faker("zh_CN"), Faker("en_US")
        self.fake_zh.seed_instance(seed * 104729 + 11)
        self.fake_en.seed_instance(seed * 104729 + 12)
        self.phones = PhoneBook(random.Random(f"{seed}/phones"))
        self.emails: set[str] = set()
        self.calendar = calendar
        self.staff = staff
        self.kinds = exact_mix(self.rng, count, KINDS)
        self.segments = exact_mix(self.rng, count, {key: value[0] for key, value in SEGMENTS.items()})
        self.city_weights = [city.weight for city in CITIES]
        self.abroad_weights = [place.weight for place in ABROAD]

    def make(self, index: int) -> Plan:
        rng = self.rng
        kind, locale = self.kinds[index].split("-")
        segment = self.segments[index]
        if kind == "organisation" and segment == "prospect":
            segment = "regular"  # a company on the books has bought something
        days = self._order_days(segment)
        since = self._since(days)
        affinity = rng.lognormvariate(0, 0.45) * (2.2 if segment == "big" else 1.0)
        customer = Customer(kind=kind, created_at=since, updated_at=since, version=1)
        plan = Plan(index=index, locale=locale, segment=segment, order_days=days, affinity=affinity, customer=customer)
        if locale == "zh":
            plan.city = rng.choices(CITIES, weights=self.city_weights)[0]
        else:
            plan.abroad = rng.choices(ABROAD, weights=self.abroad_weights)[0]
        if kind == "organisation":
            self._organisation(plan)
        else:
            self._person(plan)
        self._ownership(plan)
        self._extras(plan)
        return plan

    def _order_days(self, segment: str) -> list[int]:
        rng, calendar = self.rng, self.calendar
        _share, fewest, most, earliest, latest = SEGMENTS[segment]
        count = rng.randint(fewest, most) if most <= 6 else round(min(most, fewest + rng.expovariate(1 / 3)))
        if count == 0:
            return []
        first = calendar.pick_index(rng, earliest, latest)
        last = LAPSED_LAST_DAY if segment == "lapsed" else HISTORY_DAYS - 1
        first = min(first, last)
        later = [calendar.pick_index(rng, first, last) for _ in range(count - 1)]
        return sorted([first, *later])

    def _since(self, days: list[int]) -> dt.datetime:
        rng, calendar = self.rng, self.calendar
        if not days:  # a prospect: a lead from the last eight months
            day = calendar.days[rng.randint(HISTORY_DAYS - 240, HISTORY_DAYS - 1)]
        elif days[0] < 200 and rng.random() < 0.35:  # on the books from before the history
            day = calendar.days[0] - dt.timedelta(days=rng.randint(30, 900))
        elif rng.random() < 0.65:  # registered at the first checkout
            day = calendar.days[days[0]]
        else:
            day = calendar.days[max(0, days[0] - rng.randint(1, 90))]
        return calendar.office_time(rng, day)

    # — who they are —

    def _email(self, local: str, domains: Sequence[str]) -> str:
        local = "".join(ch for ch in local.lower() if ch.isalnum() or ch in "._") or "user"
        email = f"{local}@{self.rng.choice(domains)}"
        while email in self.emails:
            email = f"{local}{self.rng.randint(2, 999)}@{self.rng.choice(domains)}"
        self.emails.add(email)
        return email

    def _address(self, plan: Plan, *, office: bool) -> None:
        rng, customer = self.rng, plan.customer
        if plan.city is not None:
            city = plan.city
            customer.country, customer.province, customer.city = "CN", city.province, city.name
            customer.district = rng.choice(city.districts)
            street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            if office:
                customer.street = f"{street}{rng.choice(TOWERS)}{rng.randint(2, 32)}层"
            else:
                room = f"{rng.randint(1, 33)}{rng.randint(1, 4):02d}"
                customer.street = (f"{street}{self.fake_zh.last_name()}{rng.choice(RESIDENCES)}"
                                   f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{room}室")
            customer.postal_code = f"{city.postcode}{rng.randrange(1000):03d}"
        else:
            place = plan.abroad
            customer.country, customer.province, customer.city = place.country, place.province, place.city
            customer.district = rng.choice(place.districts) if place.districts else ""
            customer.street = self.fake_en.street_address()
            customer.postal_code = rng.choice(place.postcodes)

    def _person(self, plan: Plan) -> None:
        rng, customer = self.rng, plan.customer
        if plan.locale == "zh":
            customer.name = self.fake_zh.name()
            customer.phone, customer.phone_raw = self.phones.cn_mobile()
            style = rng.random()
            if style < 0.35:
                customer.email = self._email(str(rng.randint(10**5, 3 * 10**9)), ("qq.com",))
            elif style < 0.7:
                customer.email = self._email(self.fake_zh.user_name(), ZH_EMAIL_DOMAINS)
            customer.source_channel = _weighted(rng, SOURCES_PERSON_ZH)
        else:
            first, last = self.fake_en.first_name(), self.fake_en.last_name()
            customer.name = f"{first} {last}"
            customer.phone, customer.phone_raw = self.phones.abroad(plan.abroad)
            customer.email = self._email(f"{first}.{last}", EN_EMAIL_DOMAINS)
            customer.source_channel = _weighted(rng, SOURCES_PERSON_EN)
        if rng.random() < 0.6:
            born = self.calendar.today.year - rng.randint(20, 68)
            customer.birthday = dt.date(born, rng.randint(1, 12), rng.randint(1, 28))
        self._address(plan, office=False)

    def _organisation(self, plan: Plan) -> None:
        rng, customer = self.rng, plan.customer
        fake = self.fake_zh if plan.locale == "zh" else self.fake_en
        domain = self.fake_en.domain_name()
        customer.name = fake.company()
        customer.industry = rng.choice(INDUSTRIES_ZH if plan.locale == "zh" else INDUSTRIES_EN)
        if plan.city is not None:
            customer.phone, customer.phone_raw = self.phones.cn_landline(plan.city)
        else:
            customer.phone, customer.phone_raw = self.phones.abroad(plan.abroad)
        customer.email = self._email(rng.choice(("info", "purchase", "service", "admin")), (domain,))
        customer.source_channel = _weighted(rng, SOURCES_ORGANISATION)
        self._address(plan, office=True)
        for number in range(rng.choices((1, 2, 3), weights=(3, 4, 3))[0]):
            if plan.locale == "zh":
                name, title = self.fake_zh.name(), rng.choice(TITLES_ZH)
                local = self.fake_zh.user_name()
                phone, raw = self.phones.cn_mobile()
            else:
                name, title = f"{self.fake_en.first_name()} {self.fake_en.last_name()}", rng.choice(TITLES_EN)
                local = name.replace(" ", ".")
                phone, raw = self.phones.abroad(plan.abroad)
            plan.contacts.append(ContactPerson(
                name=name, title=title, phone=phone, phone_raw=raw, email=self._email(local, (domain,)),
                is_primary=number == 0, created_at=customer.created_at, updated_at=customer.created_at,
            ))

    def _ownership(self, plan: Plan) -> None:
        rng, staff, customer = self.rng, self.staff, plan.customer
        if plan.locale == "en":
            team, department = "intl", "sales-intl"
        else:
            team, department = ("east", "sales-east") if plan.city.region == "east" else ("south", "sales-south")
        if plan.is_organisation or plan.segment == "big" or plan.locale == "en":
            owner = _pick_owner(rng, staff.team(team))
        else:
            draw = rng.random()
            if draw < 0.72:
                owner = _pick_owner(rng, staff.team(team))
            elif draw < 0.95:
                owner, department = _pick_owner(rng, staff.team("hotline") + staff.team("online")), "cs"
            else:
                owner = None  # new, not yet assigned: the department's leads and managers pick it up
        customer.owner = owner
        customer.department = staff.departments[department]

    def _extras(self, plan: Plan) -> None:
        rng, customer = self.rng, plan.customer
        customer.is_vip = (plan.segment == "big" and rng.random() < 0.7) or (
            plan.is_organisation and plan.segment == "regular" and rng.random() < 0.3)
        if rng.random() < 0.1:
            pool = NOTES_ORGANISATION if plan.is_organisation and plan.locale == "zh" else (
                NOTES_ZH if plan.locale == "zh" else NOTES_EN)
            customer.notes = rng.choice(pool)
        if customer.source_channel in (SourceChannel.MARKETPLACE, SourceChannel.WEBSITE) and rng.random() < 0.8:
            customer.external_id = f"M{customer.created_at:%y%m}{plan.index:07d}"
        tags = []
        if plan.segment in ("regular", "big") and customer.created_at < self.calendar.start:
            tags.append("老客户 Loyal")
        if plan.segment == "prospect" and rng.random() < 0.5:
            tags.append("高潜力 High potential")
        if plan.is_organisation:
            tags.append("企业采购 Corporate")
            if rng.random() < 0.2:
                tags.append("经销商 Dealer")
        if plan.locale == "en":
            tags.append("英文服务 English service")
        for name, chance in (("价格敏感 Price-sensitive", 0.12), ("以旧换新 Trade-in", 0.06), ("会员 Member", 0.35)):
            if not plan.is_organisation and rng.random() < chance:
                tags.append(name)
        if customer.source_channel == SourceChannel.SOCIAL and rng.random() < 0.5:
            tags.append("直播引流 Live-stream lead")
        plan.tags = tags


def _pick_owner(rng: random.Random, members: list[User]) -> User:
    # Leads carry a smaller book than their representatives.
    return rng.choices(members, weights=[0.4 if user.role == "team_lead" else 1.0 for user in members])[0]


def consent_rows(rng: random.Random, plan: Plan, calendar: DemoCalendar) -> list[Consent]:
    """The customer's consent history: service granted by most, marketing by about half (some withdrew)."""
    customer = plan.customer
    since = customer.created_at
    imported = customer.source_channel == SourceChannel.IMPORT
    if customer.source_channel in (SourceChannel.STORE, SourceChannel.EVENT):
        method = Consent.Method.IN_PERSON
    elif customer.source_channel == SourceChannel.PHONE:
        method = Consent.Method.PHONE
    elif plan.is_organisation:
        method = Consent.Method.PAPER
    else:
        method = Consent.Method.WEB_FORM
    if imported:
        method = Consent.Method.IMPORT
    notice = next(version for start, version in reversed(NOTICES) if start <= since.date())
    recorder = customer.owner if method in (Consent.Method.IN_PERSON, Consent.Method.PHONE) else None
    service_channel = "sms" if plan.locale == "zh" and not plan.is_organisation else "email"
    rows = []

    def grant(channel: str, purpose: str, at: dt.datetime, status: str = "granted", how: str = method,
              note: str = "") -> None:
        rows.append(Consent(customer=customer, channel=channel, purpose=purpose, status=status, at=at, method=how,
                            notice_version=notice, note=note, recorded_by=recorder if how == method else None))

    if rng.random() < 0.96:
        grant(service_channel, Consent.Purpose.SERVICE, since)
    if rng.random() < 0.55:
        channel = rng.choice(("sms", "wechat", "wechat")) if plan.locale == "zh" else "email"
        grant(channel, Consent.Purpose.MARKETING, since)
        withdrawn = None
        if rng.random() < 0.15:
            span = (calendar.now - since).total_seconds()
            withdrawn = since + dt.timedelta(seconds=span * rng.uniform(0.1, 0.95))
            note = "回复TD退订" if channel == "sms" else ("Unsubscribed from the newsletter" if plan.locale == "en"
                                                         else "在公众号取消订阅")
            grant(channel, Consent.Purpose.MARKETING, withdrawn, status="withdrawn",
                  how=Consent.Method.PHONE if channel == "sms" else Consent.Method.WEB_FORM, note=note)
        plan.marketing = (since, withdrawn, channel)
    if rng.random() < 0.4:
        grant(service_channel, Consent.Purpose.SURVEYS, since)
    if rng.random() < 0.2:
        grant(service_channel, Consent.Purpose.PROFILING, since)
    return rows


def load_tags(loader: Loader) -> dict[str, Tag]:
    tags = [Tag(name=name, color=color) for name, color in TAGS]
    loader.insert(tags)
    return {tag.name: tag for tag in tags}


def insert_customers(loader: Loader, plans: list[Plan], consents: list[Consent]) -> None:
    """Write a chunk of customers with their contacts, consent records and tags."""
    loader.insert([plan.customer for plan in plans])
    contacts = []
    for plan in plans:
        for contact in plan.contacts:
            contact.organisation_id = plan.customer.pk
            contacts.append(contact)
    loader.insert(contacts)
    for consent in consents:
        consent.customer_id = consent.customer.pk
    loader.insert(consents)


def link_tags(loader: Loader, plans: list[Plan], tags: dict[str, Tag]) -> None:
    through = Customer.tags.through
    loader.link(through, [through(customer_id=plan.customer.pk, tag_id=tags[name].pk)
                          for plan in plans for name in plan.tags])
