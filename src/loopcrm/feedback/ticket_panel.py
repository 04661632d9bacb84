"""The ticket page's satisfaction card: the customer's answer about this ticket, and their latest other answers.

Registered with the service desk's panels (`register`, from the app's ready()): service sits below feedback.
What shows follows the feedback scope (`responses_for`: an agent sees answers about tickets they handled, a
team lead their department's); the latest answers of the customer only when the viewer may also see the
customer's record. Two indexed queries: the answer whose invitation is this ticket's, and the customer's
newest other answers.
"""

from __future__ import annotations

from typing import Any

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.feedback.queries import responses_for
from loopcrm.feedback.services.surveys import METRIC_SCALES
from loopcrm.service.models import Ticket
from loopcrm.service.panels import TicketPanel, register_ticket_panel

TEMPLATE = "feedback/_ticket_satisfaction.html"
LATEST = 3
_FIELDS = ("pk", "csat", "nps", "ces", "comment", "answered_at", "invitation__ticket_id")


def _nps_group(rating: int) -> str:
    return "promoter" if rating >= 9 else "passive" if rating >= 7 else "detractor"


def _tone(metric: str, value: int) -> str:
    """Good, middling or bad, as a badge: CSAT 4–5 of 5 is good; NPS by its group; CES 1 = very easy … 7 = very hard."""
    good, bad = {"csat": (value >= 4, value <= 2), "nps": (value >= 9, value <= 6),
                 "ces": (value <= 2, value >= 5)}[metric]
    return "badge-success" if good else "badge-danger" if bad else "badge-warning"


def _scores(row: dict[str, Any]) -> dict[str, Any]:
    """An answer as the card shows it: each given metric with its scale's top and tone, and the NPS group."""
    scores = [{"metric": metric, "label": metric.upper(), "value": row[metric], "top": METRIC_SCALES[metric][1],
               "tone": _tone(metric, row[metric])} for metric in ("csat", "nps", "ces") if row[metric] is not None]
    return {**row, "scores": scores, "nps_group": _nps_group(row["nps"]) if row["nps"] is not None else ""}


def satisfaction_panel(user: User, ticket: Ticket, *, customer_visible: bool) -> TicketPanel | None:
    if not can(user, "feedback", "view"):
        return None
    answers = responses_for(user).order_by("-answered_at", "-pk")
    about_ticket = answers.filter(invitation__ticket_id=ticket.pk).values(*_FIELDS).first()
    others = []
    if customer_visible:
        rows = answers.filter(customer_id=ticket.customer_id)
        if about_ticket:
            rows = rows.exclude(pk=about_ticket["pk"])
        others = [_scores(row) for row in rows.values(*_FIELDS)[:LATEST]]
    return TicketPanel(TEMPLATE, {"ticket": _scores(about_ticket) if about_ticket else None, "others": others,
                                  "customer_visible": customer_visible})


def register() -> None:
    register_ticket_panel("satisfaction", satisfaction_panel)
