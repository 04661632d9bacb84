"""Where a workbench page's server CPU goes: render it in-process through Django's test client (DEBUG off, the
bench settings) and report CPU per request and, with --profile, the top functions under cProfile.

    .venv/bin/python bench/service_page_profile.py [--who agent|admin] [--path /service/tickets/?view=mine]
        [--requests 30] [--profile] [--language zh-hans]

Reads only (sessions are made by force_login on the bench database and deleted afterwards).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

from service_bench import pick_people, setup_django  # noqa: E402
from service_generate import DEFAULT_URL  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SERVICE_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--who", default="agent", choices=["agent", "admin"])
    parser.add_argument("--path", action="append", help="repeatable; default: the inbox views and a ticket page")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--language", default="zh-hans")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", action="store_true", help="print the SQL of one request")
    parser.add_argument("--callees", action="append", default=[],
                        help="with --profile: also print what functions matching this name call (repeatable)")
    args = parser.parse_args(argv)
    people = pick_people(args.database_url, args.seed)
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from loopcrm.accounts.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE=args.language)
    client.force_login(User.objects.get(username=people["agent"] if args.who == "agent" else "bench"))
    tickets = people["agent_tickets"] if args.who == "agent" else people["admin_tickets"]
    paths = args.path or [*(f"/service/tickets/?view={v}" for v in ("mine", "team", "unassigned", "all")),
                          f"/service/tickets/{tickets[0]}/"]
    try:
        for path in paths:
            for _ in range(3):
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            # Counted by an execute wrapper: each request's start empties connection.queries (reset_queries),
            # so CaptureQueriesContext around a request through the test client sees none.
            captured: list[str] = []

            def count(execute, sql, params, many, context, captured=captured):
                captured.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                client.get(path)
            if args.queries:
                print("\n".join(f"  {n + 1:2d}. {sql[:300]}" for n, sql in enumerate(captured)))
            profiler = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for n in range(args.requests):
                rotate = "tickets/?" not in path and not args.path
                client.get(f"/service/tickets/{tickets[n % len(tickets)]}/" if rotate else path)
            if profiler:
                profiler.disable()
            cpu = (time.process_time() - cpu) / args.requests * 1000
            wall = (time.perf_counter() - wall) / args.requests * 1000
            print(f"{path:<36} {len(captured):3d} queries  client CPU {cpu:6.1f} ms/request  "
                  f"wall {wall:6.1f} ms  {len(response.content) // 1024} KiB  load {os.getloadavg()[0]:.1f}",
                  flush=True)
            if profiler:
                buffer = io.StringIO()
                stats = pstats.Stats(profiler, stream=buffer)
                stats.sort_stats("cumulative").print_stats(30)
                stats.sort_stats("tottime").print_stats(15)
                for name in args.callees:
                    stats.sort_stats("cumulative").print_callees(name)
                print(buffer.getvalue())
    finally:
        client.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
