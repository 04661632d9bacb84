"""Every write on tickets: opening, status, assignment, fields, followers, tags and the conversation.

Rules kept here:
- A ticket is opened with `open_ticket`: validated, routed (`routing.decide`, then the queue picks an
  assignee), saved, logged (CREATED, ROUTED with the reasons, ASSIGNED), its SLA clocks started and
  its standard process attached. Callers hand the hooks nothing; they are called explicitly here.
- Status follows `TRANSITIONS`; anything else is refused naming what is allowed. Resolving asks the
  process first (mandatory steps open need an override reason); closing an unresolved ticket needs a
  reason; reopening counts. Every change tells the SLA clocks and the process.
- Every write takes the ticket's row lock (SQLite: the IMMEDIATE transaction) and bumps `version`;
  edits name the version they read and a stale one is a Conflict (409), so no update is lost.
- Reassigning someone else's ticket needs a reason; giving a ticket to another person needs the
  `assign` scope (taking one yourself needs only `change`).
- Every touch with the customer (opened, reply, customer message, note, resolved/closed/reopened) is
  also an interaction on the customer's timeline; every change is a TicketEvent.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import Scope, can, scope_filter, scope_for
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text, fold, listing
from loopcrm.core.times import as_utc
from loopcrm.customers.models import ContactPerson, Customer, Tag
from loopcrm.interactions.models import Interaction
from loopcrm.interactions.services import log_interaction
from loopcrm.service.models import Queue, RootCause, Ticket, TicketCategory, TicketEvent, TicketMessage
from loopcrm.service.services import mail, processes, sla
from loopcrm.service.services.attachments import Upload, check_uploads, store_attachments
from loopcrm.service.services.complaints import COMPLAINT_FIELDS, clean_complaint_fields, mark_if_repeat
from loopcrm.service.services.events import record_event

S = Ticket.Status
SUBJECT_MAX = 200
BODY_MAX = 100_000
REASON_MAX = 500
TAG_NAME_MAX = 50
TAGS_MAX = 50
FOLLOWERS_MAX = 100
CLOCK_SKEW = dt.timedelta(minutes=5)

# status -> the statuses it may move to. Closed is final: a customer writing again opens a follow-up.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.REOPENED, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REOPENED: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
}
ACTIVE_STATUSES = (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.REOPENED)
DONE_STATUSES = (S.RESOLVED, S.CLOSED)
EDITABLE = frozenset({
    "subject", "description", "kind", "channel", "category", "contact", "order", "department", "queue",
    "priority", *COMPLAINT_FIELDS,
})
_TOUCHPOINTS = {
    Channel.PHONE: Touchpoint.HOTLINE, Channel.EMAIL: Touchpoint.EMAIL, Channel.WECHAT: Touchpoint.WECHAT,
    Channel.WEB_FORM: Touchpoint.WEBSITE, Channel.WEB_CHAT: Touchpoint.WEBSITE, Channel.SOCIAL: Touchpoint.SOCIAL,
}


class TicketClosed(RuleViolation):
    """The ticket is closed for good; a customer writing again needs a follow-up ticket."""

    title = "Ticket closed"


def is_allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


# --- small checks -------------------------------------------------------------------------------

def _when(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if not isinstance(at, dt.datetime):
        raise RuleViolation(_("A date and time is required."), field="at")
    return as_utc(at, field="at")


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleViolation(_("Expected text, not %(type)s.") % {"type": type(value).__name__}, field=field)
    return value


def _choice(value: Any, choices: type[models.Choices], field: str) -> Any:
    if isinstance(value, bool) or value not in choices.values:
        raise RuleViolation(_("%(value)s is not one of: %(choices)s.")
                            % {"value": repr(value), "choices": listing(choices.values)}, field=field)
    return value


def _reason(value: Any, field: str = "reason") -> str:
    return clean_line(_text(value, field), field=field, max_length=REASON_MAX)


def _require_change(by: User | None) -> None:
    if by is not None and not can(by, "ticket", "change"):
        raise PermissionDenied(_("Your role may not work on tickets."))


def _actor(by: User | None) -> User | None:
    return by if getattr(by, "pk", None) else None


def _lock(pk: int) -> Ticket:
    """The current row, locked until commit on PostgreSQL (SQLite's IMMEDIATE transaction serialises)."""
    ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("customer", "assignee")
              .filter(pk=pk).first())
    if ticket is None:
        raise NotFound(_("No ticket #%(id)s.") % {"id": pk}, field="ticket_id")
    return ticket


def _check_version(ticket: Ticket, version: int | None) -> None:
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        raise RuleViolation(_("Send the version you read, as an integer."), field="version")
    if ticket.version != version:
        raise Conflict(
            _("Ticket #%(id)s was changed by someone else since you read it (you sent version %(sent)s; "
              "it is now at version %(current)s). Reload it and apply your change again.")
            % {"id": ticket.pk, "sent": version, "current": ticket.version},
            field="version", extra={"current_version": ticket.version},
        )


def _save(ticket: Ticket, *fields: str) -> None:
    """Save `fields` with the next version (the row is locked, so the increment cannot be raced)."""
    ticket.version += 1
    ticket.save(update_fields=[*fields, "version", "updated_at"])


def _user(value: Any, field: str, *, role_may_work: bool = True) -> User:
    if not isinstance(value, User) or not value.is_active:
        raise RuleViolation(_("Pick an active user."), field=field)
    if role_may_work and not can(value, "ticket", "change"):
        raise RuleViolation(_("%(user)s's role may not work on tickets.") % {"user": value}, field=field)
    return value


def _uploads(attachments: Iterable[Upload | tuple]) -> list[Upload]:
    """Uploads from Upload objects or (filename, content_type, bytes) tuples (what mail intake hands over)."""
    result = []
    for item in attachments or ():
        if isinstance(item, Upload):
            result.append(item)
        elif isinstance(item, tuple | list) and len(item) == 3:
            result.append(Upload(filename=item[0], content_type=item[1], content=item[2]))
        else:
            raise RuleViolation(_("An attachment is a file with a name and a type."), field="file")
    return result


def _clean_tag_names(names: Any) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise RuleViolation(_("Tags are a list of names."), field="tags")
    result: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = clean_line(unicodedata.normalize("NFKC", _text(raw, "tags")), field="tags", max_length=TAG_NAME_MAX)
        if name and fold(name) not in seen:
            seen.add(fold(name))
            result.append(name)
    if len(result) > TAGS_MAX:
        raise RuleViolation(_("At most %(limit)d tags (got %(count)d).") % {"limit": TAGS_MAX, "count": len(result)},
                            field="tags")
    return result


def _tags(names: list[str]) -> list[Tag]:
    """Tags with these names, matched case-insensitively, the missing ones created."""
    if not names:
        return []
    found = {fold(tag.name): tag for tag in Tag.objects.filter(reduce(or_, (Q(name__iexact=n) for n in names)))}
    tags = []
    for name in names:
        tag = found.get(fold(name))
        if tag is None:
            tag, _created = Tag.objects.get_or_create(name=name)
            found[fold(name)] = tag
        tags.append(tag)
    return tags


# --- references ---------------------------------------------------------------------------------

def _check_customer(customer: Any) -> Customer:
    if not isinstance(customer, Customer):
        raise RuleViolation(_("A ticket needs a customer."), field="customer_id")
    if customer.merged_into_id is not None:
        raise Conflict(_("Customer #%(id)s was merged into customer #%(into)s; open the ticket on that one.")
                       % {"id": customer.pk, "into": customer.merged_into_id}, field="customer_id",
                       extra={"merged_into": customer.merged_into_id})
    return customer


def _check_contact(contact: Any, customer: Customer) -> ContactPerson | None:
    if contact is None:
        return None
    if not isinstance(contact, ContactPerson) or contact.organisation_id != customer.pk:
        raise RuleViolation(_("This contact person does not work at this customer."), field="contact_id")
    return contact


def _check_order(order: Any, customer: Customer) -> Order | None:
    if order is None:
        return None
    if not isinstance(order, Order) or order.customer_id != customer.pk:
        raise RuleViolation(_("This order belongs to another customer."), field="order_id")
    return order


def _check_category(category: Any) -> TicketCategory | None:
    if category is None:
        return None
    if not isinstance(category, TicketCategory) or not category.is_active:
        raise RuleViolation(_("Pick an active category."), field="category_id")
    return category


def _check_queue(queue: Any) -> Queue | None:
    if queue is None:
        return None
    if not isinstance(queue, Queue) or not queue.is_active:
        raise RuleViolation(_("Pick an active queue."), field="queue_id")
    return queue


def _check_department(department: Any) -> Department | None:
    if department is not None and not isinstance(department, Department):
        raise RuleViolation(_("Pick a department."), field="department_id")
    return department


def _place(department: Department | None, queue: Queue | None) -> Department | None:
    """The department a ticket sits in: the queue's unless one is named; the two must agree."""
    if queue is None:
        return department
    if department is None:
        return queue.department
    if not queue.department.path.startswith(department.path):
        raise RuleViolation(_("Queue %(queue)s belongs to %(dept)s, not to %(other)s.")
                            % {"queue": queue, "dept": queue.department, "other": department}, field="queue_id")
    return queue.department if department.pk != queue.department_id else department


# --- the customer's timeline ----------------------------------------------------------------------

def _on_timeline(ticket: Ticket, *, by: User | None, at: dt.datetime, direction: str, what: str, body: str = "",
                 channel: str | None = None) -> None:
    """One interaction on the customer's timeline for a touch on this ticket.

    Through `log_interaction` when the actor may log touches with this customer; the system (mail,
    web form, SLA) and agents who work the ticket without seeing the customer's record leave the
    same row directly, since the ticket itself is what entitles them to the touch.
    """
    channel = channel or ticket.channel
    subject = f"#{ticket.pk} {what}"[:SUBJECT_MAX]
    values = {"channel": channel, "direction": direction, "touchpoint": _TOUCHPOINTS.get(channel, Touchpoint.OTHER),
              "journey_stage": JourneyStage.SERVICE, "subject": subject, "body": body[:BODY_MAX]}
    if by is not None and scope_for(by, "customer", "change") != Scope.NONE:
        try:
            log_interaction(by=by, customer=ticket.customer, occurred_at=min(at, timezone.now() + CLOCK_SKEW),
                            contact=ticket.contact, order=ticket.order, at=max(at, timezone.now()), **values)
            return
        except (NotFound, PermissionDenied):  # the customer record is outside what `by` sees: the ticket entitles
            pass
    interaction = Interaction.objects.create(customer_id=ticket.customer_id, contact_id=ticket.contact_id,
                                             order_id=ticket.order_id, occurred_at=at, user=_actor(by), **values)
    audit.record(action="create", obj=interaction, by=by, at=at,
                 changes={"customer": ticket.customer_id, "channel": channel, "direction": direction,
                          "ticket": ticket.pk})


# --- opening --------------------------------------------------------------------------------------

def open_ticket(
    *,
    customer: Customer,
    subject: str,
    by: User | None,
    kind: str = Ticket.Kind.INQUIRY,
    channel: str = Channel.OTHER,
    description: str = "",
    contact: ContactPerson | None = None,
    order: Order | None = None,
    category: TicketCategory | None = None,
    priority: int | None = None,
    severity: int | None = None,
    tags: Iterable[str] = (),
    attachments: Iterable[Upload | tuple] = (),
    followers: Iterable[User] = (),
    department: Department | None = None,
    queue: Queue | None = None,
    assignee: User | None = None,
    message_id: str = "",
    in_reply_to: str = "",
    at: dt.datetime | None = None,
) -> Ticket:
    """A new ticket for `customer`, routed, assigned, under its SLA and process. `by=None` is the system.

    The description (with any attachments) becomes the first message of the conversation, as the
    customer's words. A department, queue or assignee named here wins over routing; a priority named
    here is raised, never lowered, by routing (VIP, high value).
    """
    from loopcrm.service.services.opening import TicketRequest, open_tickets

    request = TicketRequest(
        customer=customer, subject=subject, kind=kind, channel=channel, description=description, contact=contact,
        order=order, category=category, priority=priority, severity=severity, tags=tags, attachments=attachments,
        followers=followers, department=department, queue=queue, assignee=assignee, message_id=message_id,
        in_reply_to=in_reply_to, at=at)
    try:
        return open_tickets([request], by=by)[0]
    except DomainError as error:  # a batch of one: the place in the batch means nothing to the caller
        error.extra.pop("index", None)
        raise


@transaction.atomic
def log_call(
    *,
    customer: Customer,
    by: User,
    summary: str,
    subject: str = "",
    ticket: Ticket | None = None,
    direction: str = Interaction.Direction.INBOUND,
    kind: str = Ticket.Kind.INQUIRY,
    category: TicketCategory | None = None,
    priority: int | None = None,
    contact: ContactPerson | None = None,
    order: Order | None = None,
    resolve: bool = False,
    at: dt.datetime | None = None,
) -> Ticket:
    """An agent logs a phone call: on `ticket` (the customer's words, or our public answer when we
    called out), or as a new phone ticket. `resolve=True` resolves it on the call."""
    at = _when(at)
    _require_change(by)
    direction = _choice(direction, Interaction.Direction, "direction")
    if direction == Interaction.Direction.INTERNAL:
        raise RuleViolation(_("A call is inbound or outbound."), field="direction")
    if ticket is not None:
        if ticket.customer_id != getattr(customer, "pk", None):
            raise RuleViolation(_("This ticket belongs to another customer."), field="ticket_id")
        if direction == Interaction.Direction.INBOUND:
            record_customer_message(ticket, body=summary, by=by, channel=Channel.PHONE, at=at)
        else:
            add_reply(ticket, body=summary, by=by, channel=Channel.PHONE, at=at)
    else:
        summary_text = clean_text(_text(summary, "summary"), field="summary", max_length=BODY_MAX)
        if not summary_text:
            raise RuleViolation(_("This field is required."), field="summary")
        first_line = next(line for line in summary_text.splitlines() if line.strip())
        ticket = open_ticket(customer=customer, by=by, subject=_text(subject, "subject") or first_line[:SUBJECT_MAX],
                             description=summary_text, channel=Channel.PHONE, kind=kind, category=category,
                             priority=priority, contact=contact, order=order, at=at)
        if direction == Interaction.Direction.OUTBOUND:
            sla.on_public_reply(ticket, by=by, at=at)
    if resolve:
        change_status(ticket, S.RESOLVED, by=by, at=at, override_reason="")
    return Ticket.objects.get(pk=ticket.pk)


# --- status ---------------------------------------------------------------------------------------

def _transition(ticket: Ticket, new: str, *, by: User | None, at: dt.datetime, reason: str = "",
                override_reason: str = "") -> None:
    """Move the locked `ticket` to `new`: the table, the milestones, the event, the hooks."""
    old = ticket.status
    if new == old:
        raise RuleViolation(_("The ticket is already %(status)s.") % {"status": S(old).label}, field="status")
    if not is_allowed(old, new):
        allowed = sorted(TRANSITIONS.get(old, ()))
        raise RuleViolation(
            _("A %(old)s ticket cannot become %(new)s; it may become: %(allowed)s.")
            % {"old": S(old).label, "new": S(new).label,
               "allowed": listing(S(a).label for a in allowed) if allowed else _("nothing (it is final)")},
            field="status", extra={"allowed": allowed},
        )
    if new == S.CLOSED and old != S.RESOLVED and not reason:
        raise RuleViolation(_("Say why the ticket is closed without being resolved."), field="reason")
    if new == S.RESOLVED:
        processes.check_can_resolve(ticket, override_reason=override_reason, by=by, at=at)
    fields = ["status"]
    ticket.status = new
    if new == S.RESOLVED:
        ticket.resolved_at = at
        fields.append("resolved_at")
    elif new == S.CLOSED:
        ticket.closed_at = at
        fields.append("closed_at")
    elif new == S.REOPENED:
        ticket.reopen_count += 1
        ticket.resolved_at = None
        fields += ["reopen_count", "resolved_at"]
    _save(ticket, *fields)
    data = {key: value for key, value in (("reason", reason), ("override_reason", override_reason)) if value}
    record_event(ticket, TicketEvent.Kind.STATUS, by=by, at=at, field="status", old=old, new=new, data=data)
    sla.on_status_change(ticket, old, new, by=by, at=at)
    processes.on_status_change(ticket, old, new, by=by, at=at)
    if new in (S.RESOLVED, S.CLOSED, S.REOPENED):
        _on_timeline(ticket, by=by, at=at, direction=Interaction.Direction.INTERNAL,
                     what=_("Ticket %(status)s: %(subject)s") % {"status": S(new).label, "subject": ticket.subject},
                     body=reason or override_reason)


@transaction.atomic
def change_status(ticket: Ticket, new: str, *, by: User | None, at: dt.datetime | None = None, reason: str = "",
                  override_reason: str = "", version: int | None = None) -> Ticket:
    """Move the ticket to status `new` if the transition table allows it (see module docstring)."""
    at = _when(at)
    _require_change(by)
    new = _choice(new, S, "status")
    reason = _reason(reason)
    override_reason = _reason(override_reason, "override_reason")
    current = _lock(ticket.pk)
    _check_version(current, version)
    _transition(current, new, by=by, at=at, reason=reason, override_reason=override_reason)
    return current


# --- assignment and priority ----------------------------------------------------------------------

def may_assign(by: User | None, ticket: Ticket, to: User | None) -> bool:
    """Whether `by` may give `ticket` to `to`: the system always; taking it yourself needs only `change`;
    anything else the `assign` scope over the ticket."""
    if by is None:
        return True
    if to is not None and to.pk == by.pk and ticket.assignee_id in (None, by.pk):
        return can(by, "ticket", "change")
    condition = scope_filter(by, "ticket", "assign", owner="assignee", department="department")
    return condition is not None and Ticket.objects.filter(condition, pk=ticket.pk).exists()


@transaction.atomic
def assign(ticket: Ticket, *, to: User | None, by: User | None, at: dt.datetime | None = None, reason: str = "",
           version: int | None = None) -> Ticket:
    """Give the ticket to `to` (None: back to the queue). Taking it from someone else needs a reason."""
    at = _when(at)
    _require_change(by)
    reason = _reason(reason)
    if to is not None:
        to = _user(to, "assignee_id")
    current = _lock(ticket.pk)
    _check_version(current, version)
    if current.status == S.CLOSED:
        raise RuleViolation(_("A closed ticket is not assigned any more."), field="status")
    if current.assignee_id == getattr(to, "pk", None):
        raise RuleViolation(_("The ticket is already with %(user)s.") % {"user": to or _("nobody")},
                            field="assignee_id")
    if not may_assign(by, current, to):
        raise PermissionDenied(_("Your role may take tickets, not give them to others."), field="assignee_id")
    if current.assignee_id is not None and by is not None and not reason:
        raise RuleViolation(_("Say why the ticket moves from %(user)s.") % {"user": current.assignee},
                            field="reason")
    if to is not None and current.queue_id is not None and current.queue.members.exists() \
            and not current.queue.members.filter(pk=to.pk).exists():
        raise RuleViolation(_("%(user)s does not work queue %(queue)s; move the ticket to one of their queues "
                              "first.") % {"user": to, "queue": current.queue}, field="assignee_id")
    old = current.assignee
    current.assignee = to
    _save(current, "assignee")
    record_event(current, TicketEvent.Kind.ASSIGNED, by=by, at=at, field="assignee", old=old, new=to,
                 data={"old_name": str(old) if old else "", "new_name": str(to) if to else "",
                       "reason": reason, "how": "manual"})
    return current


@transaction.atomic
def set_priority(ticket: Ticket, priority: int, *, by: User | None, at: dt.datetime | None = None,
                 reason: str = "", version: int | None = None) -> Ticket:
    """Change the priority (SLA escalation calls this with by=None)."""
    at = _when(at)
    _require_change(by)
    priority = _choice(priority, Ticket.Priority, "priority")
    reason = _reason(reason)
    current = _lock(ticket.pk)
    _check_version(current, version)
    if current.priority == priority:
        return current
    old = current.priority
    current.priority = priority
    _save(current, "priority")
    record_event(current, TicketEvent.Kind.PRIORITY, by=by, at=at, field="priority", old=old, new=priority,
                 data={"reason": reason} if reason else {})
    return current


# --- fields ---------------------------------------------------------------------------------------

def _value(instance: models.Model, key: str) -> Any:
    return getattr(instance, instance._meta.get_field(key).attname)


def _clean_changes(current: Ticket, changes: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "subject":
            cleaned[key] = clean_line(_text(value, key), field=key, max_length=SUBJECT_MAX, required=True)
        elif key == "description":
            cleaned[key] = clean_text(_text(value, key), field=key, max_length=BODY_MAX)
        elif key == "kind":
            cleaned[key] = _choice(value, Ticket.Kind, key)
        elif key == "channel":
            cleaned[key] = _choice(value, Channel, key)
        elif key == "priority":
            cleaned[key] = _choice(value, Ticket.Priority, key)
        elif key == "category":
            cleaned[key] = _check_category(value)
        elif key == "contact":
            cleaned[key] = _check_contact(value, current.customer)
        elif key == "order":
            cleaned[key] = _check_order(value, current.customer)
        elif key == "queue":
            cleaned[key] = _check_queue(value)
        elif key == "department":
            cleaned[key] = _check_department(value)
    kind = cleaned.get("kind", current.kind)
    cleaned.update(clean_complaint_fields(dict(changes), kind=kind, current=current))
    if "queue" in cleaned or "department" in cleaned:
        department = cleaned.get("department", current.department if "queue" not in cleaned else None)
        queue = cleaned.get("queue", current.queue if "department" not in cleaned else None)
        if "department" in cleaned and queue is not None and not queue.department.path.startswith(
                getattr(department, "path", "\0")):
            queue = None  # moving to another department leaves a queue of the old one
        cleaned["department"] = _place(department, queue)
        cleaned["queue"] = queue
    return cleaned


@transaction.atomic
def update_ticket(ticket: Ticket, *, by: User | None, version: int, changes: Mapping[str, Any],
                  at: dt.datetime | None = None) -> Ticket:
    """Apply `changes` (field -> new value) to the version the caller read; one event per field changed."""
    at = _when(at)
    _require_change(by)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise RuleViolation(_("Unknown or read-only field(s): %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    if isinstance(version, bool) or not isinstance(version, int):
        raise RuleViolation(_("Send the version you read, as an integer."), field="version")
    current = _lock(ticket.pk)
    _check_version(current, version)
    if current.status == S.CLOSED:
        raise RuleViolation(_("A closed ticket cannot be changed."), field="status")
    cleaned = _clean_changes(current, changes)
    changed = {key: value for key, value in cleaned.items()
               if _value(current, key) != (value.pk if isinstance(value, models.Model) else value)}
    if not changed:
        return current
    for key, value in changed.items():
        old = getattr(current, key)
        setattr(current, key, value)
        kind = TicketEvent.Kind.PRIORITY if key == "priority" else TicketEvent.Kind.FIELD
        data = {}
        if isinstance(old, models.Model) or isinstance(value, models.Model):
            data = {"old_name": str(old) if old is not None else "", "new_name": str(value) if value else ""}
        record_event(current, kind, by=by, at=at, field=key, old=old, new=value, data=data)
    _save(current, *changed)
    if "category" in changed or "kind" in changed:
        mark_if_repeat(current, by=None, at=at)
    return current


# --- followers and tags ---------------------------------------------------------------------------

@transaction.atomic
def change_followers(ticket: Ticket, *, by: User | None, add: Iterable[User] = (), remove: Iterable[User] = (),
                     at: dt.datetime | None = None) -> Ticket:
    """Add and remove followers (deltas, so two people changing them at once both count)."""
    at = _when(at)
    if by is not None and not can(by, "ticket", "view"):
        raise PermissionDenied(_("Your role may not follow tickets."))
    add = [_user(user, "add", role_may_work=False) for user in add]
    remove = list(remove)
    if by is not None and not can(by, "ticket", "change") and any(u.pk != by.pk for u in [*add, *remove]):
        raise PermissionDenied(_("Your role may follow tickets yourself, not add others."), field="add")
    for user in add:
        if not can(user, "ticket", "view"):
            raise RuleViolation(_("%(user)s's role may not see tickets.") % {"user": user}, field="add")
    current = _lock(ticket.pk)
    before = set(current.followers.values_list("pk", flat=True))
    if len(before | {u.pk for u in add}) > FOLLOWERS_MAX:
        raise RuleViolation(_("At most %(limit)d followers.") % {"limit": FOLLOWERS_MAX}, field="add")
    current.followers.add(*add)
    current.followers.remove(*remove)
    after = set(current.followers.values_list("pk", flat=True))
    if after != before:
        _save(current)
        record_event(current, TicketEvent.Kind.FOLLOWERS, by=by, at=at, field="followers",
                     old=",".join(map(str, sorted(before))), new=",".join(map(str, sorted(after))),
                     data={"added": sorted(after - before), "removed": sorted(before - after)})
    return current


@transaction.atomic
def change_tags(ticket: Ticket, *, by: User | None, add: Iterable[str] = (), remove: Iterable[str] = (),
                at: dt.datetime | None = None) -> Ticket:
    """Add and remove tags by name (case-insensitive; new names create tags)."""
    at = _when(at)
    _require_change(by)
    add_names = _clean_tag_names(add)
    remove_names = {fold(name) for name in _clean_tag_names(remove)}
    current = _lock(ticket.pk)
    before = {tag.name for tag in current.tags.all()}
    current.tags.add(*_tags(add_names))
    current.tags.remove(*[tag for tag in current.tags.all() if fold(tag.name) in remove_names])
    after = {tag.name for tag in current.tags.all()}
    if len(after) > TAGS_MAX:
        raise RuleViolation(_("At most %(limit)d tags (got %(count)d).") % {"limit": TAGS_MAX, "count": len(after)},
                            field="add")
    if after != before:
        _save(current)
        record_event(current, TicketEvent.Kind.TAGS, by=by, at=at, field="tags",
                     old=", ".join(sorted(before)), new=", ".join(sorted(after)),
                     data={"added": sorted(after - before), "removed": sorted(before - after)})
    return current


# --- the conversation -----------------------------------------------------------------------------

def _message_body(body: Any, checked: Sequence, field: str = "body") -> str:
    body = clean_text(_text(body, field), field=field, max_length=BODY_MAX)
    if not body and not checked:
        raise RuleViolation(_("Write something or attach a file."), field=field)
    return body


def _recipient(ticket: Ticket) -> str:
    return (ticket.contact.email if ticket.contact_id and ticket.contact.email else "") or ticket.customer.email


@transaction.atomic
def add_reply(ticket: Ticket, *, body: str, by: User | None, attachments: Iterable[Upload | tuple] = (),
              status: str | None = None, channel: str | None = None, override_reason: str = "",
              at: dt.datetime | None = None) -> TicketMessage:
    """A public reply to the customer: meets the response target, goes out by email when the customer has
    an address (after commit), and may move the ticket on (`status`, e.g. pending). A new or reopened
    ticket becomes open."""
    at = _when(at)
    _require_change(by)
    checked = check_uploads(_uploads(attachments))
    body = _message_body(body, checked)
    if status is not None:
        status = _choice(status, S, "status")
    channel = _choice(channel, Channel, "channel") if channel else None
    current = _lock(ticket.pk)
    if current.status == S.CLOSED:
        raise TicketClosed(_("Ticket #%(id)s is closed; open a follow-up ticket instead.") % {"id": current.pk},
                           field="status", extra={"ticket_id": current.pk})
    if status is not None and status != current.status and not is_allowed(current.status, status):
        _transition(current, status, by=by, at=at)  # refuses, naming the allowed statuses, before anything is written
    message = TicketMessage.objects.create(
        ticket=current, kind=TicketMessage.Kind.REPLY, author=_actor(by), body=body,
        channel=channel or (Channel.EMAIL if _recipient(current) else current.channel), created_at=at)
    store_attachments(message, checked, by=by, at=at)
    fields = []
    if current.first_response_at is None:
        current.first_response_at = at
        fields.append("first_response_at")
    _save(current, *fields)
    record_event(current, TicketEvent.Kind.REPLY, by=by, at=at, data={"message_id": message.pk,
                                                                      "attachments": len(checked)})
    sla.on_public_reply(current, by=by, at=at)
    target = status or (S.OPEN if current.status in (S.NEW, S.REOPENED) else None)
    if target is not None and target != current.status:
        _transition(current, target, by=by, at=at, override_reason=_reason(override_reason, "override_reason"))
    _on_timeline(current, by=by, at=at, direction=Interaction.Direction.OUTBOUND, channel=message.channel,
                 what=_("Reply: %(subject)s") % {"subject": current.subject}, body=body)
    if message.channel == Channel.EMAIL and _recipient(current):
        transaction.on_commit(lambda: mail.deliver_reply(message))
    return message


@transaction.atomic
def add_note(ticket: Ticket, *, body: str, by: User | None, attachments: Iterable[Upload | tuple] = (),
             at: dt.datetime | None = None) -> TicketMessage:
    """An internal note: colleagues see it, the customer never does."""
    at = _when(at)
    _require_change(by)
    checked = check_uploads(_uploads(attachments))
    body = _message_body(body, checked)
    current = _lock(ticket.pk)
    message = TicketMessage.objects.create(ticket=current, kind=TicketMessage.Kind.NOTE, author=_actor(by),
                                           body=body, channel=Channel.OTHER, created_at=at)
    store_attachments(message, checked, by=by, at=at)
    _save(current)
    record_event(current, TicketEvent.Kind.NOTE, by=by, at=at, data={"message_id": message.pk,
                                                                     "attachments": len(checked)})
    _on_timeline(current, by=by, at=at, direction=Interaction.Direction.INTERNAL, channel=Channel.OTHER,
                 what=_("Note: %(subject)s") % {"subject": current.subject}, body=body)
    return message


@transaction.atomic
def record_customer_message(ticket: Ticket, *, body: str, by: User | None = None, channel: str | None = None,
                            message_id: str = "", in_reply_to: str = "",
                            attachments: Iterable[Upload | tuple] = (), at: dt.datetime | None = None) -> TicketMessage:
    """The customer wrote (mail, form) or said (a call an agent logs, `by`): a resolved ticket reopens, a
    pending one opens again, and the next-response clock starts. A closed ticket raises TicketClosed."""
    at = _when(at)
    _require_change(by)
    checked = check_uploads(_uploads(attachments))
    body = _message_body(body, checked)
    channel = _choice(channel, Channel, "channel") if channel else None
    message_id = clean_line(_text(message_id, "message_id"), field="message_id", max_length=255)
    in_reply_to = clean_line(_text(in_reply_to, "in_reply_to"), field="in_reply_to", max_length=255)
    current = _lock(ticket.pk)
    if current.status == S.CLOSED:
        raise TicketClosed(_("Ticket #%(id)s is closed; open a follow-up ticket instead.") % {"id": current.pk},
                           field="status", extra={"ticket_id": current.pk})
    message = TicketMessage.objects.create(
        ticket=current, kind=TicketMessage.Kind.CUSTOMER, author=_actor(by), body=body,
        channel=channel or current.channel, message_id=message_id, in_reply_to=in_reply_to, created_at=at)
    store_attachments(message, checked, by=by, at=at)
    _save(current)
    record_event(current, TicketEvent.Kind.CUSTOMER_MESSAGE, by=by, at=at,
                 data={"message_id": message.pk, "channel": message.channel, "attachments": len(checked)})
    if current.status == S.RESOLVED:
        _transition(current, S.REOPENED, by=by, at=at, reason=_("The customer wrote again."))
    elif current.status == S.PENDING:
        _transition(current, S.OPEN, by=by, at=at)
    sla.on_customer_message(current, at=at)
    _on_timeline(current, by=by, at=at, direction=Interaction.Direction.INBOUND, channel=message.channel,
                 what=_("Customer wrote: %(subject)s") % {"subject": current.subject}, body=body)
    return message


@transaction.atomic
def attach_files(ticket: Ticket, *, uploads: Iterable[Upload | tuple], by: User | None, body: str = "",
                 public: bool = False, at: dt.datetime | None = None) -> TicketMessage:
    """Files on the ticket, carried by a note (or, `public=True`, a reply to the customer)."""
    uploads = _uploads(uploads)
    if not uploads:
        raise RuleViolation(_("Choose at least one file."), field="file")
    if public:
        return add_reply(ticket, body=body, by=by, attachments=uploads, at=at)
    return add_note(ticket, body=body, by=by, attachments=uploads, at=at)


def root_cause_or_none(cause_id: int | None) -> RootCause | None:
    """The root cause with this id for inputs (None for None); unknown ids are a 422 on root_cause_id."""
    if cause_id is None:
        return None
    cause = RootCause.objects.filter(pk=cause_id).first()
    if cause is None:
        raise RuleViolation(_("No root cause #%(id)s.") % {"id": cause_id}, field="root_cause_id")
    return cause


def close_resolved(*, at: dt.datetime | None = None, after: dt.timedelta | None = None, limit: int = 1000) -> int:
    """Close tickets resolved more than `after` ago (LOOPCRM_AUTO_CLOSE_DAYS, 7 by default); safe to run twice.

    Each ticket closes in its own transaction, through the status table, so the SLA clocks and the
    process hear of it; one that changed meanwhile (reopened) is skipped.
    """
    from django.conf import settings

    at = _when(at)
    after = after if after is not None else dt.timedelta(days=int(getattr(settings, "LOOPCRM_AUTO_CLOSE_DAYS", 7)))
    ids = list(Ticket.objects.filter(status=S.RESOLVED, resolved_at__lte=at - after).order_by("resolved_at", "id")
               .values_list("pk", flat=True)[:limit])
    closed = 0
    for pk in ids:
        try:
            with transaction.atomic():
                current = _lock(pk)
                if current.status != S.RESOLVED:
                    continue
                _transition(current, S.CLOSED, by=None, at=at, reason=_("Closed automatically after resolution."))
                closed += 1
        except (NotFound, RuleViolation):
            continue
    return closed
