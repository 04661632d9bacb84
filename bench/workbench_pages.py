"""Latency of the agent workbench's pages through HTTP: the inbox (views mine, all, breaching soon), the
ticket page and the team lead view, served by gunicorn (sync workers, DEBUG off, persistent
connections) from a service-desk database made by bench/service_generate.py.

    .venv/bin/python bench/workbench_pages.py --database-url postgres://postgres@127.0.0.1:5432/loopcrm_service_bench

Signs in as the service agent with the most open tickets (and a team lead of the same department) by
writing a Django session for each (removed at the end), then drives each page with a Python load
generator (threads, http.client, keep-alive) for a fixed time at each concurrency, and reports
p50/p95/p99 and requests/s. Ticket pages rotate over tickets the agent may see (their department's).
Results go to bench/results/workbench-<date>.json. Goal (issue 3): inbox and ticket page p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_MS = 30


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class Server:
    def __init__(self, env: dict, port: int, workers: int) -> None:
        self.env, self.port, self.workers, self.process = env, port, workers, None

    def __enter__(self) -> Server:
        argv = [sys.executable, "-m", "gunicorn", "loopcrm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60",
                "--error-logfile", "-", "--log-level", "warning"]
        self.process = subprocess.Popen(argv, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/version", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("The server did not start within 30 s.")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def drive(port: int, cookie: str, paths: list[str], concurrency: int, seconds: float) -> dict:
    """Each thread requests the paths in turn on one keep-alive connection until time is up."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        mine, index = [], offset
        while time.monotonic() < stop:
            path = paths[index % len(paths)]
            index += concurrency
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                with lock:
                    errors[0] += 1
            mine.append(elapsed)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - begun
    return {"requests": len(latencies), "errors": errors[0], "rps": round(len(latencies) / took, 1),
            "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
            "p95_ms": round(percentile(latencies, 95), 2), "p99_ms": round(percentile(latencies, 99), 2)}


def sessions(env: dict, usernames: list[str]) -> tuple[dict[str, str], list[str]]:
    """A signed-in session cookie per user, written by Django itself (removed again at the end)."""
    code = (
        "import django, json, sys; django.setup()\n"
        "from django.conf import settings\n"
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "from loopcrm.accounts.models import User\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    user = User.objects.get(username=name)\n"
        "    s = SessionStore(); s[SESSION_KEY] = str(user.pk)\n"
        "    s[BACKEND_SESSION_KEY] = [b for b in settings.AUTHENTICATION_BACKENDS if 'Axes' not in b][-1]\n"
        "    s[HASH_SESSION_KEY] = user.get_session_auth_hash(); s.create()\n"
        "    out[name] = settings.SESSION_COOKIE_NAME + '=' + s.session_key\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *usernames], env=env, capture_output=True, text=True,
                          check=True)
    cookies = json.loads(done.stdout.strip().splitlines()[-1])
    return cookies, [cookie.split("=", 1)[1] for cookie in cookies.values()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8131)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import psycopg

    env = {**os.environ, "DATABASE_URL": args.database_url, "DEBUG": "0", "CONN_MAX_AGE": "600",
           "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-not-secret"), "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "LOOPCRM_LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "loopcrm.settings",
           "LOOPCRM_PLAIN_STATIC": "1"}  # pages name static files; no collectstatic manifest needed
    active = "('new','open','pending','on_hold','reopened')"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        agent, department = conn.execute(
            f"SELECT u.username, u.department_id FROM accounts_user u JOIN service_ticket t ON t.assignee_id = u.id "
            f"AND t.status IN {active} WHERE u.role = 'agent' GROUP BY u.id ORDER BY count(*) DESC LIMIT 1").fetchone()
        lead = conn.execute("SELECT username FROM accounts_user WHERE role IN ('team_lead', 'manager') "
                            "AND department_id = %s ORDER BY id LIMIT 1", (department,)).fetchone()
        path = conn.execute("SELECT path FROM accounts_department WHERE id = %s", (department,)).fetchone()[0]
        ticket_ids = [row[0] for row in conn.execute(
            "SELECT t.id FROM service_ticket t JOIN accounts_department d ON d.id = t.department_id "
            "WHERE d.path LIKE %s ORDER BY random() LIMIT 500", (path + "%",)).fetchall()]
        tickets = conn.execute("SELECT count(*) FROM service_ticket").fetchone()[0]
        events = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'service_ticketevent'"
                              ).fetchone()[0]
    users = [agent] + ([lead[0]] if lead else [])
    cookies, keys = sessions(env, users)
    rng = random.Random(args.seed)
    rng.shuffle(ticket_ids)
    scenarios = {
        "inbox_mine": (agent, ["/service/tickets/?view=mine"]),
        "inbox_all": (agent, ["/service/tickets/?view=all"]),
        "inbox_breaching": (agent, ["/service/tickets/?view=breaching"]),
        "inbox_filtered": (agent, ["/service/tickets/?view=all&status=open&kind=complaint&sort=-priority"]),
        "ticket_page": (agent, [f"/service/tickets/{pk}/" for pk in ticket_ids]),
    }
    if lead:
        scenarios["team_view"] = (lead[0], ["/service/team/"])
    results = {}
    try:
        with Server(env, args.port, args.workers):
            for name, (user, paths) in scenarios.items():
                drive(args.port, cookies[user], paths, 1, 2)  # warm the workers and caches
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    row = drive(args.port, cookies[user], paths, concurrency, args.seconds)
                    results[f"{name} c={concurrency}"] = row
                    print(f"{name:16} c={concurrency}  p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms  "
                          f"p99 {row['p99_ms']:7.2f} ms  {row['rps']:7.1f} req/s  errors {row['errors']}", flush=True)
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM django_session WHERE session_key = ANY(%s)", (keys,))
    out = HERE / "results" / f"workbench-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"database": args.database_url.rsplit("/", 1)[-1], "tickets": tickets,
                               "events_estimate": events, "agent": agent, "lead": lead[0] if lead else None,
                               "goal_p95_ms": GOAL_MS, "results": results}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
