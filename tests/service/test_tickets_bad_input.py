"""Bad input, each kind, through the API: a clear 4xx naming the field, never a 500, nothing written."""

from __future__ import annotations

import pytest

from loopcrm.service.models import Ticket, TicketEvent


@pytest.fixture
def base(zhang):
    return {"customer_id": zhang.pk, "subject": "空调不制冷"}


CREATE_CASES = [
    ("missing subject", {"subject": None}, "subject"),
    ("blank subject", {"subject": "   "}, "subject"),
    ("subject too long", {"subject": "长" * 201}, "subject"),
    ("NUL in subject", {"subject": "a\x00b"}, "subject"),
    ("NUL in description", {"description": "a\x00b"}, "description"),
    ("description too long", {"description": "x" * 100_001}, "description"),
    ("unknown kind", {"kind": "praise"}, "kind"),
    ("unknown channel", {"channel": "pigeon"}, "channel"),
    ("priority out of range", {"priority": 9}, "priority"),
    ("priority as text", {"priority": "3"}, "priority"),
    ("customer id as text", {"customer_id": "1"}, "customer_id"),
    ("customer id beyond 64 bits", {"customer_id": 2**64}, "customer_id"),
    ("customer id zero", {"customer_id": 0}, "customer_id"),
    ("no such customer", {"customer_id": 999999}, "customer_id"),
    ("no such category", {"category_id": 999999}, "category_id"),
    ("no such queue", {"queue_id": 999999}, "queue_id"),
    ("severity on an inquiry", {"severity": 2}, "severity"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("tags not a list", {"tags": "a,b"}, "tags"),
    ("too many tags", {"tags": [f"t{i}" for i in range(51)]}, "tags"),
    ("bool as id", {"queue_id": True}, "queue_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "change", "field"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_opening_with_bad_input(api_as, base, case, change, field):
    payload = {**base, **change}
    payload = {key: value for key, value in payload.items() if value is not None}
    response = api_as("agent").post("tickets", payload)
    assert response.status_code == 422, (case, response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert field in {error["field"].split(".")[0] for error in response.json()["errors"]}, response.json()
    assert not Ticket.objects.exists()


PATCH_CASES = [
    ("no version", {"subject": "x"}, 422, "version"),
    ("version as text", {"subject": "x", "version": "1"}, 422, "version"),
    ("stale version", {"subject": "x", "version": 99}, 409, "version"),
    ("null subject", {"subject": None, "version": 1}, 422, "subject"),
    ("status through patch", {"status": "closed", "version": 1}, 422, "status"),
    ("negative compensation", {"compensation_amount": "-5", "compensation_currency": "CNY", "version": 1}, 422,
     "compensation_amount"),
    ("compensation without currency", {"compensation_amount": "5", "version": 1}, 422, "compensation_currency"),
    ("compensation too precise", {"compensation_amount": "5.001", "compensation_currency": "CNY", "version": 1},
     422, "compensation_amount"),
    ("bad currency", {"compensation_amount": "5", "compensation_currency": "元元元", "version": 1}, 422,
     "compensation_currency"),
    ("no such root cause", {"root_cause_id": 999999, "version": 1}, 422, "root_cause_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "payload", "status", "field"), PATCH_CASES, ids=[c[0] for c in PATCH_CASES])
def test_changing_with_bad_input(api_as, zhang, open_ticket, case, payload, status, field):
    ticket = open_ticket(zhang, kind="complaint")
    events = TicketEvent.objects.filter(ticket=ticket).count()
    response = api_as("agent").patch(f"tickets/{ticket.pk}", payload)
    assert response.status_code == status, (case, response.content)
    assert field in {error["field"].split(".")[0] for error in response.json()["errors"]}, response.json()
    ticket.refresh_from_db()
    assert ticket.version == 1 and TicketEvent.objects.filter(ticket=ticket).count() == events


@pytest.mark.django_db
def test_a_malformed_if_match_is_refused(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    response = api_as("agent").patch(f"tickets/{ticket.pk}", {"subject": "x"}, headers={"If-Match": "*"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "If-Match"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["tickets/0", "tickets/99999999999999999999", "tickets/abc", "tickets/-1",
                                  "tickets/9223372036854775807/events"])
def test_odd_ticket_ids_are_404_or_422_never_500(api_as, path):
    assert api_as("agent").get(path).status_code in (404, 422)


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field"), [
    ({"status": "done"}, "status"), ({"priority": "high"}, "priority"), ({"view": "everything"}, "view"),
    ({"limit": 0}, "limit"), ({"q": "x" * 101}, "q"), ({"q": "a\x00"}, "q"), ({"category_id": 2**64}, "category_id"),
    ({"cursor": "not base64!"}, "cursor"),
])
def test_list_filters_with_bad_values(api_as, params, field):
    response = api_as("agent").get("tickets", **params)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.django_db
def test_messages_with_bad_input(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    api = api_as("agent")
    for payload, field in (({"kind": "reply", "body": ""}, "body"), ({"kind": "shout", "body": "x"}, "kind"),
                           ({"kind": "note", "body": "a\x00"}, "body"), ({"body": "x", "extra": 1}, "extra"),
                           ({"kind": "reply", "body": "x", "status": "sideways"}, "status")):
        response = api.post(f"tickets/{ticket.pk}/messages", payload)
        assert response.status_code == 422, payload
        assert response.json()["errors"][0]["field"] == field
    assert ticket.messages.count() == 1


@pytest.mark.django_db
def test_status_and_assignment_with_bad_input(api_as, org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    api = api_as("lead")
    assert api.post(f"tickets/{ticket.pk}/status", {"status": "closed"}).json()["errors"][0]["field"] == "reason"
    assert api.post(f"tickets/{ticket.pk}/status", {"status": "new"}).status_code == 422  # already new
    assert api.post(f"tickets/{ticket.pk}/assign", {"assignee_id": 999999}).status_code == 422
    assert api.post(f"tickets/{ticket.pk}/assign", {}).status_code == 422
    assert api.post(f"tickets/{ticket.pk}/assign", {"assignee_id": org.other_agent.pk}).status_code == 422
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id, ticket.version) == ("new", None, 1)
