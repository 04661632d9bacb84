"""The navigation is resolved once per language (and script prefix) and marked per request."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from loopcrm.web.context import build_navigation


def labels(sections) -> list[str]:
    return [item.label for section in sections for item in section.items]


def test_each_language_gets_its_own_labels_and_each_page_its_own_active_entry():
    with translation.override("en"):
        english = build_navigation(reverse("web:ticket_inbox"))
        again = build_navigation(reverse("web:customer_list"))
    with translation.override("zh-hans"):
        chinese = build_navigation(reverse("web:ticket_inbox"))

    assert "Tickets" in labels(english) and "Tickets" not in labels(chinese)
    assert "工单" in labels(chinese)
    active = [item.url for section in english for item in section.items if item.active]
    assert active == [reverse("web:ticket_inbox")]
    assert [item.url for section in again for item in section.items if item.active] == [reverse("web:customer_list")]
