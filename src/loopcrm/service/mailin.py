"""`loopcrm mail-in`: receive customer mail into tickets, by an SMTP listener or by polling an IMAP mailbox.

The SMTP listener (aiosmtpd) accepts mail for the configured mailboxes and hands each message to
`intake.receive_mail` in a worker thread (the ORM is synchronous). It answers 451 (try again later)
when the database is busy, so the sending server retries instead of the mail being lost, and 552
for a message over the size limit.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import OperationalError, close_old_connections

from loopcrm.service.services import intake

log = logging.getLogger(__name__)


def max_message_bytes() -> int:
    return int(getattr(settings, "LOOPCRM_MAIL_MAX_BYTES", 40 * 1024 * 1024))


def _receive_in_thread(raw: bytes, recipients: list[str]) -> str:
    close_old_connections()
    try:
        mail = intake.receive_mail(raw, recipients=recipients)
    finally:
        close_old_connections()
    return f"250 OK {mail.get_outcome_display()}"


def _accepts_in_thread(address: str) -> bool:
    close_old_connections()
    try:
        return intake.accepts_recipient(address)
    finally:
        close_old_connections()


class TicketMailHandler:
    """aiosmtpd handler: every accepted message goes through the same intake service as IMAP mail."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd calls these by name
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, _accepts_in_thread, address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls these by name
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, _receive_in_thread, raw, list(envelope.rcpt_tos))
        except OperationalError:
            log.warning("database busy: asking the sender to retry")
            return "451 4.3.0 Busy, try again later"
        except Exception:  # never lose mail silently: the sender keeps it and retries
            log.exception("inbound mail failed")
            return "451 4.3.0 Temporary failure, try again later"


def smtp_controller(host: str, port: int) -> Controller:
    """An SMTP listener on host:port (not started); tests start and stop it themselves."""
    return Controller(TicketMailHandler(), hostname=host, port=port, data_size_limit=max_message_bytes(),
                      decode_data=False)


def serve_smtp(host: str, port: int, *, say: Callable[[str], object] = print) -> None:
    controller = smtp_controller(host, port)
    controller.start()
    say(f"Receiving mail by SMTP on {host}:{port} (Ctrl+C stops).")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True


def poll_imap(account: ImapSettings, *, limit: int = 200) -> int:
    """Fetch unseen messages once, receive each, and mark it seen only after it is safely stored."""
    client_class = imaplib.IMAP4_SSL if account.ssl else imaplib.IMAP4
    received = 0
    with client_class(account.host, account.port) as client:
        client.login(account.user, account.password)
        client.select(account.folder)
        _status, data = client.uid("search", None, "UNSEEN")
        for uid in (data[0] or b"").split()[:limit]:
            _status, parts = client.uid("fetch", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
            if raw is None:
                continue
            intake.receive_mail(raw, recipients=[account.user])
            client.uid("store", uid, "+FLAGS", "(\\Seen)")
            received += 1
    return received


def serve_imap(account: ImapSettings, *, every: int = 60, say: Callable[[str], object] = print) -> None:
    say(f"Polling {account.user}@{account.host}/{account.folder} every {every} s (Ctrl+C stops).")
    try:
        while True:
            try:
                count = poll_imap(account)
                if count:
                    say(f"{count} message(s) received.")
            except (OSError, imaplib.IMAP4.error) as error:
                say(f"IMAP poll failed, will retry: {error}")
            time.sleep(every)
    except KeyboardInterrupt:
        pass
