"""Retention rules: personal data kept no longer than its purpose needs (PIPL art. 19, GDPR art. 5(1)(e)).

Each category has a keeping period; a rule is off until an administrator turns it on, so nothing is removed
by default. Applied nightly (loopcrm.scheduling) and on demand, each rule overwrites what identifies people
in the records of its category older than the period — the same overwriting a person's erasure does
(overview.erasure), so orders, tickets, scores and every count stay true:

- interactions: the subject and notes of touches that happened before the cut-off;
- closed tickets: subject, description, message bodies, attachments (files deleted), mail addresses and the
  personal values of their events, for tickets closed before the cut-off;
- survey words: comments, text answers, feedback and their text analyses received before the cut-off;
- import files: the uploaded file, the staged rows and the report's cell values of imports finished before
  the cut-off (such an import can then no longer be undone);
- inactive customers: the personal data of customers with no order, touch, ticket or change since the
  cut-off, as a person's erasure does, but without the suppression list (they may come back as customers).

Records about a customer under a legal hold (customers.holds) are passed by, whatever their age. Every
application is audited per rule with its counts. Only administrators — whose privacy scope is every
customer — see and change the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import Scope, scope_for
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Customer, LegalHold
from loopcrm.feedback.models import Answer, Feedback, Response, TextAnalysis
from loopcrm.imports.models import ImportJob, ImportRowError, StagedRecord, StagedRow
from loopcrm.imports.services import PURGED
from loopcrm.interactions.models import Interaction
from loopcrm.overview.erasure import ERASED, FINISHED_IMPORTS, PERSONAL_EVENT_FIELDS, erase_customers
from loopcrm.overview.models import RetentionRule
from loopcrm.service.models import Attachment, InboundMail, OutboundMail, Ticket, TicketEvent, TicketMessage

Category = RetentionRule.Category
# Suggested periods (days) for a rule not yet set, and the shortest allowed: a day's slip of a finger must not
# wipe this week's conversations.
DEFAULT_DAYS = {Category.INTERACTIONS: 3 * 365, Category.CLOSED_TICKETS: 3 * 365, Category.SURVEY_WORDS: 2 * 365,
                Category.IMPORT_FILES: 90, Category.INACTIVE_CUSTOMERS: 5 * 365}
# What each rule overwrites, as the retention page says it.
DESCRIPTIONS = {
    Category.INTERACTIONS: _lazy("Subject and notes of touches older than the period."),
    Category.CLOSED_TICKETS: _lazy("Subject, description, messages, attachments and mail addresses of tickets closed "
                                   "longer ago than the period."),
    Category.SURVEY_WORDS: _lazy("Comments, text answers, feedback and their analyses older than the period."),
    Category.IMPORT_FILES: _lazy("The uploaded file, staged rows and report values of imports finished longer ago "
                                 "than the period (they can then no longer be undone)."),
    Category.INACTIVE_CUSTOMERS: _lazy("Everything that identifies customers with no order, touch, ticket or change "
                                       "for the period, as an erasure does (they are not put on the suppression "
                                       "list)."),
}
MIN_DAYS = 30
MAX_DAYS = 100 * 365
CUSTOMER_BATCH = 500


@dataclass
class Applied:
    """What one application removed, per rule (counts per kind of record), or would remove (a preview)."""

    at: dt.datetime
    preview: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, category: str) -> int:
        return sum(self.counts.get(category, {}).values())


def _require_admin(user: User) -> None:
    if scope_for(user, "customer", "privacy") != Scope.ALL:
        raise PermissionDenied(_("Only administrators set and apply retention rules."), field="category")


def rules(user: User) -> list[RetentionRule]:
    """Every category's rule (one is made, off, with the suggested period, for a category not yet set)."""
    _require_admin(user)
    existing = {rule.category: rule for rule in RetentionRule.objects.all()}
    missing = [RetentionRule(category=category, keep_days=DEFAULT_DAYS[category]) for category in Category.values
               if category not in existing]
    if missing:
        RetentionRule.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {rule.category: rule for rule in RetentionRule.objects.all()}
    return [existing[category] for category in Category.values]


def update_rule(user: User, category: str, *, keep_days: int, is_active: bool) -> RetentionRule:
    _require_admin(user)
    if category not in Category.values:
        raise RuleViolation(_("No retention category %(name)s.") % {"name": repr(category)}, field="category")
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or not MIN_DAYS <= keep_days <= MAX_DAYS:
        raise RuleViolation(_("Keep between %(low)s and %(high)s days.") % {"low": MIN_DAYS, "high": MAX_DAYS},
                            field="keep_days")
    with transaction.atomic():
        rules(user)
        rule = RetentionRule.objects.select_for_update().get(category=category)
        before = {"keep_days": rule.keep_days, "is_active": rule.is_active}
        rule.keep_days, rule.is_active = keep_days, bool(is_active)
        rule.updated_by, rule.updated_at = user, timezone.now()
        rule.save()
        after = {"keep_days": rule.keep_days, "is_active": rule.is_active}
        audit.record(action=AuditEntry.Action.UPDATE, obj=rule, by=user,
                     changes={key: [before[key], after[key]] for key in before if before[key] != after[key]})
    return rule


# --- what each rule selects -----------------------------------------------------------------------

def _not_held(rows: QuerySet, path: str) -> QuerySet:
    """Rows whose customer (reached by `path`) is under no legal hold."""
    return rows.exclude(Exists(LegalHold.objects.filter(customer_id=OuterRef(path))))


def _interactions(cutoff: dt.datetime, counts: dict[str, int], preview: bool) -> list:
    rows = _not_held(Interaction.objects.filter(occurred_at__lt=cutoff).exclude(subject="", body=""), "customer_id")
    counts["interactions"] = rows.count() if preview else rows.update(subject="", body="")
    return []


def _closed_tickets(cutoff: dt.datetime, counts: dict[str, int], preview: bool) -> list:
    tickets = _not_held(Ticket.objects.filter(status=Ticket.Status.CLOSED, closed_at__lt=cutoff), "customer_id")
    due = tickets.exclude(subject=ERASED, description="")
    # A subquery, not a list of ids: years of closed tickets may be hundreds of thousands. The tickets go last,
    # since overwriting them takes them out of `due`.
    attachments = Attachment.objects.filter(message__ticket__in=due.values("pk"))
    if preview:
        counts["tickets"] = due.count()
        counts["attachments"] = attachments.count()
        return []
    files = [attachment.file for attachment in attachments.only("pk", "file") if attachment.file]
    counts["attachments"] = attachments.delete()[0]
    counts["ticket messages"] = TicketMessage.objects.filter(ticket__in=due.values("pk")).update(body=ERASED,
                                                                                               in_reply_to="")
    counts["ticket events"] = TicketEvent.objects.filter(ticket__in=due.values("pk"),
                                                         field__in=PERSONAL_EVENT_FIELDS).update(old="", new="")
    counts["mails in"] = InboundMail.objects.filter(ticket__in=due.values("pk")).update(from_address="", subject="")
    counts["mails out"] = OutboundMail.objects.filter(ticket_message__ticket__in=due.values("pk")).update(
        to_address="")
    counts["tickets"] = due.update(subject=ERASED, description="")
    return files


def _survey_words(cutoff: dt.datetime, counts: dict[str, int], preview: bool) -> list:
    selections = {
        "survey comments": (_not_held(Response.objects.filter(answered_at__lt=cutoff).exclude(comment=""),
                                      "customer_id"), {"comment": ""}),
        "survey answers": (_not_held(Answer.objects.filter(response__answered_at__lt=cutoff).exclude(text=""),
                                     "response__customer_id"), {"text": ""}),
        "feedback": (_not_held(Feedback.objects.filter(received_at__lt=cutoff).exclude(text=ERASED), "customer_id"),
                     {"text": ERASED}),
        "text analyses": (_not_held(TextAnalysis.objects.filter(at__lt=cutoff).exclude(text=""), "customer_id"),
                          {"text": "", "tokens": []}),
    }
    for name, (rows, values) in selections.items():
        counts[name] = rows.count() if preview else rows.update(**values)
    return []


def _import_files(cutoff: dt.datetime, counts: dict[str, int], preview: bool) -> list:
    """Uploads hold everyone in the file, held customers too: a hold keeps the customer's own records, which the
    import already wrote; the upload itself is the company's working copy."""
    jobs = ImportJob.objects.filter(status__in=FINISHED_IMPORTS, finished_at__lt=cutoff)
    with_file = jobs.exclude(file="")
    staged = StagedRow.objects.filter(job__in=jobs)
    records = StagedRecord.objects.filter(job__in=jobs)
    values = ImportRowError.objects.filter(job__in=jobs).exclude(value="")
    if preview:
        counts.update({"import files": with_file.count(), "staged import rows": staged.count() + records.count(),
                       "report values": values.count()})
        return []
    files = [job.file for job in with_file]
    counts["import files"] = with_file.update(file="")
    counts["staged import rows"] = staged.delete()[0] + records.delete()[0]
    counts["report values"] = values.update(value="")
    # The undo reads the staged rows: the job says why it can no longer be undone (a handful of jobs a night).
    marked = [job for job in jobs.only("pk", "options") if not job.options.get(PURGED)]
    for job in marked:
        job.options = {**job.options, PURGED: timezone.now().isoformat()}
    ImportJob.objects.bulk_update(marked, ["options"])
    return files


def inactive_customers(cutoff: dt.datetime) -> QuerySet[Customer]:
    """Live, not yet erased customers, under no hold, with no change, order, touch or ticket since `cutoff`."""
    since = {"customer_id": OuterRef("pk")}
    return _not_held(Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True, updated_at__lt=cutoff)
                     .exclude(Exists(Order.objects.filter(placed_at__gte=cutoff, **since)))
                     .exclude(Exists(Interaction.objects.filter(occurred_at__gte=cutoff, **since)))
                     .exclude(Exists(Ticket.objects.filter(Q(opened_at__gte=cutoff) | Q(updated_at__gte=cutoff),
                                                           **since))), "pk")


def _inactive_customers(cutoff: dt.datetime, counts: dict[str, int], preview: bool) -> list:
    customers = inactive_customers(cutoff)
    if preview:
        counts["customers"] = customers.count()
        return []
    files: list = []
    at = timezone.now()
    ids = list(customers.values_list("pk", flat=True))
    for start in range(0, len(ids), CUSTOMER_BATCH):
        chunk = ids[start:start + CUSTOMER_BATCH]
        # With the records merged into them, as an erasure does.
        chunk += list(Customer.objects.filter(merged_into_id__in=chunk).values_list("pk", flat=True))
        part: dict[str, int] = {}
        files += erase_customers(chunk, at=at, counts=part)
        for name, count in part.items():
            counts[name] = counts.get(name, 0) + count
    return files


_APPLY = {Category.INTERACTIONS: _interactions, Category.CLOSED_TICKETS: _closed_tickets,
          Category.SURVEY_WORDS: _survey_words, Category.IMPORT_FILES: _import_files,
          Category.INACTIVE_CUSTOMERS: _inactive_customers}


# --- applying ----------------------------------------------------------------------------------------

def preview(user: User, *, at: dt.datetime | None = None) -> Applied:
    """What every rule that is on would remove now (nothing is changed)."""
    _require_admin(user)
    return _apply(by=user, at=at, preview=True)


def apply_rules(user: User, *, at: dt.datetime | None = None) -> Applied:
    """Apply every rule that is on, now (an administrator's "apply now")."""
    _require_admin(user)
    return _apply(by=user, at=at, preview=False)


def apply_retention() -> None:
    """The nightly job (loopcrm.scheduling): every rule that is on, as the system."""
    _apply(by=None, at=None, preview=False)


def _apply(*, by: User | None, at: dt.datetime | None, preview: bool) -> Applied:
    at = at or timezone.now()
    result = Applied(at=at, preview=preview)
    for rule in RetentionRule.objects.filter(is_active=True).order_by("category"):
        cutoff = at - dt.timedelta(days=rule.keep_days)
        counts: dict[str, int] = {}
        with transaction.atomic():  # each rule on its own: one failing leaves the others applied
            files = _APPLY[rule.category](cutoff, counts, preview)
            if not preview:
                total = sum(counts.values())
                RetentionRule.objects.filter(pk=rule.pk).update(last_applied_at=at, last_count=total)
                if total:
                    audit.record(action=AuditEntry.Action.ERASE, object_type=RetentionRule._meta.label_lower,
                                 object_id=rule.category, by=by, at=at, note=f"retention: {rule.keep_days} days",
                                 changes={"cutoff": cutoff.isoformat(), "records": counts})
                transaction.on_commit(lambda files=files: [stored.delete(save=False) for stored in files])
        result.counts[rule.category] = counts
    return result
