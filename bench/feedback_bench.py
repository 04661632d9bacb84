"""Voice-of-the-customer benchmark on PostgreSQL: 1,000,000 survey answers.

    nice -n 10 .venv/bin/python bench/feedback_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/lc_feedback_bench \
        --answers 1000000 --reset --json bench/results/feedback.json
    # again on the built database, A/B of the answers read live vs the roll-up, no answering:
    .venv/bin/python bench/feedback_bench.py --database-url postgres://postgres@127.0.0.1:5432/lc_feedback_bench \
        --modes live,rollup --skip-answering --json bench/results/feedback_ab.json

1. generate (COPY): 100,000 customers, 60 agents in 6 departments, an NPS, a CSAT and a CES survey,
   1,000,000 sent invitations with their complete responses over two years (the dashboards read
   responses), 100,000 analysed comments with their topic mentions;
   then the dashboards' daily roll-up is built from them (`feedback_rollup rebuild`, timed);
2. dashboard queries through HTTP (gunicorn, 2 sync workers, an administrator's API token), one client
   in sequence: p50/p95/p99 of the metrics summary, breakdowns, trend, needs, words and verbatims, and
   the server's CPU per request (gunicorn worker + PostgreSQL backend, from /proc). With
   `--modes live,rollup` each scenario alternates request by request between reading the answers
   themselves (the roll-up switched off) and reading the roll-up: an A/B under the same load;
3. text analysis throughput on one core (comments/s, Chinese and English);
4. answering throughput of the public endpoint (fresh invitations, one and four clients).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

SAMPLES_ZH = ["送货太慢了，等了一个星期", "客服态度很好，问题当天就解决了", "安装师傅迟到了两个小时还多收费",
              "冰箱噪音很大，晚上睡不着", "退款到现在还没到账", "价格实惠，性价比很高", "维修师傅很专业"]
SAMPLES_EN = ["Delivery was late and the box was damaged", "The agent was patient and helpful",
              "Still waiting for my refund", "Great value for money", "The installer was rude"]


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


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda share: round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)  # noqa: E731
    return {"n": len(ordered), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


def _copy(table: str, columns: list[str], rows) -> int:
    from django.db import connection

    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def generate(answers: int, seed: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from loopcrm.accounts import services as accounts
    from loopcrm.accounts.models import Role, User
    from loopcrm.customers.models import Customer
    from loopcrm.feedback import services
    from loopcrm.feedback import text as text_analysis

    rng = random.Random(seed)
    started = time.monotonic()
    timings = {}
    now = timezone.now()
    with transaction.atomic():
        head = accounts.create_department(name="总部", code="head")
        departments = [accounts.create_department(name=f"服务{n}部", code=f"svc-{n}", parent=head) for n in range(6)]
        secret = "Bench-Password-42!"  # noqa: S105 - a throwaway benchmark database
        admin = accounts.create_user(username="bench-admin", password=secret, role=Role.ADMINISTRATOR,
                                     department=head, is_superuser=True, check_password=False)
        password = make_password(secret)
        User.objects.bulk_create([User(username=f"agent{n}", password=password, role=Role.AGENT,
                                       department=departments[n % 6], display_name=f"客服{n}") for n in range(60)])
        agents = list(User.objects.filter(role=Role.AGENT).values_list("pk", "department_id"))
        surveys = {kind: services.create_survey(
            name=f"{kind.upper()} bench", kind=kind, by=admin, publish=True,
            texts=services.VersionTexts(title_en=kind, title_zh=kind)) for kind in ("nps", "csat", "ces")}
    t = time.monotonic()
    _copy("customers_customer", ["kind", "name", "phone", "phone_raw", "email", "external_id", "country", "province",
                                 "city", "district", "street", "postal_code", "industry", "source_channel", "is_vip",
                                 "notes", "version", "created_at", "updated_at"],
          (("organisation" if n % 25 == 0 else "person", f"客户{n}", "", "", f"c{n}@example.com", "", "CN", "", "", "",
            "", "", "", "", False, "", 1, now, now) for n in range(100_000)))
    customers = list(Customer.objects.values_list("pk", "kind"))
    timings["customers_s"] = round(time.monotonic() - t, 1)
    versions = {kind: survey.current_version.pk for kind, survey in surveys.items()}
    ids = {kind: survey.pk for kind, survey in surveys.items()}
    kinds = ["nps", "csat", "ces"]
    span = 730 * 86400

    def moment(n: int) -> dt.datetime:
        return now - dt.timedelta(seconds=span * (1 - n / answers) + rng.random() * 3600)

    t = time.monotonic()
    plan = []
    for n in range(answers):
        kind = kinds[n % 3]
        customer, customer_kind = customers[rng.randrange(len(customers))]
        agent, department = agents[rng.randrange(len(agents))]
        at = moment(n)
        plan.append((kind, customer, customer_kind, agent, department, at))
    _copy("feedback_invitation", ["survey_id", "version_id", "customer_id", "channel", "language", "status",
                                  "suppressed_reason", "token_nonce", "trigger", "agent_id", "department_id",
                                  "touchpoint", "send_after", "sent_at", "expires_at", "answered_at", "created_at"],
          ((ids[kind], versions[kind], customer, "email", "zh-hans", "answered", "", "", "ticket_resolved", agent,
            department, "hotline", at - dt.timedelta(hours=30), at - dt.timedelta(hours=6), at + dt.timedelta(days=14),
            at, at - dt.timedelta(hours=30)) for kind, customer, _ck, agent, department, at in plan))
    timings["invitations_s"] = round(time.monotonic() - t, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM feedback_invitation")
        first_invitation = cursor.fetchone()[0]
    weights = {"nps": (range(11), (4, 2, 3, 3, 4, 6, 8, 14, 16, 18, 22)), "csat": (range(1, 6), (6, 7, 14, 35, 38)),
               "ces": (range(1, 8), (30, 25, 15, 11, 9, 6, 4))}
    t = time.monotonic()

    def response_rows():
        for index, (kind, customer, customer_kind, agent, department, at) in enumerate(plan):
            values, w = weights[kind]
            score = rng.choices(values, weights=w)[0]
            yield (first_invitation + index, ids[kind], versions[kind], customer, True, at, at, "zh-hans",
                   score if kind == "csat" else None, score if kind == "nps" else None,
                   score if kind == "ces" else None, "", agent, department, "phone", "hotline",
                   rng.choice(["high", "medium", "low", "low"]), customer if customer_kind == "organisation" else None)

    _copy("feedback_response", ["invitation_id", "survey_id", "version_id", "customer_id", "is_complete",
                                "started_at", "answered_at", "language", "csat", "nps", "ces", "comment", "agent_id",
                                "department_id", "channel", "touchpoint", "tier", "organisation_id"], response_rows())
    timings["responses_s"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    samples = [(text, text_analysis.analyse(text)) for text in SAMPLES_ZH + SAMPLES_EN]
    comments = min(100_000, answers // 10)
    picks = [(samples[rng.randrange(len(samples))], plan[rng.randrange(len(plan))]) for _ in range(comments)]
    _copy("feedback_textanalysis", ["source", "customer_id", "agent_id", "department_id", "at", "text", "channel",
                                    "touchpoint", "language", "tokens", "keywords", "topics", "sentiment", "score",
                                    "category", "tier"],
          (("survey", p[1], p[3], p[4], p[5], text, "phone", "hotline", result.language, json.dumps(result.tokens),
            json.dumps(result.keywords), json.dumps(result.topics), result.sentiment, result.score, result.category,
            "low") for (text, result), p in picks))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, customer_id, at, topics, sentiment FROM feedback_textanalysis")
        rows = cursor.fetchall()
    _copy("feedback_topicmention", ["analysis_id", "topic", "customer_id", "at", "negative"],
          ((pk, topic, customer, at, sentiment == "negative") for pk, customer, at, topics, sentiment in rows
           for topic in (json.loads(topics) if isinstance(topics, str) else topics)))
    timings["comments_s"] = round(time.monotonic() - t, 1)
    _token, raw = accounts.create_token(user=admin, name="bench")
    timings["total_s"] = round(time.monotonic() - started, 1)
    return {"timings": timings, "token": raw, "answers": answers, "comments": comments}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(database_url: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "feedback_settings",
           "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'bench'}", "DEBUG": "0", "CONN_MAX_AGE": "600",
           "LOOPCRM_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "loopcrm.wsgi", "-w", str(workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning"], env=env,
                              start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def _server_pids(server: subprocess.Popen, database_url: str) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends they hold open (persistent connections)."""
    import psycopg

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                workers.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    name = urlparse(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])]
    return workers + backends


def _set_mode(mode: str) -> None:
    """live: the roll-up switched off (the dashboards read the answers, as before it existed); rollup: on."""
    from django.conf import settings
    from django.utils import timezone

    from loopcrm.feedback.models import RollupState

    if mode == "live":
        RollupState.objects.filter(pk=1).delete()
    else:
        RollupState.objects.update_or_create(pk=1, defaults={"zone": settings.TIME_ZONE, "built_at": timezone.now()})


def _get(port: int, path: str, token: str) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    began = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - began
    conn.close()
    return response.status, elapsed


def dashboards(port: int, token: str, repeat: int, *, modes: list[str], server_pids) -> dict:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenarios = {
        "metrics_365d": "/api/v1/feedback/metrics",
        "metrics_90d": "/api/v1/feedback/metrics?" + urlencode({"since": since}),
        "breakdown_department": "/api/v1/feedback/metrics/breakdown?by=department",
        "breakdown_agent_90d": "/api/v1/feedback/metrics/breakdown?" + urlencode({"by": "agent", "since": since}),
        "breakdown_survey": "/api/v1/feedback/metrics/breakdown?by=survey",
        "trend_month": "/api/v1/feedback/metrics/trend?period=month",
        "trend_week": "/api/v1/feedback/metrics/trend?period=week",
        "needs_90d": "/api/v1/feedback/needs",
        "words_90d": "/api/v1/feedback/words?" + urlencode({"since": since}),
        "verbatims_negative": "/api/v1/feedback?sentiment=negative&limit=25",
    }
    results = {}
    for name, path in scenarios.items():
        latencies: dict[str, list[float]] = {mode: [] for mode in modes}
        cpu: dict[str, float] = dict.fromkeys(modes, 0.0)
        statuses: dict[str, int] = {}
        for mode in modes:
            _set_mode(mode)
            for _ in range(3):  # warm-up: every worker has connected and loaded what it needs
                _get(port, path, token)
        pids = server_pids()
        for _ in range(repeat):
            for mode in modes:
                if len(modes) > 1:
                    _set_mode(mode)
                before = _cpu_seconds(pids)
                status, elapsed = _get(port, path, token)
                cpu[mode] += _cpu_seconds(pids) - before
                latencies[mode].append(elapsed)
                statuses[mode] = status
        for mode in modes:
            key = name if len(modes) == 1 else f"{name}[{mode}]"
            results[key] = {"status": statuses[mode], **_percentiles(latencies[mode]),
                            "server_cpu_ms_per_request": round(1000 * cpu[mode] / repeat, 1),
                            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
            print(f"  {key:32s} {results[key]}", flush=True)
    _set_mode(modes[-1])
    return results


def text_throughput(seconds: float) -> dict:
    from loopcrm.feedback import text as text_analysis

    text_analysis.analyse("预热 warm up")
    out = {}
    for language, samples in (("zh", SAMPLES_ZH), ("en", SAMPLES_EN)):
        n, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            text_analysis.analyse(samples[n % len(samples)])
            n += 1
        out[language] = round(n / (time.perf_counter() - began))
    print(f"  text analysis comments/s on one core: {out}", flush=True)
    return out


def answering(port: int, count: int, clients: int) -> dict:
    from django.utils import timezone

    from loopcrm.customers.models import Customer
    from loopcrm.feedback import services
    from loopcrm.feedback.models import Survey
    from loopcrm.feedback.services.invitations import make_token

    survey = Survey.objects.get(kind="nps")
    question = survey.current_version.questions.first()
    tokens = []
    for customer in Customer.objects.order_by("-id")[:count]:
        invitation = services.invite(survey, customer, trigger="manual", send_after=timezone.now())
        invitation = services.invitations.send_invitation(invitation)
        tokens.append(make_token(invitation))
    body = json.dumps({"answers": {f"q{question.pk}": 9}}).encode()
    latencies, statuses, lock = [], {}, threading.Lock()
    chunks = [tokens[i::clients] for i in range(clients)]

    def run(mine):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for token in mine:
            began = time.perf_counter()
            conn.request("POST", f"/api/v1/public/surveys/{token}", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            with lock:
                latencies.append(time.perf_counter() - began)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    result = {"clients": clients, "answers_per_s": round(len(latencies) / elapsed, 1), "statuses": statuses,
              **_percentiles(latencies)}
    print(f"  answering {result}", flush=True)
    return result


def answering_cost(count: int) -> dict:
    """The roll-up's price on answering, A/B in this process under the same load: `count` answers through
    the service alternately with the roll-up writes and with them switched off (bench only), measuring
    wall time, this process's CPU and the statements per answer (PostgreSQL's own time is in the wall)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from loopcrm.customers.models import Customer
    from loopcrm.feedback import services
    from loopcrm.feedback.models import Survey
    from loopcrm.feedback.services import rollup as rollup_services
    from loopcrm.feedback.services.invitations import make_token

    survey = Survey.objects.get(kind="nps")
    question = survey.current_version.questions.first()
    originals = (rollup_services.count_response, rollup_services.count_invitation)
    measured = {mode: {"wall": [], "cpu": 0.0, "queries": 0} for mode in ("with_rollup", "without")}
    customers = list(Customer.objects.order_by("-id")[1000:1000 + count])
    for index, customer in enumerate(customers):
        mode = "with_rollup" if index % 2 == 0 else "without"
        if mode == "without":
            rollup_services.count_response = rollup_services.count_invitation = lambda *a, **k: None
        try:
            began, cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                invitation = services.invite(survey, customer, trigger="manual", send_after=timezone.now())
                invitation = services.invitations.send_invitation(invitation)
                services.save_answers(make_token(invitation), {f"q{question.pk}": 7}, submit=True)
            measured[mode]["wall"].append(time.perf_counter() - began)
            measured[mode]["cpu"] += time.process_time() - cpu
            measured[mode]["queries"] += len(queries)
        finally:
            rollup_services.count_response, rollup_services.count_invitation = originals
    result = {}
    for mode, values in measured.items():
        n = len(values["wall"])
        result[mode] = {**_percentiles(values["wall"]), "client_cpu_ms": round(1000 * values["cpu"] / n, 2),
                        "queries_per_answer": round(values["queries"] / n, 1)}
    result["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    print(f"  invite + send + answer, in process: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="drop and rebuild the database first")
    parser.add_argument("--repeat", type=int, default=40, help="requests per dashboard scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--modes", default="rollup",
                        help="comma-separated: rollup (the dashboards read the daily roll-up), live (they read the "
                             "answers); two modes alternate request by request")
    parser.add_argument("--skip-answering", action="store_true")
    parser.add_argument("--skip-dashboards", action="store_true")
    parser.add_argument("--skip-text", action="store_true")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "feedback_settings"
    import django

    report: dict = {"machine": os.uname().nodename, "started": dt.datetime.now(dt.UTC).isoformat()}
    fresh = args.reset
    _create_database(args.database_url, args.reset)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from loopcrm.accounts.models import ApiToken

    if fresh:
        call_command("migrate", run_syncdb=True, verbosity=0)
        print(f"generating {args.answers:,} answers…", flush=True)
        generated = generate(args.answers, args.seed)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        token = generated.pop("token")
        report["generate"] = generated
        print(f"  {generated}", flush=True)
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / ".feedback_token").write_text(token)
    else:
        token = (ROOT / "bench" / "results" / ".feedback_token").read_text().strip()
        assert ApiToken.objects.exists()
        call_command("migrate", run_syncdb=True, verbosity=0)  # tables added since the database was built
    from loopcrm.feedback import rollup
    from loopcrm.feedback.models import AgentDay
    from loopcrm.feedback.services import rollup as rollup_services

    if fresh or not rollup.is_built() or not AgentDay.objects.exists():
        print("building the daily roll-up…", flush=True)
        began, cpu = time.monotonic(), time.process_time()
        built = rollup_services.rebuild().as_dict()
        report["rollup_rebuild"] = {**built, "seconds": round(time.monotonic() - began, 1),
                                    "client_cpu_s": round(time.process_time() - cpu, 1)}
        print(f"  {report['rollup_rebuild']}", flush=True)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    assert set(modes) <= {"live", "rollup"}, modes
    report["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    if not args.skip_text:
        print("text analysis…", flush=True)
        report["text"] = text_throughput(5.0)
    server, port = _serve(args.database_url, args.workers)
    try:
        if not args.skip_dashboards:
            print(f"dashboards through HTTP (c=1, modes {modes})…", flush=True)
            report["dashboards"] = dashboards(port, token, args.repeat, modes=modes,
                                             server_pids=lambda: _server_pids(server, args.database_url))
        if not args.skip_answering:
            print("public answering…", flush=True)
            report["answering"] = [answering(port, 300, 1), answering(port, 600, 4)]
            print("the roll-up's cost per answer (A/B in process)…", flush=True)
            report["answering_cost"] = answering_cost(400)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    report["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
