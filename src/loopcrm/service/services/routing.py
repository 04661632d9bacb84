"""Routing: ordered rules pick department, queue, priority and SLA policy; queues pick the assignee."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from loopcrm.accounts.models import Department, User
from loopcrm.service.models import Queue, Ticket


@dataclass
class RoutingDecision:
    """What routing chose for a new ticket, and why (the reasons go into the ROUTED event)."""

    department: Department | None = None
    queue: Queue | None = None
    priority: int | None = None
    assignee: User | None = None
    sla_policy_id: int | None = None
    rule_id: int | None = None
    reasons: list[str] = field(default_factory=list)


def decide(ticket: Ticket) -> RoutingDecision:
    """Apply the routing rules (first match wins) and the VIP / high-value boosts to an unsaved ticket."""
    return RoutingDecision()


def pick_assignee(queue: Queue, *, at: dt.datetime) -> User | None:
    """The next available member of `queue` by its strategy (round robin or least loaded); None if nobody."""
    return None
