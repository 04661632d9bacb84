"""The import pages: upload, mapping screen with preview, report, commit, progress fragment, history, undo."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.customers.models import Customer
from loopcrm.imports.models import ImportJob
from tests import factories
from tests.imports.conftest import DATA

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user) -> Client:
    client = Client()
    client.login(username=user.username, password=factories.PASSWORD)
    return client


def test_upload_fix_mapping_read_report_import_and_undo(org):
    client = _client(org.admin)
    assert client.get(reverse("web:import_new")).status_code == 200
    with (DATA / "bad_rows.csv").open("rb") as handle:
        response = client.post(reverse("web:import_new"), {"file": handle, "on_duplicate": "skip",
                                                           "unmapped": "ignore"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:import_detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Validation report" in page and "is not a real date" in page
    assert 'id="mapping-table"' in page and "坏电话" in page  # the preview
    # Fix the mapping: the kind column is ignored now, so row 9 is no longer bad
    form = {f"col_{i}": t for i, t in enumerate(["name", "phone", "email", "birthday", "source_channel", ""])}
    response = client.post(reverse("web:import_mapping", args=[job.pk]),
                           {**form, "unmapped": "ignore", "on_duplicate": "skip", "encoding": "utf-8"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.valid, job.invalid) == ("validated", 2, 8)
    # The progress fragment answers htmx polling
    fragment = client.get(reverse("web:import_detail", args=[job.pk]) + "?fragment=progress",
                          headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<section id="import-progress"')
    client.post(reverse("web:import_commit", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created) == ("done", 2)
    history = client.get(reverse("web:import_list")).content.decode()
    assert "bad_rows.csv" in history and "Undo" in history
    client.post(reverse("web:import_rollback", args=[job.pk]))
    assert Customer.objects.count() == 0
    report = client.get(reverse("web:import_report", args=[job.pk, "csv"]))
    assert b"".join(report.streaming_content).decode().count("\r\n") == 9


def test_agents_may_not_import_or_see_jobs(org):
    admin_job = None
    client = _client(org.admin)
    with (DATA / "customers_utf8.csv").open("rb") as handle:
        client.post(reverse("web:import_new"), {"file": handle, "on_duplicate": "skip", "unmapped": "ignore"})
    admin_job = ImportJob.objects.get()
    agent = _client(org.agent)
    assert agent.get(reverse("web:import_new")).status_code == 403
    assert agent.get(reverse("web:import_detail", args=[admin_job.pk])).status_code == 404
    assert agent.post(reverse("web:import_rollback", args=[admin_job.pk])).status_code == 404
    assert agent.get(reverse("web:export", args=["customers"])).status_code == 403


def test_export_page_downloads_the_filtered_list(org):
    factories.customer("张伟", owner=org.agent, department=org.service, province="广东")
    factories.customer("李娜", owner=org.agent, department=org.service, province="北京")
    response = _client(org.lead).get(reverse("web:export", args=["customers"]) + "?province=广东")
    text = b"".join(response.streaming_content).decode()
    assert "张伟" in text and "李娜" not in text


def test_the_polled_progress_fragment_and_the_history_stay_cheap(org, django_assert_max_num_queries):
    client = _client(org.admin)
    for name in ("customers_utf8.csv", "bad_rows.csv", "duplicates.csv"):
        with (DATA / name).open("rb") as handle:
            client.post(reverse("web:import_new"), {"file": handle, "on_duplicate": "skip", "unmapped": "ignore"})
    job = ImportJob.objects.order_by("pk").last()
    url = reverse("web:import_detail", args=[job.pk]) + "?fragment=progress"
    with django_assert_max_num_queries(5):
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("web:import_list")).status_code == 200


def test_list_pages_offer_an_export_of_exactly_what_they_show(org):
    import datetime as dt
    import re
    from html import unescape

    from django.utils import timezone

    customer = factories.customer("王芳", owner=org.agent, department=org.service)
    now = timezone.now()
    recent = factories.order(customer, placed_at=now - dt.timedelta(days=1))
    old = factories.order(customer, placed_at=now - dt.timedelta(days=30))
    until = timezone.localtime(now - dt.timedelta(days=10)).date().isoformat()
    lead = _client(org.lead)
    page = lead.get(reverse("web:order_list") + f"?placed_to={until}&cursor=abc").content.decode()
    links = [unescape(href) for href in re.findall(r'href="([^"]*/exports/orders/[^"]*)"', page)]
    assert len(links) == 2 and all(f"placed_to={until}" in link and "cursor" not in link for link in links)
    csv_link = next(link for link in links if "format=csv" in link)
    text = b"".join(lead.get(csv_link).streaming_content).decode()
    # The list's "until" includes the whole day it names; the export keeps the same rows.
    assert old.number in text and recent.number not in text
    bad = lead.get(reverse("web:export", args=["orders"]) + "?status=lost")
    assert bad.status_code == 400 and "status" in bad.content.decode()
    # Roles that may not export see no export buttons.
    assert "/exports/" not in _client(org.agent).get(reverse("web:customer_list")).content.decode()
    assert "/exports/customers/" in lead.get(reverse("web:customer_list")).content.decode()
    assert "/exports/interactions/" in lead.get(reverse("web:interaction_list")).content.decode()


def test_tickets_and_segments_export_with_their_filters_and_scope(org):
    from loopcrm.service.services import tickets as ticket_services
    from loopcrm.value import services as value_services

    mine = factories.customer("张伟", owner=org.agent, department=org.service, province="广东")
    east = factories.customer("陈静", owner=org.other_agent, province="广东")
    complaint = ticket_services.open_ticket(customer=mine, subject="冰箱不制冷", by=org.agent, kind="complaint")
    ticket_services.open_ticket(customer=mine, subject="咨询发票", by=org.agent, kind="inquiry")
    ticket_services.open_ticket(customer=east, subject="别的部门的工单", by=org.admin, kind="complaint")
    lead = _client(org.lead)
    text = b"".join(lead.get(reverse("web:export", args=["tickets"]) + "?kind=complaint").streaming_content).decode()
    # The lead's department only, complaints only.
    assert "冰箱不制冷" in text and "咨询发票" not in text and "别的部门的工单" not in text
    assert str(complaint.pk) in text
    assert lead.get(reverse("web:export", args=["tickets"]) + "?kind=robot").status_code == 400

    segment = value_services.create_segment(by=org.admin, name="广东客户",
                                            rule={"field": "province", "op": "eq", "value": "广东"})
    admin_text = b"".join(_client(org.admin).get(
        reverse("web:export", args=["segment"]) + f"?segment_id={segment.pk}").streaming_content).decode()
    assert "张伟" in admin_text and "陈静" in admin_text
    assert _client(org.admin).get(reverse("web:export", args=["segment"])).status_code == 400
