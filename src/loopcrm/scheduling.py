"""What runs on a schedule: the periodic jobs every `loopcrm worker` ticks (see loopcrm.core.schedule).

Jobs name their targets by dotted path and are imported only when due, so this module imports no
domain code and the layers stay clean. A target that is not there (an app not installed, a task not
written yet) is skipped with its error recorded on the job's row; the others run. Times of day are
in the configured time zone (LOOPCRM_TIME_ZONE).
"""

from __future__ import annotations

from loopcrm.core.schedule import Daily, Every, Job, Monthly

JOBS: tuple[Job, ...] = (
    # Service desk: the catch-all SLA sweep (escalations nobody's scheduled check handled), closing
    # tickets resolved long enough ago, and sending again replies whose mail failed.
    Job("sla-sweep", "loopcrm.service.tasks.sweep_sla_clocks", Every(minutes=1)),
    Job("close-resolved-tickets", "loopcrm.service.services.tickets.close_resolved", Daily(hour=1, minute=30)),
    Job("retry-failed-mail", "loopcrm.service.services.mail.retry_failed_mail", Every(minutes=15)),
    # Voice of the customer: due invitations, reminders and expiries.
    Job("feedback-sweep", "loopcrm.feedback.tasks.feedback_sweep", Every(minutes=10)),
    # … and the dashboards' daily roll-up checked against the answers (built when missing), nightly.
    Job("feedback-rollup", "loopcrm.feedback.tasks.refresh_rollup", Daily(hour=3, minute=30)),
    # Customer value: RFM, tiers, CLV and cross-sell rules, nightly.
    Job("value-recompute", "loopcrm.value.tasks.recompute_value", Daily(hour=2, minute=0)),
    # Loyalty: points expire nightly; membership tiers are evaluated once a month.
    Job("loyalty-expire-points", "loopcrm.loyalty.tasks.expire_points", Daily(hour=0, minute=15)),
    Job("loyalty-evaluate-tiers", "loopcrm.loyalty.tasks.evaluate_tiers", Monthly(day=1, hour=3, minute=0)),
    # The metric registry's daily roll-up: new closed days and days touched by ticket events every 10 minutes;
    # a full rebuild nightly (the net for changes that leave no event, e.g. a deleted ticket).
    Job("metrics-rollup-refresh", "loopcrm.analytics.tasks.refresh_rollup", Every(minutes=10)),
    Job("metrics-rollup-rebuild", "loopcrm.analytics.tasks.rebuild_rollup", Daily(hour=3, minute=45)),
    # Improvement: control charts re-evaluated on yesterday's data.
    Job("control-charts", "loopcrm.improvement.tasks.evaluate_control_charts", Daily(hour=4, minute=0)),
    # Privacy: the retention rules that are on (overview.retention), nightly.
    Job("retention-rules", "loopcrm.overview.retention.apply_retention", Daily(hour=4, minute=30)),
)


def jobs() -> tuple[Job, ...]:
    return JOBS
