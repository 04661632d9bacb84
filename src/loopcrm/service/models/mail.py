"""Email intake: mailboxes and the message-id map that threads replies onto tickets."""

from __future__ import annotations

__all__: list[str] = []
