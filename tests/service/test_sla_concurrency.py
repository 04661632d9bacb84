"""The escalation check run by several workers at the same instant (a delayed task and the sweep, or a
task delivered twice) escalates once: real threads, real transactions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from loopcrm.service.models import SlaClock, Ticket, TicketEvent
from loopcrm.service.services import sla
from tests.service.sla_support import opened, policy, sh

pytestmark = pytest.mark.django_db(transaction=True)


def test_eight_workers_checking_one_clock_at_once_escalate_once(org):
    policy(warning_raise_priority=True, breach_raise_priority=True)
    ticket = opened(sh(2026, 3, 9, 10), priority=Ticket.Priority.LOW, assignee=org.agent)
    clock = SlaClock.objects.get(ticket=ticket, metric=SlaClock.Metric.FIRST_RESPONSE)
    start = threading.Barrier(8)
    results, errors = [], []

    def worker() -> None:
        try:
            start.wait()
            results.append(sla.check_clock(clock.pk, at=sh(2026, 3, 9, 12)))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(item for result in results for item in result) == ["breach", "warning"]
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.HIGH
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds.count(TicketEvent.Kind.SLA_WARNING) == kinds.count(TicketEvent.Kind.SLA_BREACHED) == 1
    assert kinds.count(TicketEvent.Kind.PRIORITY) == 2
