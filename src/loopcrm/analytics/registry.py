"""The metric registry: every KPI defined once, computed in SQL on live data.

Dashboards, control charts and PDCA cycles all read KPIs through this module; nothing computes a
KPI a second way. A metric knows its key, names, unit, which direction is better, its kind (which
decides the control chart and the statistical test that fit it) and the dimensions it can be cut by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class MetricKind(StrEnum):
    RATE = "rate"  # successes / trials per bucket (p-chart; two-proportion z or chi-square)
    COUNT = "count"  # events per bucket, exposure in `denominator` (c/u-chart; daily counts compared)
    DURATION = "duration"  # one value per case, in minutes (XmR / X̄–S; Mann–Whitney U or Welch t)
    SCORE = "score"  # one value per answer, e.g. CSAT 1–5, NPS as −100/0/100 (XmR / X̄–S; U or Welch)


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


DIMENSIONS = (
    "department", "team", "agent", "category", "kind", "channel", "touchpoint", "customer_tier", "region",
)


@dataclass(frozen=True)
class Metric:
    key: str  # "first_response_minutes", "complaint_rate_orders", "csat", …
    name: str  # lazily translated (English source, Chinese in the locale)
    unit: str  # "min", "%", "‰", "score", "tickets"…
    better: Better
    kind: MetricKind
    dimensions: tuple[str, ...]  # the subset of DIMENSIONS this metric can be cut by
    description: str = ""


@dataclass(frozen=True)
class Point:
    """One bucket of a series. `value` is None when the bucket has no data (n == 0)."""

    start: dt.date
    value: float | None
    numerator: float  # successes (rate), events (count), sum of values (duration/score)
    denominator: float  # trials (rate), exposure (count), number of cases (duration/score)
    n: int  # cases behind the point
    stdev: float | None = None  # within-bucket sample standard deviation (duration/score), for X̄–S


@dataclass(frozen=True)
class Samples:
    """What a statistical test needs for one window: raw values, or successes out of trials."""

    kind: MetricKind
    values: list[float] = field(default_factory=list)  # duration/score: one per case; count: per day
    successes: int = 0  # rate
    trials: int = 0  # rate
