"""Cost of the SLA layer of the service desk, through the services, on a scratch database.

    .venv/bin/python bench/service_sla_clocks.py [--tickets 2000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lc_bench_sla .venv/bin/python bench/service_sla_clocks.py

Uses the test settings (a scratch SQLite file, or with DATABASE_URL a PostgreSQL database that this
script creates as test_<name>_sla_bench and drops), tables made from the models. Measures, for
tickets opened on the demo's four policies: start_clocks (policy matching, two clocks, the FIELD
event) per second; a public reply meeting the first response; clock_summaries for an inbox page of
25 tickets (p50/p95); tickets_breaching_soon over all tickets; and the sweep check_due_clocks when
every first response has breached.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings_test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    # Tables straight from the models (several apps have no migrations yet), in a database of its own.
    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["MIGRATE"] = False
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        test["NAME"] = f"test_{settings.DATABASES['default']['NAME']}_sla_bench"
    old = setup_databases(verbosity=0, interactive=False)
    try:
        run(args.tickets, connection)
    finally:
        teardown_databases(old, verbosity=0)


def run(count: int, connection) -> None:
    from zoneinfo import ZoneInfo

    from loopcrm.demo.bulk import Loader
    from loopcrm.demo.calendar import DemoCalendar
    from loopcrm.demo.sla import load_sla
    from loopcrm.service.models import SlaClock, Ticket
    from loopcrm.service.queries.sla import clock_summaries, tickets_breaching_soon
    from loopcrm.service.services import sla
    from tests import factories

    shanghai = ZoneInfo("Asia/Shanghai")
    loader = Loader(calendar=DemoCalendar.ending(dt.date(2026, 11, 23), shanghai), progress=lambda message: None)
    load_sla(loader, staff=None, calendar=loader.calendar, seed=1)
    customers = [factories.customer(is_vip=(n % 10 == 0)) for n in range(200)]
    opened = dt.datetime(2026, 3, 9, 10, tzinfo=shanghai)
    kinds = ["inquiry", "complaint", "service_request", "repair", "return"]
    tickets = [Ticket(subject=f"Bench {n}", customer=customers[n % len(customers)], opened_at=opened,
                      kind=kinds[n % len(kinds)], priority=1 + n % 4) for n in range(count)]
    Ticket.objects.bulk_create(tickets)
    if tickets[0].pk is None:
        tickets = list(Ticket.objects.order_by("id"))
    for ticket in tickets:  # the customer is loaded by the ticket service already
        ticket.customer = customers[(ticket.pk - tickets[0].pk) % len(customers)]

    print(f"{connection.vendor}, {count:,} tickets")
    started = time.perf_counter()
    for ticket in tickets:
        sla.start_clocks(ticket, at=opened)
    seconds = time.perf_counter() - started
    print(f"start_clocks (match a policy, 2 clocks, 1 event)   {count / seconds:>10,.0f} tickets/s "
          f"({1000 * seconds / count:.2f} ms each)")

    replied = tickets[: count // 2]
    started = time.perf_counter()
    for ticket in replied:
        sla.on_public_reply(ticket, by=None, at=opened + dt.timedelta(minutes=20))
    seconds = time.perf_counter() - started
    print(f"on_public_reply (first response met)               {len(replied) / seconds:>10,.0f} replies/s")

    at = opened + dt.timedelta(hours=3)
    samples = []
    for page in range(0, min(count, 2500), 25):
        ids = [ticket.pk for ticket in tickets[page:page + 25]]
        started = time.perf_counter()
        clock_summaries(ids, at=at)
        samples.append(1000 * (time.perf_counter() - started))
    samples.sort()
    print(f"clock_summaries, a page of 25 tickets               p50 {statistics.median(samples):.2f} ms, "
          f"p95 {samples[int(len(samples) * 0.95) - 1]:.2f} ms")

    started = time.perf_counter()
    soon = tickets_breaching_soon(Ticket.objects.all(), dt.timedelta(minutes=30), at).order_by("-id")[:25]
    list(soon)
    print(f"tickets_breaching_soon, first page of 25            {1000 * (time.perf_counter() - started):.2f} ms")

    started = time.perf_counter()
    changed = sla.check_due_clocks(opened + dt.timedelta(days=1))
    seconds = time.perf_counter() - started
    print(f"check_due_clocks sweep: {changed:,} clocks warned/breached in {seconds:.2f} s "
          f"({changed / seconds:,.0f} clocks/s, escalation events included)")
    print(f"clocks: {SlaClock.objects.count():,}")


if __name__ == "__main__":
    main()
