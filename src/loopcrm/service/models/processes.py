"""Standard service processes: versioned definitions, steps, and each ticket's step runs."""

from __future__ import annotations

__all__: list[str] = []
