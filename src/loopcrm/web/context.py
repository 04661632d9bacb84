"""Template context shared by every page: the navigation shell."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# (url name, label, icon[, section]). Later domains add their entries here; an entry whose URL does
# not exist yet is left out of the menu instead of breaking every page. The icon is the id of a
# symbol in web/templates/web/_icons.html; the section groups entries under a heading.
NAVIGATION = [
    ("web:home", _("Home"), "home"),
    ("web:customer_list", _("Customers"), "users", _("Customer management")),
    ("web:interaction_list", _("Interactions"), "chat", _("Customer management")),
    ("web:order_list", _("Orders"), "cart", _("Commerce")),
    ("web:ticket_inbox", _("Tickets"), "inbox", _("Service")),
    ("web:ticket_phone_call", _("Log a phone call"), "phone", _("Service")),
    ("web:team_queue", _("Team"), "users", _("Service")),
    ("web:feedback_dashboard", _("Satisfaction"), "survey", _("Voice of the customer")),
    ("web:survey_list", _("Surveys"), "survey", _("Voice of the customer")),
    ("web:verbatims", _("Verbatims"), "chat", _("Voice of the customer")),
    ("web:needs", _("Needs"), "note", _("Voice of the customer")),
    ("web:value_dashboard", _("Customer value"), "gem", _("Value and loyalty")),
    ("web:segment_list", _("Segments"), "filter", _("Value and loyalty")),
    ("web:loyalty_programmes", _("Loyalty programmes"), "award", _("Value and loyalty")),
    ("web:quality_dashboard", _("Quality dashboard"), "chart", _("Improvement")),
    ("web:control_chart_list", _("Control charts"), "chart", _("Improvement")),
    ("web:fishbone", _("Cause and effect"), "filter", _("Improvement")),
    ("web:process_map", _("Process map"), "arrow-right", _("Improvement")),
    ("web:journey_map", _("Journey map"), "users", _("Improvement")),
    ("web:logic_diagram", _("Quality logic diagram"), "check", _("Improvement")),
    ("web:cycle_board", _("PDCA cycles"), "award", _("Improvement")),
    ("web:lesson_library", _("Lessons learned"), "note", _("Improvement")),
    ("web:sla_policy_list", _("SLA policies"), "clock", _("Settings")),
    ("web:business_calendar_list", _("Business calendars"), "clock", _("Settings")),
    ("web:routing_rule_list", _("Routing rules"), "arrow-right", _("Settings")),
    ("web:process_list", _("Service processes"), "check", _("Settings")),
    ("web:import_list", _("Imports"), "arrow-in", _("Settings")),
    ("web:retention_rules", _("Data retention"), "shield", _("Settings")),
]


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    icon: str
    active: bool


@dataclass(frozen=True)
class NavSection:
    label: str
    items: list[NavItem]


_resolved: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}


def _resolved_navigation() -> list[tuple[str, str, str, str]]:
    """NAVIGATION with URLs reversed and labels translated, once per process, language and script prefix
    (every page drew the same 27 entries: reversing and translating them per request cost ~1.5 ms)."""
    key = (get_language() or "", get_script_prefix())
    resolved = _resolved.get(key)
    if resolved is None:
        resolved = []
        for entry in NAVIGATION:
            url_name, label, icon = entry[:3]
            section = entry[3] if len(entry) > 3 else ""
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            resolved.append((url, str(label), icon, str(section)))
        _resolved[key] = resolved
    return resolved


def build_navigation(path: str) -> list[NavSection]:
    """NAVIGATION resolved for one request: URLs reversed, the entry for the current page marked."""
    sections: list[NavSection] = []
    resolved = _resolved_navigation()
    # The longest URL that prefixes the current path is the active entry ("/" only on the home page).
    candidates = [url for url, *_rest in resolved if url == path or (url != "/" and path.startswith(url))]
    active_url = max(candidates, key=len) if candidates else None
    by_label: dict[str, NavSection] = {}
    for url, label, icon, section in resolved:
        item = NavItem(url=url, label=label, icon=icon, active=url == active_url)
        if section not in by_label:
            by_label[section] = NavSection(label=section, items=[])
            sections.append(by_label[section])
        by_label[section].items.append(item)
    return sections


def navigation(request):
    return {"navigation": build_navigation(request.path)}
