"""Standard service processes: a ticket follows the version current when it opened, step by step."""

from __future__ import annotations

import datetime as dt

from loopcrm.accounts.models import User
from loopcrm.service.models import Ticket


def start_process(ticket: Ticket, *, by: User | None, at: dt.datetime) -> None:
    """Attach the current version of the process matching the ticket's kind/category and start its first step."""


def on_status_change(ticket: Ticket, old: str, new: str, *, by: User | None, at: dt.datetime) -> None:
    """Complete or start steps that are tied to a status."""


def check_can_resolve(ticket: Ticket, *, override_reason: str = "", by: User | None, at: dt.datetime) -> None:
    """Raise RuleViolation if mandatory steps are open and no override reason is given; record an override."""
