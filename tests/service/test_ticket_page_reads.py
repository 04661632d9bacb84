"""What the ticket page reads, and what it no longer reads again: whether the user may change the ticket and
whether they may see its customer follow from their role's scopes without a query where the scopes decide it,
and answer as the read doors (tickets_for, get_customer_for) would; canned replies are kept per configuration
stamp and still show a change on the next page. The page reads a fixed number of queries.

Personas (tests/conftest.py): 王芳 the agent and 李娜 the lead of Service, Tom Baker the agent of Sales East,
陈刚 the sales rep of Sales East, exec (sees every ticket, changes none) and the administrator.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from loopcrm.accounts.models import Role
from loopcrm.accounts.permissions import DEFAULT_SCOPES, Scope
from loopcrm.core.errors import NotFound
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import get_customer_for
from loopcrm.service.models import CannedReply, Ticket
from loopcrm.service.queries.tickets import may, tickets_for
from loopcrm.service.services import categories as category_services
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.views.ticket_page import customer_side
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db

PERSONAS = ["admin", "lead", "agent", "other_agent", "exec", "east_rep"]


def person(org, name: str):
    return getattr(org, name)


@pytest.fixture
def tickets(org, zhang, east_customer, open_ticket, east_queue) -> list[Ticket]:
    """A hotline ticket of the agent's, an unassigned one, one of Sales East's and one of the sales rep's."""
    return [
        open_ticket(zhang, assignee=org.agent),
        open_ticket(zhang, subject="送货太慢 Delivery too slow", kind="complaint"),
        ticket_services.open_ticket(customer=east_customer, subject="East", by=org.other_agent, queue=east_queue),
        ticket_services.open_ticket(customer=factories.customer("李总", owner=org.east_rep), subject="报价 Quote",
                                    by=org.admin, assignee=org.east_rep, queue=None),
    ]


def answers_of_the_read_doors(user, ticket: Ticket) -> tuple[bool, bool]:
    """(may change, may see the customer) as the queries of the doors answer them."""
    may_change = tickets_for(user, "change").filter(pk=ticket.pk).exists()
    try:
        get_customer_for(user, ticket.customer_id)
    except NotFound:
        return may_change, False
    return may_change, True


@pytest.mark.parametrize("name", PERSONAS)
def test_may_change_and_the_customer_are_what_the_read_doors_say(org, tickets, name):
    user = person(org, name)
    for ticket in tickets_for(user, "view").filter(pk__in=[t.pk for t in tickets]):
        assert (may(user, ticket, "change"), customer_side(user, ticket).visible) == \
            answers_of_the_read_doors(user, ticket), (name, ticket.subject)


@pytest.mark.parametrize("name", ["lead", "agent"])
def test_a_narrower_change_scope_than_view_scope_is_asked_of_the_database(org, tickets, name):
    # given roles that see every ticket but change only their department's (not a default role)
    scopes = {role: {kind: dict(actions) for kind, actions in table.items()} for role, table in DEFAULT_SCOPES.items()}
    for role in (Role.TEAM_LEAD, Role.AGENT, Role.EXECUTIVE):
        scopes[role]["ticket"] = {"view": Scope.ALL, "change": Scope.DEPARTMENT, "assign": Scope.NONE}
    with override_settings(LOOPCRM_SCOPES=scopes):
        user = person(org, name)
        seen = list(tickets_for(user, "view").filter(pk__in=[t.pk for t in tickets]))
        assert len(seen) == len(tickets)
        answers = [may(user, ticket, "change") for ticket in seen]
        assert answers == [tickets_for(user, "change").filter(pk=ticket.pk).exists() for ticket in seen]
        assert True in answers and False in answers  # Sales East's ticket is seen, not changed


def test_a_customer_merged_away_is_not_shown_beside_the_ticket(org, tickets):
    ticket = tickets[0]
    survivor = factories.customer("张伟 (merged)", owner=org.agent)
    Customer.objects.filter(pk=ticket.customer_id).update(merged_into=survivor)  # as a merge leaves it
    ticket = tickets_for(org.agent).get(pk=ticket.pk)
    assert not customer_side(org.agent, ticket).visible
    assert answers_of_the_read_doors(org.agent, ticket)[1] is False


def canned_titles(client: Client, ticket: Ticket) -> list[str]:
    html = client.get(reverse("web:ticket_detail", args=[ticket.pk])).content.decode()
    select = re.search(r'<select id="canned-reply"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", select.group(1)) if select else []


def test_canned_replies_kept_per_stamp_still_show_each_change(org, tickets):
    client = signed_in(org.agent)
    ticket = tickets[0]
    assert canned_titles(client, ticket) == []
    greeting = category_services.create_canned_reply(title="问候 Greeting", body="您好", by=org.admin)
    visit = category_services.create_canned_reply(title="上门 Visit", body="明天上门", department=org.service,
                                                  by=org.admin)
    category_services.create_canned_reply(title="East only", body="x", department=org.sales_east, by=org.admin)
    assert canned_titles(client, ticket) == ["上门 Visit", "问候 Greeting"]
    category_services.update_canned_reply(visit, by=org.admin, changes={"is_active": False})
    assert canned_titles(client, ticket) == ["问候 Greeting"]
    CannedReply.objects.filter(pk=greeting.pk).update(title="您好 Hello")  # behind the services' back
    assert canned_titles(client, ticket) == ["您好 Hello"]
    CannedReply.objects.filter(pk=greeting.pk).delete()
    assert canned_titles(client, ticket) == []


@pytest.mark.parametrize("name", ["agent", "admin"])
def test_the_ticket_page_reads_a_fixed_number_of_queries(org, tickets, name, django_assert_max_num_queries):
    ticket = tickets[0]
    ticket_services.add_reply(ticket, body="您好，已收到。", by=org.agent)
    category_services.create_canned_reply(title="问候 Greeting", body="您好", by=org.admin)
    client = signed_in(person(org, name))
    page = reverse("web:ticket_detail", args=[ticket.pk])
    assert client.get(page).status_code == 200  # the selects kept under the stamp are drawn once
    # session, user, department; the ticket, its tags, messages, attachments, events, process, SLA clocks; the
    # customer's open tickets, value, orders summary, recent orders, interactions; the configuration stamp; the
    # satisfaction card's two (the answer about this ticket, the customer's latest). Not: may the user change it,
    # the customer again, their tags, the ticket's followers, the canned replies.
    with django_assert_max_num_queries(18):
        response = client.get(page)
    assert response.status_code == 200 and "问候 Greeting" in response.content.decode()


def test_a_process_steps_kept_per_stamp_show_a_renamed_step_and_department(org, zhang, open_ticket):
    from loopcrm.accounts.models import Department
    from loopcrm.service.models import ProcessStep
    from loopcrm.service.services import processes as process_services
    from loopcrm.service.services.processes import StepSpec

    definition = process_services.create_definition(key="complaint", name="Complaint 投诉处理",
                                                    ticket_kind="complaint", by=org.admin)
    process_services.publish_version(definition, by=org.admin, steps=[
        StepSpec(key="ack", name="Acknowledge 受理", target_minutes=30, responsible_department=org.service)])
    ticket = open_ticket(zhang, kind="complaint", assignee=org.agent)
    client = signed_in(org.agent)
    page = reverse("web:ticket_detail", args=[ticket.pk])
    assert "Acknowledge 受理" in client.get(page).content.decode()
    ProcessStep.objects.filter(key="ack").update(name="Register 登记")  # behind the services' back
    Department.objects.filter(pk=org.service.pk).update(name="客服部 Care")
    html = client.get(page).content.decode()
    assert "Register 登记" in html and "Acknowledge 受理" not in html and "客服部 Care ·" in html


def test_people_renamed_behind_the_services_back_are_named_anew_in_history_and_conversation(org, tickets):
    from loopcrm.accounts.models import User

    ticket = tickets[0]
    ticket_services.add_reply(ticket, body="您好，已收到。", by=org.agent)
    client = signed_in(org.lead)
    page = reverse("web:ticket_detail", args=[ticket.pk])
    html = client.get(page).content.decode()
    assert '<div class="row-sub">王芳</div>' in html and "<strong>王芳</strong>" in html  # actor, author
    User.objects.filter(pk=org.agent.pk).update(display_name="王芳芳")
    html = client.get(page).content.decode()
    assert '<div class="row-sub">王芳芳</div>' in html and "<strong>王芳芳</strong>" in html
    assert '<div class="row-sub">王芳</div>' not in html and "<strong>王芳</strong>" not in html


def test_the_customer_beside_the_ticket_reads_orders_and_touches_without_joins(org, tickets):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.commerce import services as commerce_services
    ticket = tickets[0]
    mug = factories.product("马克杯 Mug", price="19.99")
    order = commerce_services.create_order(by=org.agent, customer=ticket.customer, lines=[{"product_id": mug.pk}])
    touch = factories.interaction(ticket.customer, user=org.agent, subject="来电 Call")
    ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
    with CaptureQueriesContext(connection) as captured:
        side = customer_side(org.agent, ticket)
    reads = [q["sql"] for q in captured if "commerce_order" in q["sql"] or "interactions_interaction" in q["sql"]
             or "value_customervalue" in q["sql"]]
    assert len(reads) == 4 and not [sql for sql in reads if "JOIN" in sql]
    assert [o.pk for o in side.orders] == [order.pk] and side.orders[0].customer is ticket.customer
    assert side.interactions[0].pk == touch.pk and side.summary.count == 0 and side.value is None
