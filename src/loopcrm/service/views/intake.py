"""Pages: intake (thin)."""

from __future__ import annotations

urlpatterns: list = []
