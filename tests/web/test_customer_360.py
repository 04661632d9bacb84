"""The 360° page and the small forms on it: log an interaction, record consent, add a contact."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loopcrm.customers.models import Consent, ContactPerson
from loopcrm.interactions.models import Interaction
from tests import factories
from tests.web import scenario
from tests.web.conftest import HTMX, htmx

pytestmark = pytest.mark.django_db


def page_of(customer) -> str:
    return reverse("web:customer_detail", args=[customer.pk])


def test_the_360_page_shows_everything_an_agent_needs(org, browser_as):
    book = scenario.build(by=org.admin, agent=org.agent)
    response = browser_as("agent").get(page_of(book.star))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ["张伟明", "回头客", "王芳", "会员回访", "Recent orders", "Consent", "Marketing",
                 "Withdrawn", "Open tickets", "Latest survey", "Customer value", "Loyalty programme",
                 'id="log-form"']:
        assert text in html, text
    assert response.context["bundle"].order_summary.count == 4
    org_page = browser_as("agent").get(page_of(book.organisation)).content.decode()
    assert "周敏" in org_page and "采购经理" in org_page and 'id="contacts"' in org_page


def test_read_only_roles_see_the_page_without_forms(org, browser_as):
    customer = factories.customer("看一看", owner=org.agent)
    html = browser_as("exec").get(page_of(customer)).content.decode()
    assert 'id="log-form"' not in html and reverse("web:customer_edit", args=[customer.pk]) not in html


def test_360_page_costs_the_same_number_of_queries_for_3_or_30_interactions(org, browser_as):
    client = browser_as("agent")
    customer = factories.customer("常客", owner=org.agent, kind="organisation")
    product = factories.product("滤芯")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_of(customer)).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for i in range(n):
            contact = ContactPerson.objects.create(organisation=customer, name=f"联系人{i}")
            order = factories.order(customer, lines=[(product, 1)])
            factories.interaction(customer, user=org.agent, contact=contact, order=order, subject=f"第{i}次")
            Consent.objects.create(customer=customer, channel="sms", purpose="marketing", status="granted",
                                   method="phone", at=order.placed_at, recorded_by=org.lead)

    add(3)
    small = count_queries()
    add(27)
    assert count_queries() == small
    # The profile, orders, consent and timeline take 14; the open tickets, survey scores, value and
    # loyalty slots the rest — none of them grows with the customer's history.
    assert small <= 24


def test_logging_an_interaction_from_the_360_page_returns_the_form_and_the_new_timeline_entry(org, browser_as):
    customer = factories.customer("来电客户", owner=org.agent)
    url = reverse("web:interaction_create", args=[customer.pk])
    response = browser_as("agent").post(
        url, {"channel": "phone", "direction": "inbound", "subject": "询问发票", "body": "需要增值税专用发票"},
        **htmx("log-form"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="log-form"' in html
    assert 'hx-swap-oob="afterbegin:#timeline-list"' in html and "询问发票" in html
    interaction = Interaction.objects.get()
    assert interaction.user == org.agent and interaction.customer == customer and interaction.channel == "phone"


def test_an_invalid_interaction_shows_errors_in_the_form_and_logs_nothing(org, browser_as):
    customer = factories.customer("来电客户", owner=org.agent)
    url = reverse("web:interaction_create", args=[customer.pk])
    client = browser_as("agent")
    response = client.post(url, {"channel": "pigeon", "direction": "inbound"}, **htmx("log-form"))
    assert response.status_code == 422 and response.context["log_form"].errors["channel"]
    future = client.post(url, {"channel": "phone", "direction": "inbound", "occurred_at": "2999-01-01T10:00"},
                         **htmx("log-form"))
    assert future.status_code == 422 and future.context["log_form"].errors["occurred_at"]
    assert b"hx-swap-oob" not in future.content
    assert not Interaction.objects.exists()


def test_logging_without_htmx_redirects_back_to_the_timeline(org, browser_as):
    customer = factories.customer("来电客户", owner=org.agent)
    response = browser_as("agent").post(reverse("web:interaction_create", args=[customer.pk]),
                                        {"channel": "email", "direction": "outbound"})
    assert response.status_code == 302 and response["Location"].endswith("#timeline")


def test_read_only_roles_and_strangers_may_not_log(org, browser_as):
    mine = factories.customer("我的", owner=org.agent)
    data = {"channel": "phone", "direction": "inbound"}
    assert browser_as("exec").post(reverse("web:interaction_create", args=[mine.pk]), data).status_code == 403
    # A stranger: the sales rep of another team does not see the agent's customer (agents see everyone's).
    assert browser_as("east_rep").post(reverse("web:interaction_create", args=[mine.pk]), data).status_code == 404
    assert browser_as("agent").get(reverse("web:interaction_create", args=[mine.pk])).status_code == 405
    assert not Interaction.objects.exists()


def test_the_timeline_pages_with_a_show_earlier_button(org, browser_as):
    customer = factories.customer("老客户", owner=org.agent)
    for i in range(30):
        factories.interaction(customer, user=org.agent, subject=f"第{i:02d}次")
    client = browser_as("agent")
    first = client.get(page_of(customer))
    timeline = first.context["timeline"]
    assert len(timeline.items) == 25 and timeline.next_cursor
    more = client.get(reverse("web:customer_timeline", args=[customer.pk]), {"cursor": timeline.next_cursor},
                      **htmx("timeline-more"))
    html = more.content.decode()
    assert more.status_code == 200 and "<html" not in html and html.count('class="timeline-item') == 5
    full = client.get(reverse("web:customer_timeline", args=[customer.pk]))
    assert full.status_code == 200 and b"<html" in full.content


def test_recording_consent_through_htmx_updates_the_card(org, browser_as):
    customer = factories.customer("同意客户", owner=org.agent)
    url = reverse("web:consent_create", args=[customer.pk])
    client = browser_as("agent")
    data = {"purpose": "marketing", "channel": "sms", "status": "granted", "method": "phone", "notice_version": "v1"}
    response = client.post(url, data, **htmx("consents"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="consents"' in html and "Granted" in html
    withdraw = client.post(url, {**data, "status": "withdrawn"}, **htmx("consents"))
    assert "Withdrawn" in withdraw.content.decode() and "History (2 decisions)" in withdraw.content.decode()
    assert Consent.objects.filter(customer=customer).count() == 2
    bad = client.post(url, {**data, "purpose": "spam"}, **htmx("consents"))
    assert bad.status_code == 422 and Consent.objects.filter(customer=customer).count() == 2


def test_adding_a_contact_person_to_an_organisation(org, browser_as):
    company = factories.customer("云帆贸易", owner=org.agent, kind="organisation")
    person = factories.customer("个人", owner=org.agent)
    client = browser_as("agent")
    response = client.post(reverse("web:contact_create", args=[company.pk]),
                           {"name": "周敏", "title": "采购经理", "phone": "139 0177 6655"}, **htmx("contacts"))
    assert response.status_code == 200 and "周敏" in response.content.decode()
    bad_phone = client.post(reverse("web:contact_create", args=[company.pk]), {"name": "吴强", "phone": "95588"},
                            **htmx("contacts"))
    assert bad_phone.status_code == 422 and bad_phone.context["contact_form"].errors["phone"]
    not_an_org = client.post(reverse("web:contact_create", args=[person.pk]), {"name": "某人"}, **HTMX)
    assert not_an_org.status_code == 422
    assert list(ContactPerson.objects.values_list("name", flat=True)) == ["周敏"]


def test_script_in_names_and_notes_is_escaped_on_the_page_and_in_fragments(org, browser_as):
    evil = "<script>alert(1)</script>"
    customer = factories.customer(evil, owner=org.agent, notes=evil, kind="organisation")
    ContactPerson.objects.create(organisation=customer, name=evil, title=evil)
    factories.interaction(customer, user=org.agent, subject=evil, body=evil)
    client = browser_as("agent")
    pages = [
        client.get(page_of(customer)),
        client.get(reverse("web:customer_timeline", args=[customer.pk]), **htmx("timeline-more")),
        client.post(reverse("web:interaction_create", args=[customer.pk]),
                    {"channel": "phone", "direction": "inbound", "subject": evil}, **htmx("log-form")),
        client.get(reverse("web:interaction_list")),
        client.get(reverse("web:home")),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert evil not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_of_a_merged_customer_leads_to_the_customer_it_was_merged_into(org, browser_as):
    from loopcrm.customers import services

    keep = factories.customer("张伟明", owner=org.agent)
    duplicate = factories.customer("张伟明（重复）", owner=org.agent)
    services.merge_customers(keep=keep, duplicate=duplicate, by=org.admin)
    response = browser_as("agent").get(page_of(duplicate), follow=True)
    assert response.redirect_chain == [(page_of(keep), 302)]
    assert f"#{duplicate.pk}" in response.content.decode()
