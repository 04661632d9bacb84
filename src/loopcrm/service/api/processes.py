"""REST endpoints: standard service processes and a ticket's steps (thin).

Processes need service_config (view to read, change to write); a ticket's steps need the ticket in
scope (view to read, change to start, complete or skip).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts.queries import departments_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut
from loopcrm.core.errors import NotFound, RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.service.models import Ticket, TicketCategory
from loopcrm.service.queries import processes as queries
from loopcrm.service.queries.routing import require_config_change
from loopcrm.service.queries.tickets import get_ticket_for
from loopcrm.service.schemas.processes import (
    ChecklistIn,
    ProcessDetailOut,
    ProcessIn,
    ProcessListParams,
    ProcessOut,
    ProcessPatch,
    ProgressOut,
    StepActionIn,
    StepIn,
    VersionIn,
    VersionOut,
)
from loopcrm.service.services import processes as services
from loopcrm.service.services.processes import StepSpec

router = Router()

SVG_TYPE = "image/svg+xml"


def _category(category_id: int | None) -> TicketCategory | None:
    if category_id is None:
        return None
    category = TicketCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise RuleViolation(_("No ticket category #%(id)s.") % {"id": category_id}, field="category_id")
    return category


def _specs(request, steps: list[StepIn]) -> list[StepSpec]:
    departments = {department.pk: department for department in departments_for(request.user).filter(
        pk__in=[step.responsible_department_id for step in steps if step.responsible_department_id])}
    specs = []
    for index, step in enumerate(steps):
        data = step.model_dump()
        department_id = data.pop("responsible_department_id")
        if department_id is not None and department_id not in departments:
            raise RuleViolation(_("No department #%(id)s.") % {"id": department_id},
                                field=f"steps[{index}].responsible_department_id")
        specs.append(StepSpec(**data, responsible_department=departments.get(department_id)))
    return specs


def _detail(definition) -> Any:
    queries.process_rows([definition])
    definition.versions_list = list(definition.versions.order_by("-number"))
    return {**{field: getattr(definition, field) for field in ProcessOut.model_fields},
            "versions": definition.versions_list}


@router.get("/processes", response={200: PageOut[ProcessOut], **COMMON_ERRORS}, url_name="processes",
            summary="List standard service processes", description="With the number of each one's current version.")
def list_processes(request, params: Query[ProcessListParams]):
    page = paginate(queries.processes_for(request.user), sort="id", allowed=("id",), cursor=params.cursor,
                    limit=params.limit)
    return {"items": queries.process_rows(page.items), "next_cursor": page.next_cursor, "limit": page.limit}


@router.post("/processes", response={201: ProcessDetailOut, **WRITE_ERRORS}, url_name="create_process",
             summary="Create a standard service process",
             description="With `steps`, version 1 is published at once; otherwise publish one later.")
def create_process(request, payload: ProcessIn, response: HttpResponse):
    require_config_change(request.user)
    specs = _specs(request, payload.steps) if payload.steps is not None else None
    if specs is not None:
        services.validate_steps(specs)
    definition = services.create_definition(key=payload.key, name=payload.name, ticket_kind=payload.ticket_kind,
                                            category=_category(payload.category_id),
                                            description=payload.description, by=request.user)
    if specs is not None:
        services.publish_version(definition, steps=specs, change_note=payload.change_note, by=request.user)
    response["Location"] = f"/api/v1/processes/{definition.pk}"
    return Status(201, _detail(definition))


@router.get("/processes/{process_id}", response={200: ProcessDetailOut, **COMMON_ERRORS}, url_name="process",
            summary="One process with its versions")
def get_process(request, process_id: int):
    return _detail(queries.get_process_for(request.user, process_id))


@router.patch("/processes/{process_id}", response={200: ProcessDetailOut, **WRITE_ERRORS},
              url_name="update_process", summary="Rename a process or change which tickets it applies to",
              description="Its steps change only by publishing a new version.")
def update_process(request, process_id: int, payload: ProcessPatch):
    definition = queries.get_process_for(request.user, process_id, "change")
    changes = payload.model_dump(exclude_unset=True)
    for name in ("name", "description", "ticket_kind", "is_active"):
        if name in changes and changes[name] is None:
            raise RuleViolation(_("This field cannot be empty (null)."), field=name)
    if "category_id" in changes:
        changes["category"] = _category(changes.pop("category_id"))
    definition = services.update_definition(definition, by=request.user, **changes)
    return _detail(definition)


@router.post("/processes/{process_id}/versions", response={201: VersionOut, **WRITE_ERRORS},
             url_name="publish_process_version", summary="Publish a new version of a process",
             description="It becomes current for tickets whose process starts from now; tickets already "
                         "following an older version keep it.")
def publish_version(request, process_id: int, payload: VersionIn, response: HttpResponse):
    definition = queries.get_process_for(request.user, process_id, "change")
    version = services.publish_version(definition, steps=_specs(request, payload.steps),
                                       change_note=payload.change_note, by=request.user)
    response["Location"] = f"/api/v1/processes/{definition.pk}/versions/{version.number}"
    return Status(201, queries.get_version(definition, version.number))


@router.get("/processes/{process_id}/versions/{number}", response={200: VersionOut, **COMMON_ERRORS},
            url_name="process_version", summary="One version of a process, with its steps")
def get_version(request, process_id: int, number: int):
    return queries.get_version(queries.get_process_for(request.user, process_id), number)


@router.get("/processes/{process_id}/versions/{number}/flowchart.svg",
            response={200: None, **COMMON_ERRORS}, url_name="process_flowchart",
            summary="The version drawn as a flowchart (SVG)",
            openapi_extra={"responses": {200: {"description": "An SVG image.",
                                               "content": {SVG_TYPE: {"schema": {"type": "string"}}}}}})
def flowchart(request, process_id: int, number: int):
    version = queries.get_version(queries.get_process_for(request.user, process_id), number)
    return HttpResponse(queries.flowchart_svg(version), content_type=SVG_TYPE)


# --- a ticket's steps ---------------------------------------------------------------------------------

def _progress(ticket: Ticket) -> dict[str, Any]:
    progress = queries.process_progress(ticket)
    if progress is None:
        return {"ticket_id": ticket.pk, "process_id": None, "process_name": None, "version": None,
                "can_resolve": True, "steps": []}
    return {"ticket_id": ticket.pk, "process_id": progress.definition_id, "process_name": progress.process_name,
            "version": progress.version_number, "can_resolve": progress.can_resolve, "steps": progress.steps}


@router.get("/tickets/{ticket_id}/steps", response={200: ProgressOut, **COMMON_ERRORS}, url_name="ticket_steps",
            summary="A ticket's process steps against their targets")
def list_steps(request, ticket_id: int):
    return _progress(get_ticket_for(request.user, ticket_id))


@router.get("/tickets/{ticket_id}/steps/flowchart.svg", response={200: None, **COMMON_ERRORS},
            url_name="ticket_flowchart", summary="The ticket's process as a flowchart (SVG), coloured by step status",
            openapi_extra={"responses": {200: {"description": "An SVG image.",
                                               "content": {SVG_TYPE: {"schema": {"type": "string"}}}}}})
def ticket_flowchart(request, ticket_id: int):
    ticket = get_ticket_for(request.user, ticket_id)
    svg = queries.ticket_flowchart_svg(ticket)
    if svg is None:
        raise NotFound(_("Ticket #%(id)s follows no process.") % {"id": ticket.pk}, field="ticket_id")
    return HttpResponse(svg, content_type=SVG_TYPE)


def _step(request, ticket_id: int, step_id: int):
    ticket = get_ticket_for(request.user, ticket_id, "change")
    return ticket, queries.get_ticket_step(ticket, step_id)


@router.post("/tickets/{ticket_id}/steps/{step_id}/start", response={200: ProgressOut, **WRITE_ERRORS},
             url_name="start_ticket_step", summary="Start a step")
def start_step(request, ticket_id: int, step_id: int):
    ticket, row = _step(request, ticket_id, step_id)
    services.start_step(row, by=request.user)
    return _progress(ticket)


@router.post("/tickets/{ticket_id}/steps/{step_id}/complete", response={200: ProgressOut, **WRITE_ERRORS},
             url_name="complete_ticket_step", summary="Complete a step",
             description="The step must be under way, its checklist ticked (send `checklist` to tick items) and "
                         "the ticket fields it requires filled; the next step then starts.")
def complete_step(request, ticket_id: int, step_id: int, payload: StepActionIn | None = None):
    ticket, row = _step(request, ticket_id, step_id)
    payload = payload or StepActionIn()
    services.complete_step(row, by=request.user, checklist=payload.checklist, note=payload.note)
    return _progress(ticket)


@router.post("/tickets/{ticket_id}/steps/{step_id}/skip", response={200: ProgressOut, **WRITE_ERRORS},
             url_name="skip_ticket_step", summary="Skip an optional step",
             description="Mandatory steps cannot be skipped: resolving the ticket with a reason overrides them.")
def skip_step(request, ticket_id: int, step_id: int, payload: StepActionIn | None = None):
    ticket, row = _step(request, ticket_id, step_id)
    services.skip_step(row, by=request.user, reason=(payload or StepActionIn()).note)
    return _progress(ticket)


@router.post("/tickets/{ticket_id}/steps/{step_id}/checklist", response={200: ProgressOut, **WRITE_ERRORS},
             url_name="tick_ticket_step", summary="Tick or untick a checklist item of an open step")
def tick(request, ticket_id: int, step_id: int, payload: ChecklistIn):
    ticket, row = _step(request, ticket_id, step_id)
    services.tick_checklist(row, index=payload.index, ticked=payload.ticked, by=request.user)
    return _progress(ticket)
