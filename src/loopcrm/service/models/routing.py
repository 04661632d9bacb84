"""Routing rules: conditions that pick department, queue, priority and SLA policy."""

from __future__ import annotations

__all__: list[str] = []
