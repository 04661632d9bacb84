"""Service desk at scale: inbox and ticket pages over HTTP, and opening tickets through the services.

    .venv/bin/python bench/service_generate.py            # once: loopcrm_service_bench, 1M tickets
    .venv/bin/python bench/service_apply.py               # then: config stamp, triggers, newer indexes
    .venv/bin/python bench/service_bench.py http [--seconds 8] [--concurrency 1,8] [--nice -5]
    .venv/bin/python bench/service_bench.py queries       # queries and SQL time per target (test client)
    .venv/bin/python bench/service_bench.py open [--tickets 1000] [--profile 300] [--batch 200] [--processes 2]

`http` starts gunicorn (sync workers, DEBUG off, persistent connections) on the bench database with
bench/service_settings.py, logs an agent (of a service department, with tickets assigned) and an
administrator in by building real sessions through Django (and creates API tokens with `loopcrm
token create`), warms up, and drives each target with wrk (bench/http_bench.py's runner: a Lua script
rotating paths) at each concurrency: the workbench inbox views (/service/tickets/?view=…) and ticket
pages (/service/tickets/<id>/), and the API list (/api/v1/tickets?view=…) and detail
(/api/v1/tickets/{id}); it prints p50/p95/p99 and requests/s with the load average.

`queries` renders each target once per sample through Django's test client in-process and reports
the number of queries, their total time and the slowest statements (what to EXPLAIN).

`open` opens tickets through loopcrm.service.services.tickets.open_ticket (routing rules by region and
VIP, assignment in the queue, SLA policy and clocks in business time, the standard process, the
timeline interaction) in one process, commits each, reports tickets/s and queries per ticket, then
cProfiles a smaller run (top 10 by cumulative and by own time). `--batch N` opens N tickets per call of
open_tickets (one transaction each) instead; `--processes P` runs P processes at once (forked, each with its
own share of the customers), started together, and reports all their tickets over the slowest's time.
The tickets it opened are deleted afterwards, so runs repeat on the same data.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

import http_bench  # noqa: E402  (Server, run_wrk, cli, backend_pids, cpu_ms)
from service_generate import DEFAULT_URL  # noqa: E402

GOAL_MS = 30
GOAL_TICKETS_PER_S = 500
ACTIVE = ("new", "open", "pending", "on_hold", "reopened")

LUA = r"""
local paths = {PATHS}
local headers = {HEADERS}
thread_counter = 0

function setup(thread)
  thread:set("tid", thread_counter)
  thread_counter = thread_counter + 1
end

function init(args)
  math.randomseed({SEED} + (tid or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bench_env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "CONN_MAX_AGE": "600",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-not-secret"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "LOOPCRM_LOG_LEVEL": "WARNING",
            "LOOPCRM_PLAIN_STATIC": "1", "LOOPCRM_DATA_DIR": str(HERE / "results" / "data"),
            "DJANGO_SETTINGS_MODULE": "service_settings",
            "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}


def setup_django(url: str) -> None:
    os.environ.update({k: v for k, v in bench_env(url).items() if k != "PYTHONPATH"})
    import django

    django.setup()


def pick_people(url: str, seed: int) -> dict:
    """The agent (a service agent with a typical number of active tickets), the administrator, and
    ticket ids each may open (the agent's department; any department)."""
    rng = random.Random(seed)
    with psycopg.connect(url) as conn:
        loads = conn.execute(
            "SELECT assignee_id, count(*) FROM service_ticket WHERE status = ANY(%s) AND assignee_id IS NOT NULL "
            "GROUP BY 1 ORDER BY 2", (list(ACTIVE),)).fetchall()
        agent_id, agent_active = loads[len(loads) // 2]
        agent, department = conn.execute("SELECT username, department_id FROM accounts_user WHERE id = %s",
                                         (agent_id,)).fetchone()
        high = conn.execute("SELECT max(id) FROM service_ticket").fetchone()[0]
        agent_tickets = [r[0] for r in conn.execute(
            "SELECT id FROM service_ticket WHERE department_id = %s AND id = ANY(%s)",
            (department, [rng.randint(1, high) for _ in range(3000)])).fetchall()][:300]
        admin_tickets = [rng.randint(1, high) for _ in range(300)]
        total = conn.execute("SELECT count(*) FROM service_ticket").fetchone()[0]
        events = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'service_ticketevent'").fetchone()
    return {"agent": agent, "agent_id": agent_id, "agent_active": agent_active, "department": department,
            "agent_tickets": agent_tickets, "admin_tickets": admin_tickets, "tickets": total, "events": events[0]}


def targets(people: dict) -> dict[str, tuple[str, list[str]]]:
    """name -> (who, paths)."""
    views = ("mine", "team", "unassigned", "breaching", "all")
    t: dict[str, tuple[str, list[str]]] = {}
    for view in views:
        t[f"web_inbox_{view}_agent"] = ("agent", [f"/service/tickets/?view={view}"])
    for view in ("all", "breaching"):
        t[f"web_inbox_{view}_admin"] = ("admin", [f"/service/tickets/?view={view}"])
    t["web_ticket_agent"] = ("agent", [f"/service/tickets/{i}/" for i in people["agent_tickets"]])
    t["web_ticket_admin"] = ("admin", [f"/service/tickets/{i}/" for i in people["admin_tickets"]])
    t["api_list_agent"] = ("agent_api", [f"/api/v1/tickets?view={v}" for v in views])
    t["api_list_admin"] = ("admin_api", ["/api/v1/tickets?view=all", "/api/v1/tickets?view=breaching"])
    t["api_ticket_agent"] = ("agent_api", [f"/api/v1/tickets/{i}" for i in people["agent_tickets"]])
    t["api_ticket_admin"] = ("admin_api", [f"/api/v1/tickets/{i}" for i in people["admin_tickets"]])
    return t


def session_cookies(url: str, usernames: dict[str, str]) -> dict[str, str]:
    """A real session per person, made by Django's login (test client force_login writes the session row)."""
    setup_django(url)
    from django.conf import settings
    from django.test import Client

    from loopcrm.accounts.models import User

    cookies = {}
    for who, username in usernames.items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        cookies[who] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return cookies


def probe(port: int, path: str, headers: dict[str, str]) -> int:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


class Server(http_bench.Server):
    """http_bench's gunicorn, with time to start on a busy machine (importing Django twice can take 30 s)."""

    START_SECONDS = 120

    def __enter__(self) -> Server:
        argv = [sys.executable, "-m", "gunicorn", "loopcrm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60",
                "--graceful-timeout", "5", "--error-logfile", "-", "--log-level", "warning"]
        self.process = subprocess.Popen(argv, env=self.env)
        deadline = time.monotonic() + self.START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/version", timeout=5) as response:
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        time.sleep(3)  # the other worker finishes importing
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise SystemExit(f"The server did not start within {self.START_SECONDS} s.")


def renice(pids: list[int], value: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, value)


def run_http(args) -> dict:
    people = pick_people(args.database_url, args.seed)
    env = bench_env(args.database_url)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tokens = {who: http_bench.cli(env, "token", "create", "--username", username, "--name", f"svcbench {stamp}")
              .splitlines()[-1] for who, username in (("agent_api", people["agent"]), ("admin_api", "bench"))}
    cookies = session_cookies(args.database_url, {"agent": people["agent"], "admin": "bench"})
    headers = {"agent": {"Cookie": cookies["agent"]}, "admin": {"Cookie": cookies["admin"]},
               **{who: {"Authorization": f"Bearer {token}", "Accept": "application/json"}
                  for who, token in tokens.items()}}
    print(f"{people['tickets']:,} tickets, ~{people['events']:,} events; agent {people['agent']} (department "
          f"{people['department']}, {people['agent_active']} active tickets assigned)", flush=True)
    wanted = set(args.only.split(",")) if args.only else None
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    results, notes = [], []
    load_before = os.getloadavg()
    with Server(env, args.port, args.workers) as server:
        for name, (who, paths) in targets(people).items():
            if wanted and name not in wanted:
                continue
            status = probe(args.port, paths[0], headers[who])
            if status != 200:
                notes.append(f"{name}: GET {paths[0]} answered {status}; skipped.")
                print(notes[-1], flush=True)
                continue
            for concurrency in concurrencies:
                header_lua = "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}"
                                             for k, v in headers[who].items()) + "}"
                with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                    script.write(LUA.replace("{PATHS}", "{" + ",".join(lua_string(p) for p in paths) + "}")
                                 .replace("{HEADERS}", header_lua).replace("{SEED}", str(args.seed)))
                http_bench.run_wrk(Path(script.name), args.port, concurrency, args.warmup, args.nice)
                app, db = server.worker_pids(), http_bench.backend_pids(args.database_url)
                if args.nice:
                    renice(app + db, args.nice)
                cpu_before = http_bench.cpu_ms(app + db)
                load = os.getloadavg()[0]
                result = http_bench.run_wrk(Path(script.name), args.port, concurrency, args.seconds, args.nice)
                cpu = http_bench.cpu_ms(app + db) - cpu_before
                os.unlink(script.name)
                result.update(name=name, concurrency=concurrency, load_1m=round(load, 2),
                              cpu_ms_per_request=round(cpu / max(result["requests"], 1), 2))
                results.append(result)
                verdict = "ok" if result["p95_ms"] <= GOAL_MS else "MISSES"
                print(f"  {name:<26} c={concurrency:<2} p50 {result['p50_ms']:7.1f}  p95 {result['p95_ms']:7.1f}  "
                      f"p99 {result['p99_ms']:7.1f} ms  {result['rps']:7.1f} req/s  server CPU "
                      f"{result['cpu_ms_per_request']:5.1f} ms/req  errors {result['errors']}  load {load:.1f}  "
                      f"{verdict}", flush=True)
        peak = server.peak_rss_mb()
    return {"kind": "http", "people": {k: v for k, v in people.items() if not k.endswith("_tickets")},
            "results": results, "notes": notes, "load_before": load_before, "load_after": os.getloadavg(),
            "server_peak_rss_mb": peak, "workers": args.workers, "nice": args.nice}


def run_queries(args) -> dict:
    people = pick_people(args.database_url, args.seed)
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from loopcrm.accounts.models import User

    clients = {}
    for who, username in (("agent", people["agent"]), ("admin", "bench")):
        client = Client()
        client.force_login(User.objects.get(username=username))
        clients[who] = clients[who + "_api"] = client
    report = {}
    for name, (who, paths) in targets(people).items():
        client = clients[who]
        samples = []
        for path in paths[: args.samples]:
            client.get(path)  # warm
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                wall = (time.perf_counter() - started) * 1000
            queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
            samples.append((wall, response.status_code, queries))
        wall = statistics.median(s[0] for s in samples)
        slowest = sorted((q for s in samples for q in s[2]), reverse=True)[:3]
        report[name] = {"status": samples[0][1], "median_ms": round(wall, 1), "queries": len(samples[0][2]),
                        "sql_ms": round(statistics.median(sum(t for t, _ in s[2]) for s in samples), 1),
                        "slowest": [(round(t, 1), sql[:600]) for t, sql in slowest]}
        print(f"{name:<26} {samples[0][1]} median {wall:7.1f} ms  {len(samples[0][2]):3d} queries  SQL "
              f"{report[name]['sql_ms']:6.1f} ms", flush=True)
        for t, sql in report[name]["slowest"][: args.show]:
            print(f"    {t:7.1f} ms  {sql[:300]}", flush=True)
    return {"kind": "queries", "report": report}


def _open_batches(args, pool: list, categories: list, *, seed: int, tickets: int) -> tuple[float, float]:
    """Open `tickets` tickets (one at a time, or `args.batch` per call of open_tickets), committing each call;
    returns (wall seconds, process CPU seconds)."""
    from loopcrm.service.services.opening import TicketRequest, open_tickets
    from loopcrm.service.services.tickets import open_ticket

    rng = random.Random(seed)
    kinds = ["inquiry"] * 40 + ["service_request"] * 22 + ["complaint"] * 16 + ["repair"] * 13 + ["return"] * 9
    channels = ["phone", "email", "web_chat", "web_form", "wechat"]
    subjects = ["物流延迟，还没收到货", "退款申请", "设备无法开机，需要维修", "How do I pair the app?", "发票开具"]
    counter = iter(range(10**9))

    def request() -> TicketRequest:
        return TicketRequest(customer=pool[next(counter) % len(pool)], subject=rng.choice(subjects),
                             kind=rng.choice(kinds), channel=rng.choice(channels), description="客户来电反映问题。",
                             category=rng.choice(categories))

    started, cpu_started = time.perf_counter(), time.process_time()
    done = 0
    while done < tickets:
        if args.batch:
            size = min(args.batch, tickets - done)
            open_tickets([request() for _ in range(size)], by=None)
        else:
            size = 1
            open_ticket(by=None, **vars(request()))
        done += size
    return time.perf_counter() - started, time.process_time() - cpu_started


def _open_worker(args, pool, categories, seed, tickets, barrier, results) -> None:
    from django.db import connection

    connection.close()  # a connection of its own, not the parent's
    _open_batches(args, pool, categories, seed=seed + 1000, tickets=max(args.batch, 1) * 2)  # warm
    barrier.wait()
    wall, cpu = _open_batches(args, pool, categories, seed=seed, tickets=tickets)
    results.put((tickets, wall, cpu))


def run_open(args) -> dict:
    setup_django(args.database_url)
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    from loopcrm.customers.models import Customer
    from loopcrm.interactions.models import Interaction
    from loopcrm.service.models import Ticket, TicketCategory

    rng = random.Random(args.seed)
    last_ticket = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    last_interaction = Interaction.objects.order_by("-id").values_list("id", flat=True).first() or 0
    high = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    categories = list(TicketCategory.objects.filter(parent__isnull=False))
    total = (args.tickets + args.warmup + args.profile + 1) * max(args.processes, 1)
    customers = Customer.objects.in_bulk([rng.randint(1, high) for _ in range(min(total * 2, 200_000))])
    pool = list(customers.values())
    rng.shuffle(pool)
    mode = f"open_tickets, {args.batch} per call" if args.batch else "open_ticket, one per call"
    wall = cpu = sql_ms = 0.0
    queries = 0.0
    try:
        _open_batches(args, pool, categories, seed=args.seed + 1, tickets=args.warmup)
        shapes: dict[str, list] = {}
        sampled = max(args.batch, 50)
        with CaptureQueriesContext(connection) as captured:
            _open_batches(args, pool, categories, seed=args.seed + 2, tickets=sampled)
        for query in captured.captured_queries:
            shape = shapes.setdefault(re.sub(r"\d+", "N", query["sql"])[:160], [0, 0.0])
            shape[0] += 1
            shape[1] += float(query["time"]) * 1000
        queries = round(len(captured.captured_queries) / sampled, 2)
        sql_ms = sum(t for _n, t in shapes.values()) / sampled
        print(f"{mode}: SQL per ticket {queries} queries, {sql_ms:.2f} ms; the costliest statements (ms per ticket):")
        for shape, (n, t) in sorted(shapes.items(), key=lambda item: -item[1][1])[:8]:
            print(f"  {t / sampled:6.2f} ms  x{n / sampled:<5.2f} {shape}")
        load = os.getloadavg()[0]
        if args.processes > 1:
            import multiprocessing

            context = multiprocessing.get_context("fork")
            connections.close_all()
            barrier, results = context.Barrier(args.processes + 1), context.Queue()
            share = len(pool) // args.processes
            workers = [context.Process(target=_open_worker, args=(args, pool[n * share:(n + 1) * share], categories,
                                                                  args.seed + 10 * (n + 3), args.tickets, barrier,
                                                                  results))
                       for n in range(args.processes)]
            for worker in workers:
                worker.start()
            barrier.wait()
            started = time.perf_counter()
            finished = [results.get() for _ in workers]
            wall = time.perf_counter() - started
            for worker in workers:
                worker.join()
            opened = sum(f[0] for f in finished)
            cpu = sum(f[2] for f in finished)
        else:
            wall, cpu = _open_batches(args, pool, categories, seed=args.seed, tickets=args.tickets)
            opened = args.tickets
        rate = opened / wall
        verdict = "ok" if rate >= GOAL_TICKETS_PER_S else "MISSED"
        print(f"{mode}, {args.processes} process(es): {opened} tickets in {wall:.2f} s = {rate:,.0f} tickets/s "
              f"(client CPU {cpu / opened * 1000:.2f} ms/ticket; {queries} queries per ticket); load "
              f"{load:.1f} before, {os.getloadavg()[0]:.1f} after; goal {GOAL_TICKETS_PER_S}/s {verdict}", flush=True)
        profile_text = ""
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            _open_batches(args, pool, categories, seed=args.seed + 3, tickets=args.profile)
            profiler.disable()
            buffer = io.StringIO()
            stats = pstats.Stats(profiler, stream=buffer)
            stats.sort_stats("cumulative").print_stats(r"src/loopcrm", 14)
            stats.sort_stats("tottime").print_stats(10)
            profile_text = buffer.getvalue()
            print(profile_text)
        sample = Ticket.objects.filter(id__gt=last_ticket).order_by("-id").select_related("queue").first()
        assigned = Ticket.objects.filter(id__gt=last_ticket, assignee__isnull=False).count()
        opened_all = Ticket.objects.filter(id__gt=last_ticket).count()
        print(f"(of {opened_all} opened: {assigned} assigned by routing; last in queue {sample.queue})", flush=True)
    finally:
        removed = Ticket.objects.filter(id__gt=last_ticket).delete()[0]
        Interaction.objects.filter(id__gt=last_interaction).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s "
                           "AND enqueued_at > now() - interval '1 hour'", ["loopcrm.service.tasks.%"])
            cursor.execute("VACUUM ANALYZE service_ticket")
        print(f"removed the {removed} rows the run added", flush=True)
    return {"kind": "open", "mode": mode, "processes": args.processes, "batch": args.batch, "tickets": opened,
            "seconds": round(wall, 2), "tickets_per_s": round(rate, 1),
            "client_cpu_ms_per_ticket": round(cpu / opened * 1000, 2), "queries_per_ticket": queries,
            "sql_ms_per_ticket": round(sql_ms, 2), "load": os.getloadavg(), "profile": profile_text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["http", "queries", "open"])
    parser.add_argument("--database-url", default=os.environ.get("SERVICE_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8, help="per target and concurrency")
    parser.add_argument("--warmup", type=int, default=2, help="http: seconds; open: tickets")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--only", help="http: comma-separated target names")
    parser.add_argument("--nice", type=int, default=0,
                        help="renice the server's workers, their PostgreSQL backends and wrk (e.g. -5)")
    parser.add_argument("--samples", type=int, default=5, help="queries: paths per target")
    parser.add_argument("--show", type=int, default=2, help="queries: slowest statements shown per target")
    parser.add_argument("--tickets", type=int, default=1000, help="open: tickets timed")
    parser.add_argument("--profile", type=int, default=300, help="open: tickets under cProfile (0: none)")
    parser.add_argument("--batch", type=int, default=0,
                        help="open: tickets per open_tickets call, one transaction each (0: open_ticket one by one)")
    parser.add_argument("--processes", type=int, default=1, help="open: processes opening at once")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    if args.what == "open" and args.warmup == 2:
        args.warmup = 50
    result = {"http": run_http, "queries": run_queries, "open": run_open}[args.what](args)
    result["load_average"] = os.getloadavg()
    result["cores"] = os.cpu_count()
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores", flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
