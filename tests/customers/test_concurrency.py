"""Real threads against the real database (SQLite and PostgreSQL): no lost update, no double create.

Each thread is a separate connection, as two app servers would be. A "database is locked" answer is
what a client sees as 503 + Retry-After; the worker retries it, as a client would.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection

from loopcrm.core.errors import Conflict
from loopcrm.core.models import AuditEntry
from loopcrm.customers import services
from loopcrm.customers.models import Customer
from loopcrm.customers.services import DuplicateCustomer
from tests import factories

THREADS = 6


def together(work, n=THREADS):
    """Run work(i) in n threads released at once; [(i, result or exception)]."""
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
def test_concurrent_edits_of_one_version_exactly_one_wins_and_it_survives(org):
    customer = factories.customer("张伟", owner=org.agent)

    def edit(i):
        return services.update_customer(Customer(pk=customer.pk), by=org.agent, version=1,
                                        changes={"city": f"城市{i}"})

    results = together(edit)
    winners = [r for r in results if isinstance(r, Customer)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1, results
    customer.refresh_from_db()
    assert customer.version == 2
    assert customer.city == winners[0].city
    assert AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk),
                                     action="update").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_phone_make_exactly_one_customer(org):
    def create(i):
        return services.create_customer(by=org.agent, name=f"客户{i}", phone="138 0013 8000")

    results = together(create)
    created = [r for r in results if isinstance(r, Customer)]
    duplicates = [r for r in results if isinstance(r, DuplicateCustomer)]
    assert len(created) == 1, results
    assert len(duplicates) == THREADS - 1, results
    assert {d.extra["existing_id"] for d in duplicates} == {created[0].pk}
    assert Customer.objects.filter(phone="+8613800138000").count() == 1
