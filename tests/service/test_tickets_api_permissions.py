"""The permission matrix through the API: a Service ticket and a Sales East ticket, five personas.

Agents see and work their department's tickets; another department's are missing (404); the executive
sees everything and changes nothing (403). Every refusal leaves the ticket exactly as it was.
"""

from __future__ import annotations

import pytest

from loopcrm.service.models import Ticket, TicketEvent, TicketMessage
from loopcrm.service.services import tickets as services

VIEW = {"admin": 200, "lead": 200, "agent": 200, "other_agent": 404, "exec": 200}
CHANGE = {"admin": 200, "lead": 200, "agent": 200, "other_agent": 404, "exec": 403}


@pytest.fixture
def service_ticket(org, zhang, hotline_queue) -> Ticket:
    return services.open_ticket(customer=zhang, subject="服务部工单", by=org.agent, queue=hotline_queue)


@pytest.fixture
def east_ticket(org, east_customer, east_queue) -> Ticket:
    return services.open_ticket(customer=east_customer, subject="华东工单", by=org.other_agent, queue=east_queue)


def _state(ticket: Ticket):
    ticket.refresh_from_db()
    return (ticket.version, ticket.status, ticket.subject, ticket.assignee_id,
            TicketEvent.objects.filter(ticket=ticket).count(), TicketMessage.objects.filter(ticket=ticket).count(),
            sorted(ticket.tags.values_list("name", flat=True)))


WRITES = {
    "patch": lambda api, t: api.patch(f"tickets/{t.pk}", {"subject": "改了", "version": t.version}),
    "status": lambda api, t: api.post(f"tickets/{t.pk}/status", {"status": "open"}),
    "reply": lambda api, t: api.post(f"tickets/{t.pk}/messages", {"kind": "reply", "body": "您好"}),
    "note": lambda api, t: api.post(f"tickets/{t.pk}/messages", {"kind": "note", "body": "备注"}),
    "tags": lambda api, t: api.post(f"tickets/{t.pk}/tags", {"add": ["加急"]}),
    "take": lambda api, t: api.post(f"tickets/{t.pk}/assign", {"assignee_id": api.user.pk}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VIEW))
def test_reading_a_service_ticket(api_as, service_ticket, persona):
    api = api_as(persona)
    for path in ("", "/messages", "/events", "/attachments"):
        response = api.get(f"tickets/{service_ticket.pk}{path}")
        assert response.status_code == VIEW[persona], (path, response.content)
        if response.status_code == 404:
            assert response["Content-Type"] == "application/problem+json"
            assert "服务部工单" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("persona", list(CHANGE))
def test_writing_a_service_ticket(api_as, service_ticket, persona, write):
    api = api_as(persona)
    before = _state(service_ticket)
    response = WRITES[write](api, service_ticket)
    expected = CHANGE[persona]
    if write in ("reply", "note") and expected == 200:
        expected = 201
    if write == "take" and persona == "admin":
        expected = 422  # the administrator does not work the hotline queue
    assert response.status_code == expected, response.content
    if response.status_code >= 400:
        assert _state(service_ticket) == before


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VIEW))
def test_lists_show_each_persona_exactly_what_they_may_see(api_as, service_ticket, east_ticket, persona):
    seen = {row["id"] for row in api_as(persona).get("tickets").json()["items"]}
    expected = {
        "admin": {service_ticket.pk, east_ticket.pk},
        "lead": {service_ticket.pk},
        "agent": {service_ticket.pk},
        "other_agent": {east_ticket.pk},
        "exec": {service_ticket.pk, east_ticket.pk},
    }[persona]
    assert seen == expected


@pytest.mark.django_db
def test_an_agent_may_not_give_a_ticket_to_a_colleague_but_the_lead_may(org, api_as, service_ticket):
    before = _state(service_ticket)
    refused = api_as("agent").post(f"tickets/{service_ticket.pk}/assign", {"assignee_id": org.lead.pk})
    assert refused.status_code == 403
    assert _state(service_ticket) == before
    given = api_as("lead").post(f"tickets/{service_ticket.pk}/assign", {"assignee_id": org.agent.pk})
    assert given.status_code == 200 and given.json()["assignee"]["id"] == org.agent.pk


@pytest.mark.django_db
def test_the_executive_may_not_open_tickets(api_as, zhang):
    response = api_as("exec").post("tickets", {"customer_id": zhang.pk, "subject": "x"})
    assert response.status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_customer_out_of_sight_is_an_unknown_customer(api_as, zhang):
    # The agent's customer, to a sales rep of another team (agents see every customer: decision 0008).
    response = api_as("east_rep").post("tickets", {"customer_id": zhang.pk, "subject": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_id"
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_configuration_is_read_by_agents_and_changed_by_managers_of_it(api_as, org):
    assert api_as("agent").get("queues").status_code == 200
    refused = api_as("agent").post("ticket-categories", {"name": "配送", "code": "delivery"})
    assert refused.status_code == 403
    created = api_as("admin").post("ticket-categories", {"name": "配送", "code": "delivery"})
    assert created.status_code == 201
    assert api_as("exec").patch(f"ticket-categories/{created.json()['id']}", {"name": "x"}).status_code == 403
    assert api_as("agent").post("canned-replies", {"title": "x", "body": "y"}).status_code == 403
    assert api_as("agent").post("root-causes", {"name": "x", "code": "x", "branch": "people"}).status_code == 403
