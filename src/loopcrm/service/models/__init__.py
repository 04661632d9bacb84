"""Service models, one module per area; each module lists its models in __all__."""

from loopcrm.service.models.config import *  # noqa: F403
from loopcrm.service.models.mail import *  # noqa: F403
from loopcrm.service.models.processes import *  # noqa: F403
from loopcrm.service.models.routing import *  # noqa: F403
from loopcrm.service.models.sla import *  # noqa: F403
from loopcrm.service.models.tickets import *  # noqa: F403
