"""Demo standard service processes and routing rules, and the step history of the demo tickets.

Runs AFTER the demo tickets exist (they are opened through the ticket services without a process, since
none is published yet). It publishes four processes — the complaint process in two versions, so older
tickets follow v1 — adds routing rules for new tickets, then gives each demo ticket the process version
that was current when it opened, with realistic step timing written in bulk (TicketStep rows and
STEP_STARTED / STEP_COMPLETED / STEP_OVERRIDDEN events). One step is slow on purpose: "diagnose" in the
repair process takes about three times its target, the bottleneck process mining should find
(demo/story.py tells the whole story).
"""

from __future__ import annotations

import datetime as dt
import math
import random

from loopcrm.accounts.models import Role
from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.story import SLOW_FACTOR, SLOW_STEP, version_two_at
from loopcrm.service.models import (
    ProcessStep,
    ProcessVersion,
    Queue,
    Ticket,
    TicketEvent,
    TicketProcess,
    TicketStep,
)
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import routing as routing_services
from loopcrm.service.services.processes import StepSpec

V2_NOTE = "首次响应 30 分钟、增加闭环回访 Faster first call, close the loop"
OVERRIDE_NOTE = "结案时跳过 Overridden when resolved"
OVERRIDE_REASON = "客户已满意 Customer satisfied"
SLOW = (*SLOW_STEP, SLOW_FACTOR)  # (process key, step key, how many times its target it takes)

A, L = Role.AGENT, Role.TEAM_LEAD


def _steps(rows: list[tuple]) -> list[StepSpec]:
    """(key, name, role, target minutes, mandatory, checklist, required fields, start on, complete on)."""
    return [StepSpec(key=key, name=name, responsible_role=role, target_minutes=target, is_mandatory=mandatory,
                     checklist=list(checklist), required_fields=list(required), start_on_status=start_on,
                     complete_on_status=complete_on)
            for key, name, role, target, mandatory, checklist, required, start_on, complete_on in rows]


PROCESSES = {
    "repair": ("售后维修流程 After-sales repair", Ticket.Kind.REPAIR, [_steps([
        ("triage", "受理登记 Register", A, 30, True, ["核对购买记录 Purchase checked", "记录故障现象 Symptom noted"],
         [], "", ""),
        ("diagnose", "故障诊断 Diagnose", A, 240, True, ["远程排查 Remote check done"], [], "", "on_hold"),
        ("repair", "维修处理 Repair", L, 480, True, [], ["corrective_action"], "", ""),
        ("call-back", "回访确认 Call back", A, 60, False, [], [], "", ""),
    ])]),
    "complaint": ("投诉处理流程 Complaint handling", Ticket.Kind.COMPLAINT, [
        _steps([
            ("acknowledge", "受理致歉 Acknowledge", A, 60, True, [], [], "", ""),
            ("investigate", "调查原因 Investigate", L, 480, True, [], ["root_cause"], "", ""),
            ("resolve", "处理答复 Resolve and reply", L, 480, True, [], ["corrective_action"], "", "resolved"),
        ]),
        _steps([  # v2: a first call within 30 minutes, and closing the loop with the customer
            ("acknowledge", "受理致歉 Acknowledge", A, 30, True, ["致电客户 Customer called"], [], "", ""),
            ("investigate", "调查原因 Investigate", L, 480, True, [], ["root_cause"], "", ""),
            ("resolve", "处理答复 Resolve and reply", L, 480, True, [], ["corrective_action"], "", ""),
            ("close-loop", "闭环回访 Close the loop", A, 120, True, [], [], "resolved", ""),
        ]),
    ]),
    "return": ("退换货流程 Returns and exchanges", Ticket.Kind.RETURN, [_steps([
        ("verify", "核实订单 Verify the order", A, 60, True, [], ["order"], "", ""),
        ("approve", "审批 Approve", L, 240, True, [], [], "", ""),
        ("refund", "退款或换货 Refund or exchange", A, 480, True, [], [], "", ""),
    ])]),
    "inquiry": ("咨询答复 Answering an inquiry", "", [_steps([
        ("answer", "答复客户 Answer the customer", A, 120, True, [], [], "", "resolved"),
    ])]),
}


def _publish(staff, calendar: DemoCalendar, first: dt.datetime) -> dict[str, list[ProcessVersion]]:
    admin = next(iter(staff.by_role(Role.ADMINISTRATOR)), None)
    versions: dict[str, list[ProcessVersion]] = {}
    for key, (name, kind, specs) in PROCESSES.items():
        definition = process_services.create_definition(key=key, name=name, ticket_kind=kind, by=admin)
        published = []
        for number, steps in enumerate(specs, start=1):
            # v1 is in force before the first ticket; the complaint process's v2 is the demo cycle's change.
            at = first - dt.timedelta(days=1) if number == 1 else version_two_at(calendar)
            note = "首版 First version" if number == 1 else V2_NOTE
            published.append(process_services.publish_version(definition, steps=steps, change_note=note, by=admin,
                                                              at=at))
        versions[key] = published
    return versions


def _routing(staff) -> None:
    """Routing rules for tickets opened from now on (the demo's history was routed when it was opened)."""
    admin = next(iter(staff.by_role(Role.ADMINISTRATOR)), None)
    service = staff.departments.get("cs")
    queues = list(Queue.objects.filter(is_active=True).select_related("department").order_by("id"))
    in_service = [queue for queue in queues if service is not None and queue.department_id == service.pk]
    first_queue = in_service[0] if in_service else None
    target = {"queue": first_queue} if first_queue else {"department": service}
    if service is None and first_queue is None:
        return
    routing_services.create_rule(by=admin, name="VIP 投诉优先 VIP complaints first", kinds=["complaint"],
                                 customer_vip=True, set_priority=Ticket.Priority.URGENT, **target)
    routing_services.create_rule(by=admin, name="退款关键词 Refund keywords", keywords=["退款", "refund", "退货"],
                                 set_priority=Ticket.Priority.HIGH, **target)
    routing_services.create_rule(by=admin, name="华东配送投诉 East China delivery complaints", kinds=["complaint"],
                                 provinces=["江苏省", "浙江省", "上海市", "安徽省"], **target)
    routing_services.create_rule(by=admin, name="其余工单 Everything else", **target)


def _duration(rng: random.Random, target: int, factor: float) -> int:
    """Minutes a step took: log-normal around `factor` × its target (most near it, a few far over)."""
    return max(1, int(target * factor * math.exp(rng.gauss(-0.1, 0.45))))


def load_processes(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    """Processes, routing rules, and the step history of every demo ticket that has no process yet."""
    tickets = list(Ticket.objects.filter(process__isnull=True).order_by("opened_at", "id")
                   .values_list("id", "kind", "opened_at", "resolved_at", "closed_at", "assignee_id"))
    first = tickets[0][2] if tickets else calendar.start
    versions = _publish(staff, calendar, min(first, calendar.start))
    _routing(staff)
    steps_of = {version.pk: list(ProcessStep.objects.filter(version=version).order_by("position"))
                for published in versions.values() for version in published}
    by_kind = {kind: versions[key] for key, (_name, kind, _specs) in PROCESSES.items() if kind}
    fallback = versions["inquiry"]
    rng = random.Random(f"{seed}/processes")
    now = calendar.now
    processes, plans = [], []
    for ticket_id, kind, opened_at, resolved_at, closed_at, assignee_id in tickets:
        candidates = by_kind.get(kind, fallback)
        version = next((v for v in reversed(candidates) if v.published_at <= opened_at), candidates[0])
        processes.append(TicketProcess(ticket_id=ticket_id, version=version, started_at=opened_at))
        plans.append((ticket_id, version, opened_at, resolved_at or closed_at, assignee_id))
    loader.insert(processes, audited=False)
    process_ids = {process.ticket_id: process.pk for process in processes}

    rows, events = [], []
    for ticket_id, version, opened_at, finished_at, assignee_id in plans:
        steps = steps_of[version.pk]
        end = finished_at or now
        moment = opened_at + dt.timedelta(minutes=rng.randint(1, 20))
        planned = []
        for step in steps:
            factor = SLOW[2] if (version.definition.key, step.key) == SLOW[:2] else 1.0
            planned.append(_duration(rng, step.target_minutes, factor))
        window = (end - moment).total_seconds() / 60
        if finished_at is not None and sum(planned) > window * 0.95 > 0:
            scale = window * 0.95 / sum(planned)  # a resolved ticket finished its steps within its life
            planned = [max(1, int(minutes * scale)) for minutes in planned]
        for step, minutes in zip(steps, planned, strict=True):
            row = TicketStep(ticket_process_id=process_ids[ticket_id], step=step, position=step.position,
                             checklist_state=list(range(len(step.checklist or []))))
            skip_optional = not step.is_mandatory and rng.random() < 0.3
            if moment >= end:
                if finished_at is not None and step.is_mandatory:  # resolved before it was reached: overridden
                    row.status, row.completed_at, row.note = TicketStep.Status.SKIPPED, end, OVERRIDE_NOTE
                    events.append(TicketEvent(ticket_id=ticket_id, kind=TicketEvent.Kind.STEP_OVERRIDDEN, at=end,
                                              actor_id=assignee_id, field="step", step=step.key, old="pending",
                                              new="skipped", data={"reason": OVERRIDE_REASON}))
                rows.append(row)  # otherwise: not reached yet
                continue
            row.started_at, row.started_by_id = moment, assignee_id
            row.status = TicketStep.Status.ACTIVE
            events.append(TicketEvent(ticket_id=ticket_id, kind=TicketEvent.Kind.STEP_STARTED, at=moment,
                                      actor_id=assignee_id, field="step", step=step.key, old="pending", new="active"))
            done_at = moment + dt.timedelta(minutes=minutes)
            if done_at > end:
                if finished_at is not None and step.is_mandatory:
                    row.status, row.completed_at, row.note = TicketStep.Status.SKIPPED, end, OVERRIDE_NOTE
                    row.duration_minutes = int((end - moment).total_seconds() // 60)
                    events.append(TicketEvent(ticket_id=ticket_id, kind=TicketEvent.Kind.STEP_OVERRIDDEN, at=end,
                                              actor_id=assignee_id, field="step", step=step.key, old="active",
                                              new="skipped", data={"reason": OVERRIDE_REASON}))
                rows.append(row)
                moment = end
                continue
            row.status = TicketStep.Status.SKIPPED if skip_optional else TicketStep.Status.DONE
            row.completed_at, row.completed_by_id = done_at, assignee_id
            row.duration_minutes = minutes
            events.append(TicketEvent(ticket_id=ticket_id, kind=TicketEvent.Kind.STEP_COMPLETED, at=done_at,
                                      actor_id=assignee_id, field="step", step=step.key, old="active",
                                      new=row.status, data={"duration_minutes": minutes,
                                                            "target_minutes": step.target_minutes}))
            rows.append(row)
            moment = done_at + dt.timedelta(minutes=rng.randint(0, 30))
    loader.insert(rows, audited=False)
    loader.insert(events, audited=False)
    loader.say(f"Processes: {len(versions)} published, {len(processes):,} tickets given their steps "
               f"({len(events):,} step events).")
