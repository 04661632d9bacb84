"""Builders for the routing and process tests (no tests here): tickets written directly, small processes.

Ticket rows are created directly until the ticket services land; routing and processes are then
exercised through their own services.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from loopcrm.accounts.models import Department, User
from loopcrm.service.models import Queue, Ticket, TicketCategory
from loopcrm.service.services import processes as process_services
from loopcrm.service.services.processes import StepSpec
from tests import factories

_seq = itertools.count(1)
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def category(name: str, *, parent: TicketCategory | None = None) -> TicketCategory:
    n = next(_seq)
    path = f"{parent.path if parent else '/'}{n}/"
    return TicketCategory.objects.create(name=name, code=f"cat-{n}", parent=parent, path=path)


def ticket(customer=None, *, at: dt.datetime | None = None, **fields) -> Ticket:
    """A ticket row written directly (the ticket services are another helper's)."""
    values = {"subject": "Printer does not start", "kind": Ticket.Kind.INQUIRY, "channel": "phone",
              "opened_at": at or timezone.now()}
    values.update(fields)
    return Ticket.objects.create(customer=customer or factories.customer(), **values)


def away(a_user: User) -> User:
    """Mark an agent unavailable for new work (accounts has no service for it yet: fixture data)."""
    User.objects.filter(pk=a_user.pk).update(is_available=False)
    a_user.refresh_from_db()
    return a_user


def queue(name: str, *, department: Department, members: list[User] = (),
          strategy: str = Queue.Strategy.ROUND_ROBIN) -> Queue:
    n = next(_seq)
    made = Queue.objects.create(name=name, code=f"q-{n}", department=department, strategy=strategy)
    made.members.set(members)
    return made


def repair_steps(**overrides) -> list[StepSpec]:
    """A three-step repair process: diagnose (checklist, done when the ticket goes on hold), repair, call back."""
    steps = [
        StepSpec(key="diagnose", name="Diagnose 诊断", target_minutes=60, responsible_role="agent",
                 checklist=["Serial number noted", "Photo received"], complete_on_status="on_hold"),
        StepSpec(key="repair", name="Repair 维修", target_minutes=240, required_fields=["corrective_action"]),
        StepSpec(key="call-back", name="Call back 回访", target_minutes=30, is_mandatory=False),
    ]
    for key, changes in overrides.items():
        for step in steps:
            if step.key == key:
                for name, value in changes.items():
                    setattr(step, name, value)
    return steps


def repair_process(by: User, *, kind: str = Ticket.Kind.REPAIR, category: TicketCategory | None = None,
                   key: str = "repair", steps: list[StepSpec] | None = None):
    definition = process_services.create_definition(key=key, name="Repair 维修流程", ticket_kind=kind,
                                                    category=category, by=by)
    version = process_services.publish_version(definition, steps=steps or repair_steps(), change_note="first",
                                               by=by, at=T0 - dt.timedelta(days=1))
    return definition, version
