"""Opening tickets, one or many: the single rule behind `tickets.open_ticket` and the batch `open_tickets`.

A batch opens its tickets in one transaction with exactly the rows opening them one by one would
leave (same routing, assignment turns and loads, SLA clocks, process steps, events, timeline
interactions, repeat-complaint links), but reads each piece of shared state once (configuration,
customers' value tiers and loyalty benefits, queue members and loads, earlier complaints) and writes
each table in one insert. `open_ticket` is a batch of one, so the two cannot drift apart.

What a batch does differently, on purpose: one SLA check task for all its clocks (at the first
instant any of them must be checked; each run schedules the next), and round-robin queues are
locked once, in id order, for the whole batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import Scope, scope_for
from loopcrm.commerce.models import Order
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.errors import DomainError, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.core.text import clean_line, clean_text
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.customers.queries import customers_for
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Queue, SlaClock, Ticket, TicketCategory, TicketEvent, TicketMessage
from loopcrm.service.queries.config import desk_config
from loopcrm.service.services import processes, routing, sla
from loopcrm.service.services import tickets as t
from loopcrm.service.services.attachments import Upload, check_uploads, store_attachments
from loopcrm.service.services.complaints import clean_complaint_fields, mark_repeat, repeat_links
from loopcrm.service.services.events import record_event, write_events

MAX_BATCH = 5000


@dataclass
class TicketRequest:
    """What one new ticket is opened with (the keyword arguments of `open_ticket`, without `by`).

    `at` is when the request arrived (default: the batch's `at`, else now).
    """

    customer: Customer
    subject: str
    kind: str = Ticket.Kind.INQUIRY
    channel: str = Channel.OTHER
    description: str = ""
    contact: ContactPerson | None = None
    order: Order | None = None
    category: TicketCategory | None = None
    priority: int | None = None
    severity: int | None = None
    tags: Iterable[str] = ()
    attachments: Iterable[Upload | tuple] = ()
    followers: Iterable[User] = ()
    department: Department | None = None
    queue: Queue | None = None
    assignee: User | None = None
    message_id: str = ""
    in_reply_to: str = ""
    at: dt.datetime | None = None


@dataclass
class _Opening:
    """One request, validated, and what routing and the hooks decided for it."""

    ticket: Ticket
    at: dt.datetime
    priority: int | None
    department: Department | None
    queue: Queue | None
    assignee: User | None
    tag_names: list[str]
    followers: list[User]
    checked: list
    message_id: str
    in_reply_to: str
    decision: routing.RoutingDecision | None = None
    events: list[TicketEvent] = field(default_factory=list)


def _validate(request: TicketRequest, *, by: User | None, at: dt.datetime | None) -> _Opening:
    at = t._when(request.at or at)
    customer = t._check_customer(request.customer)
    subject = clean_line(t._text(request.subject, "subject"), field="subject", max_length=t.SUBJECT_MAX, required=True)
    description = clean_text(t._text(request.description, "description"), field="description",
                             max_length=t.BODY_MAX)
    kind = t._choice(request.kind, Ticket.Kind, "kind")
    channel = t._choice(request.channel, Channel, "channel")
    priority = request.priority
    if priority is not None:
        priority = t._choice(priority, Ticket.Priority, "priority")
    contact = t._check_contact(request.contact, customer)
    order = t._check_order(request.order, customer)
    category = t._check_category(request.category)
    queue = t._check_queue(request.queue)
    department = t._place(t._check_department(request.department), queue)
    severity = request.severity
    complaint = clean_complaint_fields({"severity": severity} if severity is not None else {}, kind=kind)
    assignee = request.assignee
    if assignee is not None:
        assignee = t._user(assignee, "assignee_id")
        if by is not None and assignee.pk != by.pk and scope_for(by, "ticket", "assign") == Scope.NONE:
            raise PermissionDenied(_("Your role may not give tickets to others; leave the assignee empty or take "
                                     "it yourself."), field="assignee_id")
    tag_names = t._clean_tag_names(request.tags)
    followers = [t._user(user, "follower_ids", role_may_work=False) for user in request.followers]
    checked = check_uploads(t._uploads(request.attachments))
    message_id = clean_line(t._text(request.message_id, "message_id"), field="message_id", max_length=255)
    in_reply_to = clean_line(t._text(request.in_reply_to, "in_reply_to"), field="in_reply_to", max_length=255)
    ticket = Ticket(customer=customer, contact=contact, order=order, subject=subject, description=description,
                    kind=kind, channel=channel, category=category, priority=priority or Ticket.Priority.NORMAL,
                    status=Ticket.Status.NEW, opened_at=at, created_by=t._actor(by), **complaint)
    return _Opening(ticket=ticket, at=at, priority=priority, department=department, queue=queue, assignee=assignee,
                    tag_names=tag_names, followers=followers, checked=checked, message_id=message_id,
                    in_reply_to=in_reply_to)


def _route(opening: _Opening, *, by: User | None, config) -> None:
    """Routing's decision applied to the unsaved ticket: queue, department, priority, dedicated agent."""
    ticket = opening.ticket
    decision = routing.decide(ticket, config=config)
    if decision.priority is not None:
        ticket.priority = max(ticket.priority, decision.priority) if opening.priority else decision.priority
    routed_queue = decision.queue
    department = opening.department
    if department is not None and routed_queue is not None \
            and not routed_queue.department.path.startswith(department.path):
        routed_queue = None  # a department named by the caller wins; routing's queue elsewhere is dropped
    ticket.queue = opening.queue or routed_queue
    ticket.department = department or decision.department or (ticket.queue.department if ticket.queue else None) \
        or getattr(by, "department", None)
    ticket.assignee = opening.assignee or decision.assignee
    opening.decision = decision


def _timeline_rows(openings: list[_Opening], *, by: User | None) -> None:
    """The "ticket opened" interaction on each customer's timeline, with its audit row, in two inserts.

    As `tickets._on_timeline` writes it: made by `by` when `by` may log touches with that customer
    (`log_interaction`'s rules), else the row the ticket itself entitles (the system, or an agent who
    works the ticket without seeing the customer's record).
    """
    now = timezone.now()
    visible: set[int] = set()
    if by is not None and scope_for(by, "customer", "change") != Scope.NONE:
        ids = {opening.ticket.customer_id for opening in openings}
        visible = set(customers_for(by, "view").filter(pk__in=ids).values_list("pk", flat=True))
    rows, audits = [], []
    for opening in openings:
        ticket, at = opening.ticket, opening.at
        channel = ticket.channel
        what = _("Ticket opened: %(subject)s") % {"subject": ticket.subject}
        subject = f"#{ticket.pk} {what}"[:t.SUBJECT_MAX]
        values = {"channel": channel, "direction": Interaction.Direction.INBOUND,
                  "touchpoint": t._TOUCHPOINTS.get(channel, Touchpoint.OTHER),
                  "journey_stage": JourneyStage.SERVICE, "body": ticket.description[:t.BODY_MAX]}
        if ticket.customer_id in visible:
            occurred = min(at, now + t.CLOCK_SKEW)
            subject = clean_line(subject, field="subject", max_length=t.SUBJECT_MAX)
            rows.append(Interaction(customer_id=ticket.customer_id, contact_id=ticket.contact_id,
                                    order_id=ticket.order_id, occurred_at=occurred, user=by, subject=subject,
                                    **values))
            audits.append((max(at, now), {"customer": ticket.customer_id, "channel": channel,
                                          "direction": values["direction"], "touchpoint": values["touchpoint"],
                                          "journey_stage": values["journey_stage"], "occurred_at": occurred.isoformat(),
                                          "order": ticket.order_id, "contact": ticket.contact_id}))
        else:
            rows.append(Interaction(customer_id=ticket.customer_id, contact_id=ticket.contact_id,
                                    order_id=ticket.order_id, occurred_at=at, user=t._actor(by), subject=subject,
                                    **values))
            audits.append((at, {"customer": ticket.customer_id, "channel": channel,
                                "direction": values["direction"], "ticket": ticket.pk}))
    Interaction.objects.bulk_create(rows)
    actor = t._actor(by)
    AuditEntry.objects.bulk_create([
        AuditEntry(at=when, actor=actor, action="create", object_type=Interaction._meta.label_lower,
                   object_id=str(row.pk), object_repr=str(row)[:200], changes=changes, note="")
        for row, (when, changes) in zip(rows, audits, strict=True)
    ])


@transaction.atomic
def open_tickets(requests: Sequence[TicketRequest], *, by: User | None,
                 at: dt.datetime | None = None) -> list[Ticket]:
    """Open many tickets at once, all or none, each exactly as `open_ticket` would open it, in this order.

    A request that breaks a rule stops the batch; the error names its place (`extra["index"]`).
    """
    t._require_change(by)
    if len(requests) > MAX_BATCH:
        raise RuleViolation(_("At most %(limit)d tickets at once (got %(count)d).")
                            % {"limit": MAX_BATCH, "count": len(requests)}, field="tickets")
    openings = []
    for index, request in enumerate(requests):
        try:
            openings.append(_validate(request, by=by, at=at))
        except DomainError as error:
            error.extra = {**error.extra, "index": index}
            raise
    if not openings:
        return []
    config = desk_config()
    routing.load_customer_facts([o.ticket.customer for o in openings], config=config)
    for opening in openings:
        _route(opening, by=by, config=config)

    # Assignment in the queues, in the order of the requests (turns and loads as one-by-one would see them).
    turns = routing.QueueTurns([o.ticket.queue for o in openings if o.ticket.assignee is None])
    for opening in openings:
        ticket = opening.ticket
        if ticket.assignee is None and ticket.queue is not None:
            ticket.assignee = turns.pick(ticket.queue)
        turns.took(ticket.assignee)
    turns.save()

    tickets = [opening.ticket for opening in openings]
    Ticket.objects.bulk_create(tickets)
    _need_ids(tickets)

    for opening in openings:
        ticket, decision, at = opening.ticket, opening.decision, opening.at
        events = opening.events
        record_event(ticket, TicketEvent.Kind.CREATED, by=by, at=at, new=ticket.status,
                     data={"kind": ticket.kind, "channel": ticket.channel, "priority": ticket.priority}, into=events)
        record_event(ticket, TicketEvent.Kind.ROUTED, by=None, at=at, field="queue", new=ticket.queue_id,
                     data={"reasons": [str(reason) for reason in decision.reasons], "rule_id": decision.rule_id,
                           "department_id": ticket.department_id, "queue_id": ticket.queue_id,
                           "priority": ticket.priority, "sla_policy_id": decision.sla_policy_id}, into=events)
        if ticket.assignee_id is not None:
            manual = opening.assignee is not None
            record_event(ticket, TicketEvent.Kind.ASSIGNED, by=by if manual else None, at=at, field="assignee",
                         new=ticket.assignee_id, data={"new_name": str(ticket.assignee),
                                                       "how": "manual" if manual else "routing"}, into=events)

    # The conversation's first message (the customer's words), tags and followers.
    with_message = [o for o in openings if o.ticket.description or o.checked]
    messages = [TicketMessage(ticket=o.ticket, kind=TicketMessage.Kind.CUSTOMER, author=t._actor(by),
                              body=o.ticket.description or o.ticket.subject, channel=o.ticket.channel,
                              message_id=o.message_id, in_reply_to=o.in_reply_to, created_at=o.at)
                for o in with_message]
    TicketMessage.objects.bulk_create(messages)
    _need_ids(messages)
    for opening, message in zip(with_message, messages, strict=True):
        if opening.checked:
            store_attachments(message, opening.checked, by=by, at=opening.at)
    _link_tags_and_followers(openings)

    # Repeat complaints (earlier complaints in the database or earlier in this batch).
    events_of = {o.ticket.pk: o.events for o in openings}
    for ticket, earlier in repeat_links(tickets).items():
        mark_repeat(ticket, earlier, by=None, at=ticket.opened_at, events=events_of[ticket.pk])

    _timeline_rows(openings, by=by)

    # SLA clocks and the standard process.
    clocks: list[SlaClock] = []
    for opening in openings:
        clocks += sla.new_clocks(opening.ticket, policy_id=opening.decision.sla_policy_id, at=opening.at,
                                 config=config, events=opening.events)[1]
    SlaClock.objects.bulk_create(clocks)
    _need_ids(clocks)
    sla.schedule_checks(clocks)
    processes.start_processes([(o.ticket, o.at, o.events) for o in openings], by=by, config=config)

    write_events([event for opening in openings for event in opening.events])
    return tickets


def _need_ids(rows: list) -> None:
    """Bulk inserts here rely on the database returning the new ids (PostgreSQL; SQLite ≥ 3.35)."""
    if rows and rows[0].pk is None:  # pragma: no cover - every supported backend returns them
        raise RuntimeError(f"{connection.vendor} did not return ids from a bulk insert")


def _link_tags_and_followers(openings: list[_Opening]) -> None:
    names = [name for opening in openings for name in opening.tag_names]
    if names:
        by_name = {t.fold(tag.name): tag for tag in t._tags(list(dict.fromkeys(names)))}
        Ticket.tags.through.objects.bulk_create(
            [Ticket.tags.through(ticket_id=o.ticket.pk, tag_id=by_name[t.fold(name)].pk)
             for o in openings for name in o.tag_names], ignore_conflicts=True)
    followers = [(o.ticket.pk, user.pk) for o in openings for user in o.followers]
    if followers:
        Ticket.followers.through.objects.bulk_create(
            [Ticket.followers.through(ticket_id=ticket_id, user_id=user_id)
             for ticket_id, user_id in dict.fromkeys(followers)], ignore_conflicts=True)

