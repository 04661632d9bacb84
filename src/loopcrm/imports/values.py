"""Cell text to values: dates (ISO, Chinese, Excel serials), yes/no, numbers with separators.

Everything is NFKC-normalised first, so full-width digits and punctuation (`２０２５－０３－０４`,
`１，２３４`) read like their ASCII forms. Errors are ValueError with a message for the report.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 once Lotus' phantom 1900-02-29 is allowed for
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_CHINESE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?")
_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{1,6}(?:\.0+)?")
_TRUE = frozenset({"1", "true", "yes", "y", "t", "是", "对", "真", "vip", "x", "✓"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "否", "不是", "假", ""})
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _date(year: int, month: int, day: int, shown: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise ValueError(_("%(value)s is not a real date.") % {"value": repr(shown)}) from error


def parse_date(text: str) -> dt.date | None:
    """A date as people and spreadsheets write it; None for a blank cell.

    2025-03-04, 2025/3/4, 2025.3.4, 20250304, 2025年3月4日, an Excel serial (45720), and
    day/month/year when the day is over 12. 03/04/2025 is refused as ambiguous.
    """
    value = nfkc(text)
    if not value:
        return None
    for pattern in (_ISO, _CHINESE, _COMPACT):
        match = pattern.fullmatch(value)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _date(year, month, day, text)
    if _SERIAL.fullmatch(value):
        serial = int(float(value))
        if not 1 <= serial <= 2958465:
            raise ValueError(_("%(value)s is not a date.") % {"value": repr(text)})
        if serial == 60:
            raise ValueError(_("%(value)s is Excel's 1900-02-29, a day that never existed.") % {"value": repr(text)})
        if serial < 60:
            serial += 1  # before Lotus' phantom leap day the offset is one day less
        return EXCEL_EPOCH + dt.timedelta(days=serial)
    match = _SLASHED.fullmatch(value)
    if match:
        first, second, year = (int(g) for g in match.groups())
        if first > 12 >= second:
            return _date(year, second, first, text)
        if second > 12 >= first:
            return _date(year, first, second, text)
        if first == second:
            return _date(year, first, second, text)
        raise ValueError(_("%(value)s is ambiguous (day/month or month/day?): write it as YYYY-MM-DD.")
                         % {"value": repr(text)})
    raise ValueError(_("%(value)s is not a date: write it as YYYY-MM-DD.") % {"value": repr(text)})


def parse_bool(text: str) -> bool:
    value = nfkc(text).casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(_("%(value)s is not yes or no.") % {"value": repr(text)})


def parse_decimal(text: str) -> Decimal | None:
    """A number with optional thousand separators (1,234.50), full-width digits or currency signs."""
    value = nfkc(text).replace(" ", "").lstrip("¥$€£").replace("，", ",")
    if not value:
        return None
    if "," in value:
        if not _THOUSANDS.fullmatch(value):
            raise ValueError(_("%(value)s is not a number.") % {"value": repr(text)})
        value = value.replace(",", "")
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise ValueError(_("%(value)s is not a number.") % {"value": repr(text)}) from error
    if not number.is_finite():
        raise ValueError(_("%(value)s is not a number.") % {"value": repr(text)})
    return number
