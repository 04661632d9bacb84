"""REST endpoints: diagrams."""

from ninja import Router

router = Router()
