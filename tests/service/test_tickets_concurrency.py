"""Two agents on one ticket at once, with real threads on the real database (SQLite and PostgreSQL).

Each thread is its own connection, as two app servers would be. A "database is locked" answer is what
a client sees as 503 + Retry-After; the worker retries it, as a client would.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection

from loopcrm.core.errors import Conflict
from loopcrm.service.models import Ticket, TicketEvent, TicketMessage
from loopcrm.service.services import tickets as services

THREADS = 6


def together(work, n=THREADS):
    """Run work(i) in n threads released at once; [(result or exception)]."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            for attempt in range(50):
                try:
                    results[i] = work(i)
                    break
                except OperationalError as error:  # busy: retry like a client on 503
                    if "locked" not in str(error).lower() or attempt == 49:
                        raise
                    time.sleep(0.02 * (attempt + 1))
        except Exception as error:  # the test inspects every outcome
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_edits_of_one_version_exactly_one_wins_and_the_others_are_told(org, zhang, open_ticket):
    ticket = open_ticket(zhang)

    def edit(i):
        agent = org.agent if i % 2 else org.lead
        return services.update_ticket(Ticket(pk=ticket.pk), by=agent, version=ticket.version,
                                      changes={"subject": f"主题 {i}"})

    results = together(edit)
    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == THREADS - 1, results
    ticket.refresh_from_db()
    assert ticket.subject == winners[0].subject and ticket.version == 2
    assert TicketEvent.objects.filter(ticket=ticket, field="subject").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_notes_tags_and_followers_all_survive(org, zhang, open_ticket):
    ticket = open_ticket(zhang)

    def touch(i):
        target = Ticket(pk=ticket.pk)
        if i % 3 == 0:
            return services.add_reply(target, body=f"回复 {i}", by=org.agent)
        if i % 3 == 1:
            return services.change_tags(target, by=org.lead, add=[f"标签{i}"])
        return services.add_note(target, body=f"备注 {i}", by=org.lead)

    results = together(touch)
    assert not [r for r in results if isinstance(r, Exception)], results
    ticket.refresh_from_db()
    assert TicketMessage.objects.filter(ticket=ticket, kind="reply").count() == 2
    assert TicketMessage.objects.filter(ticket=ticket, kind="note").count() == 2
    assert sorted(t.name for t in ticket.tags.all()) == ["标签1", "标签4"]
    assert ticket.version == 1 + THREADS + 1  # every write counted once (the first reply also opened the ticket)


@pytest.mark.django_db(transaction=True)
def test_two_agents_changing_status_at_once_leave_a_consistent_history(org, zhang, open_ticket):
    ticket = open_ticket(zhang)

    def resolve(i):
        return services.change_status(Ticket(pk=ticket.pk), Ticket.Status.RESOLVED, by=org.agent)

    results = together(resolve, n=4)
    assert len([r for r in results if isinstance(r, Ticket)]) == 1, results
    assert TicketEvent.objects.filter(ticket=ticket, kind="status", new="resolved").count() == 1
