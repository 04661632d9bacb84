"""The metric registry at scale: the quality dashboard's 8 KPIs through HTTP over 1,000,000 tickets.

    .venv/bin/python bench/registry_bench.py http [--database-url …] [--seconds 15] [--concurrency 1,4]
    .venv/bin/python bench/registry_bench.py queries [--samples 7]
    .venv/bin/python bench/registry_bench.py rollup [--full]

`rollup` creates the analytics app's roll-up tables in the bench database if they are missing (it is built
from models with no migrations; only tables are added) and refreshes the daily roll-up, timing a full build
and an incremental refresh. With REGISTRY_BENCH_ROLLUP=0 in the environment, `http` and `queries` compute
every day live (the registry before the roll-up), for a before/after pair on the same data.

Reads the database bench/service_generate.py builds (default loopcrm_service_bench: 1M tickets
over two years, their SLA clocks; few or no orders and survey answers) and writes nothing to it: users are
signed in with signed-cookie sessions built by hand (bench/registry_settings.py), no API token is created.

`http` starts gunicorn (2 sync workers, DEBUG off, persistent connections) and drives, with wrk, at each
concurrency: GET /api/v1/metrics/dashboard for 30-day windows ending on one of the last 60 days of data
(rotated, so no two requests in a row ask the same), as the administrator (everything) and as a service
agent (their department); the /quality/ page (same figures rendered with plotly JSON); and a metric's
series cut by agent. Goal: the dashboard's p95 ≤ 300 ms.

`queries` runs the dashboard in-process and prints each SQL statement's time (and EXPLAIN ANALYZE of the
slowest), to see where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

import http_bench  # noqa: E402
import service_bench as S  # noqa: E402  (Server, LUA, lua_string, probe, renice)
from service_generate import DEFAULT_URL  # noqa: E402

GOAL_MS = 300
WINDOW_DAYS = 30


def env_for(url: str) -> dict:
    return {**S.bench_env(url), "DJANGO_SETTINGS_MODULE": "registry_settings"}


def setup_django(url: str) -> None:
    os.environ.update({k: v for k, v in env_for(url).items() if k != "PYTHONPATH"})
    import django

    django.setup()


def facts(url: str) -> dict:
    """The data's last day, its size, and a service agent (department scope) with tickets."""
    with psycopg.connect(url) as conn:
        last = conn.execute("SELECT max(opened_at) FROM service_ticket").fetchone()[0]
        tickets = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'service_ticket'").fetchone()[0]
        clocks = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'service_slaclock'").fetchone()[0]
        orders = conn.execute("SELECT count(*) FROM commerce_order").fetchone()[0]
        responses = conn.execute("SELECT count(*) FROM feedback_response").fetchone()[0]
        agent = conn.execute(
            "SELECT u.username FROM accounts_user u JOIN service_ticket t ON t.assignee_id = u.id "
            "WHERE u.role = 'agent' AND u.department_id IS NOT NULL AND t.opened_at > %s "
            "GROUP BY u.username ORDER BY count(*) DESC LIMIT 1", (last - dt.timedelta(days=30),)).fetchone()[0]
    return {"last_day": (last + dt.timedelta(hours=8)).date(), "tickets": tickets, "clocks": clocks,
            "orders": orders, "responses": responses, "agent": agent}


def windows(last_day: dt.date, count: int = 60) -> list[tuple[dt.date, dt.date]]:
    ends = [last_day - dt.timedelta(days=i) for i in range(count)]
    return [(end - dt.timedelta(days=WINDOW_DAYS - 1), end) for end in ends]


def cookies(url: str, usernames: dict[str, str]) -> dict[str, str]:
    """Session cookies made without a login (which would write last_login): the signed-cookie session holds
    what django.contrib.auth.login puts there."""
    setup_django(url)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from loopcrm.accounts.models import User

    out = {}
    for who, username in usernames.items():
        user = User.objects.get(username=username)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b.lower())
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        out[who] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    return out


def targets(info: dict) -> dict[str, tuple[str, list[str]]]:
    spans = windows(info["last_day"])
    dash = [f"/api/v1/metrics/dashboard?start={a}&end={b}" for a, b in spans]
    return {
        "api_dashboard_admin": ("admin", dash),
        "api_dashboard_agent": ("agent", dash),
        # The window ending on the data's last day only: closed days from the roll-up plus that day live.
        "api_dashboard_today_agent": ("agent", dash[:1]),
        "web_quality_admin": ("admin", [f"/quality/?start={a}&end={b}" for a, b in spans]),
        "api_series_by_agent_admin": ("admin", [f"/api/v1/metrics/first_response_minutes/series?start={a}&end={b}"
                                                f"&by=agent" for a, b in spans]),
    }


def run_http(args) -> dict:
    info = facts(args.database_url)
    env = env_for(args.database_url)
    jar = cookies(args.database_url, {"admin": "bench", "agent": info["agent"]})
    headers = {who: {"Cookie": cookie, "Accept": "application/json"} for who, cookie in jar.items()}
    print(f"~{info['tickets']:,} tickets, ~{info['clocks']:,} SLA clocks, {info['orders']:,} orders, "
          f"{info['responses']:,} answers; last day {info['last_day']}; agent {info['agent']}", flush=True)
    wanted = set(args.only.split(",")) if args.only else None
    results, notes = [], []
    with S.Server(env, args.port, args.workers) as server:
        for name, (who, paths) in targets(info).items():
            if wanted and name not in wanted:
                continue
            status = S.probe(args.port, paths[0], headers[who])
            if status != 200:
                notes.append(f"{name}: GET {paths[0]} answered {status}; skipped.")
                print(notes[-1], flush=True)
                continue
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                header_lua = "{" + ", ".join(f"[{S.lua_string(k)}] = {S.lua_string(v)}"
                                             for k, v in headers[who].items()) + "}"
                with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                    script.write(S.LUA.replace("{PATHS}", "{" + ",".join(S.lua_string(p) for p in paths) + "}")
                                 .replace("{HEADERS}", header_lua).replace("{SEED}", str(args.seed)))
                http_bench.run_wrk(Path(script.name), args.port, concurrency, args.warmup)
                app, db = server.worker_pids(), http_bench.backend_pids(args.database_url)
                cpu_before = http_bench.cpu_ms(app + db)
                load = os.getloadavg()[0]
                result = http_bench.run_wrk(Path(script.name), args.port, concurrency, args.seconds)
                cpu = http_bench.cpu_ms(app + db) - cpu_before
                os.unlink(script.name)
                result.update(name=name, concurrency=concurrency, load_1m=round(load, 2),
                              cpu_ms_per_request=round(cpu / max(result["requests"], 1), 2))
                results.append(result)
                verdict = "ok" if result["p95_ms"] <= GOAL_MS else "MISSES"
                print(f"  {name:<26} c={concurrency:<2} p50 {result['p50_ms']:7.1f}  p95 {result['p95_ms']:7.1f}  "
                      f"p99 {result['p99_ms']:7.1f} ms  {result['rps']:6.1f} req/s  server CPU "
                      f"{result['cpu_ms_per_request']:6.1f} ms/req  errors {result['errors']}  load {load:.1f}  "
                      f"{verdict}", flush=True)
    return {"kind": "http", "facts": {k: str(v) for k, v in info.items()}, "results": results, "notes": notes}


def run_queries(args) -> dict:
    info = facts(args.database_url)
    setup_django(args.database_url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.accounts.models import User
    from loopcrm.analytics.metrics import dashboard

    admin = User.objects.get(username="bench")
    agent = User.objects.get(username=info["agent"])
    out = {}
    for who, user in (("admin", admin), ("agent", agent)):
        times = []
        for start, end in windows(info["last_day"], args.samples):
            began = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                dashboard.dashboard(start=start, end=end, user=user)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        statements = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        print(f"{who}: dashboard in-process median {times[len(times) // 2]:.1f} ms (of {len(times)}), "
              f"{len(statements)} queries", flush=True)
        for q in statements[:6]:
            print(f"   {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}", flush=True)
        if args.explain and statements:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[0]["sql"])
                print("\n".join("      " + row[0] for row in cursor.fetchall()), flush=True)
        out[who] = {"median_ms": times[len(times) // 2], "queries": len(statements),
                    "slowest": [(float(q["time"]), q["sql"][:300]) for q in statements[:6]]}
    return {"kind": "queries", "facts": {k: str(v) for k, v in info.items()}, **out}


def ensure_tables() -> list[str]:
    """Create the roll-up's tables (and their indexes) where they are missing; never alters what exists."""
    from django.db import connection

    from loopcrm.analytics.models import DailyFact, RollupState

    present = set(connection.introspection.table_names())
    made = []
    with connection.schema_editor() as editor:
        for model in (RollupState, DailyFact):
            if model._meta.db_table not in present:
                editor.create_model(model)
                made.append(model._meta.db_table)
    return made


def run_rollup(args) -> dict:
    setup_django(args.database_url)
    from loopcrm.analytics.metrics import rollup
    from loopcrm.analytics.models import DailyFact

    made = ensure_tables()
    print(f"tables created: {made or 'none (present)'}", flush=True)
    out = {"kind": "rollup", "created": made, "runs": []}
    for label, full in (("full", True), ("incremental", False)) if args.full else (("refresh", False),
                                                                                 ("incremental", False)):
        began, cpu = time.perf_counter(), time.process_time()
        done = rollup.refresh(full=full)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        rows = DailyFact.objects.count()
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s Python CPU; "
              + "; ".join(f"{d.source}: rebuilt={d.rebuilt} days={d.days} rows={d.rows} through {d.rolled_through}"
                          for d in done) + f"; facts now {rows:,}; load {os.getloadavg()[0]:.1f}", flush=True)
        out["runs"].append({"label": label, "wall_s": wall, "cpu_s": cpu, "facts": rows,
                            "sources": [vars(d) for d in done]})
    from django.db import connection

    with connection.cursor() as cursor:  # as autovacuum would, before measuring: hint bits, visibility map
        cursor.execute(f"VACUUM ANALYZE {DailyFact._meta.db_table}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["http", "queries", "rollup"])
    parser.add_argument("--full", action="store_true", help="rollup: rebuild every day first")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    result = {"http": run_http, "queries": run_queries, "rollup": run_rollup}[args.mode](args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
