"""The demo's processes: published versions, routing rules, and step history on existing tickets, with one slow
step for process mining to find."""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo

import pytest

from loopcrm.demo.bulk import Loader
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.organisation import Staff
from loopcrm.demo.processes import load_processes
from loopcrm.service.models import RoutingRule, Ticket, TicketEvent, TicketProcess, TicketStep
from loopcrm.service.queries.processes import process_progress
from tests.service.test_processes_helpers import queue, ticket

pytestmark = pytest.mark.django_db


def test_demo_tickets_get_the_version_of_their_day_and_a_slow_diagnosis(org):
    calendar = DemoCalendar.ending(dt.date(2026, 11, 23), zoneinfo.ZoneInfo("Asia/Shanghai"))
    queue("热线 Hotline", department=org.service, members=[org.agent])
    early, late = calendar.start + dt.timedelta(days=30), calendar.now - dt.timedelta(days=20)
    made = []
    for n in range(30):
        opened = early + dt.timedelta(days=n)
        made.append(ticket(kind="repair", at=opened, assignee=org.agent))  # still open: never scaled
    old_complaint = ticket(kind="complaint", at=early, resolved_at=early + dt.timedelta(days=3), status="resolved")
    new_complaint = ticket(kind="complaint", at=late, resolved_at=late + dt.timedelta(hours=2), status="resolved")
    inquiry = ticket(kind="service_request", at=late)
    staff = Staff(departments={"cs": org.service}, teams={}, users={"admin": org.admin})

    load_processes(Loader(calendar=calendar, progress=lambda message: None), staff=staff, calendar=calendar, seed=1)

    assert TicketProcess.objects.count() == Ticket.objects.count()
    assert process_progress(old_complaint).version_number == 1
    assert process_progress(new_complaint).version_number == 2
    assert process_progress(inquiry).process_name == "咨询答复 Answering an inquiry"
    assert RoutingRule.objects.count() == 4

    # A resolved ticket has nothing left open, and nothing happens after the demo's "now".
    assert process_progress(old_complaint).can_resolve and process_progress(new_complaint).can_resolve
    assert not TicketStep.objects.filter(completed_at__gt=calendar.now).exists()
    assert not TicketEvent.objects.filter(at__gt=calendar.now).exists()
    # Every step that started has its event, for process mining.
    started = TicketStep.objects.filter(started_at__isnull=False).count()
    assert TicketEvent.objects.filter(kind="step_started").count() == started

    ratios = {}
    for key in ("triage", "diagnose"):
        done = TicketStep.objects.filter(step__key=key, status="done", ticket_process__ticket__in=made)
        ratios[key] = statistics.median(row.duration_minutes / row.step.target_minutes
                                        for row in done.select_related("step"))
    assert ratios["diagnose"] > 1.8 > 1.3 > ratios["triage"]
