"""The Django admin obeys the customer rules: it saves through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from loopcrm.core.models import AuditEntry
from loopcrm.customers import services
from loopcrm.customers.models import Consent, ContactPerson, Customer
from tests import factories
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    client = Client()
    client.force_login(org.admin, backend="django.contrib.auth.backends.ModelBackend")
    return client


def customer_form(**values):
    data = {
        "kind": "person", "name": "张伟", "tag_names": "", "is_vip": "", "phone": "", "email": "",
        "external_id": "", "birthday": "", "country": "CN", "province": "", "city": "", "district": "",
        "street": "", "postal_code": "", "industry": "", "source_channel": "", "owner": "", "department": "",
        "notes": "", "version": "",
    }
    data.update(values)
    return data


def test_adding_a_customer_normalises_audits_and_defaults_the_owner(admin_client, org):
    response = admin_client.post("/admin/customers/customer/add/", customer_form(
        name=" 张伟 ", phone="138 0013 8000", email="ZW@Example.com", tag_names="VIP，新客"))
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.phone_raw, customer.email) == (
        "张伟", "+8613800138000", "138 0013 8000", "zw@example.com")
    assert customer.owner == org.admin and customer.department == org.head
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "新客"]
    assert AuditEntry.objects.filter(object_type="customers.customer", action="create", actor=org.admin).exists()


def test_a_duplicate_phone_is_a_form_error(admin_client, org, agents_customer):
    before = state()
    response = admin_client.post("/admin/customers/customer/add/", customer_form(phone="+86 138 0013 8000"))
    assert response.status_code == 200
    assert f"Customer #{agents_customer.pk} already has the phone number" in response.content.decode()
    assert state() == before


def test_an_edit_from_a_stale_form_is_refused(admin_client, org, agents_customer):
    url = f"/admin/customers/customer/{agents_customer.pk}/change/"
    assert admin_client.get(url).status_code == 200
    services.update_customer(agents_customer, by=org.agent, version=1, changes={"city": "北京市"})
    before = state()
    response = admin_client.post(url, customer_form(name="张伟", phone="+8613800138000", email="zhang.wei@example.com",
                                                    city="广州市", owner=org.agent.pk, version=1))
    assert response.status_code == 200
    assert "Someone changed this customer" in response.content.decode()
    assert state() == before


def test_an_edit_goes_through_the_service_with_a_diff(admin_client, org, agents_customer):
    url = f"/admin/customers/customer/{agents_customer.pk}/change/"
    response = admin_client.post(url, customer_form(
        name="张伟", phone="+8613800138000", email="zhang.wei@example.com", province="上海市", city="杭州市",
        owner=org.agent.pk, department=org.service.pk, version=1))
    assert response.status_code == 302, response.content.decode()[:3000]
    agents_customer.refresh_from_db()
    assert (agents_customer.city, agents_customer.version, agents_customer.phone_raw) == ("杭州市", 2, "138 0013 8000")
    entry = AuditEntry.objects.get(object_type="customers.customer", action="update")
    assert entry.changes == {"city": ["上海市", "杭州市"]} and entry.actor == org.admin


def test_contacts_of_an_organisation_are_saved_through_the_service(admin_client, org, acme):
    url = f"/admin/customers/customer/{acme.pk}/change/"
    data = customer_form(kind="organisation", name=acme.name, email=acme.email, province="上海市", city="上海市",
                         owner=org.agent.pk, department=org.service.pk, version=1)
    data.update({
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000", "contacts-0-name": "王经理", "contacts-0-title": "",
        "contacts-0-phone": "021 6123 4567", "contacts-0-email": "WANG@acme.example.cn", "contacts-0-notes": "",
        "contacts-0-is_primary": "on",
    })
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contact = ContactPerson.objects.get()
    assert (contact.phone, contact.email, contact.is_primary) == ("+862161234567", "wang@acme.example.cn", True)
    assert AuditEntry.objects.filter(object_type="customers.contactperson", action="create").exists()


def test_a_customer_with_orders_cannot_be_deleted_in_the_admin(admin_client, org, agents_customer):
    factories.order(agents_customer, lines=[(factories.product(), 1)])
    response = admin_client.post(f"/admin/customers/customer/{agents_customer.pk}/delete/", {"post": "yes"})
    assert response.status_code in (200, 403)
    assert Customer.objects.filter(pk=agents_customer.pk).exists()


def test_deleting_in_the_admin_is_audited(admin_client, org, agents_customer):
    response = admin_client.post(f"/admin/customers/customer/{agents_customer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Customer.objects.exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(agents_customer.pk)).exists()


def test_consent_records_are_added_through_the_service_and_never_edited(admin_client, org, agents_customer):
    response = admin_client.post("/admin/customers/consent/add/", {
        "customer": agents_customer.pk, "channel": "sms", "purpose": "marketing", "status": "granted",
        "method": "paper", "at_0": "2025-03-04", "at_1": "09:30:00", "notice_version": "2025-01", "note": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    consent = Consent.objects.get()
    assert consent.recorded_by == org.admin
    assert AuditEntry.objects.filter(object_type="customers.consent", action="create").exists()
    page = admin_client.get(f"/admin/customers/consent/{consent.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert admin_client.post(f"/admin/customers/consent/{consent.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_changelist_and_merge_action(admin_client, org, agents_customer):
    dup = factories.customer("张伟", owner=org.agent, phone="", email="zw2@example.com")
    assert admin_client.get("/admin/customers/customer/", {"q": "张伟"}).status_code == 200
    response = admin_client.post("/admin/customers/customer/", {
        "action": "merge_selected", "_selected_action": [agents_customer.pk, dup.pk]})
    assert response.status_code == 302
    dup.refresh_from_db()
    assert dup.merged_into_id == agents_customer.pk
    assert admin_client.get("/admin/customers/tag/").status_code == 200


def test_a_bad_contact_phone_is_a_form_error_in_the_inline(admin_client, org, acme):
    contact = services.add_contact(acme, by=org.agent, name="李秘书")
    url = f"/admin/customers/customer/{acme.pk}/change/"
    data = customer_form(kind="organisation", name=acme.name, email=acme.email, province="上海市", city="上海市",
                         owner=org.agent.pk, department=org.service.pk, version=1)
    data.update({
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "1", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000", "contacts-0-id": contact.pk, "contacts-0-organisation": acme.pk,
        "contacts-0-name": "李秘书", "contacts-0-title": "", "contacts-0-phone": "95588", "contacts-0-email": "",
        "contacts-0-notes": "",
    })
    before = state()
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "short service number" in response.content.decode()
    assert state() == before


def test_a_merged_customer_is_view_only_in_the_admin(admin_client, org, agents_customer):
    keep = factories.customer("张伟", owner=org.agent, phone="", email="")
    services.merge_customers(keep=keep, duplicate=agents_customer, by=org.admin)
    page = admin_client.get(f"/admin/customers/customer/{agents_customer.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
