"""Customer value at scale on PostgreSQL: full recompute, BG/NBD fit on 100,000 customers, segment count p95.

    .venv/bin/python bench/generate.py --database-url postgres://postgres@127.0.0.1:5432/lc_value_bench \
        --customers 1000000 --orders 5700000 --interactions 0 --seed 1     # ≈ 10 M order lines
    .venv/bin/python bench/value_bench.py --database-url postgres://postgres@127.0.0.1:5432/lc_value_bench \
        --runs 20 --all-kinds                 # 14 rule kinds; --explain prints each count's plan

Goals (issue 5): recompute of RFM + tiers + lifecycle ≤ 60 s with peak memory ≤ 1 GB; BG/NBD fit on
100,000 customers ≤ 10 s; segment count p95 ≤ 200 ms. Printed with each figure: the load average, and
the CPU time of this process and of its PostgreSQL backend (parallel workers are not included). Each
count lists the tables its queries read ([value_customervalue]: the value table alone; customers_customer:
joined with the customers).
The value tables are created from the models when missing (a database generated before the value
migrations). Cross-sell rules are timed separately (they read every order line).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

RULES = {
    "tier = high": {"field": "tier", "op": "eq", "value": "high"},
    "champions or loyal in 广东省": {"all": [{"field": "rfm_segment", "op": "in", "value": ["champions", "loyal"]},
                                          {"field": "province", "op": "eq", "value": "广东省"}]},
    "at risk and high/medium tier": {"all": [{"field": "stage", "op": "eq", "value": "at_risk"},
                                             {"field": "tier", "op": "in", "value": ["high", "medium"]}]},
    "R ≥ 4 and F ≥ 4": {"all": [{"field": "r_score", "op": "gte", "value": 4},
                                {"field": "f_score", "op": "gte", "value": 4}]},
    "ordered in the last 30 days": {"field": "ordered", "op": "in_last_days", "value": {"days": 30}},
}
# More rule kinds (--all-kinds): churn risk, CLV, lifecycle, VIP suggestion, customer fields, tags, purchases.
MORE_RULES = {
    "churn risk: P(alive) < 0.3": {"field": "p_alive", "op": "lte", "value": 0.3},
    "CLV ≥ 1000 and not churned": {"all": [{"field": "clv", "op": "gte", "value": 1000},
                                           {"not": {"field": "stage", "op": "eq", "value": "churned"}}]},
    "stage = won_back": {"field": "stage", "op": "eq", "value": "won_back"},
    "suggested VIP": {"field": "vip_suggested", "op": "eq", "value": True},
    "tier ≠ low (negation)": {"field": "tier", "op": "ne", "value": "low"},
    "province = 广东省": {"field": "province", "op": "eq", "value": "广东省"},
    "tag 高潜力": {"field": "tag", "op": "has", "value": "高潜力"},
    "high tier with tag 老客户": {"all": [{"field": "tier", "op": "eq", "value": "high"},
                                       {"field": "tag", "op": "has", "value": "老客户"}]},
    "bought digital in 90 days": {"field": "bought_category", "op": "in_last_days",
                                  "value": {"category": "digital", "days": 90}},
}


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of this process (or of another, e.g. the PostgreSQL backend, from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/lc_value_bench")
    parser.add_argument("--fit-customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-recompute", action="store_true", help="reuse the stored value rows")
    parser.add_argument("--associations", action="store_true", help="also time the cross-sell rules")
    parser.add_argument("--all-kinds", action="store_true", help="count more rule kinds (customer fields, tags, …)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each count")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings")
    import django

    django.setup()
    import numpy as np
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from loopcrm.commerce.models import Order, OrderLine
    from loopcrm.customers.models import Customer
    from loopcrm.value import clv, queries, services
    from loopcrm.value.models import CustomerValue, ProductAssociation, Segment, ValueRun

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in (CustomerValue, ValueRun, ProductAssociation, Segment):
            if model._meta.db_table not in existing:
                editor.create_model(model)
    customers = Customer.objects.count()
    orders = Order.objects.count()
    lines = OrderLine.objects.count()
    print(f"database: {customers:,} customers, {orders:,} orders, {lines:,} order lines "
          f"(PostgreSQL {connection.pg_version // 10000}); start peak RSS {peak_mb():.0f} MB; load {load()}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    if not args.skip_recompute:
        steps: dict[str, float] = {}
        cpu, server = cpu_seconds(), cpu_seconds(backend)
        started = time.perf_counter()

        def progress(step: str, done: int, total: int) -> None:
            steps.setdefault(step, time.perf_counter() - started)

        result = services.recompute_all(progress=progress, associations=False)
        seconds = time.perf_counter() - started
        marks = ", ".join(f"{step} at {at:.1f} s" for step, at in steps.items())
        print(f"recompute (RFM + models + tiers + lifecycle, write {result.customers:,} rows): {seconds:.1f} s, "
              f"peak RSS {peak_mb():.0f} MB  [{marks}]")
        print(f"    CPU: Python {cpu_seconds() - cpu:.1f} s, PostgreSQL backend {cpu_seconds(backend) - server:.1f} s; "
              f"load {load()}")
        print(f"    buyers {result.buyers:,}; tiers {result.tiers}; stages {result.stages}")
        print(f"    fit {result.parameters.get('bgnbd')}")
    if args.associations:
        started = time.perf_counter()
        rules = services.recompute_associations()
        print(f"cross-sell rules over {lines:,} lines: {rules:,} rules in {time.perf_counter() - started:.1f} s, "
              f"peak RSS {peak_mb():.0f} MB")

    # BG/NBD on 100,000 customers: the summary (x, t_x, T) of a sample of buyers, then the fit alone.
    now = timezone.now()
    history = services._history(now, now)  # the aggregation the recompute uses
    buyers = np.flatnonzero(history.orders > 0)
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(buyers, size=min(args.fit_customers, buyers.size), replace=False))
    x = np.maximum(history.days[sample] - 1, 0).astype(float)
    T = (now.timestamp() - history.first[sample]) / services.WEEK
    t_x = np.minimum((history.last[sample] - history.first[sample]) / services.WEEK, T)
    started = time.perf_counter()
    model = clv.fit_bgnbd(x, t_x, T)
    fit_seconds = time.perf_counter() - started
    distinct = np.unique(np.column_stack([x, t_x, T]), axis=0).shape[0]
    print(f"BG/NBD fit on {sample.size:,} customers ({distinct:,} distinct (x, t_x, T)): {fit_seconds:.2f} s "
          f"(r={model.r:.3f}, alpha={model.alpha:.2f}, a={model.a:.3f}, b={model.b:.3f})")

    # Segment counts: the live count a user sees in the builder (all customers in scope, as an admin).
    print(f"segment counts, {args.runs} runs each after one warm-up (load {load()}):")
    worst = 0.0
    rules = {**RULES, **MORE_RULES} if args.all_kinds else RULES
    from loopcrm.value.segments import compile_value_rule

    for name, rule in rules.items():
        with CaptureQueriesContext(connection) as warm_up:
            queries.rule_count(rule)
        # The tables the count read (the last query is the count; earlier ones look up a tag or category).
        tables = sorted({table for query in warm_up.captured_queries
                         for table in re.findall(r'(?:FROM|JOIN) "(\w+)"', query["sql"])} - {"customers_tag"})
        times = []
        server = cpu_seconds(backend)
        for _ in range(args.runs):
            started = time.perf_counter()
            count = queries.rule_count(rule)
            times.append((time.perf_counter() - started) * 1000)
        server_ms = (cpu_seconds(backend) - server) * 1000 / args.runs
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        worst = max(worst, p95)
        print(f"    {name:32s} {count:>9,} customers  p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"server CPU {server_ms:6.1f} ms  [{', '.join(tables)}]")
        if args.explain:
            on_values = compile_value_rule(rule)
            rows = (CustomerValue.objects.filter(on_values) if on_values is not None
                    else queries.rule_members(rule).order_by())
            sql, params = rows.order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) AS counted", params)
                for (line,) in cursor.fetchall():
                    print(f"        {line}")
    print(f"worst segment count p95: {worst:.1f} ms (load {load()})")

    from loopcrm.accounts.models import User

    admin = User.objects.filter(is_superuser=True).first() or User.objects.filter(role="administrator").first()
    if admin is not None:
        started = time.perf_counter()
        queries.summary(admin)
        print(f"dashboard summary (8 aggregate queries) as {admin.username}: "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
