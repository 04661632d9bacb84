"""Every write of the loyalty programme: programmes and tiers, enrolment, the points ledger, tiers and expiry.

Callers from other domains use these stable names: `award_for_order(order, by=, at=)` (commerce: an
order paid or delivered), `reverse_for_order(order, by=, at=)` (cancelled or returned),
`award_for_survey(customer, response_ref, by=, at=)` (feedback: a survey answered), and the tasks
`expire_points(at=)` and `evaluate_tiers(at=)`.
"""

from loopcrm.loyalty.services.common import MAX_POINTS
from loopcrm.loyalty.services.ledger import (
    ExpiryRun,
    adjust_points,
    award_for_order,
    award_for_survey,
    earn_points,
    enrol,
    expire_points,
    redeem_points,
    reverse_for_order,
)
from loopcrm.loyalty.services.programmes import (
    PROGRAMME_FIELDS,
    TIER_FIELDS,
    add_tier,
    create_programme,
    delete_programme,
    delete_tier,
    update_programme,
    update_tier,
)
from loopcrm.loyalty.services.tiers import EvaluationRun, evaluate_tier, evaluate_tiers

__all__ = [
    "MAX_POINTS", "PROGRAMME_FIELDS", "TIER_FIELDS", "EvaluationRun", "ExpiryRun", "add_tier", "adjust_points",
    "award_for_order", "award_for_survey", "create_programme", "delete_programme", "delete_tier", "earn_points",
    "enrol", "evaluate_tier", "evaluate_tiers", "expire_points", "redeem_points", "reverse_for_order",
    "update_programme", "update_tier",
]
