"""Standard service processes: a ticket follows the version current when it opened, step by step.

Every start and finish of a step is a TicketEvent (STEP_STARTED / STEP_COMPLETED / STEP_OVERRIDDEN, with
`step` = the step key): the log process mining reads. Publishing never edits a version: it adds one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, Role, User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.service.models import (
    ProcessDefinition,
    ProcessStep,
    ProcessVersion,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketProcess,
    TicketStep,
)
from loopcrm.service.queries.config import DeskConfig, desk_config
from loopcrm.service.queries.processes import OPEN_STEP, missing_fields, step_minutes
from loopcrm.service.services.events import record_event

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_STEPS = 50
MAX_TARGET_MINUTES = 60 * 24 * 365  # a year of minutes: anything longer is a typo
MAX_CHECKLIST = 30
# Ticket fields a step may require before it is completed.
REQUIRED_FIELD_CHOICES = (
    "description", "category", "contact", "order", "severity", "root_cause", "corrective_action",
    "compensation_amount", "assignee", "department", "queue",
)


@dataclass
class StepSpec:
    """A step as the editor or the API describes it, before it is published in a version."""

    key: str
    name: str
    target_minutes: int
    description: str = ""
    responsible_role: str = ""
    responsible_department: Department | None = None
    is_mandatory: bool = True
    checklist: list[str] = field(default_factory=list)
    required_fields: list[str] = field(default_factory=list)
    start_on_status: str = ""
    complete_on_status: str = ""


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _event(ticket_id: int, kind: str, *, step: str, by: User | None, at: dt.datetime, old: str = "",
           new: str = "", data: dict | None = None, into: list[TicketEvent] | None = None) -> TicketEvent:
    return record_event(Ticket(pk=ticket_id), kind, by=by, at=at, field="step", step=step, old=old, new=new,
                        data=data, into=into)


# --- definitions and versions -------------------------------------------------------------------

def _check_scope(*, key: str, name: str, ticket_kind: str) -> None:
    if not KEY.match(key or ""):
        raise RuleViolation(_("A key is 1 to 50 lower-case letters, digits, - or _, starting with a letter or digit."),
                            field="key")
    if not (name or "").strip():
        raise RuleViolation(_("Give the process a name."), field="name")
    if ticket_kind and ticket_kind not in Ticket.Kind.values:
        raise RuleViolation(_("Unknown ticket kind %(kind)s.") % {"kind": repr(ticket_kind)}, field="ticket_kind")


@transaction.atomic
def create_definition(*, key: str, name: str, ticket_kind: str = "", category: TicketCategory | None = None,
                      description: str = "", by: User, at: dt.datetime | None = None) -> ProcessDefinition:
    """A new standard service process (no version yet: publish one to put it to work)."""
    _check_scope(key=key, name=name, ticket_kind=ticket_kind)
    if ProcessDefinition.objects.filter(key=key).exists():
        raise Conflict(_("A process with the key %(key)s exists already.") % {"key": key}, field="key")
    definition = ProcessDefinition.objects.create(key=key, name=name.strip(), ticket_kind=ticket_kind,
                                                  category=category, description=description, created_by=by)
    audit.record(action="create", obj=definition, by=by, at=_now(at),
                 changes={"key": key, "name": definition.name, "ticket_kind": ticket_kind,
                          "category": category.pk if category else None})
    return definition


@transaction.atomic
def update_definition(definition: ProcessDefinition, *, by: User, at: dt.datetime | None = None,
                      **changes) -> ProcessDefinition:
    """Change what a process is called and which tickets it applies to (its steps change by a new version)."""
    allowed = {"name", "description", "ticket_kind", "category", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        fields = ", ".join(sorted(unknown))
        raise RuleViolation(_("These fields cannot be changed here: %(fields)s.") % {"fields": fields},
                            field=sorted(unknown)[0])
    definition = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
    before = audit.snapshot(definition, changes)
    for name, value in changes.items():
        setattr(definition, name, value)
    _check_scope(key=definition.key, name=definition.name, ticket_kind=definition.ticket_kind)
    definition.name = definition.name.strip()
    definition.save(update_fields=[*changes, "updated_at"])
    audit.record(action="update", obj=definition, by=by, at=_now(at),
                 changes=audit.diff(before, audit.snapshot(definition, changes)))
    return definition


def validate_steps(steps: Sequence[StepSpec]) -> None:
    """Refuse a version that cannot be run: no steps, duplicate keys, targets that are not positive…"""
    if not steps:
        raise RuleViolation(_("A process needs at least one step."), field="steps")
    if len(steps) > MAX_STEPS:
        raise RuleViolation(_("A process has at most %(max)s steps.") % {"max": MAX_STEPS}, field="steps")
    seen: set[str] = set()
    roles = set(Role.values)
    statuses = set(Ticket.Status.values)
    for index, step in enumerate(steps):
        n = {"n": index + 1}

        def fail(message: str, name: str, index: int = index) -> RuleViolation:
            return RuleViolation(message, field=f"steps[{index}].{name}")

        if not KEY.match(step.key or ""):
            raise fail(_("Step %(n)s: a key is 1 to 50 lower-case letters, digits, - or _.") % n, "key")
        if step.key in seen:
            raise fail(_("Step %(n)s: another step already has the key %(key)s.") % {**n, "key": step.key}, "key")
        seen.add(step.key)
        if not (step.name or "").strip() or len(step.name) > 100:
            raise fail(_("Step %(n)s needs a name of at most 100 characters.") % n, "name")
        if isinstance(step.target_minutes, bool) or not isinstance(step.target_minutes, int) \
                or not 0 < step.target_minutes <= MAX_TARGET_MINUTES:
            raise fail(_("Step %(n)s: the target must be a whole number of minutes above 0 (at most a year).") % n,
                       "target_minutes")
        if step.responsible_role and step.responsible_role not in roles:
            raise fail(_("Step %(n)s: unknown role.") % n, "responsible_role")
        for name in ("start_on_status", "complete_on_status"):
            if getattr(step, name) and getattr(step, name) not in statuses:
                raise fail(_("Step %(n)s: unknown ticket status.") % n, name)
        if step.start_on_status and step.start_on_status == step.complete_on_status:
            raise fail(_("Step %(n)s cannot start and complete on the same status.") % n, "complete_on_status")
        items = step.checklist or []
        if len(items) > MAX_CHECKLIST or any(not str(item).strip() or len(str(item)) > 200 for item in items):
            raise fail(_("Step %(n)s: at most 30 checklist items, each 1 to 200 characters.") % n, "checklist")
        if any(name not in REQUIRED_FIELD_CHOICES for name in step.required_fields or []):
            raise fail(_("Step %(n)s: tickets have no field that can be required by that name.") % n,
                       "required_fields")


@transaction.atomic
def publish_version(definition: ProcessDefinition, *, steps: Sequence[StepSpec], change_note: str = "",
                    by: User, at: dt.datetime | None = None) -> ProcessVersion:
    """Publish the next version of `definition` with `steps`; it becomes current for tickets opened from now.

    Tickets already following an older version keep it.
    """
    at = _now(at)
    validate_steps(steps)
    definition = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
    last = definition.versions.aggregate(last=Max("number"))["last"] or 0
    definition.versions.filter(is_current=True).update(is_current=False)
    try:
        with transaction.atomic():
            version = ProcessVersion.objects.create(definition=definition, number=last + 1, published_at=at,
                                                    published_by=by, change_note=(change_note or "").strip()[:500],
                                                    is_current=True)
    except IntegrityError as error:  # someone published at the same moment (SQLite has no row lock)
        raise Conflict(_("Someone else published a version of this process just now; reload and try again."),
                       field="steps") from error
    ProcessStep.objects.bulk_create([
        ProcessStep(version=version, position=position, key=spec.key, name=spec.name.strip(),
                    description=spec.description, responsible_role=spec.responsible_role,
                    responsible_department=spec.responsible_department, target_minutes=spec.target_minutes,
                    is_mandatory=spec.is_mandatory, checklist=[str(item).strip() for item in spec.checklist or []],
                    required_fields=list(spec.required_fields or []), start_on_status=spec.start_on_status,
                    complete_on_status=spec.complete_on_status)
        for position, spec in enumerate(steps, start=1)
    ])
    audit.record(action="create", obj=version, by=by, at=at,
                 changes={"number": version.number, "steps": [spec.key for spec in steps]}, note=version.change_note)
    return version


def specs_of(version: ProcessVersion) -> list[StepSpec]:
    """A version's steps as specs, to start the editor from (publishing them again makes a new version)."""
    return [StepSpec(key=step.key, name=step.name, target_minutes=step.target_minutes, description=step.description,
                     responsible_role=step.responsible_role, responsible_department=step.responsible_department,
                     is_mandatory=step.is_mandatory, checklist=list(step.checklist or []),
                     required_fields=list(step.required_fields or []), start_on_status=step.start_on_status,
                     complete_on_status=step.complete_on_status)
            for step in version.steps.select_related("responsible_department").order_by("position")]


# --- which process a ticket follows ---------------------------------------------------------------

def process_for_ticket(ticket: Ticket, *, config: DeskConfig | None = None) -> ProcessVersion | None:
    """The current version of the most specific active process for the ticket's kind and category."""
    config = config or desk_config()
    lineage = config.lineage(ticket.category_id)
    best, best_score = None, None
    for version in config.processes:
        definition = version.definition
        if definition.ticket_kind and definition.ticket_kind != ticket.kind:
            continue
        if definition.category_id is not None and definition.category_id not in lineage:
            continue
        # Nearer category first, then a named kind, then the older definition.
        depth = lineage.index(definition.category_id) if definition.category_id is not None else len(lineage) + 1
        score = (depth, 0 if definition.ticket_kind else 1, definition.pk)
        if best_score is None or score < best_score:
            best, best_score = version, score
    return best


@transaction.atomic(savepoint=False)
def start_process(ticket: Ticket, *, by: User | None, at: dt.datetime, config: DeskConfig | None = None,
                  events: list[TicketEvent] | None = None, new_ticket: bool = False) -> None:
    """Attach the current version of the process matching the ticket's kind/category and start its first step.

    Nothing happens when no process applies or the ticket follows one already (`new_ticket`: the caller
    just created it, so it follows none). With `events`, the STEP_STARTED event is added there, unwritten.
    """
    if not new_ticket and TicketProcess.objects.filter(ticket_id=ticket.pk).exists():
        return
    collected: list[TicketEvent] = [] if events is None else events
    start_processes([(ticket, at, collected)], by=by, config=config)
    if events is None:
        for event in collected:
            event.save(force_insert=True)


def start_processes(tickets: Sequence[tuple[Ticket, dt.datetime, list[TicketEvent]]], *, by: User | None,
                    config: DeskConfig | None = None) -> None:
    """`start_process` for new tickets (each with when it opened and the list its events go to): the processes
    in one insert, their steps in another, the first step of each started."""
    config = config or desk_config()
    started = [(ticket, at, events, version) for ticket, at, events in tickets
               if (version := process_for_ticket(ticket, config=config)) is not None]
    if not started:
        return
    rows = [TicketProcess(ticket=ticket, version=version, started_at=at) for ticket, at, _events, version in started]
    TicketProcess.objects.bulk_create(rows)
    starter = by if getattr(by, "pk", None) else None
    steps_of = []
    for process, (_ticket, _at, _events, version) in zip(rows, started, strict=True):
        steps = config.steps.get(version.pk) or tuple(version.steps.order_by("position"))
        steps_of.append(steps)
        if process.pk is None:  # backends that do not return ids from bulk inserts
            process.pk = TicketProcess.objects.get(ticket_id=process.ticket_id).pk
    # The first step starts now: written started in the same insert as the others.
    TicketStep.objects.bulk_create([
        TicketStep(ticket_process=process, step=step, position=step.position,
                   **({"status": TicketStep.Status.ACTIVE, "started_at": at, "started_by": starter}
                      if index == 0 else {}))
        for process, (_ticket, at, _events, _version), steps in zip(rows, started, steps_of, strict=True)
        for index, step in enumerate(steps)
    ])
    for (ticket, at, events, version), steps in zip(started, steps_of, strict=True):
        if steps:
            _event(ticket.pk, TicketEvent.Kind.STEP_STARTED, step=steps[0].key, by=by, at=at,
                   old=TicketStep.Status.PENDING, new=TicketStep.Status.ACTIVE,
                   data={"process": version.definition.key, "version": version.number}, into=events)


def _locked(ticket_step: TicketStep) -> TicketStep:
    return (TicketStep.objects.select_for_update().select_related("step", "ticket_process")
            .get(pk=ticket_step.pk))


def _start(row: TicketStep, *, by: User | None, at: dt.datetime, data: dict | None = None) -> TicketStep:
    row.status = TicketStep.Status.ACTIVE
    row.started_at = at
    row.started_by = by if getattr(by, "pk", None) else None
    row.save(update_fields=["status", "started_at", "started_by"])
    _event(row.ticket_process.ticket_id, TicketEvent.Kind.STEP_STARTED, step=row.step.key, by=by, at=at,
           old=TicketStep.Status.PENDING, new=TicketStep.Status.ACTIVE, data=data)
    return row


def _start_next(process: TicketProcess, *, by: User | None, at: dt.datetime) -> None:
    """After a step ends, the next step not yet started begins, unless another one is already under way."""
    rows = TicketStep.objects.filter(ticket_process=process)
    if rows.filter(status=TicketStep.Status.ACTIVE).exists():
        return
    following = rows.filter(status=TicketStep.Status.PENDING).select_related("step", "ticket_process") \
        .order_by("position").first()
    if following is not None:
        _start(following, by=by, at=at, data={"after_previous": True})


@transaction.atomic
def start_step(ticket_step: TicketStep, *, by: User | None, at: dt.datetime | None = None) -> TicketStep:
    """Begin work on a step (steps may run side by side; one not started yet is the only one that can begin)."""
    at = _now(at)
    row = _locked(ticket_step)
    if row.status != TicketStep.Status.PENDING:
        raise RuleViolation(_("%(step)s is %(status)s; only a step not started yet can be started.")
                            % {"step": row.step.name, "status": row.get_status_display().lower()}, field="status")
    return _start(row, by=by, at=at)


def _completion_problem(row: TicketStep, ticket: Ticket, at: dt.datetime) -> RuleViolation | None:
    if row.status != TicketStep.Status.ACTIVE:
        if row.status == TicketStep.Status.PENDING:
            return RuleViolation(_("%(step)s has not started; start it before completing it.")
                                 % {"step": row.step.name}, field="status")
        return RuleViolation(_("%(step)s is %(status)s already.")
                             % {"step": row.step.name, "status": row.get_status_display().lower()}, field="status")
    if row.started_at is not None and at < row.started_at:
        return RuleViolation(_("A step cannot be completed before it started."), field="at")
    ticked = set(row.checklist_state or [])
    open_items = [item for index, item in enumerate(row.step.checklist or []) if index not in ticked]
    if open_items:
        return RuleViolation(_("Tick every checklist item first: %(items)s.") % {"items": "; ".join(open_items)},
                             field="checklist", extra={"open_items": open_items})
    missing = missing_fields(ticket, row.step.required_fields or [])
    if missing:
        labels = [str(Ticket._meta.get_field(name).verbose_name) for name in missing]
        return RuleViolation(_("Fill in the ticket's %(fields)s first.") % {"fields": ", ".join(labels)},
                             field=missing[0], extra={"missing_fields": missing})
    return None


def _finish(row: TicketStep, status: str, *, by: User | None, at: dt.datetime, data: dict | None = None,
            note: str = "") -> TicketStep:
    old = row.status
    row.status = status
    row.completed_at = at
    row.completed_by = by if getattr(by, "pk", None) else None
    row.duration_minutes = step_minutes(row.started_at, at) if row.started_at else None
    row.note = note[:500]
    row.save(update_fields=["status", "completed_at", "completed_by", "duration_minutes", "note"])
    details = {**(data or {}), "target_minutes": row.step.target_minutes}
    if row.duration_minutes is not None:
        details["duration_minutes"] = row.duration_minutes
    kind = TicketEvent.Kind.STEP_COMPLETED
    _event(row.ticket_process.ticket_id, kind, step=row.step.key, by=by, at=at, old=old, new=status, data=details)
    return row


def _tick(row: TicketStep, checklist: Iterable[int] | None) -> None:
    if checklist is None:
        return
    items = row.step.checklist or []
    indexes = sorted(set(checklist))
    if any(isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(items) for index in indexes):
        raise RuleViolation(_("This step's checklist has items 0 to %(last)s.") % {"last": len(items) - 1},
                            field="checklist")
    row.checklist_state = sorted(set(row.checklist_state or []) | set(indexes))
    row.save(update_fields=["checklist_state"])


@transaction.atomic
def tick_checklist(ticket_step: TicketStep, *, index: int, ticked: bool = True, by: User | None,
                   at: dt.datetime | None = None) -> TicketStep:
    """Tick (or untick) one checklist item of an open step."""
    row = _locked(ticket_step)
    if row.status not in OPEN_STEP:
        raise RuleViolation(_("%(step)s is finished; its checklist is closed.") % {"step": row.step.name},
                            field="checklist")
    items = row.step.checklist or []
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(items):
        raise RuleViolation(_("This step has no checklist item %(index)s.") % {"index": index}, field="checklist")
    state = set(row.checklist_state or [])
    state = state | {index} if ticked else state - {index}
    row.checklist_state = sorted(state)
    row.save(update_fields=["checklist_state"])
    return row


@transaction.atomic
def complete_step(ticket_step: TicketStep, *, by: User | None, at: dt.datetime | None = None,
                  checklist: Iterable[int] | None = None, note: str = "") -> TicketStep:
    """Finish a step that is under way: its checklist ticked and the ticket fields it requires filled.

    `checklist` ticks those items (by index) first. The next step not yet started begins.
    """
    at = _now(at)
    row = _locked(ticket_step)
    ticket = Ticket.objects.get(pk=row.ticket_process.ticket_id)
    if row.status == TicketStep.Status.ACTIVE:
        _tick(row, checklist)
    problem = _completion_problem(row, ticket, at)
    if problem is not None:
        raise problem
    _finish(row, TicketStep.Status.DONE, by=by, at=at, note=note)
    _start_next(row.ticket_process, by=by, at=at)
    return row


@transaction.atomic
def skip_step(ticket_step: TicketStep, *, by: User | None, at: dt.datetime | None = None,
              reason: str = "") -> TicketStep:
    """Leave out an optional step (a mandatory one can only be overridden when the ticket is resolved)."""
    at = _now(at)
    row = _locked(ticket_step)
    if row.status not in OPEN_STEP:
        raise RuleViolation(_("%(step)s is %(status)s already.")
                            % {"step": row.step.name, "status": row.get_status_display().lower()}, field="status")
    if row.step.is_mandatory:
        raise RuleViolation(_("%(step)s is mandatory and cannot be skipped.") % {"step": row.step.name},
                            field="status")
    _finish(row, TicketStep.Status.SKIPPED, by=by, at=at, data={"reason": reason[:500]} if reason else None,
            note=reason)
    _start_next(row.ticket_process, by=by, at=at)
    return row


@transaction.atomic
def on_status_change(ticket: Ticket, old: str, new: str, *, by: User | None, at: dt.datetime) -> None:
    """Complete or start steps that are tied to a status.

    A step that completes on the new status is finished if its checks pass (a step not started yet is
    started and finished at once); if its checklist or fields are not done it stays open for a person to
    finish, and the status change goes ahead. A step that starts on the new status begins.
    """
    if old == new:
        return
    process = TicketProcess.objects.filter(ticket_id=ticket.pk).first()
    if process is None:
        return
    rows = list(TicketStep.objects.select_for_update().select_related("step", "ticket_process")
                .filter(ticket_process=process, status__in=OPEN_STEP).order_by("position"))
    finished = False
    for row in rows:
        auto = {"auto": True, "status": new}
        if row.step.complete_on_status == new:
            if row.status == TicketStep.Status.PENDING:
                _start(row, by=by, at=at, data=auto)
            if _completion_problem(row, ticket, at) is None:
                _finish(row, TicketStep.Status.DONE, by=by, at=at, data=auto)
                finished = True
        elif row.step.start_on_status == new and row.status == TicketStep.Status.PENDING:
            _start(row, by=by, at=at, data=auto)
    if finished:
        _start_next(process, by=by, at=at)


def _done_by_resolving(row: TicketStep, ticket: Ticket) -> bool:
    """Whether resolving itself takes care of the step: it completes on "resolved" and its checks pass, or
    it only starts then (work after the resolution, such as a call back)."""
    resolved = Ticket.Status.RESOLVED
    if row.step.start_on_status == resolved:
        return True
    if row.step.complete_on_status != resolved:
        return False
    ticked = set(row.checklist_state or [])
    return all(index in ticked for index in range(len(row.step.checklist or []))) \
        and not missing_fields(ticket, row.step.required_fields or [])


@transaction.atomic
def check_can_resolve(ticket: Ticket, *, override_reason: str = "", by: User | None, at: dt.datetime) -> None:
    """Raise RuleViolation if mandatory steps are open and no override reason is given; record an override.

    Steps that resolving completes (or starts) by their status do not count as open. With a reason, each
    open mandatory step is closed as skipped and a STEP_OVERRIDDEN event names it and the reason.
    """
    process = TicketProcess.objects.filter(ticket_id=ticket.pk).first()
    if process is None:
        return
    open_rows = list(TicketStep.objects.select_for_update().select_related("step", "ticket_process")
                     .filter(ticket_process=process, status__in=OPEN_STEP, step__is_mandatory=True)
                     .order_by("position"))
    open_rows = [row for row in open_rows if not _done_by_resolving(row, ticket)]
    if not open_rows:
        return
    reason = (override_reason or "").strip()
    names = [row.step.name for row in open_rows]
    if not reason:
        raise RuleViolation(
            _("Mandatory steps are still open: %(steps)s. Complete them, or give a reason to resolve anyway.")
            % {"steps": ", ".join(names)}, field="override_reason",
            extra={"open_steps": [row.step.key for row in open_rows]},
        )
    for row in open_rows:
        old = row.status
        row.status = TicketStep.Status.SKIPPED
        row.completed_at = at
        row.completed_by = by if getattr(by, "pk", None) else None
        row.duration_minutes = step_minutes(row.started_at, at) if row.started_at else None
        row.note = reason[:500]
        row.save(update_fields=["status", "completed_at", "completed_by", "duration_minutes", "note"])
        _event(ticket.pk, TicketEvent.Kind.STEP_OVERRIDDEN, step=row.step.key, by=by, at=at, old=old,
               new=TicketStep.Status.SKIPPED, data={"reason": reason[:500], "target_minutes": row.step.target_minutes})
