"""Data for PDCA cycle tests: tickets whose first response was slow before a change and fast after it."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.utils import timezone

from loopcrm.service.models import Ticket
from loopcrm.service.services.processes import StepSpec, create_definition, publish_version
from tests import factories


def day(offset: int) -> dt.date:
    """A date `offset` days from today (negative: in the past), in the active time zone."""
    return timezone.localdate() + dt.timedelta(days=offset)


BASELINE = (-60, -33)  # 28 days
AFTER = (-20, -7)  # 14 days


def windows() -> dict[str, dt.date]:
    return {"baseline_start": day(BASELINE[0]), "baseline_end": day(BASELINE[1]),
            "after_start": day(AFTER[0]), "after_end": day(AFTER[1])}


def _tickets(first: int, last: int, *, median_minutes: float, per_day: int, seed: int, customer) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    zone = timezone.get_current_timezone()
    for offset in range(first, last + 1):
        noon = dt.datetime.combine(day(offset), dt.time(12, 0), tzinfo=zone)
        for minutes in rng.lognormal(np.log(median_minutes), 0.6, per_day):
            rows.append(Ticket(subject="Where is my parcel 包裹在哪里", customer=customer, opened_at=noon,
                               first_response_at=noon + dt.timedelta(minutes=float(minutes))))
    Ticket.objects.bulk_create(rows)


def slow_then_fast(*, per_day: int = 8) -> None:
    """First responses: about 60 minutes in the baseline window, about 30 in the after window."""
    customer = factories.customer("陈静")
    _tickets(*BASELINE, median_minutes=60, per_day=per_day, seed=1, customer=customer)
    _tickets(*AFTER, median_minutes=30, per_day=per_day, seed=2, customer=customer)


def same_before_and_after(*, per_day: int = 3) -> None:
    customer = factories.customer("Li Wei")
    _tickets(*BASELINE, median_minutes=45, per_day=per_day, seed=3, customer=customer)
    _tickets(*AFTER, median_minutes=45, per_day=per_day, seed=4, customer=customer)


def process_with_pilot(by):
    """A complaint process (v1), and v2 with a new triage step the cycle piloted."""
    definition = create_definition(key="complaint", name="Complaint handling 投诉处理", ticket_kind="complaint",
                                   by=by)
    steps = [StepSpec(key="acknowledge", name="Acknowledge 确认", target_minutes=60),
             StepSpec(key="resolve", name="Resolve 解决", target_minutes=480)]
    publish_version(definition, steps=steps, by=by)
    pilot = publish_version(definition, steps=[StepSpec(key="triage", name="Triage 分诊", target_minutes=15), *steps],
                            change_note="pilot: triage first", by=by)
    return definition, pilot
