"""Cleaning free text from people and spreadsheets before it reaches the database."""

from __future__ import annotations

import re
import unicodedata

from loopcrm.core.errors import RuleViolation

# Zero-width and bidirectional control characters: invisible, and used to spoof names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")


def clean_line(value: str | None, *, field: str, max_length: int | None = None, required: bool = False) -> str:
    """One line of text: NFC, no invisible controls, single spaces, no NUL (PostgreSQL refuses it)."""
    value = clean_text(value, field=field, max_length=None)
    value = _SPACES.sub(" ", value).strip()
    if required and not value:
        raise RuleViolation("This field is required.", field=field)
    if max_length is not None and len(value) > max_length:
        raise RuleViolation(f"At most {max_length} characters (got {len(value)}).", field=field)
    return value


def clean_text(value: str | None, *, field: str, max_length: int | None = None) -> str:
    """Multi-line text: NFC, invisible controls removed, NUL refused with a clear error."""
    if value is None:
        return ""
    if "\x00" in value:
        raise RuleViolation("Text may not contain NUL characters.", field=field)
    value = unicodedata.normalize("NFC", _INVISIBLE.sub("", value))
    if max_length is not None and len(value) > max_length:
        raise RuleViolation(f"At most {max_length} characters (got {len(value)}).", field=field)
    return value.strip()


def fold(value: str) -> str:
    """The key we compare names and emails by: NFKC (full-width to half-width) and case-folded."""
    return unicodedata.normalize("NFKC", value).casefold().strip()
