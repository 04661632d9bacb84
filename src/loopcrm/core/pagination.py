"""Keyset (cursor) pagination shared by the API and the htmx lists.

A cursor is an opaque token holding the sort key and id of the last row served, so a page costs
the same however deep it is, and rows added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from loopcrm.core.errors import DomainError
from loopcrm.core.text import listing

T = TypeVar("T")


class BadRequest(DomainError):
    status = 400
    title = "Bad request"


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    limit: int


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return dt.datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return Decimal(value["d"])
    return value


def _bad_cursor() -> BadRequest:
    return BadRequest(_("The cursor is invalid or belongs to another sort order."), field="cursor")


def encode_cursor(sort: str, value: Any, pk: int) -> str:
    raw = json.dumps([sort, _encode(value), pk], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if cursor_sort != sort or not isinstance(pk, int):
            raise ValueError
        return _decode(value), pk
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _bad_cursor() from error


def _as_field_value(model: type, field: str, value: Any) -> Any:
    """The cursor's sort value as the sort field's type: a forged cursor is a 400, not a database error."""
    try:
        model_field = model._meta.get_field(field)
    except FieldDoesNotExist:
        return value
    try:
        if value is None:
            raise ValueError("no sort value")
        return model_field.to_python(value)
    except (ValidationError, TypeError, ValueError) as error:
        raise _bad_cursor() from error


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return settings.LOOPCRM_API_PAGE_SIZE
    return max(1, min(int(limit), settings.LOOPCRM_API_MAX_PAGE_SIZE))


def paginate(
    queryset: QuerySet, *, sort: str, allowed: tuple[str, ...], cursor: str | None = None, limit: int | None = None
) -> Page:
    """One page of `queryset` ordered by `sort` (then id), after `cursor`.

    `sort` is a field name with an optional leading '-', and must be in `allowed`: anything else is
    a 400, so a client can never order by an unindexed or private column.
    """
    if sort not in allowed:
        raise BadRequest(_("Unknown sort %(sort)s; use one of: %(allowed)s.")
                         % {"sort": repr(sort), "allowed": listing(allowed)}, field="sort")
    limit = clamp_limit(limit)
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    order = [sort, "-id" if descending else "id"] if field != "id" else [sort]
    queryset = queryset.order_by(*order)
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        if field != "id":
            value = _as_field_value(queryset.model, field, value)
        op = "lt" if descending else "gt"
        if field == "id":
            queryset = queryset.filter(**{f"id__{op}": pk})
        else:
            queryset = queryset.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, field), last.pk)
    return Page(items=rows, next_cursor=next_cursor, limit=limit)
