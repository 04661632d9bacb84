"""Loyalty benchmark on PostgreSQL: redemptions racing on one balance and spread over many, earning, expiry
and the monthly tier evaluation — through the services, with real threads, one connection each.

    .venv/bin/python bench/loyalty_bench.py --database-url postgres://postgres@127.0.0.1:5432/lc_loyalty_bench \
        --seconds 10 --threads 1,8,32 --members 10000

The database is created if missing and rebuilt (`--reset`) from the models. After every scenario the
ledger is checked: each member's cached balance equals the sum of their entries, none below zero.
Prints one line per scenario and writes JSON with --json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]


def _create_database(url: str, reset: bool) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' "
                         "TEMPLATE template0")


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _race(work, *, threads: int, seconds: float) -> dict:
    """Run `work(thread_index, n)` in `threads` threads for `seconds`; latencies of successes and refusals."""
    from django.db import connections

    from loopcrm.core.errors import RuleViolation

    done: list[float] = []
    refused: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def run(index: int) -> None:
        mine, mine_refused = [], []
        try:
            start.wait()
            n = 0
            while time.monotonic() < stop_at[0]:
                began = time.perf_counter()
                try:
                    work(index, n)
                    mine.append(time.perf_counter() - began)
                except RuleViolation:
                    mine_refused.append(time.perf_counter() - began)
                n += 1
        except Exception as error:  # reported, not hidden
            errors.append(repr(error))
        finally:
            connections.close_all()
            with lock:
                done.extend(mine)
                refused.extend(mine_refused)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    for thread in pool:
        thread.join()
    total = len(done) + len(refused)
    return {
        "threads": threads, "seconds": seconds, "ok": len(done), "refused": len(refused), "errors": errors[:5],
        "per_second": round(total / seconds, 1),
        "p50_ms": round(1000 * _percentile(done + refused, 0.50), 2),
        "p95_ms": round(1000 * _percentile(done + refused, 0.95), 2),
        "mean_ms": round(1000 * statistics.fmean(done + refused), 2) if total else 0.0,
    }


def _check_ledger() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FILTER (WHERE m.balance <> COALESCE(s.total, 0)),
                   (SELECT count(*) FROM loyalty_pointsentry WHERE balance_after < 0),
                   (SELECT count(*) FROM loyalty_pointsentry)
            FROM loyalty_membership m
            LEFT JOIN (SELECT membership_id, sum(amount) AS total FROM loyalty_pointsentry
                       GROUP BY membership_id) s ON s.membership_id = m.id""")
        mismatched, negative, entries = cursor.fetchone()
    return {"balances_not_equal_to_ledger": mismatched, "negative_running_balances": negative, "entries": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/lc_loyalty_bench")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", default="1,8,32")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--reset", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    threads = [int(n) for n in args.threads.split(",")]

    _create_database(args.database_url, args.reset)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ["DJANGO_SETTINGS_MODULE"] = "loyalty_settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from loopcrm.customers.models import Customer
    from loopcrm.loyalty import services
    from loopcrm.loyalty.models import Membership, PointsEntry

    call_command("migrate", run_syncdb=True, verbosity=0)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    programme = services.create_programme(
        by=None, name=f"bench {stamp}", currency="CNY", points_per_unit="1", expiry_months=12, tiers=[
            {"name": "Silver", "rank": 0},
            {"name": "Gold", "rank": 1, "qualify_by": "points", "threshold": "1000000000", "points_multiplier": "1.5"},
        ])

    # Members, written in bulk (the setup is not what is measured).
    began = time.perf_counter()
    customers = Customer.objects.bulk_create(
        [Customer(name=f"会员{stamp}-{i}") for i in range(args.members)], batch_size=2000)
    entry_tier = programme.tiers.get(rank=0)
    now = timezone.now()
    members = Membership.objects.bulk_create(
        [Membership(customer=c, programme=programme, tier=entry_tier, joined_at=now, tier_since=now)
         for c in customers], batch_size=2000)
    member_ids = [m.pk for m in members]
    print(f"setup: {args.members:,} members in {time.perf_counter() - began:.1f} s", flush=True)
    results: dict = {"members": args.members, "server": connection.cursor().connection.info.server_version}

    # 1. Earn: unique keys on random members (row lock, key check, insert, balance update, upgrade check).
    results["earn"] = []
    for count in threads:
        def earn(index: int, n: int, count=count) -> None:
            member = Membership(pk=member_ids[(index * 7919 + n * 104729) % len(member_ids)], programme=programme)
            services.earn_points(member, points=100, idempotency_key=f"bench-{stamp}-{count}-{index}-{n}", by=None)
        row = _race(earn, threads=count, seconds=args.seconds)
        results["earn"].append(row)
        print(f"earn, {count:>2} threads: {row['per_second']:>8} /s  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms"
              f"  errors {len(row['errors'])}", flush=True)

    # 2. Redeem spread over many members (little contention).
    results["redeem_spread"] = []
    for count in threads:
        def redeem(index: int, n: int) -> None:
            member = Membership(pk=member_ids[(index * 15485863 + n * 32452843) % len(member_ids)])
            services.redeem_points(member, points=1, by=None)
        row = _race(redeem, threads=count, seconds=args.seconds)
        results["redeem_spread"].append(row)
        print(f"redeem over {args.members:,} members, {count:>2} threads: {row['per_second']:>8} /s  "
              f"p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  refused {row['refused']}", flush=True)

    # 3. Redeem racing on one balance (every transaction waits for the row lock).
    hot = Membership.objects.get(pk=member_ids[0])
    services.earn_points(hot, points=10_000_000, idempotency_key=f"bench-{stamp}-hot", by=None)
    results["redeem_one_balance"] = []
    for count in threads:
        def redeem_hot(index: int, n: int) -> None:
            services.redeem_points(Membership(pk=hot.pk), points=1, by=None)
        row = _race(redeem_hot, threads=count, seconds=args.seconds)
        results["redeem_one_balance"].append(row)
        print(f"redeem on one balance, {count:>2} threads: {row['per_second']:>8} /s  p50 {row['p50_ms']} ms  "
              f"p95 {row['p95_ms']} ms", flush=True)

    # 4. Drain one balance to zero with 200 threads: exactly the balance succeeds.
    drain = Membership.objects.get(pk=member_ids[1])
    balance = Membership.objects.get(pk=drain.pk).balance
    wanted = 150 - balance if balance < 150 else 0
    if wanted:
        services.earn_points(drain, points=wanted, idempotency_key=f"bench-{stamp}-drain", by=None)
    if balance > 150:
        services.redeem_points(drain, points=balance - 150, by=None)
    outcome = {"ok": 0, "refused": 0}
    gate, lock = threading.Semaphore(40), threading.Lock()

    def one() -> None:
        from django.db import connections

        from loopcrm.core.errors import RuleViolation
        with gate:
            try:
                services.redeem_points(Membership(pk=drain.pk), points=1, by=None)
                key = "ok"
            except RuleViolation:
                key = "refused"
            finally:
                connections.close_all()
        with lock:
            outcome[key] += 1
    pool = [threading.Thread(target=one) for _ in range(200)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results["drain_200_threads"] = {**outcome, "final_balance": Membership.objects.get(pk=drain.pk).balance}
    print(f"200 threads, balance 150: {outcome}, final balance {results['drain_200_threads']['final_balance']}",
          flush=True)

    # 5. Expiry: back-date a lot for every member, then expire (one SQL pass + one locked post per member).
    long_ago = now - dt.timedelta(days=400)
    PointsEntry.objects.bulk_create([
        PointsEntry(programme=programme, membership_id=pk, kind="adjust", amount=7, balance_after=0,
                    reason="bench lot", idempotency_key=f"bench-{stamp}-lot-{pk}", created_at=long_ago)
        for pk in member_ids], batch_size=5000)
    with connection.cursor() as cursor:  # the bulk lots skipped the services: bring the cached balances along
        cursor.execute("UPDATE loyalty_membership SET balance = balance + 7 WHERE programme_id = %s", [programme.pk])
    began = time.perf_counter()
    run = services.expire_points(at=timezone.now(), programme=programme)
    seconds = time.perf_counter() - began
    again = time.perf_counter()
    rerun = services.expire_points(at=timezone.now(), programme=programme)
    results["expire"] = {"members": run.members, "points": run.points, "seconds": round(seconds, 2),
                         "rerun_points": rerun.points, "rerun_seconds": round(time.perf_counter() - again, 2)}
    print(f"expire: {run.members:,} members, {run.points:,} points in {seconds:.2f} s; "
          f"second run {rerun.points} points in {results['expire']['rerun_seconds']} s", flush=True)

    # 6. Monthly tier evaluation of every member (SQL aggregates per batch of 500).
    began = time.perf_counter()
    evaluation = services.evaluate_tiers(at=timezone.now(), programme=programme)
    results["evaluate_tiers"] = {"examined": evaluation.examined, "seconds": round(time.perf_counter() - began, 2)}
    print(f"evaluate tiers: {evaluation.examined:,} members in {results['evaluate_tiers']['seconds']} s", flush=True)

    results["ledger_check"] = _check_ledger()
    print(f"ledger check: {results['ledger_check']}", flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    ok = results["ledger_check"]["balances_not_equal_to_ledger"] == 0 and \
        results["ledger_check"]["negative_running_balances"] == 0 and results["drain_200_threads"]["ok"] == 150
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
