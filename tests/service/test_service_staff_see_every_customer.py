"""Decision 0008: service staff see every customer; what they may change stays scoped.

李总 is a customer won by Sales East: owned by the sales rep 陈刚 (east_rep). 王芳 (agent, Service
department) takes his calls and works his tickets in the hotline queue. She reads his record, his
orders and his other open tickets, and logs the call she took; she may not edit him. A sales rep
of another team of Sales East still does not see him at all.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.accounts.models import Role
from loopcrm.customers.models import Customer
from loopcrm.interactions.models import Interaction
from tests import factories
from tests.commerce.util import ok, problem
from tests.conftest import ApiClient
from tests.factories import signed_in

pytestmark = pytest.mark.django_db



@pytest.fixture
def li_zong(org) -> Customer:
    """李总, a customer of Sales East owned by the sales rep 陈刚, with one order."""
    customer = factories.customer("李总 Li Zong", owner=org.east_rep, city="南京市")
    factories.order(customer, lines=[(factories.product("冰箱 Fridge", price="3999.00"), 1)])
    return customer


def test_an_agent_reads_a_sales_departments_customer(org, api_as, li_zong):
    assert (li_zong.department, org.agent.department) == (org.sales_east, org.service)

    page = signed_in(org.agent).get(reverse("web:customer_detail", args=[li_zong.pk]))
    assert page.status_code == 200 and "李总 Li Zong" in page.content.decode()
    body = ok(api_as("agent").get(f"customers/{li_zong.pk}"))
    assert (body["id"], body["name"]) == (li_zong.pk, "李总 Li Zong")


def test_the_ticket_sidebar_shows_the_customers_orders_and_other_open_tickets(org, li_zong, open_ticket):
    earlier = open_ticket(li_zong, subject="安装预约 Installation")
    ticket = open_ticket(li_zong, subject="冰箱不制冷 Fridge not cooling")

    response = signed_in(org.agent).get(reverse("web:ticket_detail", args=[ticket.pk]))

    assert response.status_code == 200
    side = response.context["side"]
    assert side.visible and [other.pk for other in side.open_tickets] == [earlier.pk]
    assert [order.customer_id for order in side.orders] == [li_zong.pk]
    html = response.content.decode()
    assert "outside what you may see" not in html
    assert "Other open tickets" in html and "安装预约 Installation" in html
    assert side.orders[0].number in html


def test_an_agent_logs_the_call_she_took_but_may_not_edit_the_customer(org, api_as, li_zong):
    agent = api_as("agent")

    # Logging a touch needs sight of the customer and a role that is not read-only: an agent's is not.
    created = ok(agent.post("interactions", {"customer_id": li_zong.pk, "channel": "phone",
                                             "direction": "inbound", "subject": "来电咨询"}), 201)
    assert created["user"]["id"] == org.agent.pk
    assert Interaction.objects.get(pk=created["id"]).customer == li_zong

    before = Customer.objects.values("city", "version", "owner_id").get(pk=li_zong.pk)
    problem(agent.patch(f"customers/{li_zong.pk}", {"version": 1, "city": "北京市"}), 403)
    assert Customer.objects.values("city", "version", "owner_id").get(pk=li_zong.pk) == before


def test_a_sales_rep_of_another_team_still_does_not_see_the_customer(org, li_zong):
    retail_rep = factories.user("retail_rep", role=Role.SALES, department=org.sales_east, display_name="周敏")
    factories.team("East retail 华东零售组", department=org.sales_east, members=[retail_rep])
    before = (Interaction.objects.count(), Customer.objects.values("city", "version").get(pk=li_zong.pk))
    api = ApiClient(retail_rep)

    problem(api.get(f"customers/{li_zong.pk}"), 404)
    problem(api.patch(f"customers/{li_zong.pk}", {"version": 1, "city": "北京市"}), 404)
    problem(api.post("interactions", {"customer_id": li_zong.pk, "channel": "phone"}), 404)
    assert signed_in(retail_rep).get(reverse("web:customer_detail", args=[li_zong.pk])).status_code == 404
    assert (Interaction.objects.count(), Customer.objects.values("city", "version").get(pk=li_zong.pk)) == before
    # His own team's rep still sees him.
    assert signed_in(org.east_rep).get(reverse("web:customer_detail", args=[li_zong.pk])).status_code == 200

