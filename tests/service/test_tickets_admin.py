"""The admin edits the service desk's configuration through the services and shows tickets read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from loopcrm.core.models import AuditEntry
from loopcrm.service.models import CannedReply, Queue, TicketCategory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    client = Client()
    client.force_login(org.admin, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_adding_categories_keeps_the_tree_path_and_audits(admin_client):
    assert admin_client.post("/admin/service/ticketcategory/add/", {"name": "配送", "code": "delivery",
                                                                     "is_active": "on"}).status_code == 302
    parent = TicketCategory.objects.get()
    response = admin_client.post("/admin/service/ticketcategory/add/", {"name": "延迟", "code": "late",
                                                                         "parent": parent.pk, "is_active": "on"})
    assert response.status_code == 302
    child = TicketCategory.objects.get(code="late")
    assert child.path == f"/{parent.pk}/{child.pk}/"
    assert AuditEntry.objects.filter(object_type="service.ticketcategory").count() == 2
    refused = admin_client.post("/admin/service/ticketcategory/add/", {"name": "x", "code": "Bad Code!"})
    assert refused.status_code == 200 and TicketCategory.objects.count() == 2


def test_queues_and_canned_replies_save_through_the_services(admin_client, org):
    response = admin_client.post("/admin/service/queue/add/", {
        "name": "热线", "code": "hotline", "department": org.service.pk, "strategy": "round_robin",
        "members": [org.agent.pk], "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:1500]
    assert list(Queue.objects.get().members.all()) == [org.agent]
    assert admin_client.post("/admin/service/cannedreply/add/", {"title": "问候", "body": "您好",
                                                                  "is_active": "on"}).status_code == 302
    assert CannedReply.objects.get().created_by == org.admin


def test_tickets_are_shown_read_only(admin_client, org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    assert admin_client.get("/admin/service/ticket/").status_code == 200
    page = admin_client.get(f"/admin/service/ticket/{ticket.pk}/change/")
    assert page.status_code == 200 and "冰箱不制冷" in page.content.decode()
    assert admin_client.get("/admin/service/ticket/add/").status_code == 403
    for model in ("rootcause", "queue", "cannedreply", "ticketcategory"):
        assert admin_client.get(f"/admin/service/{model}/").status_code == 200
