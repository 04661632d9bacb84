"""A small, realistic book of business for page and browser tests (and the README screenshot).

Built through the services, as an agent's colleagues would have built it: customers with Chinese
names, tags and owners, an organisation with contact persons, consent decisions, orders with
lines, and a timeline of calls, mails and visits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from loopcrm.commerce import services as commerce
from loopcrm.customers import services as customers
from loopcrm.customers.models import Customer
from loopcrm.interactions import services as interactions

PEOPLE = [
    # name, phone, city (province, city), tags, vip, source
    ("张伟明", "138 0013 8000", ("上海市", "上海市"), ["回头客", "母婴"], True, "wechat"),
    ("李娜", "139 1234 5678", ("北京市", "北京市"), ["新客"], False, "website"),
    ("王芳", "136 6666 1234", ("广东省", "深圳市"), ["投诉关注"], False, "store"),
    ("刘洋", "150 2000 3000", ("浙江省", "杭州市"), [], False, "advertising"),
    ("陈静", "186 1111 2222", ("江苏省", "南京市"), ["回头客"], True, "referral"),
    ("张伟", "137 7777 8888", ("四川省", "成都市"), [], False, "phone"),
    ("Emily Zhang", "+1 415 555 0132", ("California", "San Francisco"), ["海外"], False, "website"),
]


@dataclass
class Book:
    star: Customer  # the VIP whose 360° page the screenshot shows
    organisation: Customer
    customers: list[Customer]


def build(*, by, agent=None) -> Book:
    """Customers, an organisation, products, orders, consent and a timeline. `by` must be an administrator."""
    now = timezone.now()
    owner = agent or by
    created = []
    for name, phone, (province, city), tags, vip, source in PEOPLE:
        country = "US" if phone.startswith("+1") else "CN"
        created.append(customers.create_customer(
            by=by, name=name, phone=phone, email=f"{len(created) + 1}.{'vip' if vip else 'c'}@example.cn",
            country=country, province=province, city=city, tags=tags, is_vip=vip, source_channel=source,
            owner=owner, department=getattr(owner, "department", None),
            district="浦东新区" if city == "上海市" else "", street="世纪大道 100 号" if city == "上海市" else "",
            industry="", notes="偏好工作日下午联系；对配送时效敏感。" if vip else "",
        ))
    star = created[0]
    organisation = customers.create_customer(
        by=by, name="上海云帆贸易有限公司", kind="organisation", phone="021-6888 1234",
        email="purchasing@yunfan.example.cn", province="上海市", city="上海市", district="徐汇区", industry="贸易",
        tags=["企业客户"], source_channel="partner", owner=owner, department=getattr(owner, "department", None),
    )
    customers.add_contact(organisation, by=by, name="周敏", title="采购经理", phone="139 0177 6655",
                          email="zhou.min@yunfan.example.cn", is_primary=True)
    customers.add_contact(organisation, by=by, name="吴强", title="财务主管", phone="021-6888 1235")

    kettle = commerce.create_product(by=by, sku="HM-KT-01", name="智能恒温水壶", price="299.00")
    purifier = commerce.create_product(by=by, sku="HM-AP-20", name="空气净化器 Pro", price="1899.00")
    filters = commerce.create_product(by=by, sku="HM-AP-F2", name="净化器滤芯（两只装）", price="259.00")
    plan = [
        (120, [(purifier, 1), (filters, 1)], "delivered", "online_store"),
        (75, [(filters, 2)], "delivered", "wechat"),
        (33, [(kettle, 2)], "delivered", "retail_store"),
        (6, [(filters, 1)], "shipped", "online_store"),
        (1, [(kettle, 1)], "pending", "phone"),
    ]
    for days, lines, status, channel in plan:
        commerce.create_order(
            by=by, customer=star, lines=[{"product_id": p.pk, "quantity": q} for p, q in lines], status=status,
            channel=channel, placed_at=now - dt.timedelta(days=days, hours=3),
        )
    commerce.create_order(by=by, customer=organisation, lines=[{"product_id": purifier.pk, "quantity": 12}],
                          status="paid", channel="sales_rep", placed_at=now - dt.timedelta(days=12))

    customers.record_consent(star, by=by, channel="wechat", purpose="marketing", status="granted", method="web_form",
                             notice_version="2025-01", at=now - dt.timedelta(days=200))
    customers.record_consent(star, by=by, channel="sms", purpose="marketing", status="granted", method="web_form",
                             notice_version="2025-01", at=now - dt.timedelta(days=200))
    customers.record_consent(star, by=by, channel="sms", purpose="marketing", status="withdrawn", method="phone",
                             note="客户来电要求停止短信推广", at=now - dt.timedelta(days=20))
    customers.record_consent(star, by=by, channel="email", purpose="surveys", status="granted", method="email",
                             at=now - dt.timedelta(days=90))

    touches = [
        (118, "phone", "inbound", "hotline", "purchase", "咨询净化器适用面积",
         "客户询问 40 平米客厅是否适用，已推荐 Pro 款。"),
        (110, "wechat", "outbound", "delivery", "delivery", "安装预约确认", "与客户确认周六上午上门安装。"),
        (74, "email", "inbound", "email", "use", "滤芯更换提醒", "客户回复提醒邮件，下单两只滤芯。"),
        (31, "visit", "outbound", "store", "purchase", "门店体验水壶", ""),
        (20, "phone", "inbound", "hotline", "service", "停止短信推广", "客户表示短信太多，已撤回短信营销同意。"),
        (5, "web_chat", "inbound", "website", "delivery", "物流进度查询", "订单已发货，预计两天内送达，已告知单号。"),
        (0, "phone", "outbound", "hotline", "loyalty", "会员回访", "客户对净化器效果满意，愿意推荐给朋友。"),
    ]
    for days, channel, direction, touchpoint, stage, subject, body in touches:
        interactions.log_interaction(
            by=owner, customer=star, channel=channel, direction=direction, touchpoint=touchpoint,
            journey_stage=stage, subject=subject, body=body, occurred_at=now - dt.timedelta(days=days, minutes=40),
        )
    return Book(star=star, organisation=organisation, customers=[*created, organisation])
