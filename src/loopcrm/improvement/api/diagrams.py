"""REST endpoints: diagrams — the fishbone (counts, trend, SVG/PNG), fishbones pinned to cycles with their
5-whys, and the customer quality logic diagram (graph, matrix, SVG/PNG, elements and relationships). Thin.

Reading needs the improvement "view" permission, writing "change"."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictInt, StrictStr

from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, BodyId, QueryId, StrictIn
from loopcrm.core.errors import DomainError
from loopcrm.improvement.diagram_canvas import PngUnavailable
from loopcrm.improvement.models import FishbonePin, LogicElement, LogicLink, WhyNote
from loopcrm.improvement.queries import fishbone as fishbone_queries
from loopcrm.improvement.queries import logic_diagram as logic_queries
from loopcrm.improvement.queries.fishbone import FishboneScope
from loopcrm.improvement.services import diagrams as services

router = Router()

SVG_TYPE = "image/svg+xml"
PNG_TYPE = "image/png"
IMAGE_RESPONSES = {200: {"description": "The diagram as JSON, or as an SVG or PNG image with `format`.",
                         "content": {SVG_TYPE: {"schema": {"type": "string"}},
                                     PNG_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}


class ImageUnavailable(DomainError):
    status = 503
    title = "PNG export unavailable"


def _png(draw) -> HttpResponse:
    try:
        return HttpResponse(draw(), content_type=PNG_TYPE)
    except PngUnavailable as error:
        raise ImageUnavailable(str(error), field="format") from error


# --- schemas ---------------------------------------------------------------------------------------

class FishboneScopeParams(Schema):
    start: dt.date | None = Field(None, description="First day (default: 89 days before the end).")
    end: dt.date | None = Field(None, description="Last day, inclusive (default: today).")
    department_id: QueryId | None = Field(None, description="This department and those below it.")
    category_id: QueryId | None = Field(None, description="This ticket category and those below it.")
    channel: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=50, description="The customer's province / region.")

    def scope(self) -> FishboneScope:
        return FishboneScope(department_id=self.department_id, category_id=self.category_id,
                             channel=self.channel or None, region=self.region or None)


class FishboneParams(FishboneScopeParams):
    effect: str = Field("", max_length=200, description="The problem at the head (default: from the scope).")
    months: int = Field(6, ge=1, le=36, description="Months in each branch's monthly series.")
    format: Literal["json", "svg", "png"] = "json"


class FishboneCauseOut(Schema):
    code: str
    label: str
    count: int
    previous: int
    change: int
    direction: str
    sub_causes: list[FishboneCauseOut] = []


class FishboneBranchOut(Schema):
    branch: str
    label: str
    count: int
    previous: int
    change: int
    direction: str
    share: float
    causes: list[FishboneCauseOut]
    monthly: list[int]


class FishboneOut(Schema):
    effect: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    total: int
    previous_total: int
    unclassified: int
    previous_unclassified: int
    months: list[dt.date]
    branches: list[FishboneBranchOut]
    filters: dict[str, Any]


class FishboneComplaintsParams(FishboneScopeParams):
    branch: str = Field("", max_length=20, description="A root-cause branch (people, process, …).")
    cause_id: QueryId | None = Field(None, description="A cause (with its sub-causes) or one sub-cause.")
    unclassified: bool = Field(False, description="The complaints with no root cause yet.")
    limit: int = Field(50, ge=1, le=200, description="Newest complaints listed (the total counts them all).")


class ComplaintBehindOut(Schema):
    id: int
    subject: str
    customer: str
    opened_at: dt.datetime
    status: str
    status_label: str
    severity: str
    root_cause: str


class FishboneComplaintsOut(Schema):
    label: str
    start: dt.date
    end: dt.date
    total: int
    rows: list[ComplaintBehindOut]


class FishbonePinIn(StrictIn):
    cycle_id: BodyId
    start: dt.date | None = None
    end: dt.date | None = None
    department_id: BodyId | None = None
    category_id: BodyId | None = None
    channel: StrictStr | None = Field(None, max_length=20)
    region: StrictStr | None = Field(None, max_length=50)
    effect: StrictStr = Field("", max_length=200)


class WhyNoteOut(Schema):
    id: int
    branch: str
    cause_code: str
    cause_label: str
    position: int
    text: str
    author: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_author(note: WhyNote) -> str | None:
        return str(note.author) if note.author_id else None


class FishbonePinOut(Schema):
    id: int
    cycle_id: int
    cycle_title: str
    effect: str
    filters: dict[str, Any]
    period_start: dt.date
    period_end: dt.date
    created_by: str | None
    created_at: dt.datetime
    snapshot: dict[str, Any]
    whys: list[WhyNoteOut]

    @staticmethod
    def resolve_cycle_title(pin: FishbonePin) -> str:
        return str(pin.cycle)

    @staticmethod
    def resolve_created_by(pin: FishbonePin) -> str | None:
        return str(pin.created_by) if pin.created_by_id else None

    @staticmethod
    def resolve_whys(pin: FishbonePin) -> list[WhyNote]:
        return sorted(pin.whys.all(), key=lambda note: (note.branch, note.cause_code, note.position))


class FishbonePinListParams(Schema):
    cycle_id: QueryId | None = None


class WhyNoteIn(StrictIn):
    branch: StrictStr = Field(max_length=20)
    cause_code: StrictStr = Field("", max_length=50, description="Empty: a chain on the whole branch.")
    position: Annotated[StrictInt, Field(ge=1, le=5)]
    text: StrictStr = Field(max_length=2000)


class LogicControlPointOut(Schema):
    key: str
    label: str
    target_minutes: int | None = None


class LogicNodeOut(Schema):
    key: str
    layer: str
    label: str
    live: bool
    details: list[str]
    control_points: list[LogicControlPointOut]
    note: str
    url: str
    element_id: int | None
    source_type: str
    source_id: str


class LogicEdgeOut(Schema):
    id: int | None
    source: str
    target: str
    strength: str
    live: bool
    note: str


class LogicMatrixOut(Schema):
    rows: list[str]
    columns: list[str]
    cells: list[list[str]] = Field(description="cells[row][column]: strong, medium, weak or \"\".")


class LogicDiagramOut(Schema):
    layers: dict[str, list[LogicNodeOut]]
    edges: list[LogicEdgeOut]
    matrix: LogicMatrixOut


class LogicElementIn(StrictIn):
    layer: LogicElement.Layer
    label: StrictStr = Field(max_length=120)
    note: StrictStr = Field("", max_length=2000)
    source_type: StrictStr = Field("", max_length=20, description="need, process, step, metric, chart, survey, channel")
    source_id: StrictStr = Field("", max_length=64)
    position: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None


class LogicElementPatch(StrictIn):
    layer: LogicElement.Layer | None = None
    label: StrictStr | None = Field(None, max_length=120)
    note: StrictStr | None = Field(None, max_length=2000)
    source_type: StrictStr | None = Field(None, max_length=20)
    source_id: StrictStr | None = Field(None, max_length=64)
    position: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None


class LogicElementOut(Schema):
    id: int
    key: str
    layer: str
    label: str
    note: str
    source_type: str
    source_id: str
    position: int
    created_by: str | None
    created_at: dt.datetime
    updated_by: str | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_created_by(element: LogicElement) -> str | None:
        return str(element.created_by) if element.created_by_id else None

    @staticmethod
    def resolve_updated_by(element: LogicElement) -> str | None:
        return str(element.updated_by) if element.updated_by_id else None


class LogicLinkIn(StrictIn):
    source: StrictStr = Field(max_length=90, description="An element key, e.g. need:delivery, process:3, element:7")
    target: StrictStr = Field(max_length=90)
    strength: Literal["strong", "medium", "weak"] = "medium"
    note: StrictStr = Field("", max_length=300)


class LogicLinkPatch(StrictIn):
    strength: Literal["strong", "medium", "weak"] | None = None
    note: StrictStr | None = Field(None, max_length=300)


class LogicLinkOut(Schema):
    id: int
    source: str
    target: str
    strength: str
    note: str
    created_by: str | None
    created_at: dt.datetime
    updated_by: str | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_created_by(link: LogicLink) -> str | None:
        return str(link.created_by) if link.created_by_id else None

    @staticmethod
    def resolve_updated_by(link: LogicLink) -> str | None:
        return str(link.updated_by) if link.updated_by_id else None


class LogicMatrixCellIn(StrictIn):
    need: StrictStr = Field(max_length=90, description="A need's key (matrix row).")
    other: StrictStr = Field(max_length=90, description="A process's or indicator's key (matrix column).")
    strength: Literal["strong", "medium", "weak", ""] = Field(description="\"\" empties the cell.")


class LogicMatrixCellOut(Schema):
    need: str
    other: str
    strength: str
    link_id: int | None


# --- fishbone --------------------------------------------------------------------------------------

@router.get("/fishbone", response={200: FishboneOut, **COMMON_ERRORS, 503: COMMON_ERRORS[400]}, url_name="fishbone",
            summary="Cause-and-effect: complaints by root-cause branch, cause and sub-cause, with trend",
            description="Counts for the period and the previous period of the same length, and a monthly series per "
                        "branch. `format=svg` or `png` draws the fishbone.",
            openapi_extra={"responses": IMAGE_RESPONSES})
def get_fishbone(request, params: Query[FishboneParams]):
    data = fishbone_queries.fishbone(request.user, params.scope(), start=params.start, end=params.end,
                                     effect=params.effect, months=params.months)
    if params.format == "svg":
        return HttpResponse(fishbone_queries.fishbone_svg_text(data), content_type=SVG_TYPE)
    if params.format == "png":
        return _png(lambda: fishbone_queries.fishbone_png(data))
    return data


@router.get("/fishbone/complaints", response={200: FishboneComplaintsOut, **COMMON_ERRORS},
            url_name="fishbone_complaints", summary="The complaints behind one count of the fishbone",
            description="Exactly one of `branch`, `cause_id` or `unclassified=true`; the scope and period filters are "
                        "the fishbone's. The newest `limit` complaints, and how many there are in all.")
def fishbone_complaints(request, params: Query[FishboneComplaintsParams]):
    return fishbone_queries.complaints_behind(
        request.user, params.scope(), start=params.start, end=params.end, branch=params.branch,
        cause_id=params.cause_id, unclassified=params.unclassified, limit=params.limit)


@router.get("/fishbone/pins", response={200: list[FishbonePinOut], **COMMON_ERRORS}, url_name="fishbone_pins",
            summary="Fishbones pinned to improvement cycles (newest first)")
def list_pins(request, params: Query[FishbonePinListParams]):
    return list(fishbone_queries.pins_for(request.user, cycle_id=params.cycle_id)[:200])


@router.post("/fishbone/pins", response={201: FishbonePinOut, **WRITE_ERRORS}, url_name="pin_fishbone",
             summary="Pin the fishbone of a scope and period to an open cycle")
def pin_fishbone(request, payload: FishbonePinIn):
    fishbone_queries.require_change(request.user)
    cycle = fishbone_queries.get_cycle_for(request.user, payload.cycle_id)
    scope = FishboneScope(department_id=payload.department_id, category_id=payload.category_id,
                          channel=payload.channel or None, region=payload.region or None)
    data = fishbone_queries.fishbone(request.user, scope, start=payload.start, end=payload.end, effect=payload.effect)
    pin = services.pin_fishbone(cycle, data, by=request.user)
    return Status(201, fishbone_queries.get_pin_for(request.user, pin.pk))


@router.get("/fishbone/pins/{pin_id}", response={200: FishbonePinOut, **COMMON_ERRORS, 503: COMMON_ERRORS[400]},
            url_name="fishbone_pin",
            summary="A pinned fishbone with its 5-whys; `format=svg` or `png` draws it as pinned",
            openapi_extra={"responses": IMAGE_RESPONSES})
def get_pin(request, pin_id: int, format: Literal["json", "svg", "png"] = "json"):
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    if format == "svg":
        return HttpResponse(fishbone_queries.fishbone_svg_text(pin.snapshot), content_type=SVG_TYPE)
    if format == "png":
        return _png(lambda: fishbone_queries.fishbone_png(pin.snapshot))
    return pin


@router.delete("/fishbone/pins/{pin_id}", response={204: None, **WRITE_ERRORS}, url_name="unpin_fishbone",
               summary="Remove a pinned fishbone and its 5-whys")
def unpin(request, pin_id: int):
    services.unpin_fishbone(fishbone_queries.get_pin_for(request.user, pin_id), by=request.user)
    return Status(204, None)


@router.put("/fishbone/pins/{pin_id}/whys", response={200: WhyNoteOut, **WRITE_ERRORS}, url_name="set_why",
            summary="Write why 1–5 of a branch's (or a cause's) 5-whys chain",
            description="Why n needs why n−1 of the same chain; writing an existing why replaces its text.")
def set_why(request, pin_id: int, payload: WhyNoteIn):
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    return services.set_why(pin, branch=payload.branch, cause_code=payload.cause_code, position=payload.position,
                            text=payload.text, by=request.user)


@router.delete("/fishbone/pins/{pin_id}/whys/{why_id}", response={204: None, **WRITE_ERRORS}, url_name="delete_why",
               summary="Remove a why and those after it in its chain")
def delete_why(request, pin_id: int, why_id: int):
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    services.delete_why(fishbone_queries.get_why_for(request.user, pin, why_id), by=request.user)
    return Status(204, None)


# --- the customer quality logic diagram --------------------------------------------------------------

def _diagram_out(diagram: logic_queries.LogicDiagram) -> dict[str, Any]:
    return {
        "layers": {layer: diagram.layer(layer) for layer in logic_queries.LAYERS},
        "edges": diagram.edges,
        "matrix": {"rows": diagram.rows, "columns": diagram.columns,
                   "cells": [[diagram.cell(row, column) for column in diagram.columns] for row in diagram.rows]},
    }


@router.get("/logic-diagram", response={200: LogicDiagramOut, **COMMON_ERRORS}, url_name="logic_diagram",
            summary="The customer quality logic diagram: needs → processes → indicators → feedback, and the matrix",
            description="Built from the live configuration plus the elements and relationships people added.")
def get_logic_diagram(request):
    return _diagram_out(logic_queries.logic_diagram(request.user))


@router.get("/logic-diagram.svg", response={200: None, **COMMON_ERRORS}, url_name="logic_diagram_svg",
            summary="The logic diagram and its matrix as an SVG image",
            openapi_extra={"responses": {200: {"description": "An SVG image.",
                                               "content": {SVG_TYPE: {"schema": {"type": "string"}}}}}})
def logic_diagram_svg(request):
    response = HttpResponse(logic_queries.logic_svg_text(logic_queries.logic_diagram(request.user)),
                            content_type=SVG_TYPE)
    response["Content-Disposition"] = 'inline; filename="logic-diagram.svg"'
    return response


@router.get("/logic-diagram.png", response={200: None, **COMMON_ERRORS, 503: COMMON_ERRORS[400]},
            url_name="logic_diagram_png", summary="The logic diagram and its matrix as a PNG image",
            description="Drawn on the server from the same layout as the SVG (needs Pillow and a CJK font; "
                        "503 says what is missing).",
            openapi_extra={"responses": {200: {"description": "A PNG image.",
                                               "content": {PNG_TYPE: {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}}})
def logic_diagram_png(request):
    diagram = logic_queries.logic_diagram(request.user)
    response = _png(lambda: logic_queries.logic_png(diagram))
    response["Content-Disposition"] = 'attachment; filename="logic-diagram.png"'
    return response


@router.get("/logic-diagram/elements", response={200: list[LogicElementOut], **COMMON_ERRORS},
            url_name="logic_elements", summary="Elements people added to the logic diagram")
def list_elements(request):
    return list(logic_queries.elements_for(request.user).order_by("layer", "position", "id")[:500])


@router.post("/logic-diagram/elements", response={201: LogicElementOut, **WRITE_ERRORS}, url_name="add_logic_element",
             summary="Add a need, process, indicator or feedback mechanism to the logic diagram")
def add_element(request, payload: LogicElementIn):
    element = services.add_element(by=request.user, **payload.model_dump())
    return Status(201, element)


@router.patch("/logic-diagram/elements/{element_id}", response={200: LogicElementOut, **WRITE_ERRORS},
              url_name="edit_logic_element", summary="Change an added element")
def edit_element(request, element_id: int, payload: LogicElementPatch):
    element = logic_queries.get_element_for(request.user, element_id)
    return services.edit_element(element, by=request.user, **payload.model_dump(exclude_unset=True))


@router.delete("/logic-diagram/elements/{element_id}", response={204: None, **WRITE_ERRORS},
               url_name="remove_logic_element", summary="Remove an added element and its relationships")
def remove_element(request, element_id: int):
    services.remove_element(logic_queries.get_element_for(request.user, element_id), by=request.user)
    return Status(204, None)


@router.get("/logic-diagram/links", response={200: list[LogicLinkOut], **COMMON_ERRORS}, url_name="logic_links",
            summary="Relationships people added between elements")
def list_links(request):
    return list(logic_queries.links_for(request.user).order_by("id")[:2000])


@router.post("/logic-diagram/links", response={201: LogicLinkOut, **WRITE_ERRORS}, url_name="add_logic_link",
             summary="Relate two elements (live or added), strong, medium or weak")
def add_link(request, payload: LogicLinkIn):
    return Status(201, services.add_link(by=request.user, **payload.model_dump()))


@router.patch("/logic-diagram/links/{link_id}", response={200: LogicLinkOut, **WRITE_ERRORS},
              url_name="edit_logic_link", summary="Change a relationship's strength or note")
def edit_link(request, link_id: int, payload: LogicLinkPatch):
    link = logic_queries.get_link_for(request.user, link_id)
    return services.edit_link(link, by=request.user, **payload.model_dump(exclude_unset=True))


@router.delete("/logic-diagram/links/{link_id}", response={204: None, **WRITE_ERRORS},
               url_name="remove_logic_link", summary="Remove a relationship")
def remove_link(request, link_id: int):
    services.remove_link(logic_queries.get_link_for(request.user, link_id), by=request.user)
    return Status(204, None)


@router.put("/logic-diagram/matrix", response={200: LogicMatrixCellOut, **WRITE_ERRORS}, url_name="set_matrix_cell",
            summary="Set one cell of the relationship matrix (need × process or indicator)")
def set_cell(request, payload: LogicMatrixCellIn):
    link = services.set_strength(need=payload.need, other=payload.other, strength=payload.strength or None,
                                 by=request.user)
    return {"need": payload.need, "other": payload.other, "strength": link.strength if link else "",
            "link_id": link.pk if link else None}

