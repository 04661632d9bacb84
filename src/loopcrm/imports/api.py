"""REST endpoints for import and export (thin): load through queries, call one service, serialise."""

from __future__ import annotations

from ninja import Router

router = Router()
