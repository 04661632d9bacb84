"""The service desk's REST endpoints: one router per area, mounted under /api/v1/."""

from ninja import Router

from loopcrm.service.api import intake, processes, routing, sla, tickets

router = Router()
router.add_router("", tickets.router)
router.add_router("", sla.router)
router.add_router("", routing.router)
router.add_router("", processes.router)
router.add_router("", intake.router)
