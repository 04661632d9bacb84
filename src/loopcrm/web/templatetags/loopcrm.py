"""Small presentation helpers for LoopCRM templates: numbers, money, initials, icons."""

from __future__ import annotations

import re
from decimal import Decimal

import phonenumbers
from django import template
from django.conf import settings
from django.utils.formats import number_format

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$", "TWD": "NT$"}

CHANNEL_ICONS = {
    "phone": "phone", "email": "mail", "web_chat": "chat", "web_form": "note", "wechat": "chat",
    "visit": "pin", "sms": "chat", "social": "users", "other": "note",
}


@register.simple_tag
def capped(value) -> str:
    """A (count, capped) pair as "1,234" or "10,000+"."""
    count, is_capped = value
    text = number_format(count, force_grouping=True)
    return f"{text}+" if is_capped else text


@register.filter
def money(amount, currency: str | None = "CNY") -> str:
    """An amount with its currency: ¥1,234.50; unknown currencies by code (CHF 12.00)."""
    if amount is None or amount == "":
        return "—"
    # Grouped by thousands with a comma in both languages: how prices are written in China too.
    text = f"{Decimal(amount):,.2f}"
    currency = currency or "CNY"  # no orders yet: nothing was spent, in the house currency
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}".strip()


@register.filter
def initial(name) -> str:
    """The first visible character of a name, for an avatar (张伟 -> 张, alice -> A)."""
    text = str(name or "").strip()
    return text[:1].upper() if text else "?"


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel or "", "note")


_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@register.filter
def css_color(value: str, default: str = "#64748b") -> str:
    """A stored colour for a style attribute: only #rgb / #rrggbb pass, anything else is the default."""
    return value if isinstance(value, str) and _HEX_COLOR.match(value) else default


@register.filter
def phone(e164: str) -> str:
    """An E.164 number as people read it: national format at home (138 0013 8000), international abroad."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == settings.LOOPCRM_DEFAULT_PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


ORDER_STATUS_TONES = {
    "pending": "warning", "paid": "info", "shipped": "info", "delivered": "success",
    "cancelled": "danger", "returned": "danger",
}


@register.filter
def order_status_tone(status: str) -> str:
    """The badge colour of an order status (warning, info, success, danger)."""
    return ORDER_STATUS_TONES.get(status or "", "info")


# Paging parameters are not filters: an export holds every row the list's filters keep.
_NOT_FILTERS = {"cursor", "page", "limit", "format"}


@register.inclusion_tag("web/_export_links.html", takes_context=True)
def export_links(context, what: str) -> dict:
    """CSV and Excel links for a list, carrying its current filters; only for users who may export."""
    from loopcrm.accounts.permissions import can

    request = context["request"]
    if not request.user.is_authenticated or not can(request.user, "transfer", "export"):
        return {"show": False}
    query = request.GET.copy()
    for key in _NOT_FILTERS:
        query.pop(key, None)
    return {"show": True, "what": what, "query": query.urlencode()}
