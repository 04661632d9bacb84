"""Hand-built complaints, root causes and cycles for the fishbone and logic diagram stories."""

from __future__ import annotations

import datetime as dt
import itertools

from django.apps import apps

from loopcrm.accounts.models import Role, User
from loopcrm.service.models import RootCause, Ticket, TicketCategory
from tests import factories

_seq = itertools.count(1)


def quality_manager(department=None) -> User:
    return factories.user(f"qm{next(_seq)}", role=Role.QUALITY_MANAGER, department=department, display_name="周敏")


def cause(name: str, branch: str, *, parent: RootCause | None = None, code: str = "") -> RootCause:
    return RootCause.objects.create(code=code or f"rc-{next(_seq)}", name=name,
                                    branch=parent.branch if parent else branch, parent=parent)


def category(name: str, *, parent: TicketCategory | None = None) -> TicketCategory:
    n = next(_seq)
    return TicketCategory.objects.create(name=name, code=f"fb-cat-{n}", parent=parent,
                                         path=f"{parent.path if parent else '/'}{n}/")


def at(day: str, hour: int = 4) -> dt.datetime:
    """Noon in Shanghai (04:00 UTC) of an ISO day: far from any day boundary."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def complaint(day: str, root_cause: RootCause | None = None, *, customer=None, kind: str = Ticket.Kind.COMPLAINT,
              **fields) -> Ticket:
    values = {"subject": "投诉 complaint", "kind": kind, "channel": "phone", "opened_at": at(day),
              "root_cause": root_cause}
    values.update(fields)
    return Ticket.objects.create(customer=customer or factories.customer(), **values)


def cycle(owner: User, *, title: str = "缩短配送投诉 Fewer delivery complaints", phase: str = "plan"):
    model = apps.get_model("improvement", "Cycle")
    return model.objects.create(title=title, metric_key="complaint_rate_orders", baseline_start=dt.date(2026, 8, 1),
                                baseline_end=dt.date(2026, 8, 31), owner=owner, phase=phase)
