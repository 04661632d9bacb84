"""Analytics REST endpoints: one router per area, mounted under /api/v1/."""

from ninja import Router

from loopcrm.analytics.api import journey, metrics, mining

router = Router()
router.add_router("", metrics.router)
router.add_router("", mining.router)
router.add_router("", journey.router)
