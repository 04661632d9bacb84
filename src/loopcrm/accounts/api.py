"""REST endpoints (thin): load through queries, call one service, serialise."""

from ninja import Router

router = Router()
