"""One row of a customer file to the values a customer is stored with, or the report lines saying why not.

The rules are the customers app's own (`customers.services` cleaning: names through core.text, phones
to E.164 with the fast path for mainland mobiles, emails normalised, lengths, choices, birthdays in
range): this module only turns cells into the Python values those rules take (dates, yes/no,
choice labels in Chinese or English) and tells which column a failure came from. Cleaning is
per field, so one row reports every bad cell, not just the first. Values that repeat down a
column (province, city, source…) are cleaned once and remembered.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from loopcrm.core.errors import RuleViolation
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer, SourceChannel
from loopcrm.customers.normalise import normalise_email, normalise_phone
from loopcrm.imports.mapping import SYNONYMS, fold_header
from loopcrm.imports.models import ImportRowError
from loopcrm.imports.values import nfkc, parse_bool, parse_date

Reason = ImportRowError.Reason
TAG_SEPARATOR = "\x1f"
_TAG_SPLIT = re.compile(r"[,;、|]")
_CACHED = frozenset({"kind", "country", "province", "city", "district", "industry", "source_channel",
                     "postal_code"})
# Per column: enough for provinces, cities, sources, and every birthday of a century (dates); a column
# with more distinct values than this gains nothing from a cache (names are mostly distinct).
_CACHE_LIMIT = 40_000
_KIND_WORDS = {
    "person": Customer.Kind.PERSON, "individual": Customer.Kind.PERSON, "personal": Customer.Kind.PERSON,
    "个人": Customer.Kind.PERSON, "个人客户": Customer.Kind.PERSON, "自然人": Customer.Kind.PERSON,
    "organisation": Customer.Kind.ORGANISATION, "organization": Customer.Kind.ORGANISATION,
    "company": Customer.Kind.ORGANISATION, "business": Customer.Kind.ORGANISATION,
    "企业": Customer.Kind.ORGANISATION, "公司": Customer.Kind.ORGANISATION, "单位": Customer.Kind.ORGANISATION,
    "机构": Customer.Kind.ORGANISATION, "组织": Customer.Kind.ORGANISATION, "企业客户": Customer.Kind.ORGANISATION,
}
_COUNTRY_WORDS = {"中国": "CN", "中国大陆": "CN", "china": "CN", "prc": "CN", "中华人民共和国": "CN",
                  "香港": "HK", "hongkong": "HK", "台湾": "TW", "澳门": "MO", "美国": "US", "usa": "US",
                  "unitedstates": "US", "英国": "GB", "uk": "GB", "unitedkingdom": "GB", "日本": "JP",
                  "japan": "JP", "新加坡": "SG", "singapore": "SG", "德国": "DE", "germany": "DE"}


def _fold(value: str) -> str:
    return "".join(nfkc(value).casefold().split())


def _source_words() -> dict[str, str]:
    """Source channel values and their labels in English and Chinese, folded, to the stored value."""
    words: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for value, label in SourceChannel.choices:
                words[_fold(str(label))] = value
                words[_fold(value)] = value
    words.update({"微信": SourceChannel.WECHAT, "网站": SourceChannel.WEBSITE, "官网": SourceChannel.WEBSITE,
                  "门店": SourceChannel.STORE, "电话": SourceChannel.PHONE, "转介绍": SourceChannel.REFERRAL,
                  "广告": SourceChannel.ADVERTISING, "活动": SourceChannel.EVENT, "展会": SourceChannel.EVENT})
    return words


@dataclass
class Problem:
    column: str
    value: str
    reason: str
    message: str


@dataclass
class Cleaned:
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


class RowCleaner:
    """Cleans rows of one file under one mapping (one instance per job: it holds the caches)."""

    def __init__(self, headers: Sequence[str], targets: Sequence[str], *, unmapped: str = "ignore") -> None:
        self.headers = list(headers)
        self.columns: dict[str, int] = {}
        self.note_columns: list[int] = []
        self.tag_columns: list[int] = []
        self.split_tags: set[int] = set()  # columns mapped to tags: "VIP, 华南" is two tags
        notes_words = {fold_header(word) for word in SYNONYMS["notes"]}
        self.plain_notes = {i for i, h in enumerate(self.headers) if fold_header(h) in notes_words}
        for index, target in enumerate(targets):
            if target == "notes":
                self.note_columns.append(index)
            elif target == "tags":
                self.tag_columns.append(index)
                self.split_tags.add(index)
            elif target:
                self.columns[target] = index
        if unmapped in ("notes", "tags"):
            extra = [i for i in range(len(self.headers)) if i >= len(targets) or not targets[i]]
            (self.note_columns if unmapped == "notes" else self.tag_columns).extend(extra)
        self.mapped = frozenset(self.columns) | ({"notes"} if self.note_columns else set()) | (
            {"tags"} if self.tag_columns else set())
        if "first_name" in self.columns or "last_name" in self.columns:
            self.mapped |= {"name"}
        self._cache: dict[str, dict[str, Any]] = {name: {} for name in _CACHED}
        self._dates: dict[str, Any] = {}
        self._sources = _source_words()
        self._sources_seen: dict[str, str] = {}  # cells as written to their source, for the common ones
        # Column positions, looked up once (rows are padded to `width`, so a short row reads "").
        self.width = max([len(self.headers), *(i + 1 for i in self.columns.values())])
        self.i_country = self.columns.get("country")
        self.i_name = self.columns.get("name")
        self.i_phone = self.columns.get("phone")
        self.i_email = self.columns.get("email")
        self.line_columns = [(key, self.columns[key]) for key in ("external_id", "street") if key in self.columns]
        self.cached_columns = [(key, self.columns[key]) for key in ("province", "city", "district", "postal_code",
                                                                     "industry") if key in self.columns]

    def _header(self, target: str) -> str:
        index = self.columns.get(target)
        return self.headers[index] if index is not None and index < len(self.headers) else target

    def _rule(self, key: str, value: Any, country: str) -> dict[str, Any]:
        """The customers app's cleaning of one field (the one place that rule lives)."""
        return customer_services._clean_customer({key: value}, country=country)

    def _cached_rule(self, key: str, raw: str, value: Any, country: str) -> dict[str, Any]:
        cache = self._cache[key]
        hit = cache.get(raw)
        if hit is None:
            try:
                hit = self._rule(key, value, country)
            except RuleViolation as error:
                hit = error
            if len(cache) < _CACHE_LIMIT:
                cache[raw] = hit
        if isinstance(hit, RuleViolation):
            raise hit
        return hit

    def _lines_at_once(self, lines: dict[str, str], country: str) -> dict[str, Any] | None:
        """Name, external id and street through one call to the customers rule; None when it refuses
        (then each field is asked alone, so every bad cell is reported as before)."""
        try:
            return customer_services._clean_customer(lines, country=country)
        except RuleViolation:
            return None

    def clean(self, cells: Sequence[str]) -> Cleaned:
        result = Cleaned()
        values = result.values
        problems = result.problems
        columns = self.columns
        count = len(cells)
        if count < self.width:  # a short row: missing cells read as empty
            cells = [*cells, *([""] * (self.width - count))]

        def cell(target: str) -> str | None:
            index = columns.get(target)
            return None if index is None else cells[index]

        def fail(target: str, raw: str, reason: str, message: str) -> None:
            problems.append(Problem(self._header(target), raw[:200], reason, message))

        if count > len(self.headers) and any(c.strip() for c in cells[len(self.headers):]):
            problems.append(Problem("", "", Reason.BAD_ROW, _(
                "This row has %(count)d cells but the header has %(columns)d columns (a stray delimiter?).")
                % {"count": count, "columns": len(self.headers)}))
            return result

        country = "CN"
        if self.i_country is not None:
            raw_country = cells[self.i_country]
            if raw_country.strip():
                code = _COUNTRY_WORDS.get(_fold(raw_country), nfkc(raw_country))
                try:
                    country = self._cached_rule("country", raw_country, code, "CN")["country"]
                    values["country"] = country
                except RuleViolation as error:
                    fail("country", raw_country, Reason.UNKNOWN_CATEGORY, error.message)

        # The name, possibly from first and last name columns.
        name_raw = None if self.i_name is None else cells[self.i_name]
        name_target = "name"
        if name_raw is None or not name_raw.strip():
            first = (cell("first_name") or "").strip()
            last = (cell("last_name") or "").strip()
            if first or last:
                name_raw = f"{last}{first}" if _is_cjk(first + last) else f"{first} {last}".strip()
            elif name_raw is None:
                name_target = "first_name" if "first_name" in columns else "name"
        name_raw = name_raw or ""
        lines = {"name": name_raw}
        for key, index in self.line_columns:
            raw = cells[index]
            if raw.strip():
                lines[key] = raw
        at_once = self._lines_at_once(lines, country)
        if at_once is not None:
            values.update(at_once)
        else:
            try:
                values.update(self._rule("name", name_raw, country))
            except RuleViolation as error:
                reason = Reason.MISSING_REQUIRED if not name_raw.strip() else Reason.BAD_VALUE
                message = _("The name is missing.") if reason == Reason.MISSING_REQUIRED else error.message
                fail(name_target, name_raw, reason, message)

        if self.i_phone is not None:
            raw = cells[self.i_phone]
            if raw:
                try:  # customers.normalise is where the phone rule lives (the same call the service makes)
                    values["phone"], values["phone_raw"] = normalise_phone(raw, region=country)
                except RuleViolation as error:
                    fail("phone", raw, Reason.BAD_PHONE, error.message)
        if self.i_email is not None:
            raw = cells[self.i_email]
            if raw:
                try:
                    values["email"] = normalise_email(raw)
                except RuleViolation as error:
                    fail("email", raw, Reason.BAD_EMAIL, error.message)

        if at_once is None:
            for key, _index in self.line_columns:
                raw = lines.get(key)
                if raw is None:
                    continue
                try:
                    values.update(self._rule(key, raw, country))
                except RuleViolation as error:
                    fail(key, raw, Reason.BAD_VALUE, error.message)

        cache = self._cache
        for key, index in self.cached_columns:
            raw = cells[index]
            hit = cache[key].get(raw)
            if hit is None:
                if not raw.strip():
                    continue
                try:
                    hit = self._cached_rule(key, raw, raw, country)
                except RuleViolation as error:
                    fail(key, raw, Reason.BAD_VALUE, error.message)
                    continue
            elif isinstance(hit, RuleViolation):
                fail(key, raw, Reason.BAD_VALUE, hit.message)
                continue
            values.update(hit)

        raw = cell("kind")
        if raw is not None and raw.strip():
            kind = _KIND_WORDS.get(_fold(raw), _fold(raw))
            try:
                values.update(self._cached_rule("kind", raw, kind, country))
            except RuleViolation:
                fail("kind", raw, Reason.UNKNOWN_CATEGORY,
                     _("%(value)s is not a kind of customer: use person or organisation (个人 / 企业).")
                     % {"value": repr(raw)})

        raw = cell("source_channel")
        if raw is not None and raw.strip():
            source = self._sources_seen.get(raw)
            if source is None:
                source = self._sources.get(_fold(raw))
                if source is not None and len(self._sources_seen) < _CACHE_LIMIT:
                    self._sources_seen[raw] = source
            if source is None:
                fail("source_channel", raw, Reason.UNKNOWN_CATEGORY,
                     _("%(value)s is not a known source; use one of: %(choices)s.")
                     % {"value": repr(raw), "choices": ", ".join(str(label) for label in SourceChannel.labels)})
            else:
                values["source_channel"] = source

        raw = cell("birthday")
        if raw is not None and raw.strip():
            hit = self._dates.get(raw)
            if hit is None:
                try:
                    hit = self._rule("birthday", parse_date(raw), country)
                except ValueError as error:
                    hit = (Reason.BAD_DATE, str(error))
                except RuleViolation as error:
                    hit = (Reason.DATE_OUT_OF_RANGE, error.message)
                if len(self._dates) < _CACHE_LIMIT:
                    self._dates[raw] = hit
            if isinstance(hit, tuple):
                fail("birthday", raw, *hit)
            else:
                values.update(hit)

        raw = cell("is_vip")
        if raw is not None:
            try:
                values["is_vip"] = parse_bool(raw)
            except ValueError as error:
                fail("is_vip", raw, Reason.BAD_VALUE, str(error))

        notes = []
        for index in self.note_columns:
            if index < len(cells) and cells[index].strip():
                plain = index in self.plain_notes or index >= len(self.headers)
                notes.append(cells[index].strip() if plain else f"{self.headers[index]}: {cells[index].strip()}")
        if notes:
            text = "\n".join(notes)
            try:
                values.update(self._rule("notes", text, country))
            except RuleViolation as error:
                problems.append(Problem(self._header("notes"), text[:200], Reason.BAD_VALUE, error.message))

        tag_names: list[str] = []
        for index in self.tag_columns:
            if index < len(cells) and cells[index].strip():
                if index in self.split_tags:
                    tag_names.extend(_TAG_SPLIT.split(unicodedata.normalize("NFKC", cells[index])))
                else:
                    tag_names.append(cells[index])
        if tag_names:
            try:
                values["tags"] = TAG_SEPARATOR.join(self._rule("tags", tag_names, country)["tags"])
            except RuleViolation as error:
                column = self.headers[self.tag_columns[0]] if self.tag_columns[0] < len(self.headers) else ""
                problems.append(Problem(column, ",".join(tag_names)[:200], Reason.BAD_VALUE,
                                        error.message))
        return result
