"""Improvement REST endpoints: one router per area, mounted under /api/v1/."""

from ninja import Router

from loopcrm.improvement.api import charts, cycles, diagrams

router = Router()
router.add_router("", charts.router)
router.add_router("", cycles.router)
router.add_router("", diagrams.router)
