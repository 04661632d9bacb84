"""Import a million customers through the CLI entry point, on PostgreSQL and SQLite, then export them.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--only pg|sqlite] [--again]

For each database: a fresh database (PostgreSQL: `loopcrm_import_bench`, dropped and created with a
UTF-8 ctype; SQLite: a file in /tmp) is migrated (`migrate`; the imports app has no migration files
yet this session, so its tables are created from the models with the schema editor — the same thing
`migrate --run-syncdb` does, without its ordering problem on PostgreSQL), an administrator is created,
and `loopcrm.imports.cli.import_command` runs in a child process on the generated file (1 % bad rows,
2 % repeated phones; bench/import_data.py). Reported: wall time, rows/s, peak RSS of the process tree
(RSS and PSS, sampled from /proc every 0.1 s), the counts; on PostgreSQL also the raw `COPY` of the same file
into a table of 10 text columns (the physical floor) and the ratio; `--again` re-imports the file
into the now full table (every row matches: the duplicate path). Then `export_command` writes all
customers as CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
PG_ADMIN = os.environ.get("LOOPCRM_BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "loopcrm_import_bench"
DATA_DIR = Path("/tmp/loopcrm_import_bench")  # noqa: S108 — a bench on this machine

SETUP = """
import django, sys
django.setup()
from django.core.management import call_command
from django.db import connection
from django.apps import apps
call_command("migrate", interactive=False, verbosity=0)
existing = set(connection.introspection.table_names())
with connection.schema_editor() as editor:
    for model in apps.get_app_config("imports").get_models():
        if model._meta.db_table not in existing:
            editor.create_model(model)
from loopcrm.accounts.models import User, Role
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser(username="admin", password="bench-password-1", role=Role.ADMINISTRATOR)
"""


def _tree_rss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, in bytes (from /proc).

    RSS counts the pages forked workers share with their parent once per process; PSS divides
    shared pages among their sharers, so the sum is the memory the tree really holds.
    """
    rss = pss = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


_TICK = os.sysconf("SC_CLK_TCK")


def _server_cpu(database: str, seen: dict[int, float]) -> None:
    """CPU seconds so far of each PostgreSQL backend serving `database` (from /proc), into `seen`.

    Backends are sampled, so one that ends between two samples loses its last 0.1 s; parallel
    workers (which do not name the database) are not counted.
    """
    marker = f" {database} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read()
            if not title.startswith(b"postgres:") or marker not in title:
                continue
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            seen[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue


def run_measured(code: str, env: dict[str, str]) -> dict:
    """Run `code` in a child Python; wall time, peak RSS of its process tree, and its output."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = _loadavg()
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peak = peak_pss = 0
    done = threading.Event()
    database = env["DATABASE_URL"].rsplit("/", 1)[1] if env["DATABASE_URL"].startswith("postgres") else ""
    server: dict[int, float] = {}
    if database:
        _server_cpu(database, server)
    server_before = dict(server)

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_rss(process.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            if database:
                _server_cpu(database, server)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode not in (0,):
        print(err[-3000:], file=sys.stderr)
    phases = [line.split(" ", 2)[2] for line in err.splitlines() if line.count(" ") >= 2 and "import #" in line]
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 1024**2, 1),
            "peak_pss_mb": round(peak_pss / 1024**2, 1),
            "client_cpu_s": round(cpu, 2),
            "server_cpu_s": round(sum(v - server_before.get(k, 0) for k, v in server.items()), 2) if database else None,
            "loadavg_before": load, "loadavg_after": _loadavg(), "stdout": out.strip(),
            "phases": phases, "returncode": process.returncode}


def environment(url: str) -> dict[str, str]:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "loopcrm.settings", "DATABASE_URL": url,
            "LOOPCRM_DATA_DIR": str(DATA_DIR), "DEBUG": "0", "CONN_MAX_AGE": "0"}


def fresh_pg() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        conn.execute(f"CREATE DATABASE {PG_DB} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
                     f"LC_CTYPE 'C.UTF-8'")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"


def raw_copy(url: str, path: Path) -> float:
    """The physical floor: COPY the same file into a plain table of text columns."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_copy")
        conn.execute("CREATE TABLE bench_raw_copy (" + ", ".join(f"c{i} text" for i in range(10)) + ")")
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw_copy")
    return round(elapsed, 2)


def bench_database(name: str, url: str, path: Path, rows: int, *, again: bool, rebuild: bool) -> dict:
    env = environment(url)
    setup = run_measured(SETUP, env)
    assert setup["returncode"] == 0, setup
    result: dict = {"database": name, "rebuild_indexes": rebuild}
    options = ["customers", str(path), "--user", "admin", "--on-duplicate", "skip", "-v"]
    if rebuild:
        options.append("--rebuild-indexes")
    code = f"import sys; from loopcrm.imports.cli import import_command; sys.exit(import_command({options!r}))"
    imported = run_measured(code, env)
    result["import"] = {**imported, "rows_per_s": round(rows / imported["wall_s"])}
    if name == "postgresql":
        result["raw_copy_s"] = raw_copy(url, path)
        result["ratio_import_to_copy"] = round(imported["wall_s"] / result["raw_copy_s"], 1)
    if again:  # the same file again, indexes kept: every row matches an existing customer
        code = code.replace(", '--rebuild-indexes'", "")
        result["import_again_all_duplicates"] = run_measured(code, env)
    out = DATA_DIR / f"export_{name}.csv"
    code = ("import sys; from loopcrm.imports.cli import export_command; "
            f"sys.exit(export_command(['customers', '--user', 'admin', '-o', {str(out)!r}]))")
    exported = run_measured(code, env)
    with out.open("rb") as handle:
        lines = sum(1 for _line in handle) - 1
    result["export_csv"] = {**exported, "rows": lines, "mb": round(out.stat().st_size / 1024**2, 1)}
    out.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["pg", "sqlite"])
    parser.add_argument("--again", action="store_true", help="import the file a second time (all duplicates)")
    parser.add_argument("--rebuild-indexes", action="store_true", help="moving in: rebuild customer indexes once")
    args = parser.parse_args()
    from import_data import write

    path = Path(f"/tmp/loopcrm_import_{args.rows}.csv")  # noqa: S108
    if not path.exists():
        started = time.perf_counter()
        write(str(path), args.rows)
        print(f"generated {path} ({path.stat().st_size / 1024**2:.0f} MB) in {time.perf_counter() - started:.1f}s",
              file=sys.stderr)
    results = []
    if args.only in (None, "pg"):
        results.append(bench_database("postgresql", fresh_pg(), path, args.rows, again=args.again,
                                      rebuild=args.rebuild_indexes))
        print(json.dumps(results[-1], ensure_ascii=False, indent=1), flush=True)
    if args.only in (None, "sqlite"):
        db = DATA_DIR / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        results.append(bench_database("sqlite", f"sqlite:///{db}", path, args.rows, again=args.again,
                                      rebuild=args.rebuild_indexes))
        print(json.dumps(results[-1], ensure_ascii=False, indent=1), flush=True)


if __name__ == "__main__":
    main()
