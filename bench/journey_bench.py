"""Journey map benchmark: the map over a year of interactions, orders, tickets and survey answers.

    .venv/bin/python bench/journey_bench.py --customers 50000 --data-dir /tmp/lc-f-bench   # SQLite
    .venv/bin/python bench/journey_bench.py --customers 50000 --database-url postgres://postgres@127.0.0.1:5432/lc_f_bench

1. generate (bulk insert): `--customers` customers; per customer on average 8 interactions over the
   seven stages, 1.5 orders (80% delivered), 0.3 tickets (a third complaints, most resolved) and
   0.4 complete survey answers, all within the last 365 days;
2. the journey map over the year, unfiltered and cut by channel: median and worst of 5 runs, the
   SQL statements, the fact rows the SQL returned, and the time in SQL versus in the pure build.
Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from standalone import start_django  # noqa: E402 - after the path

STAGE_TOUCHPOINTS = {
    "awareness": ["website", "social", "event"], "consideration": ["website", "store", "hotline"],
    "purchase": ["website", "store", "sales_visit"], "delivery": ["delivery", "installation"],
    "use": ["app", "hotline"], "service": ["hotline", "email", "wechat"], "loyalty": ["wechat", "email"],
}
CHANNELS = ["phone", "email", "web_chat", "wechat", "visit", "social"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="", help="SQLite: keep the database here to run again without generating")
    args = parser.parse_args()
    start_django(database_url=args.database_url, data_dir=args.data_dir, prefix="lc-f-bench-",
                 unmigrated=("analytics", "improvement"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.accounts.models import Role, User
    from loopcrm.analytics import journey
    from loopcrm.analytics.queries import journey as queries
    from loopcrm.commerce.models import Order
    from loopcrm.customers.models import Customer
    from loopcrm.feedback.models import Invitation, Response, Survey, SurveyVersion
    from loopcrm.interactions.models import Interaction
    from loopcrm.service.models import Ticket

    rng = random.Random(11)
    qm = User.objects.filter(username="bench-qm").first() or User.objects.create_user(
        username="bench-qm", password=None, role=Role.QUALITY_MANAGER)
    now = dt.datetime.now(dt.UTC)

    def moment() -> dt.datetime:
        return now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60))

    started = time.perf_counter()
    if not Customer.objects.exists():
        customers = Customer.objects.bulk_create(
            [Customer(name=f"客户{i}", province=rng.choice(["上海市", "北京市", "广东省"]))
             for i in range(args.customers)], batch_size=5000)
        survey = Survey.objects.create(name="bench", kind="csat")
        version = SurveyVersion.objects.create(survey=survey, number=1, title_en="t", title_zh="t", published_at=now)
        touches, orders, tickets, invitations, n = [], [], [], [], 0
        for customer in customers:
            for _ in range(rng.randint(4, 12)):
                stage = rng.choice(list(STAGE_TOUCHPOINTS))
                touches.append(Interaction(customer=customer, channel=rng.choice(CHANNELS), journey_stage=stage,
                                           touchpoint=rng.choice(STAGE_TOUCHPOINTS[stage]), occurred_at=moment()))
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                placed = moment()
                n += 1
                orders.append(Order(number=f"B{n:09d}", customer=customer, placed_at=placed,
                                    channel=rng.choice(["online_store", "retail_store", "phone", "wechat"]),
                                    status="delivered",
                                    delivered_at=placed + dt.timedelta(hours=rng.uniform(6, 96))
                                    if rng.random() < 0.8 else None))
            if rng.random() < 0.3:
                opened = moment()
                tickets.append(Ticket(subject="咨询", customer=customer, channel=rng.choice(CHANNELS),
                                      kind="complaint" if rng.random() < 0.33 else "inquiry", opened_at=opened,
                                      resolved_at=opened + dt.timedelta(hours=rng.uniform(1, 72))
                                      if rng.random() < 0.85 else None))
            if rng.random() < 0.4:
                invitations.append(Invitation(survey=survey, version=version, customer=customer, trigger="manual",
                                              status="answered", send_after=now, created_at=now,
                                              touchpoint=rng.choice(["hotline", "delivery", "website", ""])))
            if len(touches) > 50_000:
                Interaction.objects.bulk_create(touches, batch_size=10_000)
                touches = []
        Interaction.objects.bulk_create(touches, batch_size=10_000)
        Order.objects.bulk_create(orders, batch_size=10_000)
        Ticket.objects.bulk_create(tickets, batch_size=10_000)
        Invitation.objects.bulk_create(invitations, batch_size=10_000)
        Response.objects.bulk_create([
            Response(invitation=inv, survey=survey, version=version, customer_id=inv.customer_id, is_complete=True,
                     started_at=(at := moment()), answered_at=at, touchpoint=inv.touchpoint,
                     csat=rng.randint(1, 5), nps=rng.randint(0, 10) if rng.random() < 0.5 else None,
                     ces=rng.randint(1, 7) if rng.random() < 0.5 else None)
            for inv in Invitation.objects.filter(survey=survey)], batch_size=10_000)
    print(f"generate: {Customer.objects.count():,} customers, {Interaction.objects.count():,} interactions, "
          f"{Order.objects.count():,} orders, {Ticket.objects.count():,} tickets, "
          f"{Response.objects.count():,} answers in {time.perf_counter() - started:.1f} s ({connection.vendor})")

    today = dt.datetime.now(dt.UTC).date()
    for label, params in (("the year", {}), ("the year, phone only", {"channel": "phone"})):
        filters = queries.parse_filters({"start": str(today - dt.timedelta(days=365)), "end": str(today), **params})
        timings, sql_times, build_times = [], [], []
        for _run in range(5):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as statements:
                facts = list(queries.facts(filters))
            sql_done = time.perf_counter()
            journey_map = journey.build(facts)
            finished = time.perf_counter()
            queries.check_access(qm)
            timings.append((finished - started) * 1000)
            sql_times.append((sql_done - started) * 1000)
            build_times.append((finished - sql_done) * 1000)
        print(f"journey map over {label}: median {statistics.median(timings):.0f} ms, worst {max(timings):.0f} ms "
              f"(SQL + fetch {statistics.median(sql_times):.0f} ms, build {statistics.median(build_times):.0f} ms); "
              f"{len(statements)} statements, {len(facts):,} fact rows, {journey_map.customers:,} customers, "
              f"{len(journey_map.cells)} cells")


if __name__ == "__main__":
    main()
