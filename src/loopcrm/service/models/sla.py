"""Business calendars, SLA policies and each ticket's SLA clocks."""

from __future__ import annotations

__all__: list[str] = []
