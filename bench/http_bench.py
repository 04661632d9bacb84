"""Latency and throughput of the real server on the bench database, over HTTP on loopback.

    .venv/bin/python bench/http_bench.py --database-url postgres://postgres@127.0.0.1:5432/loopcrm_bench

Starts gunicorn (sync workers, 2 by default, DEBUG off, persistent database connections), creates an
API token with `loopcrm token create` for an administrator (and one for a service agent, whose list
is scoped to a department), then drives each scenario with wrk (a Lua script rotates ids, terms and
new customers) at concurrency 1 and 8 for a fixed time, and reports p50/p95/p99 latency and
requests/s. Search terms are drawn from the data itself (fragments of real names and phones), so
common names are searched as often as they occur. Results go to bench/results/http-<date>.json.

Without wrk (apt-get install -y wrk) a bounded Python load generator (threads, http.client) is used;
it is slower, so its numbers include more client time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
GOALS_MS = {"360": 10, "list": 20, "list_agent": 20, "search_cjk2": 20, "search_cjk3": 20,
            "search_surname": 20, "search_phone4": 20, "search_phone7": 20, "search_email": 20, "create": 15}

LUA = r"""
local paths = {PATHS}
local method = "{METHOD}"
local token = "{TOKEN}"
local base_phone = {BASE_PHONE}
local counter = 0
local lat = {}

function setup(thread)
  thread:set("tid", {TID_COUNTER})
  {TID_COUNTER} = {TID_COUNTER} + 1
end

function init(args)
  math.randomseed({SEED} + (tid or 0))
end

function request()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    local phone = base_phone + counter * 2 + (tid or 0)
    local body = string.format('{"name":"压测客户%d","phone":"+86%d","province":"上海市","city":"上海市"}',
                               counter, phone)
    return wrk.format("POST", paths[1], headers, body)
  end
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


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (ms)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total * TICK_MS


def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends serving the benchmark (the server's persistent connections)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class Server:
    def __init__(self, env: dict, port: int, workers: int) -> None:
        self.env, self.port, self.workers = env, port, workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        argv = [sys.executable, "-m", "gunicorn", "loopcrm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60",
                "--graceful-timeout", "5", "--error-logfile", "-", "--log-level", "warning"]
        self.process = subprocess.Popen(argv, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/version", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit("The server did not start within 30 s.")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM (peak resident memory) of the master and each worker."""
        peaks = {}
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks["master" if pid == self.process.pid else f"worker {pid}"] = int(line.split()[1]) / 1024
            except OSError:
                pass
        return peaks

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "loopcrm.cli", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"loopcrm {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def sample_terms(url: str, seed: int, count: int = 300) -> dict[str, list[str]]:
    """Search terms cut from random customers: name fragments and phone fragments as people type them."""
    rng = random.Random(seed)
    with psycopg.connect(url) as conn:
        high = conn.execute("SELECT max(id) FROM customers_customer").fetchone()[0]
        ids = [rng.randint(1, high) for _ in range(count * 3)]
        rows = conn.execute("SELECT name, phone, email FROM customers_customer WHERE id = ANY(%s) AND kind = 'person'",
                            (ids,)).fetchall()
    cjk = [name for name, _p, _e in rows if all("\u4e00" <= ch <= "\u9fff" for ch in name)]
    terms: dict[str, list[str]] = {"cjk2": [], "cjk3": [], "surname": [], "phone4": [], "phone7": [], "email": []}
    for name in cjk:
        start = rng.randrange(len(name) - 1)
        terms["cjk2"].append(name[start:start + 2])
        if len(name) >= 3:
            terms["cjk3"].append(name[:3] if len(name) == 3 else name[rng.randrange(len(name) - 2):][:3])
        terms["surname"].append(name[0])
    for _name, phone, email in rows:
        if phone.startswith("+86"):
            terms["phone4"].append(phone[-4:])
            start = rng.randrange(3, len(phone) - 7)
            terms["phone7"].append(phone[start:start + 7])
        if "@" in email:
            local = email.split("@")[0]
            terms["email"].append(local[: max(4, len(local) // 2)] + "@" if rng.random() < 0.5 else local[:6])
    return {key: values[:count] for key, values in terms.items()}


def run_wrk(script: Path, port: int, concurrency: int, seconds: int, nice: int = 0) -> dict:
    threads = min(concurrency, 2)
    argv = [*(["nice", "-n", str(nice)] if nice else []), "wrk", "-t", str(threads), "-c", str(concurrency),
            "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            raw = json.loads(line[len("RESULT "):])
            return {
                "requests": raw["requests"],
                "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
                "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000, "mean_ms": round(raw["mean_us"] / 1000, 3),
                "errors": raw["status_errors"] + raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
                + raw["timeouts"],
            }
    raise SystemExit(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


def run_python(paths: list[str], method: str, token: str, port: int, concurrency: int, seconds: int,
               base_phone: int, max_requests: int = 50_000) -> dict:
    """A bounded load generator: `concurrency` threads, keep-alive where the server allows it."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(max_requests))

    def worker(tid: int) -> None:
        nonlocal errors
        rng = random.Random(tid)
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        mine: list[float] = []
        while time.monotonic() < deadline:
            n = next(counter, None)
            if n is None:
                break
            body = None
            if method == "POST":
                body = json.dumps({"name": f"压测客户{n}", "phone": f"+86{base_phone + n}"}).encode()
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                conn.request(method, paths[0] if method == "POST" else rng.choice(paths), body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except OSError:
                ok = False
                conn.close()
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors += 1
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": round(q[49] * 1000, 3),
            "p95_ms": round(q[94] * 1000, 3), "p99_ms": round(q[98] * 1000, 3),
            "max_ms": round(latencies[-1] * 1000, 3), "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
            "errors": errors}


def remove_created(url: str, last_customer_id: int, first_new_audit: int) -> int:
    """Delete the customers the create scenario added (and their audit rows): repeated runs would
    otherwise pile owner-less customers on top of the id range, which every list page walks first."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM core_auditentry WHERE id >= %s AND object_type = 'customers.customer'",
                     (first_new_audit,))
        conn.execute("DELETE FROM customers_customer_tags WHERE customer_id > %s", (last_customer_id,))
        removed = conn.execute("DELETE FROM customers_customer WHERE id > %s", (last_customer_id,)).rowcount
        conn.execute("VACUUM ANALYZE customers_customer")
    return removed


def probe(port: int, token: str, path: str, method: str = "GET") -> int:
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    body = None
    headers = {"Authorization": f"Bearer {token}"}
    if method == "POST":
        body = json.dumps({"name": "探测客户"}).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loopcrm_bench"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15, help="per scenario and concurrency")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--python", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--commit", help="serve the code of this git commit (e.g. HEAD) instead of the work tree")
    parser.add_argument("--nice", type=int, default=0,
                        help="on a shared machine: renice the server's workers, their PostgreSQL backends and "
                             "wrk to this value (e.g. -10) so that other work on the machine counts less")
    args = parser.parse_args(argv)

    env = {**os.environ, "DATABASE_URL": args.database_url, "DEBUG": "0", "CONN_MAX_AGE": "600",
           "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-not-secret"), "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "LOOPCRM_LOG_LEVEL": "WARNING", "LOOPCRM_DATA_DIR": str(HERE / "results" / "data")}
    source = "work tree"
    if args.commit:
        # A clean copy of the committed code, so half-written files in the work tree don't count.
        tree = Path(tempfile.mkdtemp(prefix="loopcrm-bench-"))
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", args.commit, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        env["PYTHONPATH"] = str(tree / "src")
        source = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", args.commit], check=True,
                                capture_output=True, text=True).stdout.strip()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        customers = conn.execute("SELECT count(*), max(id) FROM customers_customer").fetchone()
        first_new_audit = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM core_auditentry").fetchone()[0]
        if not customers[0]:
            raise SystemExit("The bench database is empty: run bench/generate.py first.")
        has_bench = conn.execute("SELECT 1 FROM accounts_user WHERE username = 'bench'").fetchone()
        agent = conn.execute("SELECT username FROM accounts_user WHERE role = 'agent' ORDER BY id LIMIT 1").fetchone()
        versions = conn.execute("SELECT version(), current_setting('shared_buffers')").fetchone()
    if not has_bench:
        env_pw = {**env, "LOOPCRM_NEW_USER_PASSWORD": "bench-" + str(random.random())}
        cli(env_pw, "createuser", "--username", "bench", "--role", "administrator", "--superuser")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    admin_token = cli(env, "token", "create", "--username", "bench", "--name", f"bench {stamp}").splitlines()[-1]
    agent_token = cli(env, "token", "create", "--username", agent[0], "--name", f"bench {stamp}").splitlines()[-1]

    rng = random.Random(args.seed)
    terms = sample_terms(args.database_url, args.seed)
    ids = [rng.randint(1, customers[1]) for _ in range(500)]

    def q(term: str) -> str:
        return "/api/v1/customers?" + urllib.parse.urlencode({"q": term})

    wrk = shutil.which("wrk") and not args.python
    load_before = os.getloadavg()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    results: list[dict] = []
    with Server(env, args.port, args.workers) as server:
        detail_path = "/api/v1/customers/{id}/360"
        notes = []
        if probe(args.port, admin_token, detail_path.format(id=ids[0])) == 404 and \
                probe(args.port, admin_token, f"/api/v1/customers/{ids[0]}") == 200:
            notes.append("GET /customers/{id}/360 is not there yet: measured GET /customers/{id} instead.")
            detail_path = "/api/v1/customers/{id}"
        scenarios = {
            # The floor: no authentication, no query (middleware, routing, JSON).
            "version": ("GET", admin_token, ["/api/v1/version"]),
            "detail": ("GET", admin_token, [f"/api/v1/customers/{i}" for i in ids]),
            "360" if detail_path.endswith("360") else "detail": ("GET", admin_token,
                                                                 [detail_path.format(id=i) for i in ids]),
            "list": ("GET", admin_token, ["/api/v1/customers"]),
            "list_agent": ("GET", agent_token, ["/api/v1/customers"]),
            "search_cjk2": ("GET", admin_token, [q(t) for t in terms["cjk2"]]),
            "search_cjk3": ("GET", admin_token, [q(t) for t in terms["cjk3"]]),
            "search_surname": ("GET", admin_token, [q(t) for t in terms["surname"]]),
            "search_phone4": ("GET", admin_token, [q(t) for t in terms["phone4"]]),
            "search_phone7": ("GET", admin_token, [q(t) for t in terms["phone7"]]),
            "search_email": ("GET", admin_token, [q(t) for t in terms["email"]]),
            "create": ("POST", admin_token, ["/api/v1/customers"]),
        }
        if args.only:
            wanted = set(args.only.split(","))
            scenarios = {k: v for k, v in scenarios.items() if k in wanted}
        # New customers need phones nobody has (a duplicate answers 409): +86 199…, in blocks of 200,000
        # numbers per run of wrk, starting at a random block so that repeated benchmarks don't collide.
        first = random.SystemRandom().randrange(0, 400)
        phone_blocks = iter(19_900_000_000 + ((first + n) % 490) * 200_000 for n in range(10_000))
        for name, (method, token, paths) in scenarios.items():
            status = probe(args.port, token, paths[0], method)
            if status >= 400:
                notes.append(f"{name}: {method} {paths[0]} answered {status}; skipped.")
                print(notes[-1], flush=True)
                continue
            for concurrency in concurrencies:
                if wrk:
                    scripts = []
                    for _ in range(2):  # warm-up, then the measured run: each creates customers of its own
                        block = next(phone_blocks)
                        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                            script.write("thread_counter = 0\n" + LUA.replace(
                                "{PATHS}", "{" + ",".join(lua_string(p) for p in paths) + "}")
                                .replace("{METHOD}", method).replace("{TOKEN}", token)
                                .replace("{BASE_PHONE}", str(block)).replace("{SEED}", str(args.seed))
                                .replace("{TID_COUNTER}", "thread_counter"))
                        scripts.append(Path(script.name))
                    run_wrk(scripts[0], args.port, concurrency, 2, args.nice)
                    app, db = server.worker_pids(), backend_pids(args.database_url)
                    for pid in app + db if args.nice else []:
                        os.setpriority(os.PRIO_PROCESS, pid, args.nice)
                    app_before, db_before = cpu_ms(app), cpu_ms(db)
                    cell = run_wrk(scripts[1], args.port, concurrency, args.seconds, args.nice)
                    app_cpu, db_cpu = cpu_ms(app) - app_before, cpu_ms(db) - db_before
                    for script_path in scripts:
                        script_path.unlink()
                else:
                    run_python(paths, method, token, args.port, concurrency, 2, next(phone_blocks))
                    app, db = server.worker_pids(), backend_pids(args.database_url)
                    app_before, db_before = cpu_ms(app), cpu_ms(db)
                    cell = run_python(paths, method, token, args.port, concurrency, args.seconds, next(phone_blocks))
                    app_cpu, db_cpu = cpu_ms(app) - app_before, cpu_ms(db) - db_before
                # CPU spent by the server's workers and their database backends per request: what a
                # request costs when it has the machine to itself (latency under load adds waiting).
                cell.update(scenario=name, concurrency=concurrency, goal_p95_ms=GOALS_MS.get(name),
                            app_cpu_ms=round(app_cpu / max(cell["requests"], 1), 2),
                            db_cpu_ms=round(db_cpu / max(cell["requests"], 1), 2))
                results.append(cell)
                print(f"{name:<16} c={concurrency:<2} p50 {cell['p50_ms']:7.2f} ms  p95 {cell['p95_ms']:7.2f} ms  "
                      f"p99 {cell['p99_ms']:7.2f} ms  {cell['rps']:8.1f} req/s  errors {cell['errors']}  "
                      f"cpu/req app {cell['app_cpu_ms']:.2f} + db {cell['db_cpu_ms']:.2f} ms", flush=True)
        peaks = server.peak_rss_mb()
    removed = remove_created(args.database_url, customers[1], first_new_audit)

    print()
    print("| scenario | c | p50 ms | p95 ms | p99 ms | req/s | errors | CPU ms/req app + db | goal p95 (c=1) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for cell in results:
        goal = cell["goal_p95_ms"]
        verdict = "" if cell["concurrency"] != 1 or goal is None else (
            f"≤ {goal} {'met' if cell['p95_ms'] <= goal else 'MISSED'}")
        print(f"| {cell['scenario']} | {cell['concurrency']} | {cell['p50_ms']:.2f} | {cell['p95_ms']:.2f} | "
              f"{cell['p99_ms']:.2f} | {cell['rps']:.0f} | {cell['errors']} | "
              f"{cell['app_cpu_ms']:.2f} + {cell['db_cpu_ms']:.2f} | {verdict} |")
    print(f"\nLoad average (1, 5, 15 min) before {load_before}, after {os.getloadavg()}")
    print(f"Server peak RSS (MB): {', '.join(f'{k} {v:.0f}' for k, v in peaks.items())}")
    print(f"Removed the {removed} customers the create scenario added.")
    for note in notes:
        print("NOTE:", note)
    out = HERE / "results" / f"http-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": dt.datetime.now().isoformat(timespec="seconds"), "code": source, "nice": args.nice,
        "load_generator": "wrk" if wrk else "python",
        "workers": args.workers, "seconds_per_cell": args.seconds, "customers": customers[0],
        "postgres": versions[0], "shared_buffers": versions[1], "cpus": os.cpu_count(),
        "server_peak_rss_mb": peaks, "load_average_before_after": [load_before, os.getloadavg()],
        "notes": notes, "terms_sampled": {k: len(v) for k, v in terms.items()},
        "results": results,
    }, ensure_ascii=False, indent=2))
    print(f"Written {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
