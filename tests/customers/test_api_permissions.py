"""Who may do what to a customer, over the API. Every denial also leaves everything as it was.

The customer under test belongs to the agent (王芳, Service department, Hotline team with the lead).
- admin: everything;
- lead: sees every customer, changes and merges the team's customers, never deletes;
- agent: sees every customer, changes own customers, never deletes or merges;
- other_agent (an agent of Sales East): sees it too (decision 0008: service staff see every
  customer) but it is not theirs — changing, merging or deleting it is 403;
- east_rep (a sales rep of Sales East, another team): does not see it at all — 404, as if it did
  not exist;
- exec: sees everything, changes nothing — 403;
- a token of a deactivated user: 401.
"""

from __future__ import annotations

import pytest

from loopcrm.accounts import services as account_services
from loopcrm.accounts.models import Role
from loopcrm.customers.models import Customer
from tests import factories
from tests.conftest import ApiClient
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db

PERSONAS = ["admin", "lead", "agent", "other_agent", "east_rep", "exec", "deactivated"]


@pytest.fixture
def client_for(org, api_as):
    def make(persona: str) -> ApiClient:
        if persona == "deactivated":
            user = factories.user("gone", role=Role.ADMINISTRATOR, department=org.head)
            client = ApiClient(user)  # the token was made while the user was active
            account_services.deactivate_user(user, by=org.admin)
            return client
        return api_as(persona)

    return make


@pytest.fixture
def customer(org) -> Customer:
    return factories.customer("张伟", owner=org.agent, phone="+8613800138000", email="zw@example.com")


def _assert_denied(response, status, before):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == status and response.json()["detail"]
    assert state() == before


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 200), ("lead", 200), ("agent", 200), ("other_agent", 200), ("east_rep", 200), ("exec", 200),
    ("deactivated", 401),
])
def test_list(client_for, customer, persona, status):
    response = client_for(persona).get("customers")
    assert response.status_code == status
    if status == 200:
        ids = [item["id"] for item in response.json()["items"]]
        assert ids == ([] if persona == "east_rep" else [customer.pk])


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 200), ("lead", 200), ("agent", 200), ("other_agent", 200), ("east_rep", 404), ("exec", 200),
    ("deactivated", 401),
])
def test_get(client_for, customer, persona, status):
    client = client_for(persona)
    before = state()
    response = client.get(f"customers/{customer.pk}")
    if status == 200:
        assert response.status_code == 200 and response.json()["id"] == customer.pk
    else:
        _assert_denied(response, status, before)


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 201), ("lead", 201), ("agent", 201), ("other_agent", 201), ("east_rep", 201), ("exec", 403),
    ("deactivated", 401),
])
def test_create(client_for, org, persona, status):
    client = client_for(persona)
    before = state()
    response = client.post("customers", json={"name": "新客户", "phone": "13900000000"})
    if status == 201:
        assert response.status_code == 201, response.content
        created = Customer.objects.get(pk=response.json()["id"])
        assert created.owner == client.user and created.created_by == client.user
    else:
        _assert_denied(response, status, before)


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 200), ("lead", 200), ("agent", 200), ("other_agent", 403), ("east_rep", 404), ("exec", 403),
    ("deactivated", 401),
])
def test_patch(client_for, customer, persona, status):
    client = client_for(persona)
    before = state()
    response = client.patch(f"customers/{customer.pk}", json={"version": 1, "city": "北京市"})
    if status == 200:
        assert response.status_code == 200, response.content
        customer.refresh_from_db()
        assert (customer.city, customer.version) == ("北京市", 2)
    else:
        _assert_denied(response, status, before)


def test_an_agent_may_not_change_a_colleagues_customer_in_the_same_department(org, api_as):
    colleagues = factories.customer("李娜", owner=org.lead)
    agent = api_as("agent")
    before = state()
    assert agent.get(f"customers/{colleagues.pk}").status_code == 200  # visible: agents see every customer
    _assert_denied(agent.patch(f"customers/{colleagues.pk}", json={"version": 1, "city": "x"}), 403, before)


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 204), ("lead", 403), ("agent", 403), ("other_agent", 403), ("east_rep", 404), ("exec", 403),
    ("deactivated", 401),
])
def test_delete(client_for, customer, persona, status):
    client = client_for(persona)
    before = state()
    response = client.delete(f"customers/{customer.pk}")
    if status == 204:
        assert response.status_code == 204
        assert not Customer.objects.filter(pk=customer.pk).exists()
    else:
        _assert_denied(response, status, before)


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 200), ("lead", 200), ("agent", 403), ("other_agent", 403), ("east_rep", 404), ("exec", 403),
    ("deactivated", 401),
])
def test_merge(client_for, org, customer, persona, status):
    duplicate = factories.customer("张 伟", owner=org.agent, phone="", email="zw2@example.com")
    factories.interaction(duplicate)
    client = client_for(persona)
    before = state()
    response = client.post("customers/merge", json={"keep_id": customer.pk, "duplicate_id": duplicate.pk})
    if status == 200:
        assert response.status_code == 200, response.content
        duplicate.refresh_from_db()
        assert duplicate.merged_into_id == customer.pk and customer.interactions.count() == 1
    else:
        _assert_denied(response, status, before)


@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 201), ("lead", 201), ("agent", 201), ("other_agent", 403), ("east_rep", 404), ("exec", 403),
    ("deactivated", 401),
])
def test_contacts_and_consent_follow_the_customer(client_for, org, persona, status):
    organisation = factories.customer("Acme", owner=org.agent, kind=Customer.Kind.ORGANISATION, email="")
    client = client_for(persona)
    before = state()
    contact = client.post(f"customers/{organisation.pk}/contacts", json={"name": "王经理"})
    consent = client.post(f"customers/{organisation.pk}/consents",
                          json={"channel": "email", "purpose": "marketing", "status": "granted"})
    if status == 201:
        assert (contact.status_code, consent.status_code) == (201, 201)
    else:
        assert consent.status_code == status
        _assert_denied(contact, status, before)


def test_an_unauthenticated_request_is_401_with_a_challenge(client, org):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
