"""Reads of tickets: the one door (`tickets_for`) every list, inbox, detail, export and API call goes through.

Scope: the "ticket" permission type, owner = assignee, department = the ticket's department (and
those below it). Out of scope and missing are the same answer (404); visible but not changeable
in that way is 403.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import Team, User
from loopcrm.accounts.permissions import Scope, can, scope_filter, scope_for
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.core.pagination import Page, paginate
from loopcrm.customers.models import Customer, Tag
from loopcrm.service.filters import SORTS, TicketFilter
from loopcrm.service.models import (
    Attachment,
    CannedReply,
    Queue,
    RootCause,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketMessage,
)
from loopcrm.service.queries.config import current_stamp, people_names, stamped_list

MAX_ID = 2**63 - 1
ACTIVE_STATUSES = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.ON_HOLD,
                   Ticket.Status.REOPENED)
BREACHING_WITHIN = dt.timedelta(hours=2)
_NUMBER = re.compile(r"^#?\s*(\d{1,18})$")
_DENIED = {  # translated when raised
    "change": gettext_noop("You may see ticket #%(id)s but your role may not work on it."),
    "assign": gettext_noop("You may see ticket #%(id)s but your role may not assign it."),
}


def _scope(user: User, action: str) -> Q | None:
    return scope_filter(user, "ticket", action, owner="assignee", department="department")


def tickets_for(user: User, action: str = "view") -> QuerySet[Ticket]:
    """Tickets `user` may reach for `action` (view, change, assign), with customer, assignee, queue,
    department and category joined."""
    condition = _scope(user, action)
    if condition is None:
        return Ticket.objects.none()
    return Ticket.objects.filter(condition).select_related(
        "customer", "assignee", "queue", "department", "category")


def get_ticket_for(user: User, ticket_id: int, action: str = "view", *, field: str = "ticket_id") -> Ticket:
    """One ticket for `action`, tags and followers prefetched. NotFound out of view scope; PermissionDenied when
    seen but not open to `action`."""
    return _one(tickets_for(user, action).prefetch_related("tags", "followers"), user, ticket_id, action, field)


def _one(queryset: QuerySet[Ticket], user: User, ticket_id: int, action: str, field: str) -> Ticket:
    """The ticket `ticket_id` of `queryset` (tickets_for(user, action) narrowed or widened), else the answer
    get_ticket_for gives."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id <= MAX_ID:
        raise NotFound(_("No ticket #%(id)s.") % {"id": ticket_id}, field=field)
    # Not .first(): its ORDER BY and LIMIT cost more to build than the one row by primary key they would order.
    found = list(queryset.filter(pk=ticket_id))
    ticket = found[0] if found else None
    if ticket is not None:
        return ticket
    if action != "view" and tickets_for(user, "view").filter(pk=ticket_id).exists():
        denied = _DENIED.get(action, gettext_noop("You may see ticket #%(id)s but your role may not %(action)s it."))
        raise PermissionDenied(_(denied) % {"id": ticket_id, "action": action}, field=field)
    raise NotFound(_("No ticket #%(id)s.") % {"id": ticket_id}, field=field)


# --- inbox ----------------------------------------------------------------------------------------

def _teammates(user: User) -> QuerySet[User]:
    teams = Team.objects.filter(Q(members=user) | Q(lead=user))
    return User.objects.filter(Q(pk=user.pk) | Q(teams__in=teams) | Q(led_teams__in=teams)).values("pk")


def my_queues(user: User) -> QuerySet[Queue]:
    """Queues the user works: those they are a member of, and those of their department and below."""
    condition = Q(members=user)
    if user.department_id is not None:
        condition |= Q(department__path__startswith=user.department.path)
    return Queue.objects.filter(condition, is_active=True).distinct()


def breaching_soon(queryset: QuerySet[Ticket], *, at: dt.datetime | None = None,
                   within: dt.timedelta = BREACHING_WITHIN) -> QuerySet[Ticket]:
    """Tickets of `queryset` with an SLA target due within `within` (or already missed): the SLA module's
    answer (service.queries.sla.tickets_breaching_soon)."""
    from loopcrm.service.queries import sla as sla_queries

    return sla_queries.tickets_breaching_soon(queryset, within, at or timezone.now())


def inbox(user: User, view: str = "all", *, at: dt.datetime | None = None) -> QuerySet[Ticket]:
    """The tickets of one inbox view as `user` may see them (before filters and sort):
    mine (assigned to me, active), team (me and my teams' members, active), unassigned (active, no
    assignee, in a queue I work), breaching (active, an SLA target due soon or missed), all."""
    queryset = tickets_for(user, "view")
    if view == "all":
        return queryset
    queryset = queryset.filter(status__in=ACTIVE_STATUSES)
    if view == "mine":
        return queryset.filter(assignee=user)
    if view == "team":
        return queryset.filter(assignee__in=_teammates(user))
    if view == "unassigned":
        return queryset.filter(assignee__isnull=True, queue__in=my_queues(user).values("pk"))
    if view == "breaching":
        return breaching_soon(queryset, at=at)
    raise ValueError(view)


def filter_tickets(queryset: QuerySet[Ticket], filters: TicketFilter) -> QuerySet[Ticket]:
    """`queryset` narrowed by everything in `filters` except view, sort and paging."""
    if filters.q:
        q = filters.q.strip()
        number = _NUMBER.match(q)
        if number:
            queryset = queryset.filter(pk=int(number.group(1)))
        else:
            queryset = queryset.filter(Q(subject__icontains=q) | Q(customer__name__icontains=q))
    exact = {
        "status": filters.status, "kind": filters.kind, "priority": filters.priority, "channel": filters.channel,
        "queue_id": filters.queue_id, "assignee_id": filters.assignee_id, "customer_id": filters.customer_id,
        "severity": filters.severity, "root_cause_id": filters.root_cause_id,
    }
    queryset = queryset.filter(**{key: value for key, value in exact.items() if value is not None})
    if filters.open is not None:
        queryset = queryset.filter(status__in=ACTIVE_STATUSES) if filters.open else \
            queryset.exclude(status__in=ACTIVE_STATUSES)
    if filters.unassigned is not None:
        queryset = queryset.filter(assignee__isnull=filters.unassigned)
    if filters.category_id is not None:
        path = TicketCategory.objects.filter(pk=filters.category_id).values_list("path", flat=True).first()
        queryset = queryset.filter(category__path__startswith=path) if path else queryset.none()
    if filters.department_id is not None:
        from loopcrm.accounts.models import Department

        path = Department.objects.filter(pk=filters.department_id).values_list("path", flat=True).first()
        queryset = queryset.filter(department__path__startswith=path) if path else queryset.none()
    if filters.tag:
        tagged = Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name__iexact=filters.tag)
        queryset = queryset.filter(Exists(tagged))
    return queryset


# What a row of the inbox shows (service/templatetags/workbench.py inbox_rows): the rest of the ticket and its
# relations stays in the database, and the tags are not read.
INBOX_ROW_FIELDS = (
    "id", "subject", "kind", "status", "priority", "updated_at", "customer__name", "customer__is_vip",
    "category__name", "queue__name", "assignee__display_name", "assignee__first_name", "assignee__last_name",
    "assignee__username",
)


def ticket_page(user: User, filters: TicketFilter, *, at: dt.datetime | None = None,
                fields: tuple[str, ...] | None = None) -> Page:
    """One page of a ticket list (inbox view + filters + sort) as `user` may see it; tags prefetched, or with
    `fields` (such as INBOX_ROW_FIELDS) only those columns of the ticket and its relations and no tags.

    Two steps: the page's ids (and sort values) from the tickets table alone, which the inbox indexes
    answer in index order, then those rows with their customer, assignee, queue, department and
    category. In one query the planner joined every matching ticket's customer before sorting and
    cutting the page (an agent's 200 active tickets: 200 customer lookups for 25 rows).
    """
    field = filters.sort.lstrip("-")
    narrow = filter_tickets(inbox(user, filters.view, at=at), filters).select_related(None) \
        .only(*{"id", field})
    page = paginate(narrow, sort=filters.sort, allowed=SORTS, cursor=filters.cursor, limit=filters.limit)
    if page.items:
        if fields:
            related = {name.split("__")[0] for name in fields if "__" in name}
            rows = Ticket.objects.select_related(*sorted(related)).only(*fields)
        else:
            rows = Ticket.objects.select_related("customer", "assignee", "queue", "department", "category") \
                .prefetch_related("tags")
        rows = rows.in_bulk([ticket.pk for ticket in page.items])
        page.items = [rows[ticket.pk] for ticket in page.items if ticket.pk in rows]
    return page


def inbox_counts(user: User, *, at: dt.datetime | None = None) -> dict[str, int]:
    """How many tickets each inbox view holds (for the tabs)."""
    return {view: inbox(user, view, at=at).count() for view in ("mine", "team", "unassigned", "breaching")}


# --- the 360 page and the ticket page -------------------------------------------------------------

def open_tickets_of(customer: Customer, user: User | None = None, *, limit: int = 10,
                    fields: tuple[str, ...] | None = None) -> list[Ticket]:
    """The customer's active tickets, newest first (for the customer 360); only those `user` may see.
    `fields`: only these columns and no joined rows (a short list that shows little)."""
    queryset = tickets_for(user, "view") if user is not None else \
        Ticket.objects.select_related("assignee", "queue", "department", "category")
    if fields is not None:
        queryset = queryset.select_related(None).only(*fields)
    return list(queryset.filter(customer=customer, status__in=ACTIVE_STATUSES).order_by("-opened_at", "-id")[:limit])


def tickets_of(customer: Customer, user: User) -> QuerySet[Ticket]:
    """Every ticket of the customer that `user` may see (for the customer's history), newest first."""
    return tickets_for(user, "view").filter(customer=customer).order_by("-opened_at", "-id")


@dataclass
class TicketDetail:
    """Everything the ticket page shows about the ticket itself, read in a fixed number of queries."""

    ticket: Ticket
    messages: list[TicketMessage]
    events: list[TicketEvent]
    attachments: list[Attachment]
    tags: list = field(default_factory=list)
    may_change: bool = False
    may_assign: bool = False
    order_number: str | None = None
    names: dict[int, str] = field(default_factory=dict)  # who wrote the messages and did the events, by id


def messages_of(ticket: Ticket, *, include_notes: bool = True) -> QuerySet[TicketMessage]:
    messages = TicketMessage.objects.filter(ticket=ticket).select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    if not include_notes:
        messages = messages.exclude(kind=TicketMessage.Kind.NOTE)
    return messages.order_by("created_at", "id")


def events_of(ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")


def attachments_of(ticket: Ticket) -> QuerySet[Attachment]:
    return Attachment.objects.filter(message__ticket=ticket).select_related("uploaded_by").order_by("id")


def may(user: User, ticket: Ticket, action: str) -> bool:
    """Whether `user` may `action` (change, assign) a ticket they have read through tickets_for(user, "view").

    No query when the answer follows from the scopes: the same scope for `action` as for viewing gives the
    same filter, which the ticket has just passed, and "all" passes everything.
    """
    scope = scope_for(user, "ticket", action)
    if scope == Scope.NONE:
        return False
    if scope in (Scope.ALL, scope_for(user, "ticket", "view")):
        return True
    return Ticket.objects.filter(_scope(user, action), pk=ticket.pk).exists()


def ticket_detail(user: User, ticket_id: int, *, stamp: Callable[[], str | None] = current_stamp) -> TicketDetail:
    """The ticket (with its order's number, not the order) and its tags, conversation (and attachments) and
    event log: 5 queries, and one more to know whether the user may change it when their role's scope for
    changing is narrower than for viewing and not "all". The names of the people who wrote and acted come from
    `people_names` under the configuration stamp (`stamp()`), not from a join per message and event."""
    queryset = tickets_for(user, "view").annotate(order_number=F("order__number"))
    ticket = _one(queryset, user, ticket_id, "view", "ticket_id")
    messages = list(TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "id"))
    # Each message's files as a plain list (`attachment_list`, read by the conversation tag): one query by the
    # messages' ids, none without messages, and no prefetch machinery (a related manager and queryset per message).
    files: dict[int, list[Attachment]] = {message.pk: [] for message in messages}
    if files:
        for attachment in Attachment.objects.filter(message_id__in=list(files)).order_by("id"):
            files[attachment.message_id].append(attachment)
    for message in messages:
        message.attachment_list = files[message.pk]
    attachments = [attachment for message in messages for attachment in message.attachment_list]
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("at", "id"))
    names = people_names(stamp(), [*(message.author_id for message in messages), *(event.actor_id for event in events)])
    return TicketDetail(
        ticket=ticket, messages=messages, events=events, attachments=attachments,
        tags=list(Tag.objects.filter(tickets=ticket.pk)), may_change=may(user, ticket, "change"),
        may_assign=can(user, "ticket", "assign"), order_number=ticket.order_number, names=names,
    )


def get_attachment_for(user: User, ticket_id: int, attachment_id: int) -> Attachment:
    ticket = get_ticket_for(user, ticket_id)
    if isinstance(attachment_id, bool) or not isinstance(attachment_id, int) or not 0 < attachment_id <= MAX_ID:
        raise NotFound(_("No attachment #%(id)s.") % {"id": attachment_id}, field="attachment_id")
    attachment = attachments_of(ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("No attachment #%(id)s on ticket #%(ticket)s.") % {"id": attachment_id, "ticket": ticket.pk},
                       field="attachment_id")
    return attachment


# --- configuration reads --------------------------------------------------------------------------

def _config(user: User, action: str) -> bool:
    return can(user, "service_config", action) or (action == "view" and can(user, "ticket", "view"))


def categories_for(user: User, action: str = "view") -> QuerySet[TicketCategory]:
    """The category tree in path order (everyone who works tickets reads it; config changers change it)."""
    if not _config(user, action):
        return TicketCategory.objects.none()
    return TicketCategory.objects.order_by("path")


def root_causes_for(user: User, action: str = "view") -> QuerySet[RootCause]:
    if not _config(user, action):
        return RootCause.objects.none()
    return RootCause.objects.order_by("branch", "name")


def queues_for(user: User, action: str = "view") -> QuerySet[Queue]:
    if not _config(user, action):
        return Queue.objects.none()
    return Queue.objects.select_related("department").prefetch_related("members").order_by("name")


def canned_replies_for(user: User, action: str = "view") -> QuerySet[CannedReply]:
    """Canned replies for everyone and for the user's department line (the department and those above it);
    config changers see every one."""
    if not _config(user, action):
        return CannedReply.objects.none()
    queryset = CannedReply.objects.select_related("department").order_by("title")
    if can(user, "service_config", "change") or action != "view":
        return queryset
    ids = [int(part) for part in (user.department.path.strip("/").split("/") if user.department_id else []) if part]
    return queryset.filter(Q(department__isnull=True) | Q(department_id__in=ids), is_active=True)


def canned_reply_list(user: User, stamp: str | None) -> list[CannedReply]:
    """canned_replies_for(user) as a list kept per process under the configuration stamp (`stamp`, the
    database's now), which moves on any change to canned replies, departments or people: the composer's
    select costs no query while they stay as they are. Shared by every caller: read the rows, never change them."""
    path = user.department.path if user.department_id is not None else None
    key = ("canned-replies", _config(user, "view"), can(user, "service_config", "change"), path)
    return stamped_list(stamp, key, lambda: canned_replies_for(user))


def _get(queryset: QuerySet, user_queryset_view: QuerySet, pk: int, *, what: str, field: str):
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
        raise NotFound(_("No %(what)s #%(id)s.") % {"what": what, "id": pk}, field=field)
    row = queryset.filter(pk=pk).first()
    if row is not None:
        return row
    if user_queryset_view.filter(pk=pk).exists():
        raise PermissionDenied(_("Your role may not change the service desk's configuration."), field=field)
    raise NotFound(_("No %(what)s #%(id)s.") % {"what": what, "id": pk}, field=field)


def get_category_for(user: User, pk: int, action: str = "view", *, field: str = "category_id") -> TicketCategory:
    return _get(categories_for(user, action), categories_for(user), pk, what=_("category"), field=field)


def get_root_cause_for(user: User, pk: int, action: str = "view", *, field: str = "root_cause_id") -> RootCause:
    return _get(root_causes_for(user, action), root_causes_for(user), pk, what=_("root cause"), field=field)


def get_queue_for(user: User, pk: int, action: str = "view", *, field: str = "queue_id") -> Queue:
    return _get(queues_for(user, action), queues_for(user), pk, what=_("queue"), field=field)


def get_canned_reply_for(user: User, pk: int, action: str = "view", *, field: str = "canned_reply_id") -> CannedReply:
    return _get(canned_replies_for(user, action), canned_replies_for(user), pk, what=_("canned reply"), field=field)
