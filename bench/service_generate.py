"""Load a PostgreSQL database with a service desk at scale, fast, for the service-desk benchmarks.

    .venv/bin/python bench/service_generate.py \
        --database-url postgres://postgres@127.0.0.1:5432/loopcrm_service_bench \
        --customers 200000 --tickets 1000000 --seed 1 [--reset] [--no-messages]

Creates the database when missing (UTF-8, C.UTF-8) and builds every table from the models
(bench/service_settings.py: no migration modules, `migrate --run-syncdb`; customers' PG search
migration is skipped). The organisation comes from bench/generate.py (regions, a service and a sales
department in each, ~200 service agents); the desk's configuration goes through the real services
and the demo's definitions (business calendars with China's holidays and make-up days, four SLA
policies, the standard service processes in their versions, routing rules by region, two queues per
service department, the two-level category tree, root causes). Then the history streams through
COPY, chunk by chunk: customers (and tags), tickets opened over two years with realistic kind,
priority, channel, status mixes, their event log (created, routed, assigned, status changes, replies,
notes, customer messages, SLA pauses, warnings and breaches, step starts and completions: ~10 per
ticket), their conversation, their SLA clocks and, for complaints, repairs and returns, their process
and step rows. Columns come from the models' _meta: a column the generator does not know is filled
with its model default (or NULL / ""), so a field added by someone else does not break the load.
Secondary indexes of the big tables are dropped during the load and rebuilt after it (timed),
foreign keys are not checked during COPY (the rows are consistent by construction), and VACUUM
ANALYZE runs at the end. Due times of SLA clocks are wall-clock approximations of business time
(the calendar's hours per day), good enough for lists and timers, not for attainment reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import random
import resource
import sys
import time
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

import generate as G  # noqa: E402  (bench/generate.py: organisation, customers, COPY loader)
import vocabulary as V  # noqa: E402

NULL = "\\N"
CHUNK = 25_000
DAY = 86400
HISTORY_DAYS = 730
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loopcrm_service_bench"
SERVICE_TABLES = ["service_ticket", "service_ticket_tags", "service_ticketevent", "service_ticketmessage",
                  "service_slaclock", "service_ticketprocess", "service_ticketstep"]
BIG_TABLES = ["customers_customer", "customers_customer_tags", *SERVICE_TABLES]


# --- columns from the models ----------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    elif isinstance(value, (int, float, decimal.Decimal, dt.date)):
        value = str(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def default_text(field, now: dt.datetime) -> str:
    """What COPY writes in a column the generator does not know: the model's default, else NULL or ""."""
    from django.db import models

    if field.has_default():
        value = field.get_default()
        return _text(value() if callable(value) else value)
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return _text(now)
    if field.null:
        return NULL
    if isinstance(field, (models.CharField, models.TextField)):
        return ""
    raise SystemExit(f"{field.model._meta.db_table}.{field.column} is required and unknown to "
                     "bench/service_generate.py: teach the generator its value.")


class Table:
    """A table as the models describe it now: the generator's known columns that still exist, and a
    constant default for every other column."""

    def __init__(self, model, known: list[str], now: dt.datetime) -> None:
        fields = {f.column: f for f in model._meta.local_concrete_fields}
        self.name = model._meta.db_table
        self.keep = [i for i, column in enumerate(known) if column in fields]
        self.filtered = len(self.keep) != len(known)
        self.columns = [known[i] for i in self.keep]
        extras = [f for column, f in fields.items() if column not in known]
        self.columns += [f.column for f in extras]
        self.suffix = "".join("\t" + default_text(f, now) for f in extras) + "\n"
        if self.filtered:
            print(f"  note: {self.name} lost columns {sorted(set(known) - set(fields))}; not written", flush=True)

    def line(self, values) -> str:
        if self.filtered:
            values = [values[i] for i in self.keep]
        return "\t".join(values) + self.suffix


def through(model, name: str):
    return model._meta.get_field(name).remote_field.through


# --- time -------------------------------------------------------------------------------------------

class Clock:
    """Seconds since the first midnight of the history, written as PostgreSQL timestamps fast."""

    def __init__(self, now: dt.datetime) -> None:
        self.now_dt = now
        first = (now - dt.timedelta(days=HISTORY_DAYS + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.origin = first
        self.now = int((now - first).total_seconds())
        self.days = [(first + dt.timedelta(days=d)).date().isoformat() for d in range(HISTORY_DAYS + 40)]
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def fmt(self, s: int) -> str:
        return self.days[s // DAY] + " " + self.hms[s % DAY]


# --- configuration through the services ---------------------------------------------------------

class _DemoLoader:
    """What the demo's loaders expect of their loader (counts and a voice)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def say(self, text: str) -> None:
        print(f"  {text}", flush=True)


def organisation_rows(rng: random.Random, users_per_department: int, now: dt.datetime):
    from django.contrib.auth.hashers import make_password

    from loopcrm.accounts.models import Department, Team, User

    departments, users, teams, owners, leaves = G.organisation(rng, users_per_department)
    Department.objects.bulk_create([Department(id=d[0], name=d[1], code=d[2], parent_id=d[3], path=d[4])
                                    for d in departments])
    unusable = make_password(None)
    User.objects.bulk_create([User(id=u[0], username=u[1], role=u[2], department_id=u[3], display_name=u[4],
                                   email=f"{u[1]}@loopcrm.example", password=unusable, date_joined=now)
                              for u in users])
    admin = User.objects.create(id=len(users) + 1, username="bench", role="administrator", is_superuser=True,
                                is_staff=True, display_name="压测管理员", password=unusable, date_joined=now)
    Team.objects.bulk_create([Team(id=t[0], name=t[1], department_id=t[2], lead_id=t[3]) for t in teams])
    Member = through(Team, "members")
    Member.objects.bulk_create([Member(team_id=t[0], user_id=m) for t in teams for m in t[4]])
    roles = {u[0]: u[2] for u in users}
    service_departments = [d for d in leaves if any(roles[u] == "agent" for u, dept in owners if dept == d)]
    agents = {d: [u for u, dept in owners if dept == d and roles[u] == "agent"] for d in service_departments}
    leads = {t[2]: t[3] for t in teams}
    for reset in (Department, User, Team, Member):
        _reset_sequence(reset)
    return departments, users, owners, leaves, admin, agents, leads


def _reset_sequence(model) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(sql)


def configure(admin, agents: dict[int, list[int]], leads: dict[int, int], clock: Clock) -> dict:
    """Calendars and SLA policies, categories, root causes, queues, canned replies, processes and
    routing rules, through the services where they exist (the demo's definitions)."""
    from loopcrm.customers.models import Tag
    from loopcrm.demo import processes as demo_processes
    from loopcrm.demo import tickets as demo_tickets
    from loopcrm.demo.sla import load_sla
    from loopcrm.service.models import BusinessCalendar, CannedReply, Queue, RootCause, SlaPolicy, TicketCategory
    from loopcrm.service.services import processes as process_services
    from loopcrm.service.services import routing as routing_services
    from loopcrm.service.services.complaints import ensure_default_root_causes

    Tag.objects.bulk_create([Tag(id=n + 1, name=name, color=color) for n, (name, color) in enumerate(V.TAGS)])
    _reset_sequence(Tag)
    load_sla(_DemoLoader(), staff=None, calendar=None, seed=1)
    categories: dict[str, TicketCategory] = {}
    for code, parent, name in demo_tickets.CATEGORIES:
        category = TicketCategory.objects.create(code=code, name=name, parent=categories.get(parent))
        category.path = f"{categories[parent].path if parent else '/'}{category.pk}/"
        category.save(update_fields=["path"])
        categories[code] = category
    causes = {cause.code: cause for cause in ensure_default_root_causes()}
    for code, parent, name in demo_tickets.SUB_CAUSES:
        causes[code] = RootCause.objects.create(code=code, name=name, branch=causes[parent].branch,
                                                parent=causes[parent])
    queues: dict[int, dict[str, Queue]] = {}
    for n, (department, members) in enumerate(sorted(agents.items()), start=1):
        general = Queue.objects.create(name=f"综合队列 General {n}", code=f"general-{n}", department_id=department,
                                       strategy=Queue.Strategy.ROUND_ROBIN)
        general.members.set([*members, leads[department]])
        after = Queue.objects.create(name=f"售后队列 After-sales {n}", code=f"after-sales-{n}",
                                     department_id=department, strategy=Queue.Strategy.LEAST_LOADED)
        after.members.set(members[: len(members) // 2])
        queues[department] = {"general": general, "after": after}
    CannedReply.objects.bulk_create([CannedReply(title=title, body=body) for title, body, _dept
                                     in demo_tickets.CANNED])

    first = clock.origin
    versions = {}
    for key, (name, kind, specs) in demo_processes.PROCESSES.items():
        definition = process_services.create_definition(key=key, name=name, ticket_kind=kind, by=admin, at=first)
        versions[key] = []
        for number, steps in enumerate(specs, start=1):
            at = first if number == 1 else clock.origin + dt.timedelta(seconds=clock.now * 2 // 3)
            versions[key].append((clock.now * 2 // 3 if number > 1 else 0,
                                  process_services.publish_version(definition, steps=steps, by=admin, at=at)))

    # Routing: VIP complaints first, refund words, then each region's provinces to its service department.
    provinces = [p for p, _w, _c in V.GEOGRAPHY]
    departments = sorted(queues)
    by_region = {d: provinces[n::len(departments)] for n, d in enumerate(departments)}
    routing_services.create_rule(by=admin, name="VIP 投诉优先", kinds=["complaint"], customer_vip=True,
                                 set_priority=4, queue=queues[departments[0]]["general"])
    routing_services.create_rule(by=admin, name="退款关键词", keywords=["退款", "refund", "退货"], set_priority=3,
                                 queue=queues[departments[0]]["after"])
    for department in departments:
        routing_services.create_rule(by=admin, name=f"维修 {department}", kinds=["repair", "return"],
                                     provinces=by_region[department], queue=queues[department]["after"])
        routing_services.create_rule(by=admin, name=f"地区 {department}", provinces=by_region[department],
                                     queue=queues[department]["general"])
    routing_services.create_rule(by=admin, name="其余工单", queue=queues[departments[0]]["general"])

    policies = {p.name: p for p in SlaPolicy.objects.select_related("calendar")}
    default_calendar = BusinessCalendar.objects.get(is_default=True)
    return {"categories": categories, "causes": causes, "queues": queues, "versions": versions,
            "policies": policies, "default_calendar": default_calendar, "by_region": by_region}


# --- the history ------------------------------------------------------------------------------------

KINDS = [("inquiry", 40), ("service_request", 22), ("complaint", 16), ("repair", 13), ("return", 9)]
PRIORITIES = [(1, 15), (2, 60), (3, 20), (4, 5)]
CHANNELS = [("phone", 30), ("email", 20), ("web_chat", 15), ("web_form", 10), ("wechat", 18), ("sms", 2),
            ("social", 3), ("visit", 2)]
RECENT_STATUS = [("new", 8), ("open", 30), ("pending", 14), ("on_hold", 5), ("reopened", 3), ("resolved", 25),
                 ("closed", 15)]
OLD_STATUS = [("closed", 88), ("resolved", 10), ("on_hold", 1), ("pending", 1)]
STORY_OF_KIND = {
    "inquiry": ["usage_question"], "service_request": ["invoice"],
    "complaint": ["delivery_delay", "damaged", "install_problem", "social_complaint"],
    "repair": ["repair"], "return": ["return_request"],
}
REPLIES = ["您好，已为您查询，请稍候。", "Thanks for reaching out, we are on it.", "已安排师傅上门，请保持电话畅通。",
           "退款已提交，预计3个工作日到账。", "抱歉给您带来不便，我们会尽快处理。"]
CUSTOMER_WORDS = ["还没有收到，请尽快处理！", "Any update on this?", "师傅什么时候到？", "好的，谢谢。",
                  "东西坏了，怎么办？", "我要投诉你们的快递。"]
NOTES = ["已联系物流核实 Courier contacted", "转二线 Escalated to level 2", "客户情绪激动，注意沟通",
         "等待仓库回复 Waiting for the warehouse"]
WARNING_PERCENT = 80
PROCESS_SHARE = 0.6  # of complaints, repairs and returns follow a standard process (the rest predate it)
PER_DAY = {"desk": 8 * 3600, "hotline": 24 * 3600}  # business seconds per calendar day (rough)


def picker(pairs):
    values, weights = zip(*pairs, strict=True)
    return list(values), list(accumulate(weights))


class History:
    """Rows of every service table for a chunk of tickets (ids `start`…)."""

    def __init__(self, tables: dict[str, Table], config: dict, clock: Clock, customers: int, tickets: int,
                 vip: set[int], province_of: list[str], admin_id: int, messages: bool) -> None:
        from loopcrm.demo import tickets as demo_tickets

        self.t, self.config, self.clock = tables, config, clock
        self.customers, self.tickets, self.vip, self.province_of = customers, tickets, vip, province_of
        self.admin_id, self.messages = admin_id, messages
        self.stories = {kind: [(demo_tickets.STORIES[s][0], config["categories"][demo_tickets.STORIES[s][2]].pk,
                                [config["causes"][c].pk for c in demo_tickets.STORIES[s][4]])
                               for s in stories] for kind, stories in STORY_OF_KIND.items()}
        self.region_of = {p: d for d, ps in config["by_region"].items() for p in ps}
        self.departments = sorted(config["queues"])
        policies = config["policies"]
        self.policy = {name: (p.pk, p.calendar_id or config["default_calendar"].pk, p.first_response_minutes,
                              p.next_response_minutes, p.resolution_minutes,
                              PER_DAY["hotline" if "VIP" in name else "desk"]) for name, p in policies.items()}
        self.names = {"vip": next(n for n in policies if "VIP" in n),
                      "urgent": next(n for n in policies if "Urgent" in n),
                      "complaint": next(n for n in policies if "Complaint" in n),
                      "standard": next(n for n in policies if "Standard" in n)}
        self.versions = {}
        for key, published in config["versions"].items():
            self.versions[key] = [(since, v.pk, [(s.pk, s.key, s.target_minutes, s.is_mandatory)
                                                 for s in v.steps.order_by("position")]) for since, v in published]
        self.process_of_kind = {"repair": "repair", "complaint": "complaint", "return": "return"}
        self.queue_members = {q.pk: list(q.members.values_list("pk", flat=True))
                              for qs in config["queues"].values() for q in qs.values()}
        self.event_id = self.message_id = self.clock_id = self.step_id = self.process_id = self.tag_id = 0

    def chunk(self, rng: random.Random, start: int, count: int) -> dict[str, list[str]]:
        out = {name: [] for name in SERVICE_TABLES}
        T = self.t

        def writer(table: str):
            line, append = T[table].line, out[table].append
            return lambda values: append(line(values))

        tk, tt, ms_add, cline, pline, sline = (writer(n) for n in (
            "service_ticket", "service_ticket_tags", "service_ticketmessage", "service_slaclock",
            "service_ticketprocess", "service_ticketstep"))
        eline, ev = T["service_ticketevent"].line, out["service_ticketevent"].append
        fmt = self.clock.fmt
        now = self.clock.now
        span = now - 3600
        rand, randrange, choice = rng.random, rng.randrange, rng.choice
        kinds, kind_cw = picker(KINDS)
        prios, prio_cw = picker(PRIORITIES)
        chans, chan_cw = picker(CHANNELS)
        recent, recent_cw = picker(RECENT_STATUS)
        old, old_cw = picker(OLD_STATUS)
        k_kind = rng.choices(kinds, cum_weights=kind_cw, k=count)
        k_prio = rng.choices(prios, cum_weights=prio_cw, k=count)
        k_chan = rng.choices(chans, cum_weights=chan_cw, k=count)
        queues = self.config["queues"]
        policy, names = self.policy, self.names
        members = self.queue_members
        messages = self.messages

        def event(ticket: str, kind: str, at: int, actor: str, field="", old_v="", new_v="", step="", data="{}"):
            self.event_id += 1
            ev(eline((str(self.event_id), ticket, kind, fmt(at), actor, field, old_v, new_v, step, data)))

        def message(ticket: str, kind: str, author: str, body: str, channel: str, at: int):
            if messages:
                self.message_id += 1
                ms_add((str(self.message_id), ticket, kind, author, body, channel, "", "", fmt(at)))

        for j in range(count):
            tid = start + j
            t = str(tid)
            opened = int((tid - 1) * span / self.tickets) + randrange(3600)
            kind, priority, channel = k_kind[j], k_prio[j], k_chan[j]
            cid = G.skewed_customer(rng, self.customers)
            vip = cid in self.vip
            region = self.region_of.get(self.province_of[cid - 1], self.departments[0])
            prefixes, category, causes = choice(self.stories[kind])
            subject = choice(prefixes) + f" #{tid}"
            queue = queues[region]["after" if kind in ("repair", "return") else "general"]
            if vip and kind == "complaint":
                priority, queue = 4, queues[self.departments[0]]["general"]
            department = queue.department_id
            age = now - opened
            status = recent[_pick(rand(), recent_cw)] if age < 30 * DAY else old[_pick(rand(), old_cw)]
            team = members[queue.pk]
            assignee = NULL if (status == "new" and rand() < 0.6) or not team else str(choice(team))
            agent = assignee if assignee != NULL else str(choice(team)) if team else NULL
            customer_actor = NULL
            created_by = agent if channel in ("phone", "visit") else NULL
            # The clocks' policy.
            pname = names["vip"] if vip else names["urgent"] if priority == 4 else \
                names["complaint"] if kind == "complaint" else names["standard"]
            pid, calendar, fr_min, nr_min, res_min, per_day = policy[pname]
            factor = DAY / per_day

            # Life of the ticket.
            event(t, "created", opened, created_by, new_v="new",
                  data=f'{{"kind": "{kind}", "channel": "{channel}", "priority": {priority}}}')
            event(t, "routed", opened, NULL, field="queue", new_v=str(queue.pk),
                  data=f'{{"queue_id": {queue.pk}, "department_id": {department}, "sla_policy_id": {pid}}}')
            if assignee != NULL:
                event(t, "assigned", opened + 1, NULL, field="assignee", new_v=assignee)
            description = choice(CUSTOMER_WORDS)
            message(t, "customer", NULL, description, channel, opened)
            n_messages = 1
            breached_fr = rand() < 0.08
            first_response = NULL
            at = opened
            fr_due = opened + int(fr_min * 60 * factor)
            if status != "new":
                target = fr_min * 60 * factor
                wait = int(target * (1.4 + rand()) if breached_fr else target * rand() * 0.7)
                at = min(opened + 60 + wait, now - 60)
                if breached_fr:
                    event(t, "sla_breached", fr_due, NULL, step="first_response")
                first_response = at
                event(t, "status", at, agent, field="status", old_v="new", new_v="open")
                event(t, "reply", at, agent)
                message(t, "reply", agent, choice(REPLIES), channel, at)
                n_messages += 1
            rounds = 0 if status == "new" else _pick(rand(), (0.55, 0.9, 0.98, 1.0))
            for _ in range(rounds):
                at = min(at + randrange(600, 2 * DAY), now - 30)
                event(t, "customer_message", at, customer_actor)
                message(t, "customer", NULL, choice(CUSTOMER_WORDS), channel, at)
                at = min(at + randrange(300, DAY // 2), now - 20)
                event(t, "reply", at, agent)
                message(t, "reply", agent, choice(REPLIES), channel, at)
                n_messages += 2
            if status != "new" and rand() < 0.2:
                at = min(at + randrange(60, 7200), now - 10)
                event(t, "note", at, agent)
                message(t, "note", agent, choice(NOTES), "other", at)
                n_messages += 1
            paused = status == "pending" or (status != "new" and rand() < 0.06)
            if paused:
                at = min(at + randrange(60, 3600), now - 5)
                event(t, "status", at, agent, field="status", old_v="open", new_v="pending")
                event(t, "sla_paused", at, NULL, step="resolution")
                pause_at = at
                if status != "pending":
                    at = min(at + randrange(3600, 3 * DAY), now - 4)
                    event(t, "customer_message", at, customer_actor)
                    event(t, "status", at, NULL, field="status", old_v="pending", new_v="open")
                    event(t, "sla_resumed", at, NULL, step="resolution")
            if status == "on_hold":
                at = min(at + randrange(60, 3600), now - 3)
                event(t, "status", at, agent, field="status", old_v="open", new_v="on_hold")

            # Process and steps (complaints, repairs, returns).
            process = self.process_of_kind.get(kind) if rand() < PROCESS_SHARE else None
            if process:
                versions = self.versions[process]
                _since, version, steps = versions[-1] if opened >= versions[-1][0] else versions[0]
                self.process_id += 1
                pline((str(self.process_id), t, str(version), fmt(opened)))
                done_all = status in ("resolved", "closed")
                active_index = len(steps) if done_all else (0 if status == "new" else randrange(len(steps)))
                step_at = opened
                for n, (step_pk, key, target, mandatory) in enumerate(steps):
                    self.step_id += 1
                    if n < active_index:
                        started = step_at
                        took = max(60, int(target * 60 * (0.3 + rand() * (2.5 if key == "diagnose" else 1.3))))
                        finished = min(started + took, now - 2)
                        step_at = finished
                        state = "done" if mandatory or rand() < 0.7 else "skipped"
                        actor = agent
                        event(t, "step_started", started, actor, step=key)
                        event(t, "step_completed", finished, actor, step=key)
                        sline((str(self.step_id), str(self.process_id), str(step_pk), str(n + 1), state, fmt(started),
                               actor, fmt(finished), actor, "[]", str(max(1, (finished - started) // 60)), ""))
                    elif n == active_index:
                        event(t, "step_started", step_at, agent, step=key)
                        sline((str(self.step_id), str(self.process_id), str(step_pk), str(n + 1), "active",
                               fmt(step_at), agent, NULL, NULL, "[]", NULL, ""))
                    else:
                        sline((str(self.step_id), str(self.process_id), str(step_pk), str(n + 1), "pending", NULL,
                               NULL, NULL, NULL, "[]", NULL, ""))
                at = max(at, step_at)

            res_due = opened + int(res_min * 60 * factor)
            resolved_at = closed_at = NULL
            breached_res = False
            if status in ("resolved", "closed", "reopened"):
                resolve = at + randrange(60, 2 * DAY) if rand() < 0.9 else res_due + randrange(3600, 5 * DAY)
                resolve = min(resolve, now - 2)
                breached_res = resolve > res_due
                if breached_res:
                    event(t, "sla_warning", opened + int((res_due - opened) * WARNING_PERCENT / 100), NULL,
                          step="resolution")
                    event(t, "sla_breached", res_due, NULL, step="resolution")
                event(t, "status", resolve, agent, field="status", old_v="open", new_v="resolved")
                resolved_at, at = resolve, resolve
                if status == "closed":
                    closed_at = min(resolve + 7 * DAY, now - 1)
                    event(t, "status", closed_at, NULL, field="status", old_v="resolved", new_v="closed")
                elif status == "reopened":
                    at = min(resolve + randrange(600, DAY), now - 1)
                    event(t, "status", at, NULL, field="status", old_v="resolved", new_v="reopened")

            # Clocks: first response and resolution always, next response after a customer message.
            warn = WARNING_PERCENT
            fr_warning = opened + (fr_due - opened) * warn // 100
            if first_response != NULL:
                fr_state = "met"
                cl = (fmt(first_response), NULL, str((first_response - opened) // int(factor)))
            else:
                fr_state = "breached" if fr_due < now else "warning" if fr_warning < now else "running"
                cl = (NULL, NULL, NULL)
            self.clock_id += 1
            cline((str(self.clock_id), t, "first_response", str(pid), str(calendar), str(fr_min), str(warn), fr_state,
                   "1", fmt(opened), fmt(fr_warning), fmt(fr_due), NULL, "0", cl[0], cl[1], cl[2],
                   fmt(fr_warning) if breached_fr or fr_state in ("warning", "breached") else NULL,
                   fmt(fr_due) if breached_fr or fr_state == "breached" else NULL,
                   "t" if breached_fr or fr_state == "breached" else "f"))
            if rounds and nr_min:
                nr_due = at + int(nr_min * 60 * factor)
                active = status not in ("resolved", "closed")
                self.clock_id += 1
                cline((str(self.clock_id), t, "next_response", str(pid), str(calendar), str(nr_min), str(warn),
                       "met" if not active else "running" if nr_due > now else "breached", str(rounds), fmt(at),
                       fmt(at + (nr_due - at) * warn // 100), fmt(nr_due), NULL, "0",
                       fmt(at) if not active else NULL, NULL, NULL, NULL, NULL,
                       "t" if active and nr_due <= now else "f"))
            res_warning = opened + (res_due - opened) * warn // 100
            paused_seconds = "0"
            paused_at = NULL
            if resolved_at != NULL:
                res_state = "met"
                elapsed = str((resolved_at - opened) // int(factor))
                met = fmt(resolved_at)
            else:
                elapsed, met = NULL, NULL
                if status == "pending":
                    res_state, paused_at = "paused", fmt(pause_at)
                else:
                    res_state = "breached" if res_due < now else "warning" if res_warning < now else "running"
                breached_res = res_due < now and status != "pending"
            self.clock_id += 1
            cline((str(self.clock_id), t, "resolution", str(pid), str(calendar), str(res_min), str(warn),
                   res_state if status != "reopened" else "running", "1" if status != "reopened" else "2",
                   fmt(opened), fmt(res_warning), fmt(res_due), paused_at, paused_seconds, met,
                   NULL, elapsed, fmt(res_warning) if breached_res else NULL,
                   fmt(res_due) if breached_res else NULL, "t" if breached_res else "f"))

            severity = root_cause = NULL
            corrective = ""
            amount = NULL
            currency = ""
            if kind == "complaint":
                severity = str(1 + _pick(rand(), (0.4, 0.75, 0.95, 1.0)))
                if status in ("resolved", "closed") and causes:
                    root_cause = str(choice(causes))
                    corrective = "已与物流商复盘，加强分拨中心管理"
                    if rand() < 0.3:
                        amount, currency = f"{choice((20, 50, 100, 200))}.00", "CNY"
            if rand() < 0.1:
                self.tag_id += 1
                tt((str(self.tag_id), t, str(1 + randrange(len(V.TAGS)))))
            updated = max(at, opened)
            tk((t, fmt(opened), fmt(updated), kind, subject, description, status, str(priority), channel,
                      str(category), str(cid), NULL, NULL, str(department), str(queue.pk), assignee, severity,
                      root_cause, corrective, amount, currency, NULL, fmt(opened),
                      fmt(first_response) if first_response != NULL else NULL,
                      fmt(resolved_at) if resolved_at != NULL else NULL,
                      fmt(closed_at) if closed_at != NULL else NULL, "1" if status == "reopened" else "0",
                      str(1 + n_messages), created_by))
        return out


def _pick(r: float, cumulative) -> int:
    total = cumulative[-1]
    x = r * total
    for n, c in enumerate(cumulative):
        if x < c:
            return n
    return len(cumulative) - 1


TICKET_COLUMNS = ["id", "created_at", "updated_at", "kind", "subject", "description", "status", "priority", "channel",
                  "category_id", "customer_id", "contact_id", "order_id", "department_id", "queue_id", "assignee_id",
                  "severity", "root_cause_id", "corrective_action", "compensation_amount", "compensation_currency",
                  "repeat_of_id", "opened_at", "first_response_at", "resolved_at", "closed_at", "reopen_count",
                  "version", "created_by_id"]
EVENT_COLUMNS = ["id", "ticket_id", "kind", "at", "actor_id", "field", "old", "new", "step", "data"]
MESSAGE_COLUMNS = ["id", "ticket_id", "kind", "author_id", "body", "channel", "message_id", "in_reply_to",
                   "created_at"]
CLOCK_COLUMNS = ["id", "ticket_id", "metric", "policy_id", "calendar_id", "target_minutes", "warning_percent",
                 "state", "cycle", "started_at", "warning_at", "due_at", "paused_at", "paused_seconds", "met_at",
                 "stopped_at", "elapsed_seconds", "warned_at", "breached_at", "breached"]
PROCESS_COLUMNS = ["id", "ticket_id", "version_id", "started_at"]
STEP_COLUMNS = ["id", "ticket_process_id", "step_id", "position", "status", "started_at", "started_by_id",
                "completed_at", "completed_by_id", "checklist_state", "duration_minutes", "note"]
TAG_COLUMNS = ["id", "ticket_id", "tag_id"]


# --- steps ------------------------------------------------------------------------------------------

def secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        ORDER BY i.tablename, i.indexname
        """,
        (tables,),
    )
    return cursor.fetchall()


class Report:
    def __init__(self) -> None:
        self.tables: dict[str, dict] = {}

    def add(self, table: str, rows: int, seconds: float) -> None:
        entry = self.tables.setdefault(table, {"rows": 0, "copy_seconds": 0.0})
        entry["rows"] += rows
        entry["copy_seconds"] += seconds

    def show(self, table: str) -> None:
        e = self.tables[table]
        print(f"  {table:<28} {e['rows']:>11,} rows  COPY {e['copy_seconds']:7.1f} s  "
              f"{e['rows'] / max(e['copy_seconds'], 1e-9):>10,.0f} rows/s", flush=True)


def copy(cursor, table: Table, lines: list[str], report: Report) -> None:
    started = time.perf_counter()
    with cursor.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as c:
        for n in range(0, len(lines), 20_000):
            c.write("".join(lines[n:n + 20_000]))
    report.add(table.name, len(lines), time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SERVICE_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--users-per-department", type=int, default=34)
    parser.add_argument("--no-messages", action="store_true", help="skip the conversation (~3.5 per ticket)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the database if it exists")
    parser.add_argument("--json", help="also write the timings to this file")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    parts = urlsplit(args.database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not args.reset:
            print(f"{name} exists; pass --reset to drop and rebuild it.", file=sys.stderr)
            return 2
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    G.ensure_database(args.database_url)

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "service_settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from loopcrm.customers.models import Customer
    from loopcrm.service.models import SlaClock, Ticket, TicketEvent, TicketMessage, TicketProcess, TicketStep

    print("Building the tables from the models (migrate --run-syncdb)…", flush=True)
    started = time.perf_counter()
    call_command("migrate", run_syncdb=True, verbosity=0)
    from django.db import connection

    from loopcrm.service import config_stamp

    config_stamp.install(connection)  # what migrations 0002, 0006 and 0007 do: the stamp row and its triggers
    report: dict = {"schema_seconds": round(time.perf_counter() - started, 1)}
    now = timezone.now().replace(microsecond=0)
    clock = Clock(now)
    rng = random.Random(args.seed)

    print("Organisation and desk configuration (through the services)…", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        _deps, users, owners, leaves, admin, agents, leads = organisation_rows(rng, args.users_per_department, now)
        config = configure(admin, agents, leads, clock)
    report["configuration_seconds"] = round(time.perf_counter() - started, 1)
    print(f"  {len(users) + 1} users ({sum(len(a) for a in agents.values())} agents in "
          f"{2 * len(agents)} queues), {len(config['categories'])} categories, {len(config['policies'])} SLA "
          f"policies, {len(config['versions'])} processes; {report['configuration_seconds']} s", flush=True)

    tables = {
        "customers_customer": Table(Customer, G.CUSTOMER_COLUMNS, now),
        "customers_customer_tags": Table(through(Customer, "tags"), ["id", "customer_id", "tag_id"], now),
        "service_ticket": Table(Ticket, TICKET_COLUMNS, now),
        "service_ticket_tags": Table(through(Ticket, "tags"), TAG_COLUMNS, now),
        "service_ticketevent": Table(TicketEvent, EVENT_COLUMNS, now),
        "service_ticketmessage": Table(TicketMessage, MESSAGE_COLUMNS, now),
        "service_slaclock": Table(SlaClock, CLOCK_COLUMNS, now),
        "service_ticketprocess": Table(TicketProcess, PROCESS_COLUMNS, now),
        "service_ticketstep": Table(TicketStep, STEP_COLUMNS, now),
    }
    loads = Report()
    raw = psycopg.connect(args.database_url)
    cur = raw.cursor()
    cur.execute("SET synchronous_commit = off")
    cur.execute("SET session_replication_role = replica")
    saved = secondary_indexes(cur, BIG_TABLES)
    for index, _definition in saved:
        cur.execute(f'DROP INDEX "{index}"')
    raw.commit()
    print(f"Loading (seed {args.seed}; {len(saved)} secondary indexes dropped)…", flush=True)
    generation = 0.0
    try:
        t0 = time.perf_counter()
        owner_of: list[int] = []
        vip_column = G.CUSTOMER_COLUMNS.index("is_vip")
        province_column = G.CUSTOMER_COLUMNS.index("province")
        customer_rows, vip, province_of = [], set(), []
        customer_line = tables["customers_customer"].line
        for line in G.customer_lines(random.Random(args.seed * 1000 + 1), args.customers, owners, leaves, owner_of):
            values = line[:-1].split("\t")
            if values[vip_column] == "t":
                vip.add(len(province_of) + 1)
            province_of.append(values[province_column])
            customer_rows.append(customer_line(values))
        tag_rows = [tables["customers_customer_tags"].line(line[:-1].split("\t")) for line in G.tag_lines(
            random.Random(args.seed * 1000 + 2), args.customers, len(V.TAGS))]
        generation += time.perf_counter() - t0
        copy(cur, tables["customers_customer"], customer_rows, loads)
        copy(cur, tables["customers_customer_tags"], tag_rows, loads)
        raw.commit()
        loads.show("customers_customer")
        loads.show("customers_customer_tags")
        del customer_rows, tag_rows

        history = History(tables, config, clock, args.customers, args.tickets, vip, province_of, admin.pk,
                          not args.no_messages)
        ticket_rng = random.Random(args.seed * 1000 + 5)
        load_started = time.perf_counter()
        for start in range(1, args.tickets + 1, CHUNK):
            t0 = time.perf_counter()
            rows = history.chunk(ticket_rng, start, min(CHUNK, args.tickets - start + 1))
            generation += time.perf_counter() - t0
            for table in SERVICE_TABLES:
                if rows[table]:
                    copy(cur, tables[table], rows[table], loads)
            raw.commit()
            done = start + CHUNK - 1
            if done % 200_000 == 0 or done >= args.tickets:
                elapsed = time.perf_counter() - load_started
                print(f"  … {min(done, args.tickets):,} tickets, {history.event_id:,} events in {elapsed:.0f} s",
                      flush=True)
        report["generation_seconds"] = round(generation, 1)
        report["history_seconds"] = round(time.perf_counter() - load_started, 1)
        for table in SERVICE_TABLES:
            if table in loads.tables:
                loads.show(table)
    finally:
        raw.rollback()
        print("Rebuilding indexes…", flush=True)
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
        index_report = {}
        for index, definition in saved:
            started = time.perf_counter()
            cur.execute(definition)
            raw.commit()
            index_report[index] = round(time.perf_counter() - started, 1)
            print(f"  {index:<44} {index_report[index]:7.1f} s", flush=True)
        report["indexes_seconds"] = index_report
        report["indexes_total_seconds"] = round(sum(index_report.values()), 1)

    raw.autocommit = True
    for table in BIG_TABLES:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    print("VACUUM ANALYZE…", flush=True)
    started = time.perf_counter()
    cur.execute("VACUUM (ANALYZE)")
    report["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
    cur.execute("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)", (BIG_TABLES,))
    report["sizes_mb"] = {table: round(size / 2**20) for table, size in cur.fetchall()}
    raw.close()
    report["tables"] = {k: {"rows": v["rows"], "copy_seconds": round(v["copy_seconds"], 1),
                            "rows_per_s": round(v["rows"] / max(v["copy_seconds"], 1e-9))}
                        for k, v in loads.tables.items()}
    report["total_seconds"] = round(time.perf_counter() - began, 1)
    report["generator_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["load_average"] = os.getloadavg()
    report["arguments"] = {k: v for k, v in vars(args).items() if k != "database_url"}
    print(f"Python row generation {report.get('generation_seconds')} s; indexes {report['indexes_total_seconds']} s; "
          f"VACUUM ANALYZE {report['vacuum_analyze_seconds']} s; sizes (MB, with indexes) {report['sizes_mb']}")
    print(f"Total {report['total_seconds']} s; generator peak memory {report['generator_peak_mb']} MB; "
          f"load average {', '.join(f'{x:.1f}' for x in report['load_average'])}.")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
