"""Pages: SLA policies and business calendars (thin)."""

from __future__ import annotations

urlpatterns: list = []
