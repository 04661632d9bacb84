"""REST endpoint of the customer journey map (thin): parse the filters, read the map, serialise it.
Mounted at /api/v1/ (path /journey)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Query, Router, Schema

from loopcrm.analytics import journey
from loopcrm.analytics.queries import journey as queries
from loopcrm.core.api import COMMON_ERRORS
from loopcrm.core.choices import JourneyStage, Touchpoint

router = Router()


class JourneyParams(Schema):
    start: str | None = Field(None, description="First day (YYYY-MM-DD); default: 89 days before `end`.")
    end: str | None = Field(None, description="Last day, inclusive (YYYY-MM-DD); default: today.")
    tier: str | None = Field(None, description="Value tier: high, medium or low.")
    segment: str | None = Field(None, description="RFM segment code, e.g. champions, at_risk.")
    region: str | None = Field(None, description="Province of the customer, as stored (e.g. 上海市).")
    channel: str | None = Field(None, description="Contact channel code, e.g. phone, email, wechat.")


class Figures(Schema):
    customers: int
    volume: int = Field(description="Touches (interactions on the customers' timelines).")
    orders: int
    tickets: int
    complaints: int
    complaint_rate: float | None = Field(description="% of the customers here who complained here.")
    csat: float | None = Field(description="% of CSAT answers of 4–5 (of 5).")
    csat_n: int
    nps: float | None = Field(description="% promoters (9–10) − % detractors (0–6).")
    nps_n: int
    ces: float | None = Field(description="Mean customer effort, 1 (very easy) … 7 (very hard).")
    ces_n: int
    hours: float | None = Field(description="Mean hours of the timed episodes (ticket opened → resolved, "
                                            "order placed → delivered).")
    episodes: int


class CellOut(Figures):
    stage: str
    touchpoint: str


class StageOut(Figures):
    code: str
    name: str


class TouchpointOut(Schema):
    code: str
    name: str


class DropOffOut(Schema):
    stage: str
    next_stage: str
    reached: int
    continued: int = Field(description="Went on to `next_stage` or a later stage, no earlier than reaching `stage`.")
    dropped: int
    rate: float | None = Field(description="Drop-off in %; null when nobody reached the stage.")
    hours_to_next: float | None


class JourneyOut(Schema):
    filters: dict[str, str]
    customers: int
    stages: list[StageOut]
    touchpoints: list[TouchpointOut]
    cells: list[CellOut]
    drop_offs: list[DropOffOut]


def _figures(cell: journey.Cell) -> dict[str, Any]:
    return {"customers": cell.customers, "volume": cell.volume, "orders": cell.orders, "tickets": cell.tickets,
            "complaints": cell.complaints, "complaint_rate": cell.complaint_rate, "csat": cell.csat,
            "csat_n": cell.csat_n, "nps": cell.nps, "nps_n": cell.nps_n, "ces": cell.ces, "ces_n": cell.ces_n,
            "hours": cell.hours, "episodes": cell.episodes}


def serialise(journey_map: journey.JourneyMap, filters: queries.JourneyFilter) -> dict[str, Any]:
    stage_names, tp_names = dict(JourneyStage.choices), dict(Touchpoint.choices)
    return {
        "filters": filters.as_params(),
        "customers": journey_map.customers,
        "stages": [{"code": stage, "name": str(stage_names.get(stage, stage)),
                    **_figures(journey_map.stage_totals[stage])} for stage in journey_map.stages],
        "touchpoints": [{"code": tp, "name": str(tp_names.get(tp, tp))} for tp in journey_map.touchpoints],
        "cells": [{"stage": stage, "touchpoint": tp, **_figures(cell)}
                  for tp, row in journey_map.rows() for stage, cell in zip(journey_map.stages, row, strict=True)
                  if cell is not None],
        "drop_offs": [{"stage": d.stage, "next_stage": d.next_stage, "reached": d.reached, "continued": d.continued,
                       "dropped": d.dropped, "rate": d.rate, "hours_to_next": d.hours_to_next}
                      for d in journey_map.drop_offs],
    }


@router.get("/journey", response={200: JourneyOut, **COMMON_ERRORS}, url_name="journey_map",
            summary="Customer journey map",
            description="Stages × touchpoints with volume, CSAT, NPS, complaint rate, effort (CES) and time, "
                        "each stage's totals, and the drop-off after each stage, from interactions, orders, "
                        "tickets and survey answers in the period. Needs 'view' on improvement.")
def journey_map(request, params: Query[JourneyParams]):
    filters = queries.parse_filters(params.dict())
    return serialise(queries.journey_map_for(request.user, filters), filters)
