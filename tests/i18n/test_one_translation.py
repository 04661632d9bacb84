"""One English text, one Chinese text: Django merges every app's catalogue into one, so a msgid translated
two ways in two apps shows whichever app comes first everywhere (a survey's "Active" read as the customer
stage 活跃, an import's "Created" count as 创建时间). The glossary (shared/GLOSSARY.md) asks for one word per
concept; where one English word means two things, the code says which with a context (pgettext)."""

from __future__ import annotations

import gettext
from collections import defaultdict

from tests.i18n.test_catalogues import CATALOGUES


def _entries(name: str) -> dict:
    with open(CATALOGUES[name].with_suffix(".mo"), "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # the parsed .mo, read-only
    return {key: value for key, value in catalogue.items() if key != ""}


def test_every_text_has_one_translation_across_the_catalogues():
    seen: dict = defaultdict(dict)
    for name in CATALOGUES:
        for key, value in _entries(name).items():
            seen[key][name] = value
    clashes = {key: where for key, where in seen.items() if len(set(where.values())) > 1}
    assert not clashes, "\n".join(f"{key!r}: {where}" for key, where in sorted(clashes.items(), key=str))


def test_the_glossary_words_are_used():
    """A few glossary terms whose short English form is easy to leave untranslated or to translate loosely."""
    expected = {"CSAT": "客户满意度", "NPS": "净推荐值", "CES": "客户费力度", "Team": "小组", "VIP": "贵宾",
                "Ticket": "工单", "Root cause": "根本原因", "Segment": "客户分群"}
    for name in CATALOGUES:
        entries = _entries(name)
        for english, chinese in expected.items():
            if english in entries:
                assert entries[english] == chinese, (name, english, entries[english])
