"""REST endpoints for voice of the customer (thin): load through queries, call one service, serialise."""

from __future__ import annotations

from ninja import Router

router = Router()
