"""Load a PostgreSQL database with a realistic LoopCRM at scale, fast, for the benchmarks.

    .venv/bin/python bench/generate.py --database-url postgres://postgres@127.0.0.1:5432/loopcrm_bench \
        --customers 1000000 --interactions 5000000 --orders 2000000 --seed 1

Creates the database when missing (UTF-8, LC_CTYPE C.UTF-8: pg_trgm needs it to see Chinese
characters), applies the migrations, then streams every table through COPY: departments, users and
teams; products; customers with Chinese names drawn from the real surname frequencies (张伟 is common),
phones in E.164, emails, provinces and cities weighted by population, owners spread over the
departments; tags; orders with their lines; interactions. The secondary indexes of the big tables
are dropped during the load and rebuilt after it (timed), foreign keys are not checked during COPY
(the generator makes them consistent), and VACUUM ANALYZE runs at the end. The same --seed gives the
same rows. `--reset` empties a database that already holds data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vocabulary as V

BIG_TABLES = ["customers_customer", "customers_customer_tags", "interactions_interaction", "commerce_order",
              "commerce_orderline"]
DATA_TABLES = ["interactions_interaction", "commerce_orderline", "commerce_order", "customers_customer_tags",
               "customers_consent", "customers_contactperson", "customers_customer", "customers_tag",
               "commerce_product", "commerce_productcategory", "accounts_apitoken", "accounts_team_members",
               "accounts_team", "core_auditentry", "accounts_user", "accounts_department"]
CHUNK = 50_000
TODAY = dt.date(2026, 11, 20)
HISTORY_DAYS = 5 * 365
NULL = "\\N"


def weighted(pairs):
    values = [p[0] for p in pairs]
    return values, list(accumulate(p[1] for p in pairs))


DAYS = [(TODAY - dt.timedelta(days=d)).isoformat() for d in range(HISTORY_DAYS + 10)]
HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]


def stamp(days_ago: int, second: int) -> str:
    return f"{DAYS[days_ago]} {HMS[second]}+00"


def age_of(customer_id: int, customers: int) -> int:
    """Days since the customer was created: ids grow with time, like a real table."""
    return HISTORY_DAYS - (customer_id * HISTORY_DAYS) // (customers + 1)


def skewed_customer(rng: random.Random, customers: int) -> int:
    """A customer id; a few customers have many rows and most have few, scattered over the ids."""
    rank = int(customers * rng.random() ** 1.6)
    return (rank * 7919) % customers + 1


class Loader:
    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.seed = seed
        self.report: dict[str, dict] = {}

    def connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url)
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET session_replication_role = replica")  # no FK triggers during the bulk load
        return conn

    def copy(self, conn: psycopg.Connection, table: str, columns: list[str], lines: Iterator[str]) -> int:
        started = time.perf_counter()
        rows = 0
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            buffer: list[str] = []
            for line in lines:
                buffer.append(line)
                if len(buffer) >= 5000:
                    copy.write("".join(buffer))
                    rows += len(buffer)
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))
                rows += len(buffer)
        self.note(table, rows, time.perf_counter() - started)
        return rows

    def note(self, table: str, rows: int, seconds: float) -> None:
        self.report[table] = {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}
        print(f"  {table:<28} {rows:>10,} rows  {seconds:7.1f} s  {rows / seconds:>10,.0f} rows/s", flush=True)


# -- the organisation ------------------------------------------------------------------------------

REGIONS = ["华北", "华东", "华南", "华中", "西南", "西北"]


def organisation(rng: random.Random, users_per_department: int):
    """Departments (head office, regions, a service and a sales department in each), users, teams."""
    departments = [(1, "总部 Head office", "head", None, "/1/")]
    leaves = []
    next_id = 2
    regions = []
    for n, region in enumerate(REGIONS):
        regions.append(next_id)
        departments.append((next_id, f"{region}大区", f"region-{n + 1}", 1, f"/1/{next_id}/"))
        next_id += 1
    for n, region_id in enumerate(regions):
        for kind, label in (("service", "服务部"), ("sales", "销售部")):
            departments.append((next_id, f"{REGIONS[n]}{label}", f"{kind}-{n + 1}", region_id,
                                f"/1/{region_id}/{next_id}/"))
            leaves.append((next_id, kind))
            next_id += 1
    users = []  # (id, username, role, department_id, display_name)
    uid = 1
    for dept_id in [1, *regions]:
        users.append((uid, f"manager{uid:03d}", "manager", dept_id, f"经理{uid}"))
        uid += 1
    teams = []  # (id, name, department_id, lead_id, member ids)
    owners = []  # users who own customers: (user id, department id)
    for dept_id, kind in leaves:
        lead = uid
        users.append((uid, f"lead{uid:03d}", "team_lead", dept_id, f"组长{uid}"))
        uid += 1
        members = [lead]
        for _ in range(users_per_department - 1):
            role = "agent" if kind == "service" else "sales"
            surname = V.SURNAMES[rng.randrange(40)][0]
            users.append((uid, f"{role}{uid:03d}", role, dept_id, surname + rng.choice(V.GIVEN_CHARS)))
            members.append(uid)
            owners.append((uid, dept_id))
            uid += 1
        teams.append((len(teams) + 1, f"{REGIONS[(dept_id - 8) // 2]}{'服务' if kind == 'service' else '销售'}一组",
                      dept_id, lead, members))
    return departments, users, teams, owners, [d for d, _ in leaves]


# -- row generators --------------------------------------------------------------------------------

def customer_lines(rng: random.Random, n: int, owners, leaf_departments, owner_of: list[int]) -> Iterator[str]:
    surnames, surname_cw = weighted(V.SURNAMES)
    given = list(dict.fromkeys(V.GIVEN_CHARS))
    given_cw = list(accumulate(1 / (rank + 10) ** 0.7 for rank in range(len(given))))
    geo = [(p, cities) for p, _w, cities in V.GEOGRAPHY]
    geo_cw = list(accumulate(w for _p, w, _c in V.GEOGRAPHY))
    mobiles, mobile_cw = weighted(V.MOBILE_PREFIXES)
    domains, domain_cw = weighted(V.EMAIL_DOMAINS)
    sources, source_cw = weighted(V.SOURCE_CHANNELS)
    suffixes, suffix_cw = weighted(V.ORG_SUFFIXES)
    syllables = V.SYLLABLES
    for start in range(1, n + 1, CHUNK):
        k = min(CHUNK, n - start + 1)
        s_pick = rng.choices(surnames, cum_weights=surname_cw, k=k)
        g1 = rng.choices(given, cum_weights=given_cw, k=k)
        g2 = rng.choices(given, cum_weights=given_cw, k=k)
        places = rng.choices(geo, cum_weights=geo_cw, k=k)
        mobile = rng.choices(mobiles, cum_weights=mobile_cw, k=k)
        domain = rng.choices(domains, cum_weights=domain_cw, k=k)
        source = rng.choices(sources, cum_weights=source_cw, k=k)
        for j in range(k):
            cid = start + j
            r = rng.random()
            province, cities = places[j]
            city = cities[0] if len(cities) == 1 else cities[int(rng.random() ** 1.5 * len(cities))]
            surname = s_pick[j]
            kind = "person"
            industry = ""
            if r < 0.04:
                kind = "organisation"
                name = (city[:-1] if rng.random() < 0.5 else "") + rng.choice(V.ORG_WORDS) + rng.choice(V.ORG_TRADES) \
                    + rng.choices(suffixes, cum_weights=suffix_cw)[0]
                industry = rng.choice(V.INDUSTRIES)
            elif r < 0.06:
                name = f"{rng.choice(V.LATIN_FIRST)} {rng.choice(V.LATIN_LAST)}"
            elif rng.random() < V.ONE_CHAR_GIVEN_SHARE:
                name = surname + g1[j]
            else:
                name = surname + g1[j] + g2[j]
            digits = f"{(cid * 2654435761 + 12345) % 100_000_000:08d}"
            p = rng.random()
            if p < 0.03:
                phone = phone_raw = ""
            elif p < 0.10 or kind == "organisation":
                area = rng.choice(V.AREA_CODES)
                phone, phone_raw = f"+86{area}{digits}", f"0{area}-{digits}"
            else:
                phone = f"+86{mobile[j]}{digits}"
                phone_raw = f"{mobile[j]} {digits[:4]} {digits[4:]}" if p < 0.5 else phone[3:]
            if kind == "organisation":
                email = f"service{cid}@corp{cid % 9973}.com.cn" if rng.random() < 0.7 else ""
            elif rng.random() < 0.62:
                head = V.PINYIN.get(surname) or rng.choice(syllables)
                email = f"{head}{rng.choice(syllables)}{cid}@{domain[j]}"
            else:
                email = ""
            if rng.random() < 0.9:
                owner, department = owners[int(rng.random() * len(owners))]
                owner_s, dept_s = str(owner), str(department)
            else:
                owner, owner_s, dept_s = 0, NULL, str(rng.choice(leaf_departments))
            owner_of.append(owner)
            age = age_of(cid, n)
            second = rng.randrange(86400)
            created = stamp(age, second)
            updated = stamp(rng.randrange(age + 1), second) if rng.random() < 0.4 else created
            birthday = f"{rng.randrange(1950, 2006)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}" \
                if kind == "person" and rng.random() < 0.4 else NULL
            yield "\t".join((
                str(cid), created, updated, kind, name, phone, phone_raw, email,
                f"ERP{cid:08d}" if rng.random() < 0.2 else "", birthday, "CN", province, city,
                rng.choice(V.DISTRICTS) if rng.random() < 0.6 else "",
                f"{rng.choice(V.STREETS)}{rng.randrange(1, 999)}号" if rng.random() < 0.5 else "",
                f"{rng.randrange(100000, 860000)}" if rng.random() < 0.3 else "", industry, source[j],
                owner_s, dept_s, "t" if rng.random() < 0.03 else "f",
                "老客户，偏好电话联系" if rng.random() < 0.05 else "", "1", NULL, owner_s,
            )) + "\n"


CUSTOMER_COLUMNS = ["id", "created_at", "updated_at", "kind", "name", "phone", "phone_raw", "email", "external_id",
                    "birthday", "country", "province", "city", "district", "street", "postal_code", "industry",
                    "source_channel", "owner_id", "department_id", "is_vip", "notes", "version", "merged_into_id",
                    "created_by_id"]


def tag_lines(rng: random.Random, customers: int, tags: int) -> Iterator[str]:
    row = 0
    for cid in range(1, customers + 1):
        r = rng.random()
        if r < 0.25:
            picked = {rng.randrange(1, tags + 1)} if r < 0.18 else set(rng.sample(range(1, tags + 1), 2))
            for tag in sorted(picked):
                row += 1
                yield f"{row}\t{cid}\t{tag}\n"


def interaction_lines(rng: random.Random, n: int, customers: int, owner_of: list[int], users: int) -> Iterator[str]:
    channels, channel_cw = weighted(V.CHANNELS)
    directions, direction_cw = weighted(V.DIRECTIONS)
    touchpoints, touchpoint_cw = weighted(V.TOUCHPOINTS)
    stages, stage_cw = weighted(V.STAGES)
    for start in range(1, n + 1, CHUNK):
        k = min(CHUNK, n - start + 1)
        ch = rng.choices(channels, cum_weights=channel_cw, k=k)
        di = rng.choices(directions, cum_weights=direction_cw, k=k)
        tp = rng.choices(touchpoints, cum_weights=touchpoint_cw, k=k)
        st = rng.choices(stages, cum_weights=stage_cw, k=k)
        for j in range(k):
            cid = skewed_customer(rng, customers)
            owner = owner_of[cid - 1]
            user = owner if owner and rng.random() < 0.7 else rng.randrange(1, users + 1)
            when = stamp(rng.randrange(age_of(cid, customers) + 1), rng.randrange(86400))
            yield "\t".join((
                str(start + j), str(cid), ch[j], di[j], tp[j], st[j], rng.choice(V.SUBJECTS),
                rng.choice(V.BODIES) if rng.random() < 0.8 else "", when, str(user), when,
            )) + "\n"


INTERACTION_COLUMNS = ["id", "customer_id", "channel", "direction", "touchpoint", "journey_stage", "subject", "body",
                       "occurred_at", "user_id", "created_at"]
ORDER_COLUMNS = ["id", "number", "customer_id", "channel", "status", "placed_at", "delivered_at", "currency", "total",
                 "notes", "version", "created_by_id", "created_at", "updated_at"]
LINE_COLUMNS = ["id", "order_id", "product_id", "description", "quantity", "unit_price", "amount"]


def order_and_line_lines(rng: random.Random, n: int, customers: int, products, line_sink: list[str]):
    """Order rows; each order's lines are appended to `line_sink` (drained by the caller per chunk)."""
    channels, channel_cw = weighted(V.ORDER_CHANNELS)
    statuses, status_cw = weighted(V.ORDER_STATUSES)
    line_id = 0
    for start in range(1, n + 1, CHUNK):
        k = min(CHUNK, n - start + 1)
        ch = rng.choices(channels, cum_weights=channel_cw, k=k)
        stt = rng.choices(statuses, cum_weights=status_cw, k=k)
        counts = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5), k=k)
        for j in range(k):
            oid = start + j
            cid = skewed_customer(rng, customers)
            day = rng.randrange(age_of(cid, customers) + 1)
            second = rng.randrange(86400)
            placed = stamp(day, second)
            status = stt[j]
            delivered = stamp(max(0, day - rng.randrange(1, 6)), second) if status == "delivered" else NULL
            total = 0
            for _ in range(counts[j]):
                line_id += 1
                pid, pname, cents = products[int(rng.random() ** 1.3 * len(products))]
                quantity = 1 if rng.random() < 0.75 else rng.randrange(2, 6)
                amount = cents * quantity
                total += amount
                line_sink.append(
                    f"{line_id}\t{oid}\t{pid}\t{pname}\t{quantity}\t{cents / 100:.2f}\t{amount / 100:.2f}\n")
            yield "\t".join((
                str(oid), f"SO{oid:010d}", str(cid), ch[j], status, placed, delivered, "CNY", f"{total / 100:.2f}",
                "", "1", NULL, placed, delivered if delivered != NULL else placed,
            )) + "\n"


# -- steps -----------------------------------------------------------------------------------------

def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        print(f"Creating database {name} (UTF8, C.UTF-8)…", flush=True)
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                     "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-not-secret")}
    subprocess.run([sys.executable, "-m", "loopcrm.cli", "migrate"], check=True, env=env)


def secondary_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        ORDER BY i.tablename, i.indexname
        """,
        (BIG_TABLES,),
    ).fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loopcrm_bench"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--users-per-department", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="empty the database first if it holds data")
    parser.add_argument("--json", help="also write the timings to this file")
    args = parser.parse_args(argv)
    if "postgres" not in urlsplit(args.database_url).scheme:
        parser.error("bench/generate.py loads PostgreSQL only")

    began = time.perf_counter()
    ensure_database(args.database_url)
    print("Applying migrations…", flush=True)
    migrate(args.database_url)
    loader = Loader(args.database_url, args.seed)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        ok, ctype = conn.execute("SELECT show_trgm('张伟明') <> '{}', current_setting('lc_ctype')").fetchone()
        if not ok:
            print(f"WARNING: LC_CTYPE is {ctype}: pg_trgm sees no Chinese characters here.", flush=True)
        if conn.execute("SELECT EXISTS (SELECT 1 FROM customers_customer)").fetchone()[0] and not args.reset:
            print("The database holds customers already; pass --reset to replace them.", file=sys.stderr)
            return 2
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")

    rng = random.Random(args.seed)
    departments, users, teams, owners, leaves = organisation(rng, args.users_per_department)
    print(f"Loading (seed {args.seed})…", flush=True)
    conn = loader.connect()
    saved = secondary_indexes(conn)
    for name, _definition in saved:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    try:
        loader.copy(conn, "accounts_department",
                    ["id", "created_at", "updated_at", "name", "code", "parent_id", "path"],
                    (f"{d[0]}\t{stamp(HISTORY_DAYS, 0)}\t{stamp(HISTORY_DAYS, 0)}\t{d[1]}\t{d[2]}\t"
                     f"{d[3] if d[3] else NULL}\t{d[4]}\n" for d in departments))
        loader.copy(conn, "accounts_user", [
            "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
            "is_active", "date_joined", "display_name", "role", "phone", "language", "time_zone", "is_available",
            "department_id"], (
            f"{u[0]}\t!bench\t{NULL}\tf\t{u[1]}\t\t\t{u[1]}@loopcrm.example\tf\tt\t{stamp(HISTORY_DAYS, 0)}\t{u[4]}\t"
            f"{u[2]}\t\t\t\tt\t{u[3]}\n" for u in users))
        loader.copy(conn, "accounts_team", ["id", "created_at", "updated_at", "name", "department_id", "lead_id"],
                    (f"{t[0]}\t{stamp(HISTORY_DAYS, 0)}\t{stamp(HISTORY_DAYS, 0)}\t{t[1]}\t{t[2]}\t{t[3]}\n"
                     for t in teams))
        loader.copy(conn, "accounts_team_members", ["team_id", "user_id"],
                    (f"{t[0]}\t{m}\n" for t in teams for m in t[4]))
        loader.copy(conn, "customers_tag", ["id", "name", "color"],
                    (f"{n + 1}\t{name}\t{color}\n" for n, (name, color) in enumerate(V.TAGS)))
        loader.copy(conn, "commerce_productcategory", ["id", "name", "code", "parent_id"],
                    (f"{n + 1}\t{name}\t{code}\t{NULL}\n" for n, (name, code) in enumerate(V.PRODUCT_CATEGORIES)))
        products = []
        for pid in range(1, args.products + 1):
            name = f"{rng.choice(V.PRODUCT_WORDS)}{rng.choice(V.PRODUCT_NOUNS)} {pid:03d}"
            products.append((pid, name, rng.choice((1990, 4900, 9900, 12900, 19900, 29900, 59900, 129900, 399900))))
        loader.copy(conn, "commerce_product", ["id", "created_at", "updated_at", "sku", "name", "category_id", "price",
                                               "currency", "is_active", "description"],
                    (f"{p[0]}\t{stamp(HISTORY_DAYS, 0)}\t{stamp(HISTORY_DAYS, 0)}\tSKU-{p[0]:05d}\t{p[1]}\t"
                     f"{p[0] % len(V.PRODUCT_CATEGORIES) + 1}\t{p[2] / 100:.2f}\tCNY\tt\t\n" for p in products))
        conn.commit()

        owner_of: list[int] = []
        loader.copy(conn, "customers_customer", CUSTOMER_COLUMNS,
                    customer_lines(random.Random(args.seed * 1000 + 1), args.customers, owners, leaves, owner_of))
        loader.copy(conn, "customers_customer_tags", ["id", "customer_id", "tag_id"],
                    tag_lines(random.Random(args.seed * 1000 + 2), args.customers, len(V.TAGS)))
        conn.commit()

        # Orders and their lines stream through two connections side by side.
        lines_conn = loader.connect()
        sink: list[str] = []
        order_rows = line_rows = 0
        started = time.perf_counter()
        with conn.cursor() as oc, oc.copy(f"COPY commerce_order ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as ocopy, \
                lines_conn.cursor() as lc, lc.copy(f"COPY commerce_orderline ({', '.join(LINE_COLUMNS)}) FROM STDIN") \
                as lcopy:
            buffer: list[str] = []
            for line in order_and_line_lines(random.Random(args.seed * 1000 + 3), args.orders, args.customers,
                                             products, sink):
                buffer.append(line)
                if len(buffer) >= 5000:
                    ocopy.write("".join(buffer))
                    lcopy.write("".join(sink))
                    order_rows += len(buffer)
                    line_rows += len(sink)
                    buffer.clear()
                    sink.clear()
            ocopy.write("".join(buffer))
            lcopy.write("".join(sink))
            order_rows += len(buffer)
            line_rows += len(sink)
        seconds = time.perf_counter() - started
        conn.commit()
        lines_conn.commit()
        lines_conn.close()
        loader.note("commerce_order", order_rows, seconds)
        loader.note("commerce_orderline", line_rows, seconds)

        loader.copy(conn, "interactions_interaction", INTERACTION_COLUMNS,
                    interaction_lines(random.Random(args.seed * 1000 + 4), args.interactions, args.customers, owner_of,
                                      len(users)))
        conn.commit()
    finally:
        conn.rollback()
        print("Rebuilding indexes…", flush=True)
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.commit()
        index_report = {}
        for name, definition in saved:
            started = time.perf_counter()
            conn.execute(definition)
            conn.commit()
            index_report[name] = round(time.perf_counter() - started, 2)
            print(f"  {name:<52} {index_report[name]:7.1f} s", flush=True)
        loader.report["indexes"] = index_report

    conn.autocommit = True
    for table in ["accounts_department", "accounts_user", "accounts_team", "customers_tag", "commerce_productcategory",
                  "commerce_product", "customers_customer", "customers_customer_tags", "commerce_order",
                  "commerce_orderline", "interactions_interaction"]:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    conn.execute("SELECT setval(pg_get_serial_sequence('accounts_team_members', 'id'), "
                 "(SELECT coalesce(max(id), 0) + 1 FROM accounts_team_members), false)")
    print("VACUUM ANALYZE…", flush=True)
    started = time.perf_counter()
    for table in [*BIG_TABLES, "accounts_user", "accounts_department", "commerce_product"]:
        conn.execute(f"VACUUM (ANALYZE) {table}")
    loader.report["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
    sizes = conn.execute(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)", (BIG_TABLES,)
    ).fetchall()
    conn.close()

    total = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loader.report["sizes_mb"] = {name: round(size / 2**20) for name, size in sizes}
    loader.report["total_seconds"] = round(total, 1)
    loader.report["generator_peak_mb"] = round(peak_mb)
    loader.report["arguments"] = {k: v for k, v in vars(args).items() if k != "database_url"}
    print(f"VACUUM ANALYZE {loader.report['vacuum_analyze_seconds']} s; sizes (MB, with indexes): "
          f"{loader.report['sizes_mb']}")
    print(f"Total {total:.1f} s; generator peak memory {peak_mb:.0f} MB.")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(loader.report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
