"""Reads of standard service processes: definitions for the config pages, a ticket's step progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound
from loopcrm.service.flowchart import FlowStep
from loopcrm.service.models import ProcessDefinition, ProcessStep, ProcessVersion, Ticket, TicketProcess, TicketStep
from loopcrm.service.queries.config import current_stamp, stamped_list

MAX_ID = 2**63 - 1
OPEN_STEP = (TicketStep.Status.PENDING, TicketStep.Status.ACTIVE)


def step_minutes(start: dt.datetime, end: dt.datetime) -> int:
    """Minutes a step took between `start` and `end`, as measured against its target.

    Elapsed (wall-clock) minutes today; the place to measure in business minutes on the ticket's
    calendar once the SLA owner's calendar arithmetic is there.
    """
    return max(0, int((end - start).total_seconds() // 60))


# --- configuration ----------------------------------------------------------------------------------

def processes_for(user: User, action: str = "view") -> QuerySet[ProcessDefinition]:
    """Process definitions `user` may see (or change): service configuration is all-or-nothing by role."""
    if not can(user, "service_config", action):
        return ProcessDefinition.objects.none()
    return ProcessDefinition.objects.select_related("category")


def get_process_for(user: User, definition_id: int, action: str = "view") -> ProcessDefinition:
    from loopcrm.core.errors import PermissionDenied

    if not isinstance(definition_id, int) or not 0 < definition_id <= MAX_ID:
        raise NotFound(_("No process #%(id)s.") % {"id": definition_id})
    definition = processes_for(user, action).filter(pk=definition_id).first()
    if definition is not None:
        return definition
    if action != "view" and processes_for(user, "view").filter(pk=definition_id).exists():
        raise PermissionDenied(_("Your role may not change service processes."))
    raise NotFound(_("No process #%(id)s.") % {"id": definition_id})


def current_versions(definitions) -> dict[int, ProcessVersion]:
    """The current version of each definition, by definition id (one query)."""
    ids = [definition.pk for definition in definitions]
    return {version.definition_id: version
            for version in ProcessVersion.objects.filter(definition_id__in=ids, is_current=True)}


def get_version(definition: ProcessDefinition, number: int | None = None) -> ProcessVersion:
    """A version of `definition` with its steps (the current one when `number` is None)."""
    versions = ProcessVersion.objects.filter(definition=definition).select_related("published_by").prefetch_related(
        Prefetch("steps", queryset=ProcessStep.objects.select_related("responsible_department").order_by("position"))
    )
    if number is None:
        version = versions.filter(is_current=True).first()
    elif not 0 < number <= 2**31 - 1:
        version = None
    else:
        version = versions.filter(number=number).first()
    if version is None:
        raise NotFound(_("%(process)s has no version %(number)s.") % {"process": definition, "number": number or ""},
                       field="number")
    return version


def flow_steps(version: ProcessVersion) -> list[FlowStep]:
    """The version's steps as the flowchart draws them."""
    from loopcrm.accounts.models import Role

    roles = dict(Role.choices)
    statuses = dict(Ticket.Status.choices)
    steps = []
    for step in version.steps.all():
        responsible = [str(roles.get(step.responsible_role, step.responsible_role))] if step.responsible_role else []
        if step.responsible_department is not None:
            responsible.append(step.responsible_department.name)
        steps.append(FlowStep(key=step.key, name=step.name, responsible=" · ".join(responsible),
                              target_minutes=step.target_minutes, mandatory=step.is_mandatory,
                              start_on_status=str(statuses.get(step.start_on_status, step.start_on_status)),
                              complete_on_status=str(statuses.get(step.complete_on_status, step.complete_on_status))))
    return steps


# --- a ticket's progress ----------------------------------------------------------------------------

@dataclass
class StepProgress:
    """One step of a ticket's process as the ticket page shows it: status, time taken against target."""

    id: int  # the TicketStep id (what the start/complete/skip actions take)
    key: str
    name: str
    position: int
    status: str
    status_label: str
    is_mandatory: bool
    responsible_role: str
    responsible_department: str
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: str
    elapsed_minutes: int | None  # so far (active) or in total (done); None before it starts
    target_minutes: int
    over_target: bool | None  # None while not started
    minutes_over: int  # how far past the target (0 when within)
    checklist: list[tuple[str, bool]] = field(default_factory=list)
    required_fields: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    # Resolving the ticket finishes (or starts) this step by its status, so it does not hold resolving back.
    done_by_resolving: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STEP


@dataclass
class ProcessProgress:
    """A ticket's process: which version, each step's progress, and whether it may be resolved as it stands."""

    definition_id: int
    process_name: str
    version_number: int
    started_at: dt.datetime
    steps: list[StepProgress]

    @property
    def open_mandatory(self) -> list[StepProgress]:
        return [step for step in self.steps if step.is_mandatory and step.is_open and not step.done_by_resolving]

    @property
    def can_resolve(self) -> bool:
        return not self.open_mandatory

    @property
    def current(self) -> StepProgress | None:
        return next((step for step in self.steps if step.status == TicketStep.Status.ACTIVE), None)


def missing_fields(ticket: Ticket, names: list[str]) -> list[str]:
    """The required ticket fields (by name) that are still empty."""
    missing = []
    for name in names:
        try:
            attname = Ticket._meta.get_field(name).attname
        except Exception:  # an unknown name cannot be filled: report it as missing
            missing.append(name)
            continue
        value = getattr(ticket, attname, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    return missing


@dataclass(frozen=True)
class VersionSteps:
    """A published version as a ticket's progress reads it: its process's name and number, and its steps by id
    (each with its responsible department joined)."""

    definition_id: int
    process_name: str
    number: int
    steps: dict[int, ProcessStep]


def version_steps(version_id: int, stamp: str | None) -> VersionSteps:
    """The version's steps, kept per process under the configuration stamp `stamp` (which moves on any change to
    processes, versions, steps and departments): a ticket page reads only its own progress. Shared by every
    caller: read the rows, never change them."""
    def read() -> list[VersionSteps]:
        version = ProcessVersion.objects.select_related("definition").get(pk=version_id)
        steps = ProcessStep.objects.filter(version_id=version_id).select_related("responsible_department")
        return [VersionSteps(definition_id=version.definition_id, process_name=version.definition.name,
                             number=version.number, steps={step.pk: step for step in steps})]
    return stamped_list(stamp, ("process-version", version_id), read)[0]


_PROGRESS_COLUMNS = (
    "version_id", "started_at", "steps__id", "steps__step_id", "steps__position", "steps__status",
    "steps__started_at", "steps__completed_at", "steps__duration_minutes", "steps__checklist_state",
    "steps__completed_by_id", "steps__completed_by__display_name", "steps__completed_by__first_name",
    "steps__completed_by__last_name", "steps__completed_by__username",
)


def process_progress(ticket: Ticket, *, at: dt.datetime | None = None,
                     stamp: Callable[[], str | None] = current_stamp) -> ProcessProgress | None:
    """Per step of the ticket's process: status, elapsed minutes, target and over/under; None without a process.

    One query: the ticket's process with its steps' progress and who finished each; the steps' definitions come
    from the copy kept under the configuration stamp (`version_steps`, read with `stamp()`).
    """
    rows = list(TicketProcess.objects.filter(ticket_id=ticket.pk).order_by("steps__position")
                .values(*_PROGRESS_COLUMNS))
    if not rows:
        return None
    at = at or timezone.now()
    from loopcrm.accounts.models import Role

    roles = dict(Role.choices)
    statuses = dict(TicketStep.Status.choices)
    version = version_steps(rows[0]["version_id"], stamp())
    steps = []
    for row in rows:
        if row["steps__id"] is None:  # a process without steps
            continue
        step = version.steps[row["steps__step_id"]]
        status, started_at, completed_at = row["steps__status"], row["steps__started_at"], row["steps__completed_at"]
        elapsed = None
        if started_at is not None:
            duration = row["steps__duration_minutes"]
            elapsed = (duration if duration is not None and completed_at is not None
                       else step_minutes(started_at, completed_at or at))
        over = None if elapsed is None else elapsed > step.target_minutes
        ticked = set(row["steps__checklist_state"] or [])
        missing = missing_fields(ticket, step.required_fields or []) if status in OPEN_STEP else []
        checks_pass = not missing and all(index in ticked for index in range(len(step.checklist or [])))
        done_by_resolving = step.start_on_status == Ticket.Status.RESOLVED or (
            step.complete_on_status == Ticket.Status.RESOLVED and checks_pass)
        completed_by = ""
        if row["steps__completed_by_id"] is not None:  # as str(user) names them
            completed_by = str(User(username=row["steps__completed_by__username"],
                                    display_name=row["steps__completed_by__display_name"],
                                    first_name=row["steps__completed_by__first_name"],
                                    last_name=row["steps__completed_by__last_name"]))
        steps.append(StepProgress(
            id=row["steps__id"], key=step.key, name=step.name, position=row["steps__position"], status=status,
            status_label=str(statuses.get(status, status)), is_mandatory=step.is_mandatory,
            responsible_role=str(roles.get(step.responsible_role, step.responsible_role)),
            responsible_department=step.responsible_department.name if step.responsible_department else "",
            started_at=started_at, completed_at=completed_at, completed_by=completed_by,
            elapsed_minutes=elapsed, target_minutes=step.target_minutes, over_target=over,
            minutes_over=max(0, (elapsed or 0) - step.target_minutes),
            checklist=[(str(item), index in ticked) for index, item in enumerate(step.checklist or [])],
            required_fields=list(step.required_fields or []),
            missing_fields=missing, done_by_resolving=done_by_resolving,
        ))
    return ProcessProgress(definition_id=version.definition_id, process_name=version.process_name,
                           version_number=version.number, started_at=rows[0]["started_at"], steps=steps)


# --- a ticket's steps ----------------------------------------------------------------------------------

def get_ticket_step(ticket: Ticket, step_id: int) -> TicketStep:
    """One step of the ticket's process (by the TicketStep id)."""
    if isinstance(step_id, bool) or not isinstance(step_id, int) or not 0 < step_id <= MAX_ID:
        raise NotFound(_("Ticket #%(ticket)s has no step #%(id)s.") % {"ticket": ticket.pk, "id": step_id},
                       field="step_id")
    row = TicketStep.objects.filter(pk=step_id, ticket_process__ticket_id=ticket.pk).first()
    if row is None:
        raise NotFound(_("Ticket #%(ticket)s has no step #%(id)s.") % {"ticket": ticket.pk, "id": step_id},
                       field="step_id")
    return row


def process_rows(definitions: list[ProcessDefinition]) -> list[ProcessDefinition]:
    """`definitions` with `current_version` (the current version's number, or None) set on each."""
    current = current_versions(definitions)
    for definition in definitions:
        version = current.get(definition.pk)
        definition.current_version = version.number if version else None
    return definitions


def flowchart_svg(version: ProcessVersion, *, statuses: dict[str, str] | None = None) -> str:
    """The version's flowchart as SVG, in the active language; `statuses` (step key → status) colour it."""
    from loopcrm.service.flowchart import render_svg

    labels = {
        "start": _("Start"), "end": _("End"), "target": _("target"), "required": _("required"),
        "optional": _("optional"), "auto_start": _("starts when"), "auto_complete": _("completes when"),
        "nobody": _("no one named"), "minutes": _("min"), "hours": _("h"), "days": _("d"),
        "title": _("%(process)s, version %(number)s") % {"process": version.definition.name, "number": version.number},
    }
    names = {str(value): str(label) for value, label in TicketStep.Status.choices}
    return render_svg(flow_steps(version), labels=labels, statuses=statuses, status_names=names)


def ticket_flowchart_svg(ticket: Ticket) -> str | None:
    """The flowchart of the version the ticket follows, its boxes coloured by the ticket's step statuses."""
    process = TicketProcess.objects.select_related("version__definition").filter(ticket_id=ticket.pk).first()
    if process is None:
        return None
    version = get_version(process.version.definition, process.version.number)
    statuses = dict(TicketStep.objects.filter(ticket_process=process).values_list("step__key", "status"))
    return flowchart_svg(version, statuses=statuses)
