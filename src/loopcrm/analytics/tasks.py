"""Periodic work of the analytics app: keeping the metric registry's daily roll-up current.

Listed in loopcrm.scheduling: `refresh_rollup` every 10 minutes, `rebuild_rollup` nightly. Both are plain
functions run through the scheduler's `run_periodic` task and safe to run twice.
"""

from __future__ import annotations

from loopcrm.analytics.metrics import rollup


def _summary(done: list[rollup.Refreshed]) -> dict:
    return {item.source: {"rebuilt": item.rebuilt, "days": item.days, "rows": item.rows,
                          "rolled_through": item.rolled_through.isoformat() if item.rolled_through else None}
            for item in done}


def refresh_rollup() -> dict:
    """Roll the newly closed days and re-roll closed days that ticket events since the last run touched."""
    return _summary(rollup.refresh())


def rebuild_rollup() -> dict:
    """Recompute every day of the roll-up (the net for changes that leave no ticket event, e.g. deletions)."""
    return _summary(rollup.refresh(full=True))
