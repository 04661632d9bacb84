"""REST endpoints: cycles."""

from ninja import Router

router = Router()
