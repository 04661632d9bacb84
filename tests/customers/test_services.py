"""Stories about the customer services: creating, editing, deleting, merging, consent, contacts and tags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopcrm.commerce.models import Order
from loopcrm.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers import queries, services
from loopcrm.customers.models import Consent, ContactPerson, Customer, Tag
from loopcrm.customers.services import DuplicateCustomer
from loopcrm.interactions.models import Interaction
from tests import factories
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db


def audit_of(obj, action=None):
    rows = AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return list(rows.filter(action=action) if action else rows)


# --- creating --------------------------------------------------------------------------------

def test_agent_creates_a_customer_with_clean_values_tags_and_an_audit_row(org):
    customer = services.create_customer(
        by=org.agent, name="  张\u200b伟  ", phone="＋８６ １３８ ００１３ ８０００",
        email=" Zhang.Wei+VIP@Example.COM ",
        province="上海市", city="上海市", tags=["VIP", "vip", " 新客 ", ""], source_channel="wechat",
        birthday=dt.date(1990, 5, 17),
    )
    customer.refresh_from_db()
    assert customer.name == "张伟"
    assert (customer.phone, customer.phone_raw) == ("+8613800138000", "＋８６ １３８ ００１３ ８０００")
    assert customer.email == "zhang.wei+vip@example.com"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "新客"]
    assert customer.owner == org.agent and customer.department == org.service  # defaults: creator, their dept
    assert customer.created_by == org.agent and customer.version == 1
    [entry] = audit_of(customer, "create")
    assert entry.actor == org.agent
    assert entry.changes["phone"] == "+8613800138000" and entry.changes["tags"] == ["VIP", "新客"]


def test_department_defaults_to_the_owners_department(org):
    customer = services.create_customer(by=org.admin, name="Tom", owner=org.other_agent)
    assert customer.department == org.sales_east


def test_tags_match_existing_ones_case_insensitively(org):
    existing = Tag.objects.create(name="VIP")
    customer = services.create_customer(by=org.agent, name="A", tags=["vip", "ＶＩＰ"])
    assert list(customer.tags.all()) == [existing]
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "😀 Smile Zhang",  # emoji
        "𠮷野家",  # non-BMP CJK (not in GBK)
        "欧阳娜娜",  # a two-character surname: stored whole, never split
        "Robert'); DROP TABLE customers;--",  # SQL-looking: stored verbatim
        "<script>alert(1)</script>",  # HTML: stored verbatim, escaped where shown
    ],
)
def test_names_are_stored_as_given(org, name):
    customer = services.create_customer(by=org.agent, name=name)
    customer.refresh_from_db()
    assert customer.name == name


def test_names_are_nfc_and_lose_invisible_controls(org):
    decomposed = "Jose\u0301 Garci\u0301a"  # NFD
    customer = services.create_customer(by=org.agent, name=f"\u202e{decomposed}\u200b")
    assert customer.name == "José García"


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": " \u200b "}, "name", "required"),
        ({"name": "张\x00伟"}, "name", "NUL"),
        ({"name": "名" * 201}, "name", "At most 200"),
        ({"name": "A", "phone": "95588"}, "phone", "short service number"),
        ({"name": "A", "phone": "not a phone"}, "phone", "not a phone number"),
        ({"name": "A", "email": "a@exаmple.com"}, "email", "mixes alphabets"),
        ({"name": "A", "email": "nobody"}, "email", "has no @"),
        ({"name": "A", "kind": "robot"}, "kind", "not one of"),
        ({"name": "A", "country": "XX"}, "country", "ISO 3166"),
        ({"name": "A", "source_channel": "tv"}, "source_channel", "not one of"),
        ({"name": "A", "birthday": dt.date(2999, 1, 1)}, "birthday", "future"),
        ({"name": "A", "birthday": dt.date(1850, 1, 1)}, "birthday", "before 1900"),
        ({"name": "A", "notes": "x" * 10_001}, "notes", "At most 10000"),
        ({"name": "A", "tags": "VIP"}, "tags", "list of names"),
        ({"name": "A", "tags": ["x" * 51]}, "tags", "At most 50"),
        ({"name": "A", "tags": [f"t{i}" for i in range(51)]}, "tags", "At most 50 tags"),
        ({"name": "A", "is_vip": "yes"}, "is_vip", "true or false"),
        ({"name": 12345}, "name", "Expected text"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(org, values, field, says):
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.create_customer(by=org.agent, **values)
    assert caught.value.field == field
    assert says in caught.value.message
    assert state() == before


def test_a_deactivated_owner_is_refused(org):
    org.lead.is_active = False
    org.lead.save()
    with pytest.raises(RuleViolation, match="deactivated"):
        services.create_customer(by=org.admin, name="A", owner=org.lead)


@pytest.mark.parametrize(
    ("existing", "new", "matched_on"),
    [
        ({"phone": "+8613800138000"}, {"phone": "0086 138-0013-8000"}, "phone"),
        ({"email": "zhang@example.com"}, {"email": "ZHANG@EXAMPLE.COM"}, "email"),
        ({"email": "zhang@example.com"}, {"email": "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"}, "email"),
        ({"external_id": "SHOP-42"}, {"external_id": " SHOP-42 "}, "external_id"),
    ],
)
def test_a_duplicate_by_phone_email_or_external_id_is_refused_naming_the_existing_one(org, existing, new, matched_on):
    first = factories.customer("张伟", owner=org.agent, **{"phone": "", "email": "", **existing})
    before = state()
    with pytest.raises(DuplicateCustomer) as caught:
        services.create_customer(by=org.agent, name="张伟", **new)
    error = caught.value
    assert isinstance(error, Conflict) and error.status == 409
    assert error.extra == {"existing_id": first.pk, "matched_on": matched_on}
    assert error.field == matched_on and f"#{first.pk}" in error.message
    assert state() == before


def test_nfc_and_nfd_spellings_of_the_same_email_are_one_customer(org):
    services.create_customer(by=org.agent, name="A", email="jose\u0301@example.com")
    with pytest.raises(DuplicateCustomer):
        services.create_customer(by=org.agent, name="B", email="jos\u00e9@example.com")


def test_merged_customers_do_not_count_as_duplicates(org):
    keep = factories.customer("A", owner=org.agent, phone="+8613900000001", email="")
    gone = factories.customer("B", owner=org.agent, phone="+8613900000002", email="b@example.com")
    services.merge_customers(keep=keep, duplicate=gone, by=org.admin)
    # the email moved to the kept customer, so it is still taken — by the kept one
    with pytest.raises(DuplicateCustomer) as caught:
        services.create_customer(by=org.agent, name="C", email="b@example.com")
    assert caught.value.extra["existing_id"] == keep.pk
    # the duplicate's phone is free: the kept customer has its own
    assert services.create_customer(by=org.agent, name="D", phone="+8613900000002").pk


def test_a_read_only_role_may_not_create(org):
    before = state()
    with pytest.raises(PermissionDenied):
        services.create_customer(by=org.exec, name="A")
    assert state() == before


def test_an_agent_may_not_create_a_customer_for_someone_else(org):
    before = state()
    with pytest.raises(PermissionDenied):
        services.create_customer(by=org.agent, name="A", owner=org.other_agent)
    assert state() == before


def test_the_system_creates_without_an_actor(org):
    customer = services.create_customer(by=None, name="Imported")
    assert customer.owner is None and customer.created_by is None
    assert audit_of(customer, "create")[0].actor is None


# --- editing ---------------------------------------------------------------------------------

def test_an_edit_names_the_version_and_leaves_a_diff(org, agents_customer):
    customer = services.update_customer(
        agents_customer, by=org.lead, version=1,
        changes={"name": "张伟明", "phone": "139 0000 0000", "city": "杭州市", "tags": ["老客"], "owner": org.lead},
    )
    assert customer.version == 2
    assert (customer.name, customer.phone, customer.phone_raw) == ("张伟明", "+8613900000000", "139 0000 0000")
    assert [t.name for t in customer.tags.all()] == ["老客"]
    [entry] = audit_of(customer, "update")
    assert entry.actor == org.lead
    assert entry.changes == {
        "name": ["张伟", "张伟明"], "phone": ["+8613800138000", "+8613900000000"], "city": ["上海市", "杭州市"],
        "tags": [[], ["老客"]], "owner": [org.agent.pk, org.lead.pk],
    }


def test_two_edits_from_the_same_version_the_second_is_refused_and_the_first_survives(org, agents_customer):
    services.update_customer(agents_customer, by=org.agent, version=1, changes={"city": "北京市"})
    with pytest.raises(Conflict) as caught:
        services.update_customer(agents_customer, by=org.lead, version=1, changes={"city": "广州市"})
    assert caught.value.field == "version" and caught.value.extra == {"current_version": 2}
    assert "version 1" in caught.value.message and "version 2" in caught.value.message
    agents_customer.refresh_from_db()
    assert (agents_customer.city, agents_customer.version) == ("北京市", 2)
    assert len(audit_of(agents_customer, "update")) == 1


def test_an_edit_that_changes_nothing_makes_no_version_and_no_audit(org, agents_customer):
    customer = services.update_customer(agents_customer, by=org.agent, version=1,
                                        changes={"name": "张伟", "email": "ZHANG.WEI@example.com"})
    assert customer.version == 1
    assert audit_of(agents_customer, "update") == []


def test_an_edit_may_not_take_another_customers_phone(org, agents_customer):
    other = factories.customer("李娜", owner=org.agent, phone="+8613700000000")
    before = state()
    with pytest.raises(DuplicateCustomer) as caught:
        services.update_customer(other, by=org.agent, version=1, changes={"phone": "13800138000"})
    assert caught.value.extra == {"existing_id": agents_customer.pk, "matched_on": "phone"}
    assert state() == before


def test_the_same_number_typed_differently_changes_only_the_original(org, agents_customer):
    customer = services.update_customer(agents_customer, by=org.agent, version=1,
                                        changes={"phone": "+86 138-0013-8000"})
    assert (customer.phone, customer.phone_raw, customer.version) == ("+8613800138000", "+86 138-0013-8000", 2)
    [entry] = audit_of(customer, "update")
    assert entry.changes == {"phone_raw": ["138 0013 8000", "+86 138-0013-8000"]}


def test_an_organisation_with_contacts_cannot_become_a_person(org, acme):
    services.add_contact(acme, by=org.agent, name="王经理")
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.update_customer(acme, by=org.agent, version=1, changes={"kind": "person"})
    assert caught.value.field == "kind"
    assert state() == before


def test_unknown_or_read_only_fields_are_refused(org, agents_customer):
    with pytest.raises(RuleViolation) as caught:
        services.update_customer(agents_customer, by=org.agent, version=1, changes={"version": 7, "merged_into": 1})
    assert caught.value.field == "merged_into"


def test_an_agent_may_not_hand_a_customer_to_another_department(org, agents_customer):
    before = state()
    with pytest.raises(PermissionDenied):
        services.update_customer(agents_customer, by=org.agent, version=1, changes={"owner": org.other_agent})
    assert state() == before


def test_a_merged_customer_cannot_be_edited(org, agents_customer):
    keep = factories.customer("张伟", owner=org.agent, phone="", email="")
    services.merge_customers(keep=keep, duplicate=agents_customer, by=org.admin)
    with pytest.raises(Conflict, match="merged into"):
        services.update_customer(agents_customer, by=org.admin, version=2, changes={"name": "x"})


def test_set_tags_replaces_the_set_bumps_the_version_and_audits(org, agents_customer):
    services.set_tags(agents_customer, ["VIP", "投诉"], by=org.agent)
    services.set_tags(agents_customer, ["投诉", "vip"], by=org.agent)  # the same set: nothing happens
    agents_customer.refresh_from_db()
    assert sorted(agents_customer.tags.values_list("name", flat=True)) == ["VIP", "投诉"]
    assert agents_customer.version == 2
    [entry] = audit_of(agents_customer, "update")
    assert entry.changes == {"tags": [[], ["VIP", "投诉"]]}


# --- deleting --------------------------------------------------------------------------------

def test_a_customer_with_orders_is_not_deleted_and_the_reason_is_given(org, agents_customer):
    factories.order(agents_customer, lines=[(factories.product(), 1)])
    before = state()
    with pytest.raises(Conflict) as caught:
        services.delete_customer(agents_customer, by=org.admin)
    assert "1 orders" in caught.value.message and "merge" in caught.value.message
    assert state() == before


def test_deleting_takes_contacts_consent_and_interactions_along_and_audits(org, acme):
    services.add_contact(acme, by=org.agent, name="王经理")
    services.record_consent(acme, by=org.agent, channel="email", purpose="marketing", status="granted", method="api")
    factories.interaction(acme)
    services.delete_customer(acme, by=org.admin)
    assert not Customer.objects.filter(pk=acme.pk).exists()
    assert not ContactPerson.objects.exists() and not Consent.objects.exists() and not Interaction.objects.exists()
    [entry] = AuditEntry.objects.filter(action="delete", object_type="customers.customer")
    assert entry.object_id == str(acme.pk) and entry.actor == org.admin
    assert entry.changes["deleted_with"] == {
        "customers.contactperson": 1, "customers.consent": 1, "interactions.interaction": 1,
    }


def test_delete_with_a_stale_version_is_refused(org, agents_customer):
    services.update_customer(agents_customer, by=org.agent, version=1, changes={"city": "北京市"})
    with pytest.raises(Conflict):
        services.delete_customer(agents_customer, by=org.admin, version=1)
    assert Customer.objects.filter(pk=agents_customer.pk).exists()


# --- merging ---------------------------------------------------------------------------------

def test_merge_moves_everything_fills_empty_fields_and_audits_both(org):
    keep = factories.customer("张伟", owner=org.agent, phone="+8613800000001", email="", province="", city="",
                              notes="老客户")
    dup = factories.customer("张 伟", owner=org.lead, phone="+8613800000002", email="zw@example.com",
                             province="浙江省", city="杭州市", district="西湖区", is_vip=True, notes="电话里说过")
    keep.tags.add(Tag.objects.create(name="A"))
    dup.tags.add(Tag.objects.get(name="A"), Tag.objects.create(name="B"))
    order = factories.order(dup, lines=[(factories.product(), 2)])
    talk = factories.interaction(dup, order=order)
    consent = services.record_consent(dup, by=org.agent, channel="sms", purpose="marketing", status="withdrawn",
                                      method="phone")
    tomb = factories.customer("张伟 (old)", owner=org.agent, phone="", email="", merged_into=dup)

    result = services.merge_customers(keep=keep, duplicate=dup, by=org.lead)

    assert result.pk == keep.pk and result.version == 2
    assert list(Order.objects.filter(pk=order.pk).values_list("customer_id", flat=True)) == [keep.pk]
    assert Interaction.objects.get(pk=talk.pk).customer_id == keep.pk
    assert Consent.objects.get(pk=consent.pk).customer_id == keep.pk
    assert Customer.objects.get(pk=tomb.pk).merged_into_id == keep.pk  # no chains of tombstones
    assert sorted(result.tags.values_list("name", flat=True)) == ["A", "B"]
    # empty fields filled from the duplicate; the address as a whole; the own phone kept
    assert (result.phone, result.email) == ("+8613800000001", "zw@example.com")
    assert (result.province, result.city, result.district) == ("浙江省", "杭州市", "西湖区")
    assert result.is_vip is True
    assert result.notes.startswith("老客户") and f"#{dup.pk}" in result.notes and "电话里说过" in result.notes
    dup.refresh_from_db()
    assert dup.merged_into_id == keep.pk and dup.version == 2 and not dup.tags.exists()
    [kept_entry] = audit_of(keep, "merge")
    assert kept_entry.actor == org.lead and kept_entry.changes["merged_from"] == dup.pk
    assert kept_entry.changes["moved"] == {
        "commerce.order": 1, "interactions.interaction": 1, "customers.consent": 1, "customers.customer": 1,
        "tags": 1,
    }
    assert kept_entry.changes["filled"]["email"] == ["", "zw@example.com"]
    [dup_entry] = audit_of(dup, "merge")
    assert dup_entry.changes == {"merged_into": keep.pk}
    # the duplicate is gone from every list, and a request for it says where it went
    assert not queries.customers_for(org.admin).filter(pk=dup.pk).exists()
    with pytest.raises(NotFound, match=f"merged into customer #{keep.pk}"):
        queries.get_customer_for(org.admin, dup.pk)


def test_merge_moves_contacts_of_organisations(org, acme):
    other = factories.customer("Acme Ltd", owner=org.agent, kind=Customer.Kind.ORGANISATION, email="")
    contact = services.add_contact(other, by=org.agent, name="Li Lei", email="li@acme.example.cn")
    services.merge_customers(keep=acme, duplicate=other, by=org.admin)
    assert ContactPerson.objects.get(pk=contact.pk).organisation_id == acme.pk


@pytest.mark.parametrize("case", ["itself", "kinds", "already merged"])
def test_merge_refusals_change_nothing(org, acme, agents_customer, case):
    if case == "already merged":
        third = factories.customer("X", owner=org.agent, phone="", email="")
        services.merge_customers(keep=third, duplicate=agents_customer, by=org.admin)
    before = state()
    with pytest.raises((RuleViolation, Conflict)):
        if case == "itself":
            services.merge_customers(keep=acme, duplicate=acme, by=org.admin)
        elif case == "kinds":
            services.merge_customers(keep=acme, duplicate=agents_customer, by=org.admin)
        else:
            services.merge_customers(keep=acme, duplicate=agents_customer, by=org.admin)
    assert state() == before


# --- consent ---------------------------------------------------------------------------------

def test_consent_is_append_only_and_the_newest_decision_counts(org, agents_customer):
    earlier = timezone.now() - dt.timedelta(days=30)
    services.record_consent(agents_customer, by=org.agent, channel="sms", purpose="marketing", status="granted",
                            method="paper", notice_version="2025-01", at=earlier)
    services.record_consent(agents_customer, by=org.agent, channel="sms", purpose="marketing", status="withdrawn",
                            method="phone", note="客户来电要求不再发送")
    services.record_consent(agents_customer, by=org.agent, channel="email", purpose="surveys", status="granted",
                            method="web_form")
    assert Consent.objects.filter(customer=agents_customer).count() == 3
    current = {(c.channel, c.purpose): c.status for c in queries.current_consents(agents_customer)}
    assert current == {("sms", "marketing"): "withdrawn", ("email", "surveys"): "granted"}
    assert not queries.has_consent(agents_customer, channel="sms", purpose="marketing")
    assert queries.has_consent(agents_customer, channel="email", purpose="surveys")
    assert len(AuditEntry.objects.filter(object_type="customers.consent", action="create")) == 3


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"purpose": "spam"}, "purpose"),
        ({"status": "maybe"}, "status"),
        ({"method": "telepathy"}, "method"),
        ({"at": timezone.now() + dt.timedelta(days=1)}, "at"),
        ({"note": "x\x00"}, "note"),
    ],
)
def test_bad_consent_is_refused(org, agents_customer, values, field):
    data = {"channel": "sms", "purpose": "marketing", "status": "granted", "method": "api", **values}
    with pytest.raises(RuleViolation) as caught:
        services.record_consent(agents_customer, by=org.agent, **data)
    assert caught.value.field == field
    assert not Consent.objects.exists()


def test_a_naive_time_is_read_in_the_organisations_zone(org, agents_customer):
    consent = services.record_consent(agents_customer, by=org.agent, channel="sms", purpose="marketing",
                                      status="granted", method="paper", at=dt.datetime(2025, 3, 4, 9, 30))
    assert consent.at == dt.datetime(2025, 3, 4, 1, 30, tzinfo=dt.UTC)  # Asia/Shanghai is UTC+8


# --- contact persons -------------------------------------------------------------------------

def test_contacts_belong_to_organisations_only(org, agents_customer):
    with pytest.raises(RuleViolation, match="belong to organisations"):
        services.add_contact(agents_customer, by=org.agent, name="X")
    assert not ContactPerson.objects.exists()


def test_one_primary_contact_per_organisation_and_every_change_audited(org, acme):
    first = services.add_contact(acme, by=org.agent, name="王经理", phone="021-6123 4567 转 8", is_primary=True)
    second = services.add_contact(acme, by=org.agent, name="李秘书", email="LI@ACME.example.cn")
    assert (first.phone, first.phone_raw) == ("+862161234567", "021-6123 4567 转 8")
    assert second.email == "li@acme.example.cn"
    services.update_contact(second, by=org.agent, changes={"is_primary": True, "title": "秘书"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_primary, second.is_primary, second.title) == (False, True, "秘书")
    services.delete_contact(first, by=org.agent)
    assert list(ContactPerson.objects.values_list("name", flat=True)) == ["李秘书"]
    actions = sorted(AuditEntry.objects.filter(object_type="customers.contactperson").values_list("action", flat=True))
    assert actions == ["create", "create", "delete", "update"]


def test_bad_contact_input_is_refused(org, acme):
    with pytest.raises(RuleViolation) as caught:
        services.add_contact(acme, by=org.agent, name="X", phone="95588")
    assert caught.value.field == "phone"
    with pytest.raises(RuleViolation) as caught:
        services.update_contact(services.add_contact(acme, by=org.agent, name="Y"), by=org.agent,
                                changes={"organisation": 5})
    assert caught.value.field == "organisation"
