"""Creating and editing customers on pages: inline errors, duplicates, stale edits, and nothing half-done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.core.models import AuditEntry
from loopcrm.customers import services
from loopcrm.customers.models import Customer
from tests import factories

pytestmark = pytest.mark.django_db

CREATE = reverse("web:customer_create")


def form_data(**overrides) -> dict:
    data = {"kind": "person", "name": "赵敏", "phone": "138 0013 9999", "email": "zhao.min@example.cn",
            "country": "CN", "province": "上海市", "city": "上海市", "tags": "回头客，母婴", "notes": ""}
    data.update(overrides)
    return data


def test_agent_creates_a_customer_and_lands_on_its_page(org, browser_as):
    client = browser_as("agent")
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, form_data())
    customer = Customer.objects.get(name="赵敏")
    assert response.status_code == 302 and response["Location"] == reverse("web:customer_detail", args=[customer.pk])
    assert customer.phone == "+8613800139999" and customer.owner == org.agent
    assert sorted(customer.tags.values_list("name", flat=True)) == ["母婴", "回头客"] or customer.tags.count() == 2
    assert AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk)).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "1.38001E+10"), ("email", "not-an-email"), ("name", "   "), ("country", "ZZ"),
     ("birthday", "2999-01-01")],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(browser_as, field, value):
    response = browser_as("agent").post(CREATE, form_data(**{field: value}))
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors.get(field), form.errors
    assert b"has-error" in response.content
    assert not Customer.objects.exists()


def test_a_duplicate_links_to_the_customer_that_exists(org, browser_as):
    existing = factories.customer("张伟明", owner=org.agent, phone="+8613800139999")
    response = browser_as("agent").post(CREATE, form_data())
    assert response.status_code == 422
    assert response.context["form"].errors["phone"]
    html = response.content.decode()
    assert reverse("web:customer_detail", args=[existing.pk]) in html and "张伟明" in html
    assert Customer.objects.count() == 1


def test_a_duplicate_outside_the_users_scope_is_named_by_number_only(org, browser_as):
    hidden = factories.customer("秘密客户", owner=org.other_agent, phone="+8613800139999")
    # Out of a sales rep's (team) scope; an agent would see it (decision 0008).
    response = browser_as("east_rep").post(CREATE, form_data())
    html = response.content.decode()
    assert response.status_code == 422 and f"#{hidden.pk}" in html
    assert "秘密客户" not in html and reverse("web:customer_detail", args=[hidden.pk]) not in html


def test_read_only_roles_may_not_open_the_create_page(browser_as):
    assert browser_as("exec").get(CREATE).status_code == 403
    assert browser_as("exec").post(CREATE, form_data()).status_code == 403
    assert not Customer.objects.exists()


def edit_url(customer) -> str:
    return reverse("web:customer_edit", args=[customer.pk])


def posted(initial: dict) -> dict:
    """What a browser sends back for an untouched form: empty fields as "", unticked boxes not at all."""
    return {key: ("" if value is None else value) for key, value in initial.items() if value is not False}


def test_editing_sends_only_what_changed(org, browser_as):
    customer = services.create_customer(by=org.agent, name="钱多多", phone="13800138123", tags=["新客"])
    client = browser_as("agent")
    data = posted(client.get(edit_url(customer)).context["form"].initial)
    data.update(city="杭州市", version=customer.version)
    response = client.post(edit_url(customer), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "杭州市" and customer.version == 2 and customer.phone_raw == "13800138123"
    change = AuditEntry.objects.filter(action="update", object_id=str(customer.pk)).get()
    assert set(change.changes) == {"city"}


def test_a_stale_edit_shows_a_clear_message_and_the_current_values(org, browser_as):
    customer = services.create_customer(by=org.agent, name="钱多多", city="上海市")
    client = browser_as("agent")
    data = posted(client.get(edit_url(customer)).context["form"].initial)
    # Meanwhile a colleague saves another city.
    services.update_customer(customer, by=org.lead, version=1, changes={"city": "南京市"})
    data.update(city="杭州市", version=1)
    response = client.post(edit_url(customer), data)
    assert response.status_code == 409
    html = response.content.decode()
    assert response.context["stale"] == [("city", "南京市", "杭州市")]
    assert "南京市" in html and "杭州市" in html
    form = response.context["form"]
    assert form.initial["city"] == "南京市" and form.initial["version"] == 2
    customer.refresh_from_db()
    assert customer.city == "南京市" and customer.version == 2


def test_a_customer_outside_the_scope_is_missing_and_one_not_theirs_is_forbidden(org, browser_as):
    hidden = factories.customer("别的部门", owner=org.other_agent)
    colleagues = factories.customer("同事的", owner=org.lead)
    rep = browser_as("east_rep")  # a sales rep sees their team's customers only
    assert rep.get(edit_url(hidden)).status_code == 404
    assert rep.get(reverse("web:customer_detail", args=[hidden.pk])).status_code == 404
    client = browser_as("agent")
    # Another department's customer: every agent sees it (decision 0008); only its owner's side changes it.
    assert client.get(reverse("web:customer_detail", args=[hidden.pk])).status_code == 200
    assert client.get(edit_url(hidden)).status_code == 403
    assert client.get(reverse("web:customer_detail", args=[colleagues.pk])).status_code == 200
    assert client.get(edit_url(colleagues)).status_code == 403
    assert client.get(reverse("web:customer_detail", args=[2**70])).status_code == 404
