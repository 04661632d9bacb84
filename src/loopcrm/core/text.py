"""Cleaning free text from people and spreadsheets before it reaches the database."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from loopcrm.core.errors import RuleViolation

# Zero-width and bidirectional control characters: invisible, and used to spoof names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")


def clean_line(value: str | None, *, field: str, max_length: int | None = None, required: bool = False) -> str:
    """One line of text: NFC, no invisible controls, single spaces, no NUL (PostgreSQL refuses it)."""
    value = clean_text(value, field=field, max_length=None)
    value = _SPACES.sub(" ", value).strip()
    if required and not value:
        raise RuleViolation(_("This field is required."), field=field)
    _check_length(value, field=field, max_length=max_length)
    return value


def clean_text(value: str | None, *, field: str, max_length: int | None = None) -> str:
    """Multi-line text: NFC, invisible controls removed, NUL refused with a clear error."""
    if value is None:
        return ""
    if "\x00" in value:
        raise RuleViolation(_("Text may not contain NUL characters."), field=field)
    value = unicodedata.normalize("NFC", _INVISIBLE.sub("", value))
    _check_length(value, field=field, max_length=max_length)
    return value.strip()


def _check_length(value: str, *, field: str, max_length: int | None) -> None:
    if max_length is not None and len(value) > max_length:
        raise RuleViolation(
            _("At most %(limit)d characters (got %(count)d).") % {"limit": max_length, "count": len(value)},
            field=field,
        )


def listing(items: Iterable[object]) -> str:
    """Items named in a message, joined the way the active language joins them ("a, b" / "a、b")."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


def fold(value: str) -> str:
    """The key we compare names and emails by: NFKC (full-width to half-width) and case-folded."""
    return unicodedata.normalize("NFKC", value).casefold().strip()
