"""Diagrams benchmark: the fishbone read over many complaints, and drawing both diagrams.

    .venv/bin/python bench/diagrams_bench.py --complaints 200000 --data-dir /tmp/lc-e-bench   # SQLite
    .venv/bin/python bench/diagrams_bench.py --complaints 1000000 --database-url postgres://postgres@127.0.0.1:5432/lc_e_bench

1. generate: 2,000 customers, 6 branches × 5 causes × 3 sub-causes, `--complaints` complaint tickets over
   two years (bulk insert), 10% without a root cause;
2. the fishbone read (counts for 90 days against the previous 90, a 6-month series per branch), as the
   quality manager (all tickets): median and worst of 5 runs, and its SQL statement count;
3. drawing: the fishbone SVG and PNG, and a logic diagram of 120 elements with a 30 × 60 matrix.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=200_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="", help="SQLite: keep the database here to run again without generating")
    args = parser.parse_args()
    start_django(database_url=args.database_url, data_dir=args.data_dir, prefix="lc-e-bench-",
                 unmigrated=("analytics", "improvement"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.accounts.models import Role, User
    from loopcrm.customers.models import Customer
    from loopcrm.improvement import logic_svg
    from loopcrm.improvement.diagram_canvas import PngUnavailable
    from loopcrm.improvement.queries import fishbone as queries
    from loopcrm.service.models import RootCause, Ticket

    rng = random.Random(7)
    qm = User.objects.filter(username="bench-qm").first() or User.objects.create_user(
        username="bench-qm", password=None, role=Role.QUALITY_MANAGER)
    started = time.perf_counter()
    if not Ticket.objects.filter(kind="complaint").exists():
        customers = Customer.objects.bulk_create([Customer(name=f"客户{i}") for i in range(2000)], batch_size=2000)
        causes = []
        for branch in RootCause.Branch.values:
            for c in range(5):
                head = RootCause.objects.create(code=f"{branch}-{c}", name=f"{branch} 原因 {c}", branch=branch)
                causes.append(head)
                causes += [RootCause.objects.create(code=f"{branch}-{c}-{s}", name=f"子原因 {c}.{s}", branch=branch,
                                                    parent=head) for s in range(3)]
        now = dt.datetime.now(dt.UTC)
        batch = []
        for _index in range(args.complaints):
            batch.append(Ticket(kind="complaint", subject="投诉", customer=rng.choice(customers),
                                opened_at=now - dt.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                                root_cause=rng.choice(causes) if rng.random() > 0.1 else None))
            if len(batch) == 20_000:
                Ticket.objects.bulk_create(batch)
                batch = []
        Ticket.objects.bulk_create(batch)
    print(f"generate: {Ticket.objects.count():,} tickets in {time.perf_counter() - started:.1f} s "
          f"({connection.vendor})")

    timings = []
    for _run in range(5):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries_run:
            data = queries.fishbone(qm, queries.FishboneScope())
        timings.append((time.perf_counter() - started) * 1000)
    print(f"fishbone read (90 d vs 90 d, 6 months): median {statistics.median(timings):.0f} ms, "
          f"worst {max(timings):.0f} ms, {len(queries_run.captured_queries)} SQL statements, "
          f"{data.total:,} complaints in the window")

    def best(func, runs=5):
        times = []
        for _run in range(runs):
            started = time.perf_counter()
            out = func()
            times.append((time.perf_counter() - started) * 1000)
        return min(times), out

    ms, svg = best(lambda: queries.fishbone_svg_text(data))
    print(f"fishbone SVG: {ms:.1f} ms, {len(svg) / 1024:.0f} KiB")
    try:
        ms, png = best(lambda: queries.fishbone_png(data), runs=3)
        print(f"fishbone PNG: {ms:.0f} ms, {len(png) / 1024:.0f} KiB")
    except PngUnavailable as error:
        print(f"fishbone PNG: unavailable ({error})")

    layers = ["need"] * 30 + ["process"] * 30 + ["indicator"] * 30 + ["feedback"] * 30
    nodes = [logic_svg.Node(key=f"k{i}", layer=layer, label=f"要素 {i} element", details=("1. 受理 · ≤ 30 min",) * 3)
             for i, layer in enumerate(layers)]
    edges = [logic_svg.Edge(source=f"k{rng.randrange(30)}", target=f"k{30 + rng.randrange(60)}",
                            strength=rng.choice(["strong", "medium", "weak"])) for _ in range(300)]
    rows, columns = [f"k{i}" for i in range(30)], [f"k{i}" for i in range(30, 90)]
    ms, svg = best(lambda: logic_svg.render_svg(nodes, edges, rows=rows, columns=columns))
    print(f"logic diagram SVG (120 elements, 30 × 60 matrix, 300 links): {ms:.1f} ms, {len(svg) / 1024:.0f} KiB")
    try:
        ms, png = best(lambda: logic_svg.render_png(nodes, edges, rows=rows, columns=columns), runs=3)
        print(f"logic diagram PNG: {ms:.0f} ms, {len(png) / 1024:.0f} KiB")
    except PngUnavailable as error:
        print(f"logic diagram PNG: unavailable ({error})")


if __name__ == "__main__":
    main()
