"""Background work of voice of the customer (django-tasks): the periodic sweep. Safe to run twice."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from loopcrm.feedback.services import analyse_tickets, run_sweeps


@task()
def feedback_sweep() -> dict[str, int]:
    """Invite for resolved tickets and delivered orders, send what is due, remind once, analyse new tickets.

    The worker (or cron: `loopcrm worker`) enqueues it every few minutes; every step is idempotent.
    """
    now = timezone.now()
    done = run_sweeps(now)
    done["tickets_analysed"] = analyse_tickets(now - dt.timedelta(days=2), until=now)
    return done


@task()
def refresh_rollup() -> dict[str, object]:
    """Nightly: build the dashboards' daily roll-up if missing (or the zone changed), else repair days that
    differ from the answers. Safe to run twice."""
    from loopcrm.feedback.services import rollup

    return rollup.refresh()
