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


def process(name: str, steps: list[tuple[str, int]], *, by: User | None = None):
    """A standard service process with a current version of `steps` (name, target minutes): fixture rows."""
    from django.utils import timezone

    from loopcrm.service.models import ProcessDefinition, ProcessStep, ProcessVersion

    n = next(_seq)
    definition = ProcessDefinition.objects.create(key=f"proc-{n}", name=name, created_by=by)
    version = ProcessVersion.objects.create(definition=definition, number=1, published_at=timezone.now(),
                                            is_current=True)
    for position, (step_name, minutes) in enumerate(steps, start=1):
        ProcessStep.objects.create(version=version, position=position, key=f"s{position}", name=step_name,
                                   target_minutes=minutes)
    return definition


def survey(name: str, kind: str, trigger: str = "ticket_resolved"):
    from loopcrm.feedback.models import Survey

    return Survey.objects.create(name=name, kind=kind, trigger=trigger)


def need(topic: str, customers: int, *, days_ago: int = 5):
    """`customers` distinct customers raised `topic` in analysed feedback `days_ago` days ago."""
    from django.utils import timezone

    from loopcrm.feedback.models import TextAnalysis, TopicMention

    when = timezone.now() - dt.timedelta(days=days_ago)
    for _index in range(customers):
        customer = factories.customer()
        analysis = TextAnalysis.objects.create(source="feedback", at=when, text=f"{topic}!", language="zh",
                                               sentiment="negative", score=-0.5, customer=customer,
                                               topics=[topic])
        TopicMention.objects.create(analysis=analysis, topic=topic, customer=customer, at=when, negative=True)
