"""Email in and out through real SMTP servers: mail opens a ticket, the reply goes out, the answer threads.

Two aiosmtpd servers run on free local ports: LoopCRM's own listener (`loopcrm mail-in`) receiving
customer mail, and a stand-in for the company's outgoing mail server catching what LoopCRM sends.
"""

from __future__ import annotations

import base64
import email
import smtplib
import socket
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from loopcrm.customers.models import Customer
from loopcrm.service.mailin import smtp_controller
from loopcrm.service.models import InboundMail, Mailbox, OutboundMail, Ticket, TicketMessage
from loopcrm.service.services import intake, mail
from loopcrm.service.services import tickets as ticket_services


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Catcher:
    """The outgoing SMTP server's handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this by name
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def outgoing(settings):
    catcher = Catcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=free_port())
    controller.start()
    catcher.port = controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.LOOPCRM_MAIL_DOMAIN = "desk.example"
    yield catcher
    controller.stop()


@pytest.fixture
def listener():
    controller = smtp_controller("127.0.0.1", free_port())
    controller.start()
    yield controller
    controller.stop()


def send(listener: Controller, message: EmailMessage) -> None:
    with smtplib.SMTP(listener.hostname, listener.port) as client:
        client.send_message(message)


def wait_for(predicate, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def customer_mail(subject: str, body: str, *, message_id: str, in_reply_to: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "张伟 <Zhang.Wei@Example.com>"
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message


def test_mail_in_then_reply_out_then_the_answer_threads_onto_the_same_ticket(transactional_db, org, outgoing,
                                                                              listener):
    # Mail in: an unknown sender's mail opens a ticket for a new customer found by address.
    send(listener, customer_mail("空调漏水 Air conditioner leaking", "客厅空调一直滴水，请派人来看看。",
                                 message_id="<first@client.example>"))
    first = wait_for(lambda: InboundMail.objects.filter(message_id="<first@client.example>").first())
    assert first.outcome == InboundMail.Outcome.OPENED
    ticket = first.ticket
    assert ticket.channel == "email" and ticket.subject == "空调漏水 Air conditioner leaking"
    assert ticket.customer.email == "zhang.wei@example.com" and ticket.customer.name == "张伟"
    assert ticket.messages.get().body == "客厅空调一直滴水，请派人来看看。"

    # Reply out: the agent's public reply is sent by SMTP with a Message-ID that threads.
    reply = ticket_services.add_reply(ticket, body="您好，师傅明天上午上门。", by=org.admin)
    sent = wait_for(lambda: outgoing.messages)
    assert len(sent) == 1
    out = sent[0]
    assert out["To"] == "zhang.wei@example.com"
    assert out["In-Reply-To"] == "<first@client.example>"
    assert f"[#{ticket.pk}]" in str(email.header.make_header(email.header.decode_header(out["Subject"])))
    our_id = out["Message-ID"].strip()  # a long header may arrive folded (CRLF and a space before the id)
    assert our_id.endswith("@desk.example>")
    assert TicketMessage.objects.get(pk=reply.pk).message_id == our_id
    assert OutboundMail.objects.get(ticket_message=reply).status == OutboundMail.Status.SENT

    # The customer's answer threads onto the same ticket by In-Reply-To.
    send(listener, customer_mail("Re: 空调漏水", "好的，上午在家。\n\n> 您好，师傅明天上午上门。",
                                 message_id="<second@client.example>", in_reply_to=our_id))
    second = wait_for(lambda: InboundMail.objects.filter(message_id="<second@client.example>").first())
    assert second.outcome == InboundMail.Outcome.THREADED and second.ticket_id == ticket.pk
    assert list(ticket.messages.order_by("id").values_list("kind", "body")) == [
        ("customer", "客厅空调一直滴水，请派人来看看。"),
        ("reply", "您好，师傅明天上午上门。"),
        ("customer", "好的，上午在家。"),
    ]
    assert Ticket.objects.count() == 1 and Customer.objects.filter(email="zhang.wei@example.com").count() == 1

    # A redelivery of the same mail changes nothing.
    send(listener, customer_mail("Re: 空调漏水", "好的，上午在家。", message_id="<second@client.example>",
                                 in_reply_to=our_id))
    time.sleep(0.3)
    assert ticket.messages.count() == 3 and InboundMail.objects.count() == 2


def test_the_listener_refuses_unknown_mailboxes_when_mailboxes_are_configured(transactional_db, org, listener):
    Mailbox.objects.create(address="service@shop.example", name="Service")
    message = customer_mail("Hi", "hello", message_id="<x@client.example>")
    message.replace_header("To", "nobody@shop.example")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, message)
    assert not InboundMail.objects.exists()


def test_a_reply_that_cannot_be_sent_is_kept_and_retried(db, org, zhang, open_ticket, settings, outgoing):
    ticket = open_ticket(zhang)
    settings.EMAIL_PORT = free_port()  # nothing listens there

    reply = ticket_services.add_reply(ticket, body="我们已安排。", by=org.agent)
    outbound = mail.deliver_reply(reply)

    outbound.refresh_from_db()
    assert outbound.status == OutboundMail.Status.FAILED and outbound.attempts == 1 and outbound.error
    assert TicketMessage.objects.filter(pk=reply.pk).exists()  # the reply stays on the ticket
    settings.EMAIL_PORT = outgoing.port
    assert mail.retry_failed_mail() == 1
    outbound.refresh_from_db()
    assert outbound.status == OutboundMail.Status.SENT
    assert mail.deliver_reply(reply).status == OutboundMail.Status.SENT and len(outgoing.messages) == 1


def test_internal_notes_and_customers_without_address_send_nothing(db, org, open_ticket, outgoing):
    silent = Customer.objects.create(name="无邮箱客户", owner=org.agent, department=org.service)
    ticket = open_ticket(silent)

    note = ticket_services.add_note(ticket, body="内部备注", by=org.agent)
    reply = ticket_services.add_reply(ticket, body="已处理", by=org.agent)

    assert mail.deliver_reply(note) is None and mail.deliver_reply(reply) is None
    assert outgoing.messages == []


# Malformed and awkward mail: each gets a clear, recorded outcome.

def gbk_mail(message_id: str | None) -> bytes:
    subject = "=?GB2312?B?" + base64.b64encode("退货申请".encode("gbk")).decode() + "?="
    head = f"From: li@example.cn\r\nTo: service@shop.example\r\nSubject: {subject}\r\n"
    if message_id:
        head += f"Message-ID: {message_id}\r\n"
    head += "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    return head.encode() + "商品镕接处开裂，申请退货。".encode("gbk")


def test_a_gbk_mail_without_message_id_opens_one_ticket_even_when_delivered_twice(db, org):
    first = intake.receive_mail(gbk_mail(None))
    again = intake.receive_mail(gbk_mail(None))

    assert first.pk == again.pk and first.outcome == InboundMail.Outcome.OPENED
    assert first.ticket.subject == "退货申请"
    assert first.ticket.messages.get().body == "商品镕接处开裂，申请退货。"
    assert "no Message-ID" in first.problems
    assert Ticket.objects.count() == 1


def test_an_oversized_or_unacceptable_attachment_is_left_out_and_the_ticket_still_opens(db, org, settings):
    settings.LOOPCRM_ATTACHMENT_MAX_BYTES = 4096
    message = customer_mail("照片 Photos", "见附件", message_id="<att@client.example>")
    message.add_attachment(b"\xff\xd8\xff" + b"0" * 10_000, maintype="image", subtype="jpeg", filename="huge.jpg")
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="setup.exe")
    message.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="发票.pdf")

    record = intake.receive_mail(message.as_bytes())

    assert record.outcome == InboundMail.Outcome.OPENED
    kept = list(record.ticket.messages.get().attachments.values_list("filename", flat=True))
    assert kept == ["发票.pdf"]
    assert "'huge.jpg'" in record.problems and "'setup.exe' left out" in record.problems


def test_auto_replies_are_recorded_and_open_nothing(db, org):
    message = customer_mail("Automatic reply: 空调漏水", "I am out of office", message_id="<ooo@client.example>")
    message["Auto-Submitted"] = "auto-replied"

    record = intake.receive_mail(message.as_bytes())

    assert record.outcome == InboundMail.Outcome.AUTOMATIC and record.ticket is None
    assert not Ticket.objects.exists()


def test_a_sender_without_a_usable_address_is_rejected_with_the_reason(db, org):
    raw = b"From: not-an-address\r\nSubject: hi\r\nMessage-ID: <bad@x>\r\n\r\nhello"

    record = intake.receive_mail(raw)

    assert record.outcome == InboundMail.Outcome.REJECTED and "no usable sender address" in record.problems
    assert not Ticket.objects.exists()


def test_subject_reference_threads_only_for_the_ticket_s_own_customer(db, org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    own = customer_mail(f"Re: 冰箱 [#{ticket.pk}]", "还是不制冷", message_id="<own@client.example>")
    stranger = customer_mail(f"Re: [#{ticket.pk}]", "I want in", message_id="<stranger@client.example>")
    stranger.replace_header("From", "someone@else.example")

    assert intake.receive_mail(own.as_bytes()).ticket_id == ticket.pk
    hijack = intake.receive_mail(stranger.as_bytes())
    assert hijack.outcome == InboundMail.Outcome.OPENED and hijack.ticket_id != ticket.pk


def test_mail_to_a_closed_ticket_opens_a_follow_up(db, org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    message = customer_mail(f"Re: [#{ticket.pk}]", "又坏了", message_id="<again@client.example>")

    record = intake.receive_mail(message.as_bytes())

    assert record.outcome == InboundMail.Outcome.OPENED and record.ticket_id != ticket.pk
    assert f"ticket #{ticket.pk} is closed" in record.problems


def test_a_mailbox_sends_its_mail_to_its_department(db, org):
    Mailbox.objects.create(address="service@shop.example", name="Service", department=org.service,
                           ticket_kind=Ticket.Kind.SERVICE_REQUEST)

    record = intake.receive_mail(customer_mail("维修", "洗衣机坏了", message_id="<m@client.example>").as_bytes(),
                                 recipients=["Service@Shop.Example"])

    assert record.mailbox.address == "service@shop.example"
    assert record.ticket.department == org.service and record.ticket.kind == Ticket.Kind.SERVICE_REQUEST
