"""Panels that apps above the service desk add to the ticket page's sidebar.

The domain layers point down: the service desk cannot read surveys (feedback sits above it), yet an agent
working a ticket should see what the customer said about it. So an app registers a panel function from its
ready(); the page calls each with the viewer and the ticket and shows the panels they return, in
registration order. A function returns None to show nothing (the viewer may not see that data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loopcrm.accounts.models import User
from loopcrm.service.models import Ticket


@dataclass(frozen=True)
class TicketPanel:
    """A sidebar card: the template to include, and what it reads (as `panel.data`)."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)


PanelFunction = Callable[..., TicketPanel | None]  # (user, ticket, *, customer_visible: bool)
_PANELS: dict[str, PanelFunction] = {}


def register_ticket_panel(name: str, function: PanelFunction) -> None:
    """Add (or replace, by name: ready() may run twice in tests) a panel of the ticket page."""
    _PANELS[name] = function


def ticket_panels(user: User, ticket: Ticket, *, customer_visible: bool) -> list[TicketPanel]:
    """The panels to show beside `ticket` for `user` (`customer_visible`: may they see the customer's record)."""
    panels = (function(user, ticket, customer_visible=customer_visible) for function in _PANELS.values())
    return [panel for panel in panels if panel is not None]
