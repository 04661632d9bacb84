"""The customer API through a real client: status, body and what the database holds afterwards."""

from __future__ import annotations

import pytest

from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Consent, ContactPerson, Customer, Tag
from tests import factories
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db


def test_an_agent_creates_a_customer_and_reads_it_back(api_as, org):
    agent = api_as("agent")
    response = agent.post("customers", json={
        "name": "张伟", "phone": "+86 138 0013 8000", "email": "Zhang.Wei@Example.com", "province": "上海市",
        "city": "上海市", "tags": ["VIP", "新客"], "source_channel": "wechat", "birthday": "1990-05-17",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get()
    assert response["Location"] == f"/api/v1/customers/{customer.pk}"
    assert response["ETag"] == '"1"'
    assert body["id"] == customer.pk
    assert (body["phone"], body["phone_raw"], body["email"]) == ("+8613800138000", "+86 138 0013 8000",
                                                                 "zhang.wei@example.com")
    assert body["owner"] == {"id": org.agent.pk, "name": "王芳"}
    assert body["department"] == {"id": org.service.pk, "name": org.service.name}
    assert [t["name"] for t in body["tags"]] == ["VIP", "新客"]
    assert body["version"] == 1 and body["merged_into_id"] is None and body["birthday"] == "1990-05-17"
    assert (customer.phone, customer.owner, customer.created_by) == ("+8613800138000", org.agent, org.agent)
    assert AuditEntry.objects.filter(object_type="customers.customer", action="create", actor=org.agent).count() == 1

    detail = agent.get(f"customers/{customer.pk}")
    assert detail.status_code == 200 and detail["ETag"] == '"1"'
    assert detail.json() == body


def test_a_duplicate_answers_409_naming_the_existing_customer(api_as, org, agents_customer):
    agent = api_as("agent")
    before = state()
    response = agent.post("customers", json={"name": "另一个张伟", "phone": "13800138000"})
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 409 and f"#{agents_customer.pk}" in problem["detail"]
    assert problem["errors"][0] | {"message": ""} == {
        "field": "phone", "existing_id": agents_customer.pk, "matched_on": "phone", "message": "",
    }
    assert state() == before


def test_patch_with_the_version_in_the_body_or_if_match(api_as, org, agents_customer):
    agent = api_as("agent")
    response = agent.patch(f"customers/{agents_customer.pk}", json={"version": 1, "city": "北京市"})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response["ETag"] == '"2"'
    response = agent.patch(f"customers/{agents_customer.pk}", json={"tags": ["老客"]}, headers={"If-Match": '"2"'})
    assert response.status_code == 200, response.content
    agents_customer.refresh_from_db()
    assert (agents_customer.city, agents_customer.version) == ("北京市", 3)
    assert list(agents_customer.tags.values_list("name", flat=True)) == ["老客"]


def test_two_clients_edit_the_same_version_the_second_gets_409_and_the_first_survives(api_as, org, agents_customer):
    first, second = api_as("agent"), api_as("lead")
    assert first.patch(f"customers/{agents_customer.pk}", json={"version": 1, "city": "北京市"}).status_code == 200
    before = state()
    response = second.patch(f"customers/{agents_customer.pk}", json={"version": 1, "city": "广州市"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["current_version"] == 2
    assert state() == before
    agents_customer.refresh_from_db()
    assert agents_customer.city == "北京市"


def test_patch_may_clear_optional_fields_but_not_the_name(api_as, org, agents_customer):
    agent = api_as("agent")
    response = agent.patch(f"customers/{agents_customer.pk}", json={"version": 1, "email": "", "birthday": None})
    assert response.status_code == 200
    assert response.json()["email"] == ""
    response = agent.patch(f"customers/{agents_customer.pk}", json={"version": 2, "name": None})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"


def test_patch_owner_and_department_by_id(api_as, org, agents_customer):
    response = api_as("admin").patch(f"customers/{agents_customer.pk}", json={
        "version": 1, "owner_id": org.other_agent.pk, "department_id": org.sales_east.pk,
    })
    assert response.status_code == 200, response.content
    agents_customer.refresh_from_db()
    assert (agents_customer.owner, agents_customer.department) == (org.other_agent, org.sales_east)
    response = api_as("admin").patch(f"customers/{agents_customer.pk}", json={"version": 2, "owner_id": 987654})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "owner_id"


def test_delete_answers_204_and_the_row_is_gone_unless_it_has_orders(api_as, org, agents_customer):
    admin = api_as("admin")
    with_orders = factories.customer("有订单", owner=org.agent)
    factories.order(with_orders, lines=[(factories.product(), 1)])
    before = state()
    response = admin.delete(f"customers/{with_orders.pk}")
    assert response.status_code == 409 and "orders" in response.json()["detail"]
    assert state() == before
    response = admin.delete(f"customers/{agents_customer.pk}", headers={"If-Match": '"1"'})
    assert response.status_code == 204 and response.content == b""
    assert not Customer.objects.filter(pk=agents_customer.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(agents_customer.pk)).exists()


def test_merge_through_the_api(api_as, org, agents_customer):
    dup = factories.customer("张伟", owner=org.agent, phone="", email="zw2@example.com")
    factories.interaction(dup)
    response = api_as("lead").post("customers/merge", json={"keep_id": agents_customer.pk, "duplicate_id": dup.pk})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == agents_customer.pk and response.json()["version"] == 2
    assert agents_customer.interactions.count() == 1
    dup.refresh_from_db()
    assert dup.merged_into_id == agents_customer.pk
    gone = api_as("lead").get(f"customers/{dup.pk}")
    assert gone.status_code == 404 and f"merged into customer #{agents_customer.pk}" in gone.json()["detail"]


def test_list_filters_searches_sorts_and_pages(api_as, org):
    for i in range(5):
        factories.customer(f"客户{i}", owner=org.agent, city="杭州市" if i % 2 else "上海市",
                           is_vip=i == 3)
    vip = Customer.objects.get(is_vip=True)
    vip.tags.add(Tag.objects.create(name="VIP"))
    factories.customer("别的部门", owner=org.other_agent)
    agent = api_as("agent")

    body = agent.get("customers").json()
    # -id; an agent sees every customer, another department's too (decision 0008)
    assert [c["name"] for c in body["items"]] == ["别的部门"] + [f"客户{i}" for i in reversed(range(5))]
    assert body["next_cursor"] is None and body["limit"] == 25

    assert [c["name"] for c in agent.get("customers", city="杭州市", sort="id").json()["items"]] == ["客户1", "客户3"]
    assert [c["name"] for c in agent.get("customers", is_vip="true").json()["items"]] == ["客户3"]
    assert [c["name"] for c in agent.get("customers", tag="vip").json()["items"]] == ["客户3"]
    assert [c["name"] for c in agent.get("customers", q="客户4").json()["items"]] == ["客户4"]
    response = agent.get("customers", owner_id=org.other_agent.pk)
    assert [c["name"] for c in response.json()["items"]] == ["别的部门"], response.content
    response = api_as("east_rep").get("customers", owner_id=org.other_agent.pk)
    assert response.json()["items"] == [], response.content  # not in a sales rep's (team) scope
    # an HTML form sends empty values: they filter nothing
    response = agent.get("customers", kind="", city="", q="")
    assert len(response.json()["items"]) == 6, response.content

    page1 = agent.get("customers", limit=2, sort="name").json()
    page2 = agent.get("customers", limit=2, sort="name", cursor=page1["next_cursor"]).json()
    page3 = agent.get("customers", limit=2, sort="name", cursor=page2["next_cursor"]).json()
    names = [c["name"] for page in (page1, page2, page3) for c in page["items"]]
    assert names == sorted(names) and len(set(names)) == 6 and page3["next_cursor"] is None


def test_contacts_crud_on_an_organisation(api_as, org, acme):
    agent = api_as("agent")
    response = agent.post(f"customers/{acme.pk}/contacts", json={
        "name": "王经理", "title": "采购经理", "phone": "021-6123 4567 转 8", "email": "Wang@Acme.example.cn",
        "is_primary": True,
    })
    assert response.status_code == 201, response.content
    contact = response.json()
    assert (contact["phone"], contact["email"], contact["organisation_id"]) == (
        "+862161234567", "wang@acme.example.cn", acme.pk)
    listed = agent.get(f"customers/{acme.pk}/contacts").json()
    assert [c["id"] for c in listed["items"]] == [contact["id"]]
    response = agent.patch(f"customers/{acme.pk}/contacts/{contact['id']}", json={"title": "总经理"})
    assert response.status_code == 200 and response.json()["title"] == "总经理"
    assert ContactPerson.objects.get().title == "总经理"
    assert agent.delete(f"customers/{acme.pk}/contacts/{contact['id']}").status_code == 204
    assert not ContactPerson.objects.exists()


def test_contacts_are_refused_on_a_person_and_unknown_ones_are_404(api_as, org, agents_customer, acme):
    agent = api_as("agent")
    response = agent.post(f"customers/{agents_customer.pk}/contacts", json={"name": "X"})
    assert response.status_code == 422 and "organisations" in response.json()["detail"]
    other = factories.customer("Other Ltd", owner=org.agent, kind=Customer.Kind.ORGANISATION, email="")
    contact = ContactPerson.objects.create(organisation=other, name="Y")
    # a contact of another organisation is not reachable through this one
    assert agent.patch(f"customers/{acme.pk}/contacts/{contact.pk}", json={"title": "x"}).status_code == 404
    assert agent.delete(f"customers/{acme.pk}/contacts/{contact.pk}").status_code == 404
    assert ContactPerson.objects.filter(pk=contact.pk, title="").exists()


def test_consent_is_recorded_and_read_as_current_and_history(api_as, org, agents_customer):
    agent = api_as("agent")
    for status in ("granted", "withdrawn"):
        response = agent.post(f"customers/{agents_customer.pk}/consents", json={
            "channel": "sms", "purpose": "marketing", "status": status, "method": "phone",
            "notice_version": "2025-01",
        })
        assert response.status_code == 201, response.content
        assert response.json()["recorded_by"] == {"id": org.agent.pk, "name": "王芳"}
    current = agent.get(f"customers/{agents_customer.pk}/consents")
    assert current.status_code == 200
    assert [(c["channel"], c["purpose"], c["status"]) for c in current.json()] == [("sms", "marketing", "withdrawn")]
    history = agent.get(f"customers/{agents_customer.pk}/consents/history").json()
    assert [c["status"] for c in history["items"]] == ["withdrawn", "granted"]
    assert Consent.objects.count() == 2
    response = agent.post(f"customers/{agents_customer.pk}/consents", json={
        "channel": "sms", "purpose": "marketing", "status": "granted", "at": "2999-01-01T00:00:00+08:00"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "at"
    assert Consent.objects.count() == 2
