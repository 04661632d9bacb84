"""Reading inbound mail: odd encodings, missing headers and oversized files get a clear outcome."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from loopcrm.service.mailparse import html_to_text, parse_mail, strip_quoted

LIMIT = 1_000_000


def encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def raw_mail(
    *, subject: str, body: bytes, charset: str, extra: str = "", from_: str = "王芳 <wang@example.cn>"
) -> bytes:
    head = (f"From: {from_}\r\nTo: service@shop.example\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0800\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode("utf-8") + body  # raw UTF-8 headers (RFC 6532) happen too


def test_a_gb2312_declared_mail_with_gbk_characters_reads_correctly():
    # 镕 exists in GBK but not in GB2312: clients declare gb2312 and send GBK anyway.
    raw = raw_mail(subject=encoded_word("空调安装预约", "gbk"), body="熔炉镕铁，请尽快安排。".encode("gbk"),
                   charset="gb2312", extra="Message-ID: <a1@client.example>\r\n")

    mail = parse_mail(raw, max_attachment_bytes=LIMIT)

    assert mail.subject == "空调安装预约"
    assert mail.body == "熔炉镕铁，请尽快安排。"
    assert mail.message_id == "<a1@client.example>"
    assert mail.problems == []


def test_gb18030_four_byte_characters_survive():
    text = "退货单号𠀀-42 的商品破损"  # U+20000 is a four-byte GB18030 sequence
    raw = raw_mail(subject=encoded_word("退货", "gb18030"), body=text.encode("gb18030"), charset="gb18030",
                   extra="Message-ID: <a2@client.example>\r\n")

    mail = parse_mail(raw, max_attachment_bytes=LIMIT)

    assert mail.body == text and mail.subject == "退货"


def test_a_wrongly_declared_charset_is_repaired_and_reported():
    raw = raw_mail(subject="Order", body="发货太慢".encode(), charset="iso-8859-8-i-unknown",
                   extra="Message-ID: <a3@client.example>\r\n")

    mail = parse_mail(raw, max_attachment_bytes=LIMIT)

    assert mail.body == "发货太慢"
    assert any("unknown charset" in problem for problem in mail.problems)


def test_a_mail_without_message_id_gets_a_stable_derived_one():
    raw = raw_mail(subject="Hello", body=b"Where is my order?", charset="us-ascii")

    first, again = parse_mail(raw, max_attachment_bytes=LIMIT), parse_mail(raw, max_attachment_bytes=LIMIT)

    assert first.message_id == again.message_id
    assert first.message_id.endswith("@missing-id.loopcrm>")
    assert "no Message-ID: one was derived from the content" in first.problems


def test_an_oversized_attachment_is_left_out_and_named():
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "service@shop.example", "Photos"
    message["Message-ID"] = "<a4@client.example>"
    message.set_content("See the photos")
    message.add_attachment(b"x" * 2048, maintype="image", subtype="jpeg", filename="big.jpg")
    message.add_attachment(b"y" * 100, maintype="application", subtype="pdf", filename="发票.pdf")

    mail = parse_mail(message.as_bytes(), max_attachment_bytes=1024)

    assert [(a.filename, a.size) for a in mail.attachments] == [("发票.pdf", 100)]
    assert any("'big.jpg' (2,048 bytes) is over the 1,024-byte limit" in problem for problem in mail.problems)


def test_threading_headers_and_quoted_text():
    raw = raw_mail(
        subject="Re: [#12] 安装", charset="utf-8",
        body="好的，明天上午可以。\r\n\r\n在 2026年11月22日 周日 10:00，客服 写道：\r\n> 请确认安装时间".encode(),
        extra="Message-ID: <r1@client.example>\r\nIn-Reply-To: <t12.1@loopcrm.localhost>\r\n"
              "References: <t12.0@loopcrm.localhost> <t12.1@loopcrm.localhost>\r\n",
    )

    mail = parse_mail(raw, max_attachment_bytes=LIMIT)

    assert mail.body == "好的，明天上午可以。"
    assert "请确认安装时间" in mail.full_body
    assert mail.thread_ids == ["<t12.1@loopcrm.localhost>", "<t12.0@loopcrm.localhost>"]


def test_a_raw_8bit_gbk_header_is_read():
    raw = "From: a@example.cn\r\nSubject: 发票问题\r\nMessage-ID: <g1@x>\r\n\r\nbody".encode("gbk")

    assert parse_mail(raw, max_attachment_bytes=LIMIT).subject == "发票问题"


def test_auto_replies_and_bounces_are_marked_automatic():
    auto = raw_mail(subject="Out of office", body=b"I am away", charset="us-ascii",
                    extra="Message-ID: <o1@x.example>\r\nAuto-Submitted: auto-replied\r\n")
    bounce = raw_mail(subject="Undelivered", body=b"failed", charset="us-ascii",
                      extra="Message-ID: <o2@x.example>\r\n", from_="MAILER-DAEMON@x.example")
    person = raw_mail(subject="Hi", body=b"hello", charset="us-ascii", extra="Message-ID: <o3@x.example>\r\n")

    assert parse_mail(auto, max_attachment_bytes=LIMIT).is_automatic
    assert parse_mail(bounce, max_attachment_bytes=LIMIT).is_automatic
    assert not parse_mail(person, max_attachment_bytes=LIMIT).is_automatic


def test_html_only_mail_becomes_text_without_scripts():
    html = "<p>Hello&nbsp;<b>there</b></p><script>alert(1)</script><p>a &lt; b</p>"
    assert html_to_text(html) == "Hello there\na < b"
    assert strip_quoted("> only a quote") == "> only a quote"
