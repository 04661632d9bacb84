"""Files on ticket messages: checked for size and type before anything is stored, hashed with SHA-256.

Limits come from settings with sane defaults:
- LOOPCRM_ATTACHMENT_MAX_BYTES (10 MiB per file),
- LOOPCRM_ATTACHMENT_TYPES (the content types accepted; images, PDF, text, CSV, Office, mail),
- LOOPCRM_ATTACHMENTS_PER_MESSAGE (10).
A file whose first bytes contradict its declared type (an executable called `photo.png`) is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.core.text import listing
from loopcrm.service.models import Attachment, TicketEvent, TicketMessage
from loopcrm.service.services.events import record_event

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_PER_MESSAGE = 10
DEFAULT_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic",
    "application/pdf", "text/plain", "text/csv",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "message/rfc822", "audio/mpeg", "audio/wav", "video/mp4",
})
# Magic numbers of the types whose content is easy to check.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (b"PK\x03\x04",),
}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!")
FILENAME_MAX = 255


class AttachmentTooLarge(DomainError):
    """A file over the size limit (the API answers 413)."""

    status = 413
    title = "Attachment too large"


@dataclass
class Upload:
    """A file someone sends: its name and declared type as given, and its bytes (or an open file)."""

    filename: str
    content_type: str
    content: bytes | IO[bytes]
    size: int | None = None


def max_bytes() -> int:
    return int(getattr(settings, "LOOPCRM_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def allowed_types() -> frozenset[str]:
    return frozenset(getattr(settings, "LOOPCRM_ATTACHMENT_TYPES", DEFAULT_TYPES))


def per_message() -> int:
    return int(getattr(settings, "LOOPCRM_ATTACHMENTS_PER_MESSAGE", DEFAULT_PER_MESSAGE))


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} B"


def clean_filename(name: str) -> str:
    """The last path part, NFC, no control characters, at most 255 characters keeping the extension."""
    if not isinstance(name, str):
        raise RuleViolation(_("A file name is text."), field="file")
    name = unicodedata.normalize("NFC", name.replace("\\", "/")).rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        raise RuleViolation(_("The file has no usable name."), field="file")
    if len(name) > FILENAME_MAX:
        stem, ext = os.path.splitext(name)
        name = stem[: FILENAME_MAX - len(ext[:20])] + ext[:20]
    return name


def _read(upload: Upload, limit: int) -> bytes:
    """The upload's bytes, reading at most limit + 1 so a huge file is never held whole."""
    if isinstance(upload.content, bytes | bytearray):
        data = bytes(upload.content)
    else:
        if hasattr(upload.content, "seek"):
            upload.content.seek(0)
        data = upload.content.read(limit + 1)
    return data


def check_upload(upload: Upload) -> tuple[str, str, bytes]:
    """Clean name, normalised type and bytes of an acceptable upload; raises with a clear reason otherwise."""
    filename = clean_filename(upload.filename)
    limit = max_bytes()
    declared_size = upload.size
    if declared_size is not None and declared_size > limit:
        raise _too_large(filename, declared_size, limit)
    data = _read(upload, limit)
    if len(data) > limit:
        raise _too_large(filename, declared_size or len(data), limit)
    if not data:
        raise RuleViolation(_("%(name)s is empty (0 bytes).") % {"name": filename}, field="file")
    content_type = (upload.content_type or "").split(";", 1)[0].strip().lower()
    accepted = allowed_types()
    if content_type not in accepted:
        raise RuleViolation(
            _("%(name)s is of type %(type)s, which is not accepted. Accepted: %(types)s.")
            % {"name": filename, "type": content_type or "?", "types": listing(sorted(accepted))},
            field="file", extra={"content_type": content_type},
        )
    magic = _MAGIC.get(content_type)
    if (magic and not data.startswith(magic)) or data.startswith(_EXECUTABLE):
        raise RuleViolation(
            _("The content of %(name)s is not a %(type)s file.") % {"name": filename, "type": content_type},
            field="file", extra={"content_type": content_type},
        )
    return filename, content_type, data


def _too_large(filename: str, size: int, limit: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        _("%(name)s is %(size)s; files may be at most %(limit)s.")
        % {"name": filename, "size": _human(size), "limit": _human(limit)},
        field="file", extra={"max_bytes": limit},
    )


def check_uploads(uploads: Iterable[Upload]) -> list[tuple[str, str, bytes]]:
    """Every upload checked (before anything is written), and their number within the per-message limit."""
    uploads = list(uploads)
    if len(uploads) > per_message():
        raise RuleViolation(_("At most %(limit)d files per message (got %(count)d).")
                            % {"limit": per_message(), "count": len(uploads)}, field="file")
    return [check_upload(upload) for upload in uploads]


def store_attachments(
    message: TicketMessage, checked: list[tuple[str, str, bytes]], *, by: User | None, at: dt.datetime
) -> list[Attachment]:
    """Save checked files on `message` (one ATTACHMENT event each). Call inside the message's transaction."""
    stored = []
    for filename, content_type, data in checked:
        attachment = Attachment(
            message=message, filename=filename, content_type=content_type, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), uploaded_by=by if getattr(by, "pk", None) else None,
            created_at=at,
        )
        attachment.file.save(filename, ContentFile(data), save=False)
        attachment.save()
        record_event(message.ticket, TicketEvent.Kind.ATTACHMENT, by=by, at=at, field="attachment",
                     new=filename, data={"attachment_id": attachment.pk, "size": len(data),
                                         "content_type": content_type, "message_id": message.pk})
        stored.append(attachment)
    return stored


def open_attachment(attachment: Attachment) -> File:
    """The stored file, opened for reading (for downloads)."""
    return attachment.file.open("rb")
