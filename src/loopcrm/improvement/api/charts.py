"""REST endpoints: charts."""

from ninja import Router

router = Router()
