"""Story: many tills redeem against one member's balance at the same moment; none can overdraw it.

Real threads, each with its own database connection. On PostgreSQL 200 redemptions race (at most
40 connected at once: the server's 100 connections are shared); on SQLite, whose IMMEDIATE
transactions serialise writers, 16. Afterwards the ledger is exact and never negative.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Min, Sum

from loopcrm.core.errors import RuleViolation
from loopcrm.loyalty import services
from loopcrm.loyalty.models import Membership, PointsEntry
from tests import factories
from tests.loyalty.conftest import make_programme

pytestmark = pytest.mark.django_db(transaction=True)


def _race(work, count: int, connected: int) -> Counter:
    start = threading.Event()
    gate = threading.Semaphore(connected)

    def one(index: int) -> str:
        start.wait()
        with gate:
            try:
                return work(index)
            except RuleViolation:
                return "refused"
            finally:
                connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one, i) for i in range(count)]
        start.set()
        return Counter(f.result() for f in futures)


def _sizes() -> tuple[int, int]:
    return (200, 40) if connection.vendor == "postgresql" else (16, 16)


def test_concurrent_redemptions_never_overdraw(org):
    count, connected = _sizes()
    programme = make_programme()
    customer = factories.customer("王芳", owner=org.agent)
    member = services.enrol(customer, programme, by=None)
    balance = count * 3 // 4
    services.earn_points(member, points=balance, idempotency_key="opening", by=None)

    def redeem(index: int) -> str:
        services.redeem_points(Membership.objects.get(pk=member.pk), points=1, reason=f"till {index}", by=None)
        return "ok"

    outcome = _race(redeem, count, connected)

    # Exactly the balance was redeemed, the rest refused, and nothing else happened.
    assert outcome == {"ok": balance, "refused": count - balance}
    entries = PointsEntry.objects.filter(membership=member)
    assert entries.filter(kind="redeem").count() == balance
    assert entries.aggregate(total=Sum("amount"))["total"] == 0
    assert entries.aggregate(low=Min("balance_after"))["low"] == 0
    assert Membership.objects.get(pk=member.pk).balance == 0
    # The running balances form an unbroken chain: each entry starts where the previous one ended.
    running = 0
    for amount, after in entries.order_by("id").values_list("amount", "balance_after"):
        running += amount
        assert after == running >= 0


def test_concurrent_replays_of_one_earn_key_earn_once(org):
    count, connected = _sizes()
    count = min(count, 50)
    programme = make_programme()
    member = services.enrol(factories.customer("李雷", owner=org.agent), programme, by=None)

    def earn(index: int) -> str:
        entry = services.earn_points(Membership.objects.get(pk=member.pk), points=100, idempotency_key="order-77",
                                     by=None)
        return "replayed" if entry.replayed else "new"

    outcome = _race(earn, count, min(count, connected))
    assert outcome == {"new": 1, "replayed": count - 1}
    assert Membership.objects.get(pk=member.pk).balance == 100
    assert PointsEntry.objects.filter(membership=member).count() == 1


def test_two_expiry_runs_at_once_expire_once(org):
    import datetime as dt

    from django.utils import timezone

    programme = make_programme()
    now = timezone.now()
    members = []
    for n in range(5):
        member = services.enrol(factories.customer(f"客户{n}", owner=org.agent), programme, by=None)
        services.earn_points(member, points=100 + n, idempotency_key=f"old-{n}", by=None,
                             at=now - dt.timedelta(days=500))
        members.append(member)

    def expire(index: int) -> str:
        return str(services.expire_points(at=now).points)

    outcome = _race(expire, 4, 4)
    assert sorted(int(points) for points in outcome.elements()) == [0, 0, 0, 510]
    assert PointsEntry.objects.filter(kind="expire").count() == 5
    assert set(Membership.objects.values_list("balance", flat=True)) == {0}
