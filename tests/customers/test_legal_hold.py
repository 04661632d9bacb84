"""A legal hold keeps a customer's records as they are: 张伟's company is in a lawsuit, so the administrator places
a hold. While it stands his personal data cannot be erased, and his record cannot be deleted or merged away — by
the services, the API or the pages; lifting it (with a reason) lets erasure go ahead. Placing and lifting are
privacy tasks, audited with their reasons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.accounts.models import Role
from loopcrm.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers import holds
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer, LegalHold
from loopcrm.overview.erasure import erase_customer
from tests import factories

pytestmark = pytest.mark.django_db
REASON = "诉讼 2026-沪-0173"


@pytest.fixture
def zhang(org):
    return customer_services.create_customer(by=org.admin, name="张伟", phone="13800138000", owner=org.agent,
                                             department=org.service)


@pytest.fixture
def held(org, zhang):
    holds.place_legal_hold(org.admin, zhang.pk, reason=REASON)
    return zhang


def test_a_hold_is_placed_and_lifted_with_reasons_and_audited(org, zhang):
    hold = holds.place_legal_hold(org.admin, zhang.pk, reason=f"  {REASON} ")
    assert (hold.customer_id, hold.reason, hold.placed_by) == (zhang.pk, REASON, org.admin)
    assert holds.legal_hold_of(org.admin, zhang.pk) == hold
    with pytest.raises(Conflict, match="already under a legal hold"):
        holds.place_legal_hold(org.admin, zhang.pk, reason="again")
    holds.lift_legal_hold(org.admin, zhang.pk, reason="案件已结")
    assert holds.legal_hold_of(org.admin, zhang.pk) is None
    with pytest.raises(NotFound, match="not under a legal hold"):
        holds.lift_legal_hold(org.admin, zhang.pk, reason="again")
    entries = AuditEntry.objects.filter(object_type="customers.legalhold", object_id=str(zhang.pk)).order_by("pk")
    assert [(e.action, e.note, e.actor) for e in entries] == [("create", REASON, org.admin),
                                                             ("delete", "案件已结", org.admin)]
    assert entries[1].changes["hold"]["reason"] == REASON


@pytest.mark.parametrize("reason, message", [("", "Say why"), ("   ", "Say why"), ("x" * 501, "At most 500"),
                                             ("case\x00 17", "NUL")])
def test_a_hold_needs_a_reason_of_reasonable_length(org, zhang, reason, message):
    with pytest.raises(RuleViolation, match=message):
        holds.place_legal_hold(org.admin, zhang.pk, reason=reason)
    assert not LegalHold.objects.exists()


def test_only_roles_that_handle_privacy_requests_place_holds(org, zhang):
    with pytest.raises(PermissionDenied):  # an agent sees the customer, but privacy is not theirs
        holds.place_legal_hold(org.agent, zhang.pk, reason=REASON)
    manager = factories.user("manager_east", role=Role.MANAGER, department=org.sales_east)
    with pytest.raises(PermissionDenied):  # a manager's privacy scope is their department
        holds.place_legal_hold(manager, zhang.pk, reason=REASON)
    own = factories.user("manager_service", role=Role.MANAGER, department=org.service)
    assert holds.place_legal_hold(own, zhang.pk, reason=REASON).placed_by == own


def test_while_held_the_customer_is_not_erased_deleted_or_merged_away(org, held):
    with pytest.raises(Conflict, match="cannot be erased until the hold is lifted"):
        erase_customer(org.admin, held.pk, reason="PIPL request 88")
    with pytest.raises(Conflict, match="cannot be deleted until the hold is lifted"):
        customer_services.delete_customer(held, by=org.admin)
    twin = customer_services.create_customer(by=org.admin, name="张伟 (duplicate)", department=org.service)
    with pytest.raises(Conflict, match="cannot be merged into another customer"):
        customer_services.merge_customers(keep=twin, duplicate=held, by=org.admin)
    # A duplicate may still be merged into the held record: the held record stays as it is
    customer_services.merge_customers(keep=held, duplicate=twin, by=org.admin)
    held.refresh_from_db()
    assert held.name == "张伟" and held.erased_at is None and held.merged_into is None
    with pytest.raises(Exception, match="protected"):  # round the services (the admin): the database refuses too
        Customer.objects.filter(pk=held.pk).delete()
    # Once lifted, the erasure goes ahead
    holds.lift_legal_hold(org.admin, held.pk, reason="案件已结")
    erase_customer(org.admin, held.pk, reason="PIPL request 88")
    held.refresh_from_db()
    assert held.erased_at is not None and held.name != "张伟"


def test_the_api_places_reads_and_lifts_a_hold(org, zhang, api_as):
    admin, agent = api_as("admin"), api_as("agent")
    path = f"customers/{zhang.pk}/legal-hold"
    assert admin.get(path).status_code == 404
    assert agent.post(path, {"reason": REASON}).status_code == 403
    assert admin.post(path, {"reason": ""}).status_code == 422
    created = admin.post(path, {"reason": REASON})
    assert created.status_code == 201, created.content
    assert created.json()["reason"] == REASON and created.json()["placed_by"] == org.admin.pk
    assert admin.get(path).json()["customer_id"] == zhang.pk
    assert admin.post(path, {"reason": REASON}).status_code == 409
    refused = admin.post(f"customers/{zhang.pk}/erase", {"reason": "PIPL request 88"})
    assert refused.status_code == 409 and "legal hold" in refused.json()["detail"]
    assert admin.delete(f"customers/{zhang.pk}").status_code == 409
    assert admin.post(f"{path}/lift", {"reason": "案件已结"}).status_code == 204
    assert admin.post(f"{path}/lift", {"reason": "案件已结"}).status_code == 404
    assert admin.get(path).status_code == 404


def test_the_pages_place_and_lift_a_hold(org, zhang):
    client = factories.signed_in(org.admin)
    detail = reverse("web:customer_detail", args=[zhang.pk])
    page = reverse("web:customer_legal_hold", args=[zhang.pk])
    text = client.get(detail).content.decode()
    assert page in text and "legal-hold-badge" not in text
    assert "No legal hold." in client.get(page).content.decode()
    response = client.post(page, {"reason": REASON, "expect": "place"})
    assert response.status_code == 302 and LegalHold.objects.filter(customer=zhang).exists()
    text = client.get(detail).content.decode()
    assert "legal-hold-badge" in text and reverse("web:customer_erase", args=[zhang.pk]) not in text
    assert REASON in client.get(page).content.decode()
    # A second "place" (another tab) does not lift it: it says the hold stands
    again = client.post(page, {"reason": REASON, "expect": "place"})
    assert again.status_code == 200 and "already under a legal hold" in again.content.decode()
    response = client.post(page, {"reason": "案件已结", "expect": "lift"})
    assert response.status_code == 302 and not LegalHold.objects.exists()


def test_the_page_is_not_for_roles_without_privacy(org, zhang):
    client = factories.signed_in(org.agent)
    assert client.get(reverse("web:customer_legal_hold", args=[zhang.pk])).status_code == 403
    assert reverse("web:customer_legal_hold", args=[zhang.pk]) not in client.get(
        reverse("web:customer_detail", args=[zhang.pk])).content.decode()
