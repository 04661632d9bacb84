"""Offline evaluation of the cross-sell rules: hit rate @5 on a time split of the demo data.

Loads the deterministic demo (2,000 customers, seed 1, history ending 2026-11-01) into a throwaway
SQLite database, trains the co-purchase rules on the orders before the last 90 days and checks, for each
customer who bought something new to them in those 90 days, whether one of their five recommendations
was among it. The baseline recommends the five most popular products the customer does not own.

    .venv/bin/python bench/value_crosssell.py [--customers 2000] [--seed 1] [--test-days 90]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test-days", type=int, default=90)
    parser.add_argument("--today", default="2026-11-01")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="loopcrm-crosssell-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/demo.sqlite3"
    os.environ["LOOPCRM_DATA_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings_test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from loopcrm.commerce.models import OrderLine
    from loopcrm.commerce.queries import SPENDING_STATUSES
    from loopcrm.demo import load_demo
    from loopcrm.value.crosssell import hit_rate_at_k

    call_command("migrate", run_syncdb=True, verbosity=0)
    today = dt.date.fromisoformat(args.today)
    load_demo(customers=args.customers, seed=args.seed, progress=lambda message: None, today=today)
    now = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    cutoff = now - dt.timedelta(days=args.test_days)
    rows = list(OrderLine.objects.filter(order__status__in=SPENDING_STATUSES, product__isnull=False)
                .values_list("order__customer_id", "order_id", "product_id", "order__placed_at"))
    train = [row for row in rows if row[3] < cutoff]
    test = [row for row in rows if cutoff <= row[3] < now]
    print(f"demo: {args.customers:,} customers (seed {args.seed}), {len(rows):,} order lines; "
          f"train before {cutoff:%Y-%m-%d} ({len(train):,} lines), test the last {args.test_days} days "
          f"({len(test):,} lines)")
    for by in ("order", "customer"):
        started = time.perf_counter()
        result = hit_rate_at_k([r[0] for r in train], [r[1] for r in train], [r[2] for r in train],
                               [r[0] for r in test], [r[2] for r in test], k=5, by=by)
        print(f"baskets by {by:8s}: hit rate @5 = {result.hit_rate:.3f} ({result.hits} of {result.customers} "
              f"customers); popular-products baseline {result.popular_hit_rate:.3f}; "
              f"{time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
