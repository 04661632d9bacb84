"""The inbox's filter and bulk selects are kept per process under the configuration stamp: drawn again, they
cost no query. These stories prove that what changes after they were kept — a new queue, category or agent,
a renamed or departed agent, a queue's new member — shows on the next page all the same, even when the change
goes behind the services' back (the stamp's triggers see it)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.accounts.models import Role, User
from loopcrm.service.models import Queue
from loopcrm.service.services import categories as category_services
from tests import factories

pytestmark = pytest.mark.django_db

INBOX = reverse("web:ticket_inbox")


def options(client: Client, select_id: str) -> list[str]:
    """The labels of one select of the inbox page, in order."""
    html = client.get(INBOX, {"view": "mine"}).content.decode()
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, select_id
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


@pytest.fixture
def agent_client(org, hotline_queue) -> Client:
    """王芳, the Service agent, with her inbox drawn once (so its selects are kept)."""
    client = Client()
    client.force_login(org.agent)
    assert client.get(INBOX, {"view": "mine"}).status_code == 200
    return client


def test_a_new_queue_shows_in_the_queue_filter(org, agent_client):
    assert options(agent_client, "id_queue_id") == ["Any", "Hotline 热线"]
    category_services.create_queue(name="Callbacks 回访", code="callbacks", department=org.service, by=None)
    assert options(agent_client, "id_queue_id") == ["Any", "Callbacks 回访", "Hotline 热线"]


def test_a_queue_switched_off_behind_the_services_back_leaves_the_filter(org, agent_client, hotline_queue):
    Queue.objects.filter(pk=hotline_queue.pk).update(is_active=False)
    assert options(agent_client, "id_queue_id") == ["Any"]


def test_a_new_category_shows_in_the_category_filter(org, agent_client):
    assert "Billing 账单" not in options(agent_client, "id_category_id")
    category_services.create_category(name="Billing 账单", code="billing", by=None)
    assert "Billing 账单" in options(agent_client, "id_category_id")


def test_a_new_agent_of_the_department_can_be_filtered_and_given_tickets(org, agent_client):
    assert "陈静" not in options(agent_client, "id_assignee_id")
    factories.user("chen", role=Role.AGENT, department=org.service, display_name="陈静")
    assert "陈静" in options(agent_client, "id_assignee_id")
    assert "陈静" in options(agent_client, "id_bulk-agent")


def test_a_renamed_or_departed_agent_changes_the_selects(org, agent_client):
    assert "李娜" in options(agent_client, "id_assignee_id")
    User.objects.filter(pk=org.lead.pk).update(display_name="李娜 (lead)")  # no save(), no signal
    assert "李娜 (lead)" in options(agent_client, "id_bulk-agent")
    User.objects.filter(pk=org.lead.pk).update(is_active=False)
    assert not [label for label in options(agent_client, "id_assignee_id") if label.startswith("李娜")]


def test_a_queue_of_another_department_shows_once_the_agent_joins_it(org, hotline_queue):
    tom = Client()
    tom.force_login(org.other_agent)
    assert options(tom, "id_queue_id") == ["Any"]
    hotline_queue.members.add(org.other_agent)
    assert options(tom, "id_queue_id") == ["Any", "Hotline 热线"]


def test_a_sign_in_keeps_the_selects(org, agent_client):
    """Signing in writes last_login: not a change of anything a select shows, so the kept lists stay."""
    from loopcrm.service.queries.config import current_stamp

    before = current_stamp()
    Client().force_login(org.lead)
    assert current_stamp() == before


def test_the_ticket_pages_assignee_select_follows_the_queues_members(org, hotline_queue, zhang, open_ticket):
    ticket = open_ticket(zhang, subject="冰箱不制冷 Fridge not cooling", assignee=org.agent)
    client = Client()
    client.force_login(org.lead)
    page = reverse("web:ticket_detail", args=[ticket.pk])

    def assignees() -> list[str]:
        html = client.get(page).content.decode()
        select = re.search(r'<select[^>]*id="id_assign-agent"[^>]*>(.*?)</select>', html, re.S)
        assert select is not None
        return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))

    assert "陈静" not in assignees()
    chen = factories.user("chen", role=Role.AGENT, department=org.service, display_name="陈静")
    hotline_queue.members.add(chen)
    assert "陈静" in assignees()
    hotline_queue.members.remove(chen)
    assert "陈静" not in assignees()
