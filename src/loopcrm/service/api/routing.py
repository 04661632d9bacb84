"""REST endpoints: routing (thin)."""

from __future__ import annotations

from ninja import Router

router = Router()
