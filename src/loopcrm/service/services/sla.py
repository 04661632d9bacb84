"""SLA clocks on business calendars: start, pause, resume, meet, warn, breach, escalate.

The ticket services call these hooks explicitly (no signals); the SLA owner fills them in.
"""

from __future__ import annotations

import datetime as dt

from loopcrm.accounts.models import User
from loopcrm.service.models import Ticket


def start_clocks(ticket: Ticket, *, policy_id: int | None = None, at: dt.datetime) -> None:
    """Pick the SLA policy (the routing decision's, else the first matching) and start the ticket's clocks."""


def on_status_change(ticket: Ticket, old: str, new: str, *, by: User | None, at: dt.datetime) -> None:
    """Pause while pending customer, resume after, stop on resolve/close, restart on reopen."""


def on_public_reply(ticket: Ticket, *, by: User | None, at: dt.datetime) -> None:
    """An agent's public reply meets the first-response (and next-response) target."""


def on_customer_message(ticket: Ticket, *, at: dt.datetime) -> None:
    """The customer wrote: the next-response clock starts."""
