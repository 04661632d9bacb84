"""REST endpoints: mining."""

from ninja import Router

router = Router()
