"""Reading an inbound email into plain values: who, what, which thread, which files, what went wrong.

Pure (no Django): takes the raw bytes, returns a `ParsedMail`. Mail from Chinese clients often
declares GB2312 while carrying GBK or GB18030 characters, so those charsets are read with GB18030,
their superset; anything undecodable is replaced and reported, never fatal.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3

# Declared charset -> the codec that reads it safely (GB18030 covers GB2312 and GBK).
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
                   "euc-cn": "gb18030", "hz-gb-2312": "hz", "ks_c_5601-1987": "euc-kr", "unknown-8bit": "utf-8"}

QUOTE_HEADERS = (
    re.compile(r"^On .{3,200} wrote:\s*$"),
    re.compile(r"^在.{2,200}写道[:：]\s*$"),
    re.compile(r"^-{2,}\s*(Original Message|原始邮件|回复的原邮件)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^(From|发件人)[:：].+$"),
)


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class ParsedMail:
    """An inbound message reduced to what the desk needs; `problems` lists what had to be repaired."""

    message_id: str
    in_reply_to: str
    references: list[str]
    from_name: str
    from_address: str
    to: list[str]
    subject: str
    body: str
    full_body: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    sent_at: object = None  # aware datetime or None
    is_automatic: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        return ids + [ref for ref in reversed(self.references) if ref not in ids]


def codec_for(charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower()
    return CHARSET_ALIASES.get(name, name)


def decode_bytes(payload: bytes, charset: str | None, problems: list[str], what: str) -> str:
    """Text from bytes in the declared charset (or its superset); a wrong or unknown charset is repaired."""
    codec = codec_for(charset)
    try:
        return payload.decode(codec)
    except LookupError:
        problems.append(f"{what}: unknown charset {charset!r}, read as UTF-8")
    except UnicodeDecodeError:
        pass
    for fallback in ("utf-8", "gb18030"):
        try:
            text = payload.decode(fallback)
        except UnicodeDecodeError:
            continue
        if fallback != codec:
            problems.append(f"{what}: declared {charset or 'no charset'}, read as {fallback}")
        return text
    problems.append(f"{what}: undecodable bytes in {charset or 'no charset'}, replaced")
    return payload.decode("utf-8", errors="replace")


def decode_header_value(raw: str | None, problems: list[str], what: str) -> str:
    """An RFC 2047 header ("=?GB2312?B?...?=") as text, each encoded word read with a safe codec."""
    if not raw:
        return ""
    raw = str(raw)
    if any("\udc80" <= char <= "\udcff" for char in raw):
        # Raw 8-bit header (RFC 6532 UTF-8, or a legacy GBK client): the parser kept the bytes escaped.
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), "utf-8", problems, what)
    parts = []
    try:
        chunks = decode_header(str(raw))
    except Exception:  # a malformed encoded word: keep the raw text
        problems.append(f"{what}: malformed encoded header kept as is")
        return " ".join(str(raw).split())
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_bytes(chunk, charset or "utf-8", problems, what))
        else:
            parts.append(chunk)
    return " ".join("".join(parts).split())


def _raw_header(message: Message, name: str) -> str | None:
    """A header as received (8-bit bytes still escaped), not compat32's replacement-character version."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return value
    return None


def _message_ids(raw: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", raw or "")


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: tags removed (scripts and styles with their content), entities kept readable."""
    cleaned = nh3.clean(html, tags={"p", "br", "div", "li", "tr"}, clean_content_tags={"script", "style"})
    cleaned = re.sub(r"<\s*(br|/p|/div|/li|/tr)\s*/?>", "\n", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"<[^>]+>", "", cleaned)
    for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                         ("&amp;", "&")):
        cleaned = cleaned.replace(entity, char)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: stops at the quoted original ("On … wrote:", "在…写道：", "> …")."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or any(pattern.match(stripped) for pattern in QUOTE_HEADERS):
            break
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


def _is_automatic(message: Message, from_address: str) -> bool:
    """Auto-replies and bounces must not open tickets (or answer each other in a loop)."""
    auto = str(message.get("Auto-Submitted", "no")).lower()
    precedence = str(message.get("Precedence", "")).lower()
    local = from_address.split("@", 1)[0].lower()
    return (
        auto not in ("", "no")
        or precedence in ("bulk", "junk", "auto_reply")
        or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
        or local in ("mailer-daemon", "postmaster")
        or message.get_content_type() == "multipart/report"
    )


def parse_mail(raw: bytes, *, max_attachment_bytes: int) -> ParsedMail:
    """Parse raw RFC 5322 bytes. Never raises on content: problems are listed instead.

    A missing Message-ID gets a stable one derived from the bytes, so the same mail delivered twice
    is still recognised. Attachments over `max_attachment_bytes` are dropped and reported.
    """
    problems: list[str] = []
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    ids = _message_ids(message.get("Message-ID"))
    if ids:
        message_id = ids[0]
    else:
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:32]}@missing-id.loopcrm>"
        problems.append("no Message-ID: one was derived from the content")
    from_name, from_address = parseaddr(decode_header_value(_raw_header(message, "From"), problems, "From"))
    if not from_address:
        from_name, from_address = parseaddr(str(message.get("From", "")))
    to = [address for _name, address in getaddresses([str(v) for v in message.get_all("To", [])]) if address]
    subject = decode_header_value(_raw_header(message, "Subject"), problems, "Subject")
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message.get("Date") else None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = None
    except (TypeError, ValueError, IndexError):
        sent_at = None
        problems.append("unreadable Date header ignored")

    plain: list[str] = []
    html: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = str(part.get("Content-Disposition", "")).lower()
        filename = part.get_filename()
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True) or b""
        if filename or disposition.startswith("attachment"):
            name = decode_header_value(filename, problems, "attachment name") or "attachment"
            if len(payload) > max_attachment_bytes:
                problems.append(
                    f"attachment {name!r} ({len(payload):,} bytes) is over the {max_attachment_bytes:,}-byte "
                    "limit and was not stored"
                )
                continue
            attachments.append(ParsedAttachment(filename=name, content_type=content_type, payload=payload))
        elif content_type == "text/plain":
            plain.append(decode_bytes(payload, part.get_content_charset(), problems, "body"))
        elif content_type == "text/html":
            html.append(decode_bytes(payload, part.get_content_charset(), problems, "body"))
    full_body = "\n\n".join(text.strip() for text in plain if text.strip())
    if not full_body and html:
        full_body = "\n\n".join(html_to_text(text) for text in html)
    full_body = full_body.replace("\r\n", "\n").replace("\x00", "")
    if not full_body.strip():
        problems.append("empty body")
    return ParsedMail(
        message_id=message_id[:255],
        in_reply_to=(_message_ids(message.get("In-Reply-To")) or [""])[0][:255],
        references=[ref[:255] for ref in _message_ids(message.get("References"))],
        from_name=from_name,
        from_address=from_address.strip().lower(),
        to=to,
        subject=subject,
        body=strip_quoted(full_body),
        full_body=full_body,
        attachments=attachments,
        sent_at=sent_at,
        is_automatic=_is_automatic(message, from_address),
        problems=problems,
    )
