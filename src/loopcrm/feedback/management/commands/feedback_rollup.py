"""`loopcrm manage feedback_rollup rebuild|check|refresh`: the dashboards' daily roll-up of answers.

rebuild  recompute every day (after an upgrade or a bulk load, or when LOOPCRM_TIME_ZONE changed);
check    list the days whose roll-up differs from the answers (exit status 1 when any);
refresh  what the nightly job does: build when missing or in another zone, else repair the differing days.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from loopcrm.feedback.services import rollup


class Command(BaseCommand):
    help = "Rebuild, check or refresh the voice-of-the-customer daily roll-up."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["rebuild", "check", "refresh"])

    def handle(self, *args, action: str, **options) -> None:
        began = time.monotonic()
        if action == "rebuild":
            result = rollup.rebuild().as_dict()
        elif action == "refresh":
            result = rollup.refresh()
        else:
            days = sorted(rollup.check())
            result = {"differing_days": [day.isoformat() for day in days]}
        result["seconds"] = round(time.monotonic() - began, 2)
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        if action == "check" and result["differing_days"]:
            raise CommandError(f"{len(result['differing_days'])} days differ; run `feedback_rollup refresh`.")
