"""Attachments: limits on size, type and content, a SHA-256 of every file, downloads in scope only."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loopcrm.core.errors import RuleViolation
from loopcrm.service.models import Attachment, TicketEvent, TicketMessage
from loopcrm.service.services import tickets as services
from loopcrm.service.services.attachments import AttachmentTooLarge, Upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"0" * 100


def upload(api, ticket, *files, **fields):
    return api.client.post(f"/api/v1/tickets/{ticket.pk}/attachments", data={"file": list(files), **fields},
                           headers=api.headers)


@pytest.mark.django_db
def test_files_go_on_a_note_with_their_hash_and_can_be_downloaded(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    api = api_as("agent")
    response = upload(api, ticket, SimpleUploadedFile("发票 invoice.pdf", PDF, content_type="application/pdf"),
                      SimpleUploadedFile("photo.png", PNG, content_type="image/png"), body="客户发来的")
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["kind"] == "note" and message["body"] == "客户发来的"
    files = {a["filename"]: a for a in message["attachments"]}
    assert files["发票 invoice.pdf"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert files["photo.png"]["size"] == len(PNG)
    assert TicketEvent.objects.filter(ticket=ticket, kind="attachment").count() == 2

    listed = api.get(f"tickets/{ticket.pk}/attachments").json()
    assert len(listed) == 2
    download = api.get(f"tickets/{ticket.pk}/attachments/{files['photo.png']['id']}/content")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert "attachment" in download["Content-Disposition"]
    assert api_as("other_agent").get(f"tickets/{ticket.pk}/attachments/{files['photo.png']['id']}/content") \
        .status_code == 404


@pytest.mark.django_db
def test_a_public_upload_is_a_reply(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    response = upload(api_as("agent"), ticket, SimpleUploadedFile("说明书.pdf", PDF, content_type="application/pdf"),
                      public="true")
    assert response.status_code == 201 and response.json()["kind"] == "reply"


@pytest.mark.django_db
def test_a_file_over_the_limit_is_413_and_nothing_is_stored(api_as, zhang, open_ticket, settings):
    settings.LOOPCRM_ATTACHMENT_MAX_BYTES = 1024
    ticket = open_ticket(zhang)
    response = upload(api_as("agent"), ticket,
                      SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 2000, content_type="application/pdf"))
    assert response.status_code == 413
    problem = response.json()
    assert problem["errors"][0]["field"] == "file" and problem["errors"][0]["max_bytes"] == 1024
    assert "big.pdf" in problem["detail"] and "1 KiB" in problem["detail"]
    assert not Attachment.objects.exists() and TicketMessage.objects.filter(kind="note").count() == 0


@pytest.mark.django_db
def test_the_default_limit_is_ten_mebibytes(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    with pytest.raises(AttachmentTooLarge):
        services.add_note(ticket, body="x", by=org.agent,
                          attachments=[Upload("a.txt", "text/plain", b"a" * (10 * 1024 * 1024 + 1))])
    note = services.add_note(ticket, body="x", by=org.agent,
                             attachments=[Upload("a.txt", "text/plain", b"a" * (10 * 1024 * 1024))])
    assert note.attachments.get().size == 10 * 1024 * 1024


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content_type", "content", "says"), [
    ("tool.exe", "application/x-msdownload", b"MZ\x90\x00", "not accepted"),
    ("photo.png", "image/png", b"MZ\x90\x00 not a png", "is not a image/png"),
    ("script.txt", "text/plain", b"#!/bin/sh\nrm -rf /", "is not a text/plain"),
    ("empty.pdf", "application/pdf", b"", "empty"),
    ("page.html", "text/html", b"<script>alert(1)</script>", "not accepted"),
])
def test_a_type_not_accepted_or_content_that_contradicts_it_is_422(api_as, zhang, open_ticket, name, content_type,
                                                                   content, says):
    ticket = open_ticket(zhang)
    response = upload(api_as("agent"), ticket, SimpleUploadedFile(name, content, content_type=content_type))
    assert response.status_code == 422, response.content
    assert says in response.json()["detail"]
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_too_many_files_and_no_file_are_refused(api_as, zhang, open_ticket, settings):
    settings.LOOPCRM_ATTACHMENTS_PER_MESSAGE = 2
    ticket = open_ticket(zhang)
    api = api_as("agent")
    files = [SimpleUploadedFile(f"{i}.txt", b"hello", content_type="text/plain") for i in range(3)]
    assert upload(api, ticket, *files).status_code == 422
    assert upload(api, ticket).status_code == 422
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_file_names_lose_paths_and_control_characters(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    note = services.add_note(ticket, body="", by=org.agent,
                             attachments=[("..\\..\\etc/pass\u202ewd\x00.txt", "text/plain", b"x")])
    assert note.attachments.get().filename == "passwd.txt"
    with pytest.raises(RuleViolation):
        services.add_note(ticket, body="", by=org.agent, attachments=[("/../", "text/plain", b"x")])


@pytest.mark.django_db
def test_an_executive_may_not_upload(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    response = upload(api_as("exec"), ticket, SimpleUploadedFile("a.txt", b"x", content_type="text/plain"))
    assert response.status_code == 403 and not Attachment.objects.exists()


@pytest.mark.django_db
def test_a_file_larger_than_the_json_body_cap_is_still_accepted_up_to_the_attachment_limit(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    content = b"%PDF-" + b"0" * (3 * 1024 * 1024)  # JSON bodies stop at 2 MiB; files have their own limit
    manual = SimpleUploadedFile("manual.pdf", content, content_type="application/pdf")
    response = upload(api_as("agent"), ticket, manual)
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().size == len(content)
