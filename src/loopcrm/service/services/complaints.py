"""Complaints: the configurable root causes, the complaint-handling fields and repeat-complaint detection.

- Root causes are rows an administrator configures; the six default branches of the cause-and-effect
  diagram (people, process, product, policy, place, partner) are seeded by `ensure_default_root_causes`,
  which is idempotent (no data migration).
- A complaint is a *repeat* when the same customer complained in the same category within
  LOOPCRM_REPEAT_COMPLAINT_DAYS days (30 by default) before it: `repeat_of` points at the latest such
  complaint, a REPEAT event is written and the ticket is tagged.
- Compensation is Decimal with an ISO 4217 currency; both or neither.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core import audit
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text, listing
from loopcrm.customers.models import Tag
from loopcrm.service.models import RootCause, Ticket, TicketEvent
from loopcrm.service.services.events import record_event

DEFAULT_REPEAT_DAYS = 30
REPEAT_TAG = "重复投诉 Repeat complaint"
COMPENSATION_MAX = Decimal("9999999999.99")
CORRECTIVE_ACTION_MAX = 10_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")

# code -> (English name marked for translation, branch)
DEFAULT_ROOT_CAUSES = {
    "people": (gettext_noop("People"), RootCause.Branch.PEOPLE),
    "process": (gettext_noop("Process"), RootCause.Branch.PROCESS),
    "product": (gettext_noop("Product"), RootCause.Branch.PRODUCT),
    "policy": (gettext_noop("Policy"), RootCause.Branch.POLICY),
    "place": (gettext_noop("Place / environment"), RootCause.Branch.PLACE),
    "partner": (gettext_noop("Partner / logistics"), RootCause.Branch.PARTNER),
}
COMPLAINT_FIELDS = frozenset({"severity", "root_cause", "corrective_action", "compensation_amount",
                              "compensation_currency"})


def repeat_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "LOOPCRM_REPEAT_COMPLAINT_DAYS", DEFAULT_REPEAT_DAYS)))


# --- root causes --------------------------------------------------------------------------------

def ensure_default_root_causes() -> list[RootCause]:
    """The six default branches exist (created once, never duplicated, never renamed back)."""
    causes = []
    for code, (name, branch) in DEFAULT_ROOT_CAUSES.items():
        cause, _created = RootCause.objects.get_or_create(code=code, defaults={"name": name, "branch": branch})
        causes.append(cause)
    return causes


def _require_config(by: User | None) -> None:
    if by is not None and not can(by, "service_config", "change"):
        raise PermissionDenied(_("Your role may not change the service desk's configuration."))


def _clean_code(code: Any, *, exclude_pk: int | None = None, model=RootCause) -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise RuleViolation(_("A code is 1-50 lower-case letters, digits, - or _ (such as late-delivery)."),
                            field="code")
    if model.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        raise RuleViolation(_("The code %(code)s is taken.") % {"code": code}, field="code")
    return code


@transaction.atomic
def create_root_cause(*, code: str, name: str, branch: str | None = None, parent: RootCause | None = None,
                      by: User | None) -> RootCause:
    """A root cause under a branch (top level) or under another cause (it inherits the parent's branch)."""
    _require_config(by)
    name = clean_line(name, field="name", max_length=100, required=True)
    code = _clean_code(code)
    if parent is not None:
        branch = parent.branch
    if branch not in RootCause.Branch.values:
        raise RuleViolation(_("Unknown branch %(value)s; use one of: %(choices)s.")
                            % {"value": repr(branch), "choices": listing(RootCause.Branch.values)}, field="branch")
    cause = RootCause.objects.create(code=code, name=name, branch=branch, parent=parent)
    audit.record(action="create", obj=cause, by=by, changes={"code": code, "name": name, "branch": branch,
                                                                "parent": parent})
    return cause


@transaction.atomic
def update_root_cause(cause: RootCause, *, by: User | None, changes: dict[str, Any]) -> RootCause:
    """Rename, (de)activate or recode a root cause; its branch follows its parent's."""
    _require_config(by)
    unknown = sorted(set(changes) - {"name", "code", "is_active"})
    if unknown:
        raise RuleViolation(_("Unknown or read-only field(s): %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    before = audit.snapshot(cause, changes.keys())
    if "name" in changes:
        cause.name = clean_line(changes["name"], field="name", max_length=100, required=True)
    if "code" in changes:
        cause.code = _clean_code(changes["code"], exclude_pk=cause.pk)
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            raise RuleViolation(_("Expected true or false."), field="is_active")
        cause.is_active = changes["is_active"]
    cause.save()
    audit.record(action="update", obj=cause, by=by, changes=audit.diff(before, audit.snapshot(cause, changes)))
    return cause


# --- complaint fields ---------------------------------------------------------------------------

def clean_complaint_fields(values: dict[str, Any], *, kind: str, current: Ticket | None = None) -> dict[str, Any]:
    """Model values for the complaint-handling fields in `values`; refused on tickets that are not complaints."""
    given = {key: value for key, value in values.items() if key in COMPLAINT_FIELDS}
    if not given:
        return {}
    meaningful = {key: value for key, value in given.items() if value not in (None, "")}
    if kind != Ticket.Kind.COMPLAINT and meaningful:
        raise RuleViolation(_("Only complaints have a severity, root cause, corrective action or compensation."),
                            field=sorted(meaningful)[0])
    cleaned: dict[str, Any] = {}
    if "severity" in given:
        severity = given["severity"]
        if severity is not None and (isinstance(severity, bool) or severity not in Ticket.Severity.values):
            raise RuleViolation(_("Severity is one of %(choices)s.") % {"choices": listing(Ticket.Severity.values)},
                                field="severity")
        cleaned["severity"] = severity
    if "root_cause" in given:
        cause = given["root_cause"]
        if cause is not None and (not isinstance(cause, RootCause) or not cause.is_active):
            raise RuleViolation(_("Pick an active root cause."), field="root_cause_id")
        cleaned["root_cause"] = cause
    if "corrective_action" in given:
        cleaned["corrective_action"] = clean_text(given["corrective_action"] or "", field="corrective_action",
                                                  max_length=CORRECTIVE_ACTION_MAX)
    if "compensation_amount" in given or "compensation_currency" in given:
        amount = given.get("compensation_amount", current.compensation_amount if current else None)
        currency = given.get("compensation_currency", current.compensation_currency if current else "") or ""
        cleaned["compensation_amount"], cleaned["compensation_currency"] = clean_compensation(amount, currency)
    return cleaned


def clean_compensation(amount: Any, currency: str) -> tuple[Decimal | None, str]:
    """Amount (Decimal, ≥ 0, two places) and ISO 4217 currency; no amount means no currency."""
    if amount is None:
        return None, ""
    if isinstance(amount, float | bool):
        raise RuleViolation(_("Give the compensation as a decimal string such as \"50.00\", not a float."),
                            field="compensation_amount")
    try:
        amount = Decimal(str(amount))
    except InvalidOperation as error:
        raise RuleViolation(_("The compensation is not a number."), field="compensation_amount") from error
    if not amount.is_finite() or amount < 0 or amount > COMPENSATION_MAX:
        raise RuleViolation(_("The compensation must be between 0 and %(max)s.") % {"max": COMPENSATION_MAX},
                            field="compensation_amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise RuleViolation(_("The compensation has at most two decimal places."), field="compensation_amount")
    currency = (currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise RuleViolation(_("Give the compensation's currency as an ISO 4217 code such as CNY."),
                            field="compensation_currency")
    return amount.quantize(Decimal("0.01")), currency


# --- repeat complaints --------------------------------------------------------------------------

def find_repeat_of(ticket: Ticket, *, at: dt.datetime) -> Ticket | None:
    """The latest earlier complaint of the same customer in the same category within the window, if any."""
    if ticket.kind != Ticket.Kind.COMPLAINT or ticket.category_id is None:
        return None
    return (
        Ticket.objects.filter(customer_id=ticket.customer_id, category_id=ticket.category_id,
                              kind=Ticket.Kind.COMPLAINT, opened_at__gte=at - repeat_window(), opened_at__lte=at)
        .exclude(pk=ticket.pk)
        .order_by("-opened_at", "-id")
        .first()
    )


def mark_if_repeat(ticket: Ticket, *, by: User | None, at: dt.datetime,
                   events: list[TicketEvent] | None = None) -> Ticket | None:
    """If `ticket` repeats an earlier complaint: set repeat_of, tag it and log a REPEAT event (added to `events`
    unwritten, when given). Saved here."""
    if ticket.repeat_of_id is not None:
        return None
    earlier = find_repeat_of(ticket, at=ticket.opened_at or at)
    if earlier is None:
        return None
    mark_repeat(ticket, earlier, by=by, at=at, events=events)
    return earlier


def mark_repeat(ticket: Ticket, earlier: Ticket, *, by: User | None, at: dt.datetime,
                events: list[TicketEvent] | None = None) -> None:
    """Record that the saved `ticket` repeats the complaint `earlier`: repeat_of, the tag, the REPEAT event."""
    ticket.repeat_of = earlier
    Ticket.objects.filter(pk=ticket.pk).update(repeat_of=earlier)
    tag, _created = Tag.objects.get_or_create(name=REPEAT_TAG)
    ticket.tags.add(tag)
    record_event(ticket, TicketEvent.Kind.REPEAT, by=by, at=at, field="repeat_of", new=earlier.pk,
                 data={"window_days": repeat_window().days, "category_id": ticket.category_id}, into=events)


def repeat_links(tickets: list[Ticket]) -> dict[Ticket, Ticket]:
    """For tickets just saved together (in this order), the complaint each repeats, as `find_repeat_of` would
    have found it had they been opened one by one: earlier rows, and the batch's own earlier tickets.

    One query for the whole batch instead of one per complaint.
    """
    wanted = [ticket for ticket in tickets if ticket.kind == Ticket.Kind.COMPLAINT and ticket.category_id is not None
              and ticket.repeat_of_id is None]
    if not wanted:
        return {}
    window = repeat_window()
    batch_ids = {ticket.pk for ticket in tickets}
    moments = [ticket.opened_at for ticket in wanted]
    found: dict[tuple[int, int], list[Ticket]] = {}
    earlier_rows = (Ticket.objects.filter(customer_id__in={ticket.customer_id for ticket in wanted},
                                          category_id__in={ticket.category_id for ticket in wanted},
                                          kind=Ticket.Kind.COMPLAINT, opened_at__gte=min(moments) - window,
                                          opened_at__lte=max(moments))
                    .exclude(pk__in=batch_ids).only("id", "customer_id", "category_id", "opened_at"))
    for row in earlier_rows:
        found.setdefault((row.customer_id, row.category_id), []).append(row)
    links: dict[Ticket, Ticket] = {}
    for ticket in tickets:
        if ticket.kind != Ticket.Kind.COMPLAINT or ticket.category_id is None:
            continue
        key = (ticket.customer_id, ticket.category_id)
        if ticket.repeat_of_id is None:
            at = ticket.opened_at
            candidates = [row for row in found.get(key, ()) if at - window <= row.opened_at <= at]
            if candidates:
                links[ticket] = max(candidates, key=lambda row: (row.opened_at, row.pk))
        found.setdefault(key, []).append(ticket)  # later tickets of the batch see this one
    return links
