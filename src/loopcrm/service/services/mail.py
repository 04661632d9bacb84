"""Email in and out: inbound mail becomes tickets or threads onto them; public replies go out by SMTP."""

from __future__ import annotations

from loopcrm.service.models import TicketMessage


def deliver_reply(message: TicketMessage) -> None:
    """Send a public reply to the customer by email (called on commit); stamps Message-ID for threading."""
