"""Data for control chart tests: a steady service desk for five weeks, then a shift.

Days are counted from today (negative: the past) in the active time zone. The baseline is days −60
to −33 (28 days); monitoring runs from −32 to yesterday.

- first responses: 60 minutes every day in the baseline, alternating 50/70 so the limits are wide;
  from day −12 on they take 100 minutes (a sustained shift far above the upper limit);
- ticket volume: 5 a day, 6 on odd days, in the baseline; 15 a day from day −12 on;
- complaints (kind complaint) with root causes, for the Pareto.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from loopcrm.accounts.models import Role
from loopcrm.service.models import RootCause, Ticket
from tests import factories

BASELINE = (-60, -33)
SHIFT_FROM = -12


def day(offset: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


def noon(offset: int) -> dt.datetime:
    return dt.datetime.combine(day(offset), dt.time(12, 0), tzinfo=timezone.get_current_timezone())


def quality_manager(org, name: str = "quality", **extra):
    return factories.user(name, role=Role.QUALITY_MANAGER, department=org.head, email=f"{name}@example.com",
                          display_name="赵敏", **extra)


def steady_then_shift(*, customer=None) -> None:
    """Tickets from day −60 to yesterday: steady first responses and volume, then a shift up."""
    customer = customer or factories.customer("陈静")
    rows = []
    for offset in range(BASELINE[0], 0):
        shifted = offset >= SHIFT_FROM
        count = 15 if shifted else (6 if offset % 2 else 5)
        opened = noon(offset)
        for i in range(count):
            minutes = 100 if shifted else (50 if (offset + i) % 2 else 70)
            rows.append(Ticket(subject="Where is my parcel 包裹在哪里", customer=customer, opened_at=opened,
                               first_response_at=opened + dt.timedelta(minutes=minutes)))
    Ticket.objects.bulk_create(rows)


def complaints_with_causes(*, customer=None) -> dict[str, RootCause]:
    """Complaints opened on day −5: 6 late delivery, 3 damaged (both logistics), 2 rude agent, 1 none."""
    customer = customer or factories.customer("Li Wei")
    logistics = RootCause.objects.create(code="logistics", name="Logistics 物流", branch=RootCause.Branch.PARTNER)
    late = RootCause.objects.create(code="late", name="Late delivery 延迟送达", branch=RootCause.Branch.PARTNER,
                                    parent=logistics)
    damaged = RootCause.objects.create(code="damaged", name="Damaged parcel 包裹破损",
                                       branch=RootCause.Branch.PARTNER, parent=logistics)
    rude = RootCause.objects.create(code="rude", name="Rude agent 态度差", branch=RootCause.Branch.PEOPLE)
    rows = []
    for cause, count in ((late, 6), (damaged, 3), (rude, 2), (None, 1)):
        rows += [Ticket(subject="投诉", customer=customer, kind=Ticket.Kind.COMPLAINT, opened_at=noon(-5),
                        root_cause=cause) for _ in range(count)]
    rows.append(Ticket(subject="咨询", customer=customer, kind=Ticket.Kind.INQUIRY, opened_at=noon(-5),
                       root_cause=rude))
    Ticket.objects.bulk_create(rows)
    return {"logistics": logistics, "late": late, "damaged": damaged, "rude": rude}
