"""Demo customer value: the first recompute as of the demo's "now", and a few saved segments to start from."""

from __future__ import annotations

from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.value.models import Segment
from loopcrm.value.services import recompute_all

SEGMENTS = (
    ("高价值活跃客户 High-value active", "Champions and loyal customers in the high tier.",
     {"all": [{"field": "tier", "op": "eq", "value": "high"},
              {"field": "rfm_segment", "op": "in", "value": ["champions", "loyal"]}]}),
    ("流失风险客户 At risk, worth saving", "High or medium tier customers whose P(alive) is slipping.",
     {"all": [{"field": "stage", "op": "eq", "value": "at_risk"},
              {"field": "tier", "op": "in", "value": ["high", "medium"]}]}),
    ("近期购买厨具 Kitchen buyers, last 90 days", "For the cookware cross-sell campaign.",
     {"all": [{"field": "bought_category", "op": "in_last_days", "value": {"category": "kitchen", "days": 90}}]}),
)


def load_value(loader: Loader, *, staff, calendar: DemoCalendar, seed: int) -> None:
    """Recompute every demo customer's value as of the demo's now, then save the starter segments."""
    result = recompute_all(at=calendar.now)
    Segment.objects.bulk_create([Segment(name=name, description=description, rule=rule)
                                 for name, description, rule in SEGMENTS])
    loader.say(f"Customer value: {result.customers:,} customers, {result.buyers:,} buyers, "
               f"{len(SEGMENTS)} segments ({result.seconds:.1f} s).")
