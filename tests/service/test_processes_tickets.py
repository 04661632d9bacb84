"""The whole story through the ticket services: a VIP repair is routed, assigned and follows its process;
a status completes a step; resolving with a mandatory step open needs a reason; a new version later
leaves this ticket on its own."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.core.errors import RuleViolation
from loopcrm.service.models import Queue, Ticket, TicketEvent
from loopcrm.service.queries.processes import process_progress
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import routing
from loopcrm.service.services import tickets as ticket_services
from tests import factories
from tests.service.test_processes_helpers import T0, queue, repair_process, repair_steps

pytestmark = pytest.mark.django_db

M = dt.timedelta(minutes=1)


@pytest.fixture
def repairs(org):
    desk = queue("Repairs 维修", department=org.service, members=[org.agent, org.lead],
                 strategy=Queue.Strategy.ROUND_ROBIN)
    routing.create_rule(by=org.admin, name="Repairs to the repair desk", kinds=["repair"], queue=desk)
    definition, _version = repair_process(org.admin, steps=repair_steps(diagnose={"checklist": []}))
    return desk, definition


def test_a_vip_repair_from_routing_to_resolution(org, repairs):
    desk, definition = repairs
    vip = factories.customer("王总 VIP", is_vip=True, owner=org.lead)
    plain = factories.customer("李先生")

    ticket = ticket_services.open_ticket(customer=vip, subject="打印机无法启动", kind="repair", channel="phone",
                                         by=org.agent, at=T0)
    assert (ticket.queue, ticket.department, ticket.priority, ticket.assignee) == \
        (desk, org.service, Ticket.Priority.HIGH, org.lead)  # the VIP's own agent, one level up
    routed = TicketEvent.objects.get(ticket=ticket, kind="routed")
    assert any("dedicated agent" in reason for reason in routed.data["reasons"])
    others = [ticket_services.open_ticket(customer=plain, subject=f"Repair {n}", kind="repair", channel="phone",
                                          by=org.agent, at=T0) for n in range(2)]
    assert sorted(other.assignee.username for other in others) == ["agent", "lead"]  # round robin

    progress = process_progress(ticket, at=T0 + 10 * M)
    assert (progress.version_number, progress.current.key) == (1, "diagnose")

    ticket_services.change_status(ticket, "on_hold", by=org.lead, at=T0 + 45 * M)  # completes "diagnose"
    progress = process_progress(ticket, at=T0 + 60 * M)
    assert [(step.key, step.status) for step in progress.steps] == \
        [("diagnose", "done"), ("repair", "active"), ("call-back", "pending")]
    assert progress.steps[0].elapsed_minutes == 45

    with pytest.raises(RuleViolation) as refused:
        ticket_services.change_status(ticket, "resolved", by=org.lead, at=T0 + 70 * M)
    assert refused.value.field == "override_reason"
    assert Ticket.objects.get(pk=ticket.pk).status == "on_hold"

    ticket_services.change_status(ticket, "resolved", by=org.lead, at=T0 + 80 * M,
                                  override_reason="Replaced under warranty, no repair needed")
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    overridden = TicketEvent.objects.get(ticket=ticket, kind="step_overridden")
    assert (overridden.step, overridden.actor) == ("repair", org.lead)

    # Process mining's view: every step start and finish, in order, by step key.
    assert list(TicketEvent.objects.filter(ticket=ticket, kind__startswith="step_").order_by("at", "id")
                .values_list("kind", "step")) == [
        ("step_started", "diagnose"), ("step_completed", "diagnose"), ("step_started", "repair"),
        ("step_overridden", "repair"),
    ]

    process_services.publish_version(definition, steps=repair_steps()[:1], change_note="shorter", by=org.admin)
    assert process_progress(ticket).version_number == 1
    newer = ticket_services.open_ticket(customer=plain, subject="Another", kind="repair", channel="phone",
                                        by=org.agent, at=T0 + 90 * M)
    assert [step.key for step in process_progress(newer).steps] == ["diagnose"]


def test_steps_that_resolving_finishes_do_not_hold_it_back(org):
    """An answer that completes on "resolved" and a call back that starts then need no override."""
    from loopcrm.service.services.processes import StepSpec

    repair_process(org.admin, kind="inquiry", key="answer", steps=[
        StepSpec(key="answer", name="Answer", target_minutes=60, complete_on_status="resolved"),
        StepSpec(key="call-back", name="Call back", target_minutes=60, start_on_status="resolved"),
    ])
    customer = factories.customer()
    ticket = ticket_services.open_ticket(customer=customer, subject="How do I descale?", kind="inquiry",
                                         channel="phone", by=org.agent, at=T0)
    assert process_progress(ticket).can_resolve
    ticket_services.change_status(ticket, "resolved", by=org.agent, at=T0 + 30 * M)
    assert [(step.key, step.status) for step in process_progress(ticket).steps] == \
        [("answer", "done"), ("call-back", "active")]
    assert not TicketEvent.objects.filter(ticket=ticket, kind="step_overridden").exists()


def test_a_step_that_completes_on_resolving_still_needs_its_checks(org):
    from loopcrm.service.services.processes import StepSpec

    repair_process(org.admin, kind="inquiry", key="answer", steps=[
        StepSpec(key="answer", name="Answer", target_minutes=60, complete_on_status="resolved",
                 checklist=["Knowledge base link sent"]),
    ])
    ticket = ticket_services.open_ticket(customer=factories.customer(), subject="Hours?", kind="inquiry",
                                         channel="phone", by=org.agent, at=T0)
    assert not process_progress(ticket).can_resolve
    with pytest.raises(RuleViolation) as refused:
        ticket_services.change_status(ticket, "resolved", by=org.agent, at=T0 + M)
    assert refused.value.extra["open_steps"] == ["answer"]
