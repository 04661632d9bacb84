"""Improvement models, one module per area; every model is importable from here."""

from loopcrm.improvement.models.charts import *  # noqa: F403
from loopcrm.improvement.models.cycles import *  # noqa: F403
from loopcrm.improvement.models.diagrams import *  # noqa: F403
