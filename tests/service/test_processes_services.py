"""Standard service processes: publishing versions, a ticket's steps, automatic steps, resolving with open steps."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.service.models import ProcessStep, ProcessVersion, Ticket, TicketEvent, TicketProcess, TicketStep
from loopcrm.service.queries.processes import process_progress
from loopcrm.service.services import processes as services
from loopcrm.service.services.processes import StepSpec
from tests.service.test_processes_helpers import T0, category, repair_process, repair_steps, ticket

pytestmark = pytest.mark.django_db

M = dt.timedelta(minutes=1)


def steps_of(a_ticket: Ticket) -> dict[str, TicketStep]:
    return {row.step.key: row for row in
            TicketStep.objects.filter(ticket_process__ticket=a_ticket).select_related("step")}


def step_events(a_ticket: Ticket) -> list[tuple[str, str]]:
    return list(TicketEvent.objects.filter(ticket=a_ticket).order_by("at", "id").values_list("kind", "step"))


@pytest.fixture
def repair(org):
    return repair_process(org.admin)


@pytest.fixture
def repair_ticket(org, repair):
    made = ticket(kind=Ticket.Kind.REPAIR, at=T0)
    services.start_process(made, by=org.agent, at=T0)
    return made


# --- publishing ------------------------------------------------------------------------------------

def test_publishing_makes_the_first_version_current(org, repair):
    _definition, version = repair
    assert (version.number, version.is_current, version.published_by) == (1, True, org.admin)
    assert list(version.steps.values_list("key", "position")) == [("diagnose", 1), ("repair", 2), ("call-back", 3)]


@pytest.mark.parametrize(("steps", "field"), [
    ([], "steps"),
    ([StepSpec(key="a", name="A", target_minutes=10), StepSpec(key="a", name="B", target_minutes=10)], "steps[1].key"),
    ([StepSpec(key="a", name="A", target_minutes=0)], "steps[0].target_minutes"),
    ([StepSpec(key="a", name="A", target_minutes=-5)], "steps[0].target_minutes"),
    ([StepSpec(key="a", name="A", target_minutes=True)], "steps[0].target_minutes"),
    ([StepSpec(key="Bad Key", name="A", target_minutes=10)], "steps[0].key"),
    ([StepSpec(key="a", name="  ", target_minutes=10)], "steps[0].name"),
    ([StepSpec(key="a", name="A", target_minutes=10, responsible_role="wizard")], "steps[0].responsible_role"),
    ([StepSpec(key="a", name="A", target_minutes=10, complete_on_status="done")], "steps[0].complete_on_status"),
    ([StepSpec(key="a", name="A", target_minutes=10, start_on_status="open", complete_on_status="open")],
     "steps[0].complete_on_status"),
    ([StepSpec(key="a", name="A", target_minutes=10, checklist=[""])], "steps[0].checklist"),
    ([StepSpec(key="a", name="A", target_minutes=10, required_fields=["password"])], "steps[0].required_fields"),
])
def test_a_version_that_cannot_run_is_refused_and_nothing_is_published(org, steps, field):
    definition = services.create_definition(key="x", name="X", by=org.admin)
    with pytest.raises(RuleViolation) as refused:
        services.publish_version(definition, steps=steps, by=org.admin)
    assert refused.value.field == field
    assert not ProcessVersion.objects.filter(definition=definition).exists()


def test_definition_keys_are_unique_and_well_formed(org, repair):
    with pytest.raises(Conflict):
        services.create_definition(key="repair", name="Again", by=org.admin)
    with pytest.raises(RuleViolation) as bad:
        services.create_definition(key="No Spaces", name="X", by=org.admin)
    assert bad.value.field == "key"
    with pytest.raises(RuleViolation) as bad_kind:
        services.create_definition(key="y", name="Y", ticket_kind="gossip", by=org.admin)
    assert bad_kind.value.field == "ticket_kind"


def test_editing_publishes_a_new_version_and_open_tickets_keep_theirs(org, repair, repair_ticket):
    definition, v1 = repair
    steps = repair_steps(repair={"target_minutes": 120})
    steps.append(StepSpec(key="survey", name="Survey", target_minutes=10, is_mandatory=False))
    v2 = services.publish_version(definition, steps=steps, change_note="faster repair", by=org.admin)

    v1.refresh_from_db()
    assert (v2.number, v2.is_current, v1.is_current) == (2, True, False)
    assert ProcessStep.objects.get(version=v1, key="repair").target_minutes == 240  # v1 untouched
    assert repair_ticket.process.version == v1
    assert len(process_progress(repair_ticket).steps) == 3
    newer = ticket(kind=Ticket.Kind.REPAIR)
    services.start_process(newer, by=None, at=T0)
    assert TicketProcess.objects.get(ticket=newer).version == v2
    assert process_progress(newer).version_number == 2


# --- which process a ticket follows ----------------------------------------------------------------

def test_the_most_specific_process_applies(org):
    delivery = category("Delivery 配送")
    late = category("Late delivery 延迟", parent=delivery)
    steps = [StepSpec(key="look", name="Look", target_minutes=30)]
    generic = services.create_definition(key="generic", name="Generic", by=org.admin)
    complaints = services.create_definition(key="complaints", name="Complaints", ticket_kind="complaint",
                                            by=org.admin)
    by_category = services.create_definition(key="delivery", name="Delivery", category=delivery, by=org.admin)
    for definition in (generic, complaints, by_category):
        services.publish_version(definition, steps=steps, by=org.admin)

    def followed(**fields):
        made = ticket(**fields)
        services.start_process(made, by=None, at=T0)
        return made.process.version.definition.key

    assert followed(kind="inquiry") == "generic"
    assert followed(kind="complaint") == "complaints"
    assert followed(kind="complaint", category=late) == "delivery"  # the sub-category counts
    by_category.is_active = False
    by_category.save()
    assert followed(kind="complaint", category=late) == "complaints"


def test_no_process_no_steps_and_starting_twice_changes_nothing(org, repair):
    inquiry = ticket(kind=Ticket.Kind.INQUIRY)
    services.start_process(inquiry, by=None, at=T0)
    assert not TicketProcess.objects.filter(ticket=inquiry).exists()
    assert process_progress(inquiry) is None
    services.check_can_resolve(inquiry, by=org.agent, at=T0)  # nothing to hold it back

    made = ticket(kind=Ticket.Kind.REPAIR)
    services.start_process(made, by=None, at=T0)
    services.start_process(made, by=None, at=T0 + M)
    assert TicketStep.objects.filter(ticket_process__ticket=made).count() == 3
    assert step_events(made) == [("step_started", "diagnose")]


# --- steps by hand -----------------------------------------------------------------------------------

def test_a_step_runs_start_to_finish_with_its_checks(org, repair_ticket):
    rows = steps_of(repair_ticket)
    diagnose = rows["diagnose"]
    assert (diagnose.status, diagnose.started_at) == ("active", T0)

    with pytest.raises(RuleViolation) as unticked:
        services.complete_step(diagnose, by=org.agent, at=T0 + 10 * M)
    assert unticked.value.field == "checklist"
    assert unticked.value.extra["open_items"] == ["Serial number noted", "Photo received"]

    services.tick_checklist(diagnose, index=0, by=org.agent)
    done = services.complete_step(diagnose, by=org.agent, at=T0 + 70 * M, checklist=[1])
    assert (done.status, done.completed_by, done.duration_minutes) == ("done", org.agent, 70)

    repair = steps_of(repair_ticket)["repair"]
    assert (repair.status, repair.started_at) == ("active", T0 + 70 * M)  # the next one begins
    with pytest.raises(RuleViolation) as missing:
        services.complete_step(repair, by=org.agent, at=T0 + 100 * M)
    assert missing.value.field == "corrective_action"
    Ticket.objects.filter(pk=repair_ticket.pk).update(corrective_action="Replaced the fuser")
    services.complete_step(repair, by=org.agent, at=T0 + 100 * M)

    assert step_events(repair_ticket) == [
        ("step_started", "diagnose"), ("step_completed", "diagnose"), ("step_started", "repair"),
        ("step_completed", "repair"), ("step_started", "call-back"),
    ]
    completed = TicketEvent.objects.get(ticket=repair_ticket, kind="step_completed", step="diagnose")
    assert (completed.actor, completed.at, completed.data["duration_minutes"]) == (org.agent, T0 + 70 * M, 70)


def test_order_is_kept_a_step_cannot_finish_before_it_started(org, repair_ticket):
    rows = steps_of(repair_ticket)
    with pytest.raises(RuleViolation) as not_started:
        services.complete_step(rows["repair"], by=org.agent, at=T0 + M)
    assert not_started.value.field == "status"
    services.tick_checklist(rows["diagnose"], index=0, by=org.agent)
    services.tick_checklist(rows["diagnose"], index=1, by=org.agent)
    with pytest.raises(RuleViolation) as too_early:
        services.complete_step(rows["diagnose"], by=org.agent, at=T0 - M)
    assert too_early.value.field == "at"
    with pytest.raises(RuleViolation):
        services.start_step(rows["diagnose"], by=org.agent)  # already under way
    assert steps_of(repair_ticket)["diagnose"].status == "active"


def test_checklist_ticks_are_checked(org, repair_ticket):
    diagnose = steps_of(repair_ticket)["diagnose"]
    for bad in (2, -1, True):
        with pytest.raises(RuleViolation) as refused:
            services.tick_checklist(diagnose, index=bad, by=org.agent)
        assert refused.value.field == "checklist"
    services.tick_checklist(diagnose, index=1, by=org.agent)
    services.tick_checklist(diagnose, index=1, ticked=False, by=org.agent)
    assert steps_of(repair_ticket)["diagnose"].checklist_state == []
    with pytest.raises(RuleViolation):
        services.complete_step(diagnose, by=org.agent, checklist=[5])


def test_only_optional_steps_can_be_skipped(org, repair_ticket):
    rows = steps_of(repair_ticket)
    with pytest.raises(RuleViolation):
        services.skip_step(rows["diagnose"], by=org.agent)
    skipped = services.skip_step(rows["call-back"], by=org.agent, at=T0 + M, reason="Customer asked not to")
    assert (skipped.status, skipped.note) == ("skipped", "Customer asked not to")
    event = TicketEvent.objects.get(ticket=repair_ticket, step="call-back")
    assert (event.kind, event.new, event.data["reason"]) == ("step_completed", "skipped", "Customer asked not to")
    with pytest.raises(RuleViolation):
        services.skip_step(rows["call-back"], by=org.agent)


# --- steps by status -------------------------------------------------------------------------------

def test_a_status_completes_its_step_when_the_checks_pass(org):
    repair_process(org.admin, steps=repair_steps(diagnose={"checklist": []}, repair={"start_on_status": "open"}))
    made = ticket(kind=Ticket.Kind.REPAIR)
    services.start_process(made, by=None, at=T0)
    services.on_status_change(made, "open", "on_hold", by=org.agent, at=T0 + 30 * M)
    rows = steps_of(made)
    assert (rows["diagnose"].status, rows["diagnose"].duration_minutes) == ("done", 30)
    assert rows["repair"].status == "active"
    auto = TicketEvent.objects.get(ticket=made, kind="step_completed", step="diagnose")
    assert auto.data["auto"] is True


def test_a_status_leaves_a_step_open_when_its_checklist_is_not_ticked(org, repair_ticket):
    services.on_status_change(repair_ticket, "open", "on_hold", by=org.agent, at=T0 + 30 * M)
    assert steps_of(repair_ticket)["diagnose"].status == "active"
    assert step_events(repair_ticket) == [("step_started", "diagnose")]


def test_a_status_starts_its_step(org):
    repair_process(org.admin, steps=repair_steps(**{"call-back": {"start_on_status": "pending"}}))
    made = ticket(kind=Ticket.Kind.REPAIR)
    services.start_process(made, by=None, at=T0)
    services.on_status_change(made, "open", "pending", by=org.agent, at=T0 + 5 * M)
    rows = steps_of(made)
    assert (rows["diagnose"].status, rows["call-back"].status, rows["call-back"].started_at) == \
        ("active", "active", T0 + 5 * M)


# --- resolving -----------------------------------------------------------------------------------------

def test_resolving_with_mandatory_steps_open_needs_a_reason(org, repair_ticket):
    with pytest.raises(RuleViolation) as refused:
        services.check_can_resolve(repair_ticket, by=org.agent, at=T0 + M)
    assert refused.value.field == "override_reason"
    assert refused.value.extra["open_steps"] == ["diagnose", "repair"]
    assert not TicketEvent.objects.filter(ticket=repair_ticket, kind="step_overridden").exists()

    services.check_can_resolve(repair_ticket, override_reason="Customer bought a new printer", by=org.lead,
                               at=T0 + 2 * M)
    overridden = TicketEvent.objects.filter(ticket=repair_ticket, kind="step_overridden").order_by("id")
    assert [(event.step, event.actor, event.data["reason"]) for event in overridden] == [
        ("diagnose", org.lead, "Customer bought a new printer"), ("repair", org.lead, "Customer bought a new printer"),
    ]
    assert process_progress(repair_ticket).can_resolve
    services.check_can_resolve(repair_ticket, by=org.agent, at=T0 + 3 * M)  # nothing open any more


def test_optional_steps_never_hold_back_resolving(org):
    repair_process(org.admin, steps=[StepSpec(key="only", name="Only", target_minutes=5, is_mandatory=False)])
    made = ticket(kind=Ticket.Kind.REPAIR)
    services.start_process(made, by=None, at=T0)
    services.check_can_resolve(made, by=org.agent, at=T0)


# --- progress against targets ----------------------------------------------------------------------------

def test_progress_shows_each_step_against_its_target(org, repair_ticket, django_assert_max_num_queries):
    rows = steps_of(repair_ticket)
    services.complete_step(rows["diagnose"], by=org.agent, at=T0 + 90 * M, checklist=[0, 1])
    process_progress(repair_ticket)  # the version's steps are read once per configuration stamp
    with django_assert_max_num_queries(2):  # the stamp, and the ticket's process with its steps' progress
        progress = process_progress(repair_ticket, at=T0 + 100 * M)
    assert (progress.process_name, progress.version_number, progress.can_resolve) == ("Repair 维修流程", 1, False)
    diagnose, repair, call_back = progress.steps
    assert (diagnose.status, diagnose.elapsed_minutes, diagnose.target_minutes, diagnose.over_target,
            diagnose.minutes_over) == ("done", 90, 60, True, 30)
    assert diagnose.checklist == [("Serial number noted", True), ("Photo received", True)]
    assert (repair.status, repair.elapsed_minutes, repair.over_target, repair.missing_fields) == \
        ("active", 10, False, ["corrective_action"])
    assert (call_back.status, call_back.elapsed_minutes, call_back.over_target) == ("pending", None, None)
    assert progress.current.key == "repair"
    assert [step.key for step in progress.open_mandatory] == ["repair"]
