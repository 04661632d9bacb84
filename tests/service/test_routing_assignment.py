"""Assignment inside a queue: round robin, least loaded, only available and active agents, and round robin
under concurrent ticket opening (real threads, each on its own database connection)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from loopcrm.accounts.models import User
from loopcrm.accounts.services import deactivate_user
from loopcrm.service.models import Queue, Ticket
from loopcrm.service.services.routing import pick_assignee
from tests import factories
from tests.service.test_processes_helpers import away, queue, ticket


@pytest.fixture
def agents(org):
    return [factories.user(f"agent{n}", department=org.service) for n in range(1, 4)]


def picks(a_queue: Queue, count: int) -> list[User | None]:
    return [pick_assignee(a_queue, at=timezone.now()) for _ in range(count)]


@pytest.mark.django_db
def test_round_robin_takes_turns_and_remembers_who_was_last(org, agents):
    a, b, c = agents
    hotline = queue("Hotline", department=org.service, members=agents)
    assert picks(hotline, 5) == [a, b, c, a, b]
    hotline.refresh_from_db()
    assert hotline.last_assigned == b
    fresh = Queue.objects.get(pk=hotline.pk)  # another request, another copy of the queue: same turn order
    assert picks(fresh, 1) == [c]


@pytest.mark.django_db
def test_round_robin_skips_agents_who_are_away_or_gone(org, agents):
    a, b, c = agents
    hotline = queue("Hotline", department=org.service, members=agents)
    away(b)
    assert picks(hotline, 3) == [a, c, a]
    deactivate_user(c, by=org.admin)
    assert picks(hotline, 2) == [a, a]
    away(a)
    assert picks(hotline, 1) == [None]


@pytest.mark.django_db
def test_least_loaded_goes_to_the_fewest_open_tickets(org, agents):
    a, b, c = agents
    desk = queue("Desk", department=org.service, members=agents, strategy=Queue.Strategy.LEAST_LOADED)
    for _ in range(2):
        ticket(assignee=a, status=Ticket.Status.OPEN)
    ticket(assignee=c, status=Ticket.Status.PENDING)
    for _ in range(3):
        ticket(assignee=b, status=Ticket.Status.CLOSED)  # closed work is no load
    ticket(assignee=b, status=Ticket.Status.RESOLVED)
    assert pick_assignee(desk, at=timezone.now()) == b
    ticket(assignee=b, status=Ticket.Status.REOPENED)
    assert pick_assignee(desk, at=timezone.now()) == b  # b and c tie at one open ticket: the lower id first
    ticket(assignee=b, status=Ticket.Status.NEW)
    assert pick_assignee(desk, at=timezone.now()) == c
    away(c)
    away(b)
    assert pick_assignee(desk, at=timezone.now()) == a


@pytest.mark.django_db
def test_nobody_is_picked_from_a_manual_an_empty_or_a_closed_queue(org, agents):
    manual = queue("Pick yourself", department=org.service, members=agents, strategy=Queue.Strategy.MANUAL)
    empty = queue("Empty", department=org.service)
    closed = queue("Closed", department=org.service, members=agents)
    Queue.objects.filter(pk=closed.pk).update(is_active=False)
    closed.refresh_from_db()
    assert [pick_assignee(q, at=timezone.now()) for q in (manual, empty, closed)] == [None, None, None]


@pytest.mark.django_db(transaction=True)
def test_round_robin_splits_evenly_when_tickets_are_opened_at_once(org, agents):
    """Twelve threads open 36 tickets at the same moment: each of the three agents gets exactly twelve."""
    hotline = queue("Hotline", department=org.service, members=agents)
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(12)
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait()
            for _ in range(3):
                agent = pick_assignee(Queue.objects.get(pk=hotline.pk), at=timezone.now())
                with lock:
                    results.append(agent.pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Counter(results) == {agent.pk: 12 for agent in agents}
