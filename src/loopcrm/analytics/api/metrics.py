"""REST endpoints: metrics."""

from ninja import Router

router = Router()
