"""Every write of voice of the customer, one module per area."""

from loopcrm.feedback.services.answering import open_survey, save_answers
from loopcrm.feedback.services.invitations import (
    invite,
    invite_for_delivered_orders,
    invite_for_resolved_tickets,
    invite_relationship,
    may_survey,
    on_ticket_resolved,
    run_sweeps,
    send_due,
    send_reminders,
    send_to_customers,
)
from loopcrm.feedback.services.listening import analyse_tickets, record_feedback
from loopcrm.feedback.services.loop import follow_up_feedback, follow_up_response
from loopcrm.feedback.services.surveys import (
    QuestionSpec,
    VersionTexts,
    change_draft,
    create_survey,
    new_version,
    publish_version,
    update_survey,
)

__all__ = [
    "QuestionSpec", "VersionTexts", "analyse_tickets", "change_draft", "create_survey", "follow_up_feedback",
    "follow_up_response", "invite", "invite_for_delivered_orders", "invite_for_resolved_tickets",
    "invite_relationship", "may_survey", "new_version", "on_ticket_resolved", "open_survey", "publish_version",
    "record_feedback", "run_sweeps", "save_answers", "send_due", "send_reminders", "send_to_customers",
    "update_survey",
]
