"""Background tasks of the loyalty programme (django-tasks): take plain values, call one service, safe to run twice.

Schedule `expire_points` nightly and `evaluate_tiers` monthly (e.g. on the 1st) from the worker's scheduler.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from loopcrm.loyalty import services


def _moment(at: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(at) if at else None


@task()
def expire_points(at: str | None = None) -> dict[str, int]:
    """Expire what remains of points older than each programme's expiry, oldest first (idempotent)."""
    run = services.expire_points(at=_moment(at))
    return {"members": run.members, "points": run.points}


@task()
def evaluate_tiers(at: str | None = None) -> dict[str, int]:
    """Upgrade members who qualify, start or finish downgrade grace periods (idempotent)."""
    run = services.evaluate_tiers(at=_moment(at))
    return {"examined": run.examined, "upgraded": run.upgraded, "downgraded": run.downgraded,
            "in_grace": run.in_grace}
