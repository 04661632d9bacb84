"""The customer journey map, computed from plain facts (no Django): stages × touchpoints and drop-off.

Input is one `Fact` per customer, stage and touchpoint: what that customer did there in the window
(touches, orders, tickets and complaints, survey answers, and timed episodes such as a ticket from
opened to resolved or an order from placed to delivered). Output is a `JourneyMap`: one `Cell` per
stage and touchpoint, one per stage (the column total), and the drop-off between consecutive stages.

Definitions (the same as the voice-of-the-customer dashboards):
- volume: touches (interactions on the timeline); orders and tickets are counted beside it;
- CSAT: share of CSAT answers of 4 or 5 (of 5), in %; NPS: % promoters (9–10) − % detractors (0–6);
- effort: mean CES (1 = very easy … 7 = very hard);
- complaint rate: share of the customers at the cell who complained there, in %;
- time: mean hours of the timed episodes at the cell;
- drop-off after stage A (towards the next stage B): of the customers who reached A, the share who
  reached neither B nor any later stage at or after their first touch at A. Stages are ordered as
  `STAGES` (the funnel order); going on may skip a stage, since not every customer's awareness or
  consideration is on record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

# The funnel order of journey stages (codes of core.choices.JourneyStage).
STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "delivery", "use", "service", "loyalty")
# The display order of touchpoints (codes of core.choices.Touchpoint).
TOUCHPOINTS: tuple[str, ...] = (
    "website", "app", "store", "hotline", "delivery", "installation", "email", "wechat", "social", "sales_visit",
    "event", "other",
)

CSAT_SATISFIED_MIN = 4  # of 5
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6


@dataclass(frozen=True)
class Fact:
    """What one customer did at one stage and touchpoint in the window (sums, and the first moment)."""

    customer: int
    stage: str
    touchpoint: str
    first_at: dt.datetime | None = None  # the customer's first touch of any kind here
    touches: int = 0
    orders: int = 0
    tickets: int = 0
    complaints: int = 0
    csat_n: int = 0
    csat_satisfied: int = 0  # answers of CSAT_SATISFIED_MIN or more
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    ces_n: int = 0
    ces_sum: float = 0.0
    episodes: int = 0  # timed episodes (ticket opened → resolved, order placed → delivered)
    episode_hours: float = 0.0  # their total length in hours


@dataclass
class Cell:
    """One stage × touchpoint (or a stage's column total when touchpoint is "")."""

    stage: str
    touchpoint: str
    customers: int = 0
    volume: int = 0
    orders: int = 0
    tickets: int = 0
    complaints: int = 0
    complaining_customers: int = 0
    csat_n: int = 0
    csat_satisfied: int = 0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    ces_n: int = 0
    ces_sum: float = 0.0
    episodes: int = 0
    episode_hours: float = 0.0

    @property
    def csat(self) -> float | None:
        return _pct(self.csat_satisfied, self.csat_n)

    @property
    def nps(self) -> float | None:
        if not self.nps_n:
            return None
        return 100.0 * (self.nps_promoters - self.nps_detractors) / self.nps_n

    @property
    def ces(self) -> float | None:
        return self.ces_sum / self.ces_n if self.ces_n else None

    @property
    def complaint_rate(self) -> float | None:
        return _pct(self.complaining_customers, self.customers)

    @property
    def hours(self) -> float | None:
        return self.episode_hours / self.episodes if self.episodes else None

    def measure(self, name: str) -> float | None:
        return float(self.volume) if name == Measure.VOLUME else getattr(self, str(name))


@dataclass(frozen=True)
class DropOff:
    """After one stage: who reached it, who went on (to `next_stage` or beyond), and how long that took."""

    stage: str
    next_stage: str
    reached: int
    continued: int
    hours_to_next: float | None  # mean hours from the first touch at `stage` to the first one further on

    @property
    def dropped(self) -> int:
        return self.reached - self.continued

    @property
    def rate(self) -> float | None:
        """Drop-off in % (None when nobody reached the stage)."""
        return _pct(self.dropped, self.reached)


@dataclass
class JourneyMap:
    stages: tuple[str, ...]
    touchpoints: tuple[str, ...]  # only those with a fact, in TOUCHPOINTS order
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    stage_totals: dict[str, Cell] = field(default_factory=dict)
    drop_offs: list[DropOff] = field(default_factory=list)
    customers: int = 0

    def cell(self, stage: str, touchpoint: str) -> Cell | None:
        return self.cells.get((stage, touchpoint))

    def rows(self) -> list[tuple[str, list[Cell | None]]]:
        """Touchpoints as rows, stages as columns (None where nothing happened)."""
        return [(tp, [self.cells.get((stage, tp)) for stage in self.stages]) for tp in self.touchpoints]


class Measure(StrEnum):
    """What the heat map colours by."""

    VOLUME = "volume"
    CSAT = "csat"
    NPS = "nps"
    COMPLAINT_RATE = "complaint_rate"
    CES = "ces"
    HOURS = "hours"


# Whether a higher value is better (True), worse (False) or neither (None, e.g. volume).
HIGHER_IS_BETTER: dict[Measure, bool | None] = {
    Measure.VOLUME: None, Measure.CSAT: True, Measure.NPS: True, Measure.COMPLAINT_RATE: False,
    Measure.CES: False, Measure.HOURS: False,
}


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _add(cell: Cell, fact: Fact) -> None:
    cell.volume += fact.touches
    cell.orders += fact.orders
    cell.tickets += fact.tickets
    cell.complaints += fact.complaints
    cell.csat_n += fact.csat_n
    cell.csat_satisfied += fact.csat_satisfied
    cell.nps_n += fact.nps_n
    cell.nps_promoters += fact.nps_promoters
    cell.nps_detractors += fact.nps_detractors
    cell.ces_n += fact.ces_n
    cell.ces_sum += fact.ces_sum
    cell.episodes += fact.episodes
    cell.episode_hours += fact.episode_hours


def build(facts: Iterable[Fact], *, stages: Sequence[str] = STAGES,
          touchpoints: Sequence[str] = TOUCHPOINTS) -> JourneyMap:
    """The journey map of these facts. Facts at a stage not in `stages` are ignored; an unknown
    touchpoint counts as "other". Several facts for one customer, stage and touchpoint are summed."""
    order = tuple(stages)
    known = set(order)
    tp_known = set(touchpoints)
    cells: dict[tuple[str, str], Cell] = {}
    totals = {stage: Cell(stage, "") for stage in order}
    cell_customers: dict[tuple[str, str], set[int]] = defaultdict(set)
    cell_complainers: dict[tuple[str, str], set[int]] = defaultdict(set)
    stage_complainers: dict[str, set[int]] = defaultdict(set)
    first_at: dict[str, dict[int, dt.datetime | None]] = {stage: {} for stage in order}
    everyone: set[int] = set()
    for fact in facts:
        if fact.stage not in known:
            continue
        tp = fact.touchpoint if fact.touchpoint in tp_known else "other"
        key = (fact.stage, tp)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell(fact.stage, tp)
        _add(cell, fact)
        _add(totals[fact.stage], fact)
        cell_customers[key].add(fact.customer)
        if fact.complaints:
            cell_complainers[key].add(fact.customer)
            stage_complainers[fact.stage].add(fact.customer)
        everyone.add(fact.customer)
        seen = first_at[fact.stage]
        earliest = seen.get(fact.customer)
        if fact.customer not in seen or (fact.first_at is not None and (earliest is None or fact.first_at < earliest)):
            seen[fact.customer] = fact.first_at
    for key, cell in cells.items():
        cell.customers = len(cell_customers[key])
        cell.complaining_customers = len(cell_complainers[key])
    for stage, total in totals.items():
        total.customers = len(first_at[stage])
        total.complaining_customers = len(stage_complainers[stage])
    return JourneyMap(
        stages=order,
        touchpoints=tuple(tp for tp in touchpoints if any((stage, tp) in cells for stage in order)),
        cells=cells, stage_totals=totals, drop_offs=drop_offs(first_at, order), customers=len(everyone),
    )


def drop_offs(first_at: dict[str, dict[int, dt.datetime | None]], stages: Sequence[str]) -> list[DropOff]:
    """Drop-off after each stage (but the last) from each customer's first moment at each stage.

    A customer reached at A went on when they reached any later stage no earlier than their first
    touch at A (when a moment is unknown, reaching the later stage is enough); the time to go on is
    measured to the first such later moment.
    """
    result = []
    for index, (stage, following) in enumerate(pairwise(stages)):
        later_stages = [first_at.get(s, {}) for s in stages[index + 1:]]
        here = first_at.get(stage, {})
        continued = 0
        hours: list[float] = []
        for customer, start in here.items():
            moments = [later[customer] for later in later_stages if customer in later]
            if start is None or any(m is None for m in moments):
                continued += bool(moments)
                continue
            after = [m for m in moments if m is not None and m >= start]
            if after:
                continued += 1
                hours.append((min(after) - start).total_seconds() / 3600)
        result.append(DropOff(stage, following, reached=len(here), continued=continued,
                              hours_to_next=sum(hours) / len(hours) if hours else None))
    return result


def shades(journey: JourneyMap, measure: Measure | str) -> dict[tuple[str, str], float | None]:
    """How strongly to colour each cell for `measure`, 0…1 across the map's cells (None: no value).

    For measures with a direction, 1 is the worst cell and 0 the best; for volume, 1 is the busiest.
    When all cells share one value, every shaded cell gets 0.5.
    """
    measure = Measure(measure)
    values = {key: cell.measure(measure) for key, cell in journey.cells.items()}
    present = [v for v in values.values() if v is not None]
    if not present:
        return dict.fromkeys(values)
    low, high = min(present), max(present)
    result: dict[tuple[str, str], float | None] = {}
    for key, value in values.items():
        if value is None:
            result[key] = None
            continue
        share = 0.5 if high == low else (value - low) / (high - low)
        result[key] = 1.0 - share if HIGHER_IS_BETTER[measure] is True else share
    return result
