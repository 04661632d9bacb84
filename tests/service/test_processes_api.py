"""The processes API (definitions, versions, flowchart) and a ticket's steps through the API."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loopcrm.service.models import ProcessDefinition, ProcessVersion, Ticket, TicketEvent
from loopcrm.service.services import processes as services
from tests import factories
from tests.service.test_processes_helpers import T0, category, repair_process, ticket

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"

STEPS = [
    {"key": "diagnose", "name": "Diagnose 诊断", "target_minutes": 60, "responsible_role": "agent",
     "checklist": ["Serial number noted"], "complete_on_status": "on_hold"},
    {"key": "repair", "name": "Repair 维修", "target_minutes": 240, "required_fields": ["corrective_action"]},
    {"key": "call-back", "name": "Call back", "target_minutes": 30, "is_mandatory": False},
]


def test_an_admin_defines_a_process_and_publishes_versions(api_as, org):
    admin = api_as("admin")
    late = category("Late delivery")
    created = admin.post("processes", {"key": "repair", "name": "Repair 维修流程", "ticket_kind": "repair",
                                       "category_id": late.pk, "steps": STEPS, "change_note": "first"})
    assert created.status_code == 201, created.json()
    process = created.json()
    assert (process["current_version"], process["category_id"], len(process["versions"])) == (1, late.pk, 1)

    v2 = admin.post(f"processes/{process['id']}/versions", {
        "change_note": "responsible department for repairs",
        "steps": [STEPS[0], {**STEPS[1], "responsible_department_id": org.service.pk, "target_minutes": 180}],
    })
    assert v2.status_code == 201, v2.json()
    assert v2["Location"] == f"/api/v1/processes/{process['id']}/versions/2"
    body = v2.json()
    assert (body["number"], body["is_current"], [step["key"] for step in body["steps"]]) == \
        (2, True, ["diagnose", "repair"])
    assert body["steps"][1]["responsible_department_id"] == org.service.pk

    v1 = admin.get(f"processes/{process['id']}/versions/1").json()
    assert (v1["is_current"], len(v1["steps"]), v1["steps"][1]["target_minutes"]) == (False, 3, 240)
    detail = admin.get(f"processes/{process['id']}").json()
    assert [(v["number"], v["is_current"]) for v in detail["versions"]] == [(2, True), (1, False)]
    assert admin.get("processes").json()["items"][0]["current_version"] == 2

    renamed = admin.patch(f"processes/{process['id']}", {"name": "Repairs", "is_active": False})
    assert (renamed.json()["name"], renamed.json()["is_active"]) == ("Repairs", False)
    assert admin.get(f"processes/{process['id']}/versions/3").status_code == 404


def test_the_flowchart_is_an_svg_of_the_version(api_as, org):
    definition, _version = repair_process(org.admin)
    answer = api_as("agent").get(f"processes/{definition.pk}/versions/1/flowchart.svg")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(answer.content)  # noqa: S314 - our own output
    steps = root.findall(f"{SVG}g[@data-key]")
    assert [step.get("data-key") for step in steps] == ["diagnose", "repair", "call-back"]
    assert "Diagnose 诊断" in answer.content.decode()


@pytest.mark.parametrize(("payload", "field"), [
    ({"key": "Bad Key"}, "key"),
    ({"key": "repair"}, "key"),  # taken: 409 below
    ({"name": ""}, "name"),
    ({"ticket_kind": "gossip"}, "ticket_kind"),
    ({"category_id": 999_999}, "category_id"),
    ({"steps": []}, "steps"),
    ({"steps": [{**STEPS[0], "target_minutes": 0}]}, "target_minutes"),
    ({"steps": [{**STEPS[0], "target_minutes": "60"}]}, "target_minutes"),
    ({"steps": [STEPS[0], STEPS[0]]}, "steps[1].key"),
    ({"steps": [{**STEPS[0], "responsible_role": "wizard"}]}, "responsible_role"),
    ({"steps": [{**STEPS[0], "responsible_department_id": 999_999}]}, "responsible_department_id"),
    ({"steps": [{**STEPS[0], "required_fields": ["password"]}]}, "required_fields"),
    ({"steps": [{**STEPS[0], "complete_on_status": "done"}]}, "complete_on_status"),
    ({"steps": [{**STEPS[0], "checklist": ["x" * 201]}]}, "checklist"),
    ({"steps": [{**STEPS[0], "name": "a\x00b"}]}, "name"),
    ({"steps": [{**STEPS[0], "colour": "red"}]}, "colour"),
])
def test_bad_processes_are_refused_and_nothing_is_written(api_as, org, payload, field):
    repair_process(org.admin)
    before = (ProcessDefinition.objects.count(), ProcessVersion.objects.count())
    answer = api_as("admin").post("processes", {"key": "new", "name": "New", "steps": STEPS, **payload})
    assert answer.status_code == (409 if payload == {"key": "repair"} else 422), answer.json()
    assert field in str(answer.json()["errors"])
    assert (ProcessDefinition.objects.count(), ProcessVersion.objects.count()) == before


def test_publishing_needs_at_least_one_step(api_as, org):
    definition, _version = repair_process(org.admin)
    answer = api_as("admin").post(f"processes/{definition.pk}/versions", {"steps": []})
    assert answer.status_code == 422
    assert ProcessVersion.objects.filter(definition=definition).count() == 1


@pytest.mark.parametrize(("persona", "read", "write"), [
    ("admin", 200, 201), ("lead", 200, 403), ("agent", 200, 403), ("exec", 200, 403),
])
def test_process_permission_matrix(api_as, org, persona, read, write):
    definition, _version = repair_process(org.admin)
    client = api_as(persona)
    assert client.get(f"processes/{definition.pk}").status_code == read
    assert client.get(f"processes/{definition.pk}/versions/1").status_code == read
    assert client.post(f"processes/{definition.pk}/versions", {"steps": STEPS}).status_code == write
    if write != 201:
        assert client.post("processes", {"key": "other", "name": "Other"}).status_code == write
        assert client.patch(f"processes/{definition.pk}", {"name": "x"}).status_code == write
        assert ProcessVersion.objects.filter(definition=definition).count() == 1
        assert not ProcessDefinition.objects.filter(key="other").exists()


# --- a ticket's steps --------------------------------------------------------------------------------

@pytest.fixture
def repair_ticket(org):
    repair_process(org.admin)
    made = ticket(kind=Ticket.Kind.REPAIR, department=org.service, assignee=org.agent, at=T0)
    services.start_process(made, by=org.agent, at=T0)
    return made


def test_an_agent_works_through_the_steps(api_as, org, repair_ticket):
    agent = api_as("agent")
    progress = agent.get(f"tickets/{repair_ticket.pk}/steps").json()
    assert (progress["process_name"], progress["version"], progress["can_resolve"]) == ("Repair 维修流程", 1, False)
    diagnose, repair, call_back = progress["steps"]
    assert (diagnose["status"], diagnose["target_minutes"], diagnose["checklist"][0]) == \
        ("active", 60, {"text": "Serial number noted", "ticked": False})
    base = f"tickets/{repair_ticket.pk}/steps"

    refused = agent.post(f"{base}/{diagnose['id']}/complete")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "checklist"

    ticked = agent.post(f"{base}/{diagnose['id']}/checklist", {"index": 0, "ticked": True}).json()
    assert ticked["steps"][0]["checklist"][0]["ticked"] is True
    after = agent.post(f"{base}/{diagnose['id']}/complete", {"checklist": [1]}).json()
    assert [step["status"] for step in after["steps"]] == ["done", "active", "pending"]

    missing = agent.post(f"{base}/{repair['id']}/complete", {})
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "corrective_action")
    assert agent.post(f"{base}/{call_back['id']}/start").status_code == 200
    skipped = agent.post(f"{base}/{call_back['id']}/skip", {"note": "Customer said no need"}).json()
    assert skipped["steps"][2]["status"] == "skipped"
    assert agent.post(f"{base}/{repair['id']}/skip").status_code == 422  # mandatory

    kinds = list(TicketEvent.objects.filter(ticket=repair_ticket).values_list("kind", "step", "actor"))
    assert ("step_completed", "diagnose", org.agent.pk) in kinds
    assert ("step_started", "call-back", org.agent.pk) in kinds


def test_a_ticket_without_a_process_has_no_steps(api_as, org):
    plain = ticket(department=org.service)
    assert api_as("agent").get(f"tickets/{plain.pk}/steps").json() == {
        "ticket_id": plain.pk, "process_id": None, "process_name": None, "version": None, "can_resolve": True,
        "steps": [],
    }


def test_steps_of_another_ticket_are_not_found(api_as, org, repair_ticket):
    other = ticket(department=org.service)
    step_id = api_as("agent").get(f"tickets/{repair_ticket.pk}/steps").json()["steps"][0]["id"]
    assert api_as("agent").post(f"tickets/{other.pk}/steps/{step_id}/start").status_code == 404
    assert api_as("agent").post(f"tickets/{repair_ticket.pk}/steps/{2**63}/start").status_code in (404, 422)


@pytest.mark.parametrize(("persona", "read", "write"), [
    ("agent", 200, 200), ("lead", 200, 200), ("exec", 200, 403), ("other_agent", 404, 404),
])
def test_step_permission_matrix(api_as, org, repair_ticket, persona, read, write):
    client = api_as(persona)
    assert client.get(f"tickets/{repair_ticket.pk}/steps").status_code == read
    row = repair_ticket.process.steps.get(step__key="call-back")
    assert client.post(f"tickets/{repair_ticket.pk}/steps/{row.pk}/start").status_code == write
    row.refresh_from_db()
    assert row.status == ("active" if write == 200 else "pending")


def test_a_ticket_keeps_its_version_through_the_api(api_as, org, repair_ticket):
    definition = repair_ticket.process.version.definition
    api_as("admin").post(f"processes/{definition.pk}/versions", {"steps": STEPS[:1]})
    assert api_as("agent").get(f"tickets/{repair_ticket.pk}/steps").json()["version"] == 1
    newer = ticket(kind=Ticket.Kind.REPAIR, department=org.service, customer=factories.customer())
    services.start_process(newer, by=None, at=T0)
    assert len(api_as("agent").get(f"tickets/{newer.pk}/steps").json()["steps"]) == 1


def test_a_tickets_flowchart_shows_where_it_stands(api_as, org, repair_ticket):
    answer = api_as("agent").get(f"tickets/{repair_ticket.pk}/steps/flowchart.svg")
    assert (answer.status_code, answer["Content-Type"]) == (200, "image/svg+xml")
    root = ET.fromstring(answer.content)  # noqa: S314 - our own output
    classes = {group.get("data-key"): group.get("class") for group in root.findall(f"{SVG}g[@data-key]")}
    assert "status-active" in classes["diagnose"] and "status-pending" in classes["repair"]
    plain = ticket(department=org.service)
    assert api_as("agent").get(f"tickets/{plain.pk}/steps/flowchart.svg").status_code == 404
    assert api_as("other_agent").get(f"tickets/{repair_ticket.pk}/steps/flowchart.svg").status_code == 404
