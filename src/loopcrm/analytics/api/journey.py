"""REST endpoints: journey."""

from ninja import Router

router = Router()
