"""Background work of customer value (django-tasks): the nightly recompute. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django_tasks import task

from loopcrm.accounts.models import User
from loopcrm.value import services

log = logging.getLogger(__name__)
NIGHTLY_HOUR = 2  # local time


@task()
def recompute_value(user_id: int | None = None) -> dict:
    """Recompute every customer's value (RFM, tier, CLV, P(alive), lifecycle) and the cross-sell rules."""
    by = User.objects.filter(pk=user_id).first() if user_id else None
    result = services.recompute_all(by=by)
    return {"run_id": result.run_id, "customers": result.customers, "buyers": result.buyers,
            "seconds": round(result.seconds, 1)}


def next_night(now: dt.datetime | None = None) -> dt.datetime:
    """The next NIGHTLY_HOUR o'clock in the server's time zone."""
    local = timezone.localtime(now or timezone.now())
    target = local.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
    return target if target > local else target + dt.timedelta(days=1)


@task()
def nightly_recompute() -> dict:
    """Run the recompute, then book the next run for tomorrow night (when the backend can defer work).

    Start the chain once (e.g. `schedule_nightly()` after install); each run books the next.
    """
    outcome = recompute_value.call()
    schedule_nightly()
    return outcome


def schedule_nightly() -> bool:
    """Book the next nightly recompute; False where the task backend cannot run work later."""
    if not nightly_recompute.get_backend().supports_defer:
        return False
    nightly_recompute.using(run_after=next_night()).enqueue()
    return True


def enqueue_recompute(by: User | None = None):
    """Queue a recompute now (the API and the page answer 202 with the task's id)."""
    return recompute_value.enqueue(user_id=by.pk if by is not None and by.pk else None)
