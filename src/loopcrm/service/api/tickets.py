"""REST endpoints of the ticket core (thin): load through queries, call one service, serialise.

Tickets, their conversation, events and attachments; categories, root causes, queues and canned
replies. The same scopes as the pages: out of scope is 404, seen but not changeable is 403.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Query, Router, Status
from ninja.files import UploadedFile

from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.commerce.models import Order
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.core.pagination import Page, paginate
from loopcrm.customers.models import ContactPerson
from loopcrm.customers.queries import customers_for
from loopcrm.service.filters import TicketFilter
from loopcrm.service.models import TicketMessage
from loopcrm.service.queries import tickets as queries
from loopcrm.service.schemas.tickets import (
    AssignIn,
    AttachmentOut,
    CallIn,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ChangeIds,
    ChangeTags,
    EventOut,
    ListParams,
    MessageIn,
    MessageOut,
    QueueIn,
    QueueOut,
    QueuePatch,
    RootCauseIn,
    RootCauseOut,
    RootCausePatch,
    StatusIn,
    TicketBatchIn,
    TicketBatchOut,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TicketPatch,
)
from loopcrm.service.services import categories as category_services
from loopcrm.service.services import complaints as complaint_services
from loopcrm.service.services import tickets as services
from loopcrm.service.services.attachments import Upload, open_attachment
from loopcrm.service.services.opening import TicketRequest, open_tickets

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem, 503: Problem}
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _version(body_version: int | None, if_match: str | None, *, required: bool) -> int | None:
    """The version the client read: from the body or the If-Match header (an ETag we sent)."""
    header_version = None
    if if_match:
        match = _ETAG.match(if_match)
        if not match:
            raise RuleViolation(_('If-Match must be the ETag you received, such as "3" (not *).'), field="If-Match")
        header_version = int(match.group(1))
    if body_version is not None and header_version is not None and body_version != header_version:
        raise RuleViolation(_("The version in the body and the If-Match header disagree."), field="version")
    version = body_version if body_version is not None else header_version
    if version is None and required:
        raise RuleViolation(_("Send the version you read, in the body or as the If-Match header."), field="version")
    return version


def _one(queryset, pk: int | None, field: str, what: str):
    if pk is None:
        return None
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise RuleViolation(_("No %(what)s #%(id)s.") % {"what": what, "id": pk}, field=field)
    return row


def _references(request: HttpRequest, data: dict[str, Any], *, customer_id: int | None = None) -> dict[str, Any]:
    """The ids of the input as the rows they name (unknown or invisible ids are a 422 on that field)."""
    user = request.user
    lookups = {
        "customer_id": ("customer", lambda: customers_for(user, "view"), _("customer")),
        "contact_id": ("contact", lambda: ContactPerson.objects.filter(organisation_id=customer_id), _("contact")),
        "order_id": ("order", lambda: Order.objects.filter(customer_id=customer_id), _("order")),
        "category_id": ("category", lambda: queries.categories_for(user), _("category")),
        "root_cause_id": ("root_cause", lambda: queries.root_causes_for(user), _("root cause")),
        "department_id": ("department", lambda: departments_for(user), _("department")),
        "queue_id": ("queue", lambda: queries.queues_for(user), _("queue")),
        "assignee_id": ("assignee", lambda: users_for(user), _("user")),
        "parent_id": ("parent", None, None),
    }
    for key, (name, queryset, what) in lookups.items():
        if key in data and queryset is not None:
            data[name] = _one(queryset(), data.pop(key), key, what)
    for key, name in (("follower_ids", "followers"), ("member_ids", "members")):
        if key in data and data[key] is not None:
            ids = data.pop(key)
            found = {u.pk: u for u in users_for(user).filter(pk__in=ids)}
            missing = [pk for pk in ids if pk not in found]
            if missing:
                raise RuleViolation(_("No user #%(id)s.") % {"id": missing[0]}, field=key)
            data[name] = [found[pk] for pk in ids]
    return data


def _etag(response: HttpResponse, ticket) -> None:
    response["ETag"] = f'"{ticket.version}"'


def _detail(request: HttpRequest, ticket_id: int, response: HttpResponse):
    ticket = queries.get_ticket_for(request.user, ticket_id)
    _etag(response, ticket)
    return ticket


# --- tickets ------------------------------------------------------------------------------------

@router.get("tickets", response={200: PageOut[TicketOut], **COMMON_ERRORS}, url_name="tickets",
            summary="List tickets",
            description="Tickets you may see, by inbox view and filters; cursor-paginated. An unknown sort is a 400.")
def list_tickets(request, filters: Query[TicketFilter]):
    return _page(queries.ticket_page(request.user, filters))


@router.post("tickets", response={201: TicketDetailOut, **CHANGE_ERRORS}, url_name="open_ticket",
             summary="Open a ticket",
             description="Routing picks department, queue, priority and SLA policy unless you name them; the "
                         "description becomes the first message. A complaint repeating one of the same customer "
                         "and category within the window is marked `repeat_of`.")
def open_ticket(request, payload: TicketIn, response: HttpResponse):
    data = payload.model_dump()
    data = _references(request, data, customer_id=data["customer_id"])
    ticket = services.open_ticket(by=request.user, **data)
    response["Location"] = f"/api/v1/tickets/{ticket.pk}"
    return Status(201, _detail(request, ticket.pk, response))


@router.post("tickets/batch", response={201: TicketBatchOut, **CHANGE_ERRORS}, url_name="open_tickets",
             summary="Open many tickets",
             description="Up to 500 tickets in one transaction, all or none, each routed, assigned and put under "
                         "its SLA and process exactly as POST /tickets would, in the order sent. A ticket that "
                         "breaks a rule stops the batch: the 422 names its place (`index`) and field.")
def open_ticket_batch(request, payload: TicketBatchIn):
    requests = []
    for index, item in enumerate(payload.tickets):
        data = item.model_dump()
        try:
            requests.append(TicketRequest(**_references(request, data, customer_id=data["customer_id"])))
        except DomainError as error:
            error.extra = {**error.extra, "index": index}
            raise
    tickets = open_tickets(requests, by=request.user)
    return Status(201, {"ids": [ticket.pk for ticket in tickets]})


@router.post("tickets/calls", response={201: TicketDetailOut, **CHANGE_ERRORS}, url_name="log_call",
             summary="Log a phone call",
             description="On an existing ticket of the customer (`ticket_id`), or as a new phone ticket.")
def log_call(request, payload: CallIn, response: HttpResponse):
    data = payload.model_dump()
    ticket_id = data.pop("ticket_id")
    data = _references(request, data, customer_id=data["customer_id"])
    ticket = queries.get_ticket_for(request.user, ticket_id, "change") if ticket_id else None
    ticket = services.log_call(by=request.user, ticket=ticket, **data)
    return Status(201, _detail(request, ticket.pk, response))


@router.get("tickets/{ticket_id}", response={200: TicketDetailOut, **COMMON_ERRORS}, url_name="ticket",
            summary="One ticket")
def get_ticket(request, ticket_id: int, response: HttpResponse):
    return _detail(request, ticket_id, response)


@router.patch("tickets/{ticket_id}", response={200: TicketDetailOut, **CHANGE_ERRORS}, url_name="update_ticket",
              summary="Change a ticket's fields",
              description="Send the `version` you read (or `If-Match`); if someone changed the ticket since, the "
                          "answer is 409 and nothing changes. Status, assignee, tags and followers have their own "
                          "endpoints.")
def update_ticket(request, ticket_id: int, payload: TicketPatch, response: HttpResponse,
                  if_match: str | None = Header(None, alias="If-Match")):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    version = _version(payload.version, if_match, required=True)
    changes = _references(request, payload.model_dump(exclude_unset=True, exclude={"version"}),
                          customer_id=ticket.customer_id)
    services.update_ticket(ticket, by=request.user, version=version, changes=changes)
    return _detail(request, ticket_id, response)


@router.post("tickets/{ticket_id}/status", response={200: TicketDetailOut, **CHANGE_ERRORS},
             url_name="change_ticket_status", summary="Change a ticket's status",
             description="Only allowed transitions (a refusal lists the allowed ones in `errors[0].allowed`). "
                         "Resolving with mandatory process steps open needs `override_reason`; closing an "
                         "unresolved ticket needs `reason`.")
def change_status(request, ticket_id: int, payload: StatusIn, response: HttpResponse,
                  if_match: str | None = Header(None, alias="If-Match")):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    services.change_status(ticket, payload.status, by=request.user, reason=payload.reason,
                           override_reason=payload.override_reason,
                           version=_version(payload.version, if_match, required=False))
    return _detail(request, ticket_id, response)


@router.post("tickets/{ticket_id}/assign", response={200: TicketDetailOut, **CHANGE_ERRORS}, url_name="assign_ticket",
             summary="Assign a ticket",
             description="Take it yourself, or (with the assign permission) give it to someone; moving it from "
                         "someone else needs a `reason`.")
def assign_ticket(request, ticket_id: int, payload: AssignIn, response: HttpResponse,
                  if_match: str | None = Header(None, alias="If-Match")):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    agent = _one(users_for(request.user), payload.assignee_id, "assignee_id", _("user"))
    services.assign(ticket, to=agent, by=request.user, reason=payload.reason,
                    version=_version(payload.version, if_match, required=False))
    return _detail(request, ticket_id, response)


@router.post("tickets/{ticket_id}/followers", response={200: TicketDetailOut, **CHANGE_ERRORS},
             url_name="ticket_followers", summary="Add and remove followers")
def change_followers(request, ticket_id: int, payload: ChangeIds, response: HttpResponse):
    ticket = queries.get_ticket_for(request.user, ticket_id)
    ids = [*payload.add, *payload.remove]
    found = {u.pk: u for u in users_for(request.user).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise RuleViolation(_("No user #%(id)s.") % {"id": missing[0]},
                            field="add" if missing[0] in payload.add else "remove")
    services.change_followers(ticket, by=request.user, add=[found[pk] for pk in payload.add],
                              remove=[found[pk] for pk in payload.remove])
    return _detail(request, ticket_id, response)


@router.post("tickets/{ticket_id}/tags", response={200: TicketDetailOut, **CHANGE_ERRORS}, url_name="ticket_tags",
             summary="Add and remove tags", description="By name, case-insensitive; unknown names create tags.")
def change_tags(request, ticket_id: int, payload: ChangeTags, response: HttpResponse):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    services.change_tags(ticket, by=request.user, add=payload.add, remove=payload.remove)
    return _detail(request, ticket_id, response)


# --- conversation, events, attachments ----------------------------------------------------------

@router.get("tickets/{ticket_id}/messages", response={200: PageOut[MessageOut], **COMMON_ERRORS},
            url_name="ticket_messages", summary="The conversation, oldest first (replies, notes, customer messages)")
def list_messages(request, ticket_id: int, params: Query[ListParams]):
    ticket = queries.get_ticket_for(request.user, ticket_id)
    return _page(paginate(queries.messages_of(ticket), sort="id", allowed=("id",), cursor=params.cursor,
                          limit=params.limit))


@router.post("tickets/{ticket_id}/messages", response={201: MessageOut, **CHANGE_ERRORS},
             url_name="add_ticket_message", summary="Reply, add a note, or record what the customer said",
             description="A reply is public (emailed when the customer has an address); a note is internal.")
def add_message(request, ticket_id: int, payload: MessageIn):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    if payload.status is not None and payload.kind != TicketMessage.Kind.REPLY:
        raise RuleViolation(_("Only a reply can move the ticket's status."), field="status")
    if payload.kind == TicketMessage.Kind.REPLY:
        message = services.add_reply(ticket, body=payload.body, by=request.user, status=payload.status,
                                     channel=payload.channel)
    elif payload.kind == TicketMessage.Kind.NOTE:
        message = services.add_note(ticket, body=payload.body, by=request.user)
    else:
        message = services.record_customer_message(ticket, body=payload.body, by=request.user,
                                                   channel=payload.channel)
    return Status(201, queries.messages_of(ticket).get(pk=message.pk))


@router.get("tickets/{ticket_id}/events", response={200: PageOut[EventOut], **COMMON_ERRORS},
            url_name="ticket_events", summary="The ticket's event log, oldest first")
def list_events(request, ticket_id: int, params: Query[ListParams]):
    ticket = queries.get_ticket_for(request.user, ticket_id)
    return _page(paginate(queries.events_of(ticket), sort="id", allowed=("id",), cursor=params.cursor,
                          limit=params.limit))


@router.get("tickets/{ticket_id}/attachments", response={200: list[AttachmentOut], **COMMON_ERRORS},
            url_name="ticket_attachments", summary="Files on the ticket")
def list_attachments(request, ticket_id: int):
    return list(queries.attachments_of(queries.get_ticket_for(request.user, ticket_id)))


@router.post("tickets/{ticket_id}/attachments", response={201: MessageOut, **CHANGE_ERRORS},
             url_name="add_ticket_attachments", summary="Upload files",
             description="Multipart: one or more `file` parts, an optional `body`, and `public` (false: the "
                         "files go on an internal note; true: on a reply to the customer). A file over the size "
                         "limit answers 413; a type not accepted, or content that contradicts its type, 422.")
def add_attachments(request, ticket_id: int, file: File[list[UploadedFile]], body: Form[str] = "",
                    public: Form[bool] = False):
    ticket = queries.get_ticket_for(request.user, ticket_id, "change")
    uploads = [Upload(filename=f.name or "upload", content_type=f.content_type or "", content=f, size=f.size)
               for f in file]
    message = services.attach_files(ticket, uploads=uploads, by=request.user, body=body[:100_000], public=public)
    return Status(201, queries.messages_of(ticket).get(pk=message.pk))


@router.get("tickets/{ticket_id}/attachments/{attachment_id}/content", response={200: None, **COMMON_ERRORS},
            url_name="ticket_attachment_content", summary="Download a file")
def download_attachment(request, ticket_id: int, attachment_id: int):
    attachment = queries.get_attachment_for(request.user, ticket_id, attachment_id)
    response = FileResponse(open_attachment(attachment), as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- categories, root causes, queues, canned replies --------------------------------------------

@router.get("ticket-categories", response={200: list[CategoryOut], **COMMON_ERRORS}, url_name="ticket_categories",
            summary="The category tree, in path order")
def list_categories(request):
    return list(queries.categories_for(request.user))


@router.post("ticket-categories", response={201: CategoryOut, **CHANGE_ERRORS}, url_name="create_ticket_category",
             summary="Add a category")
def create_category(request, payload: CategoryIn):
    parent = queries.get_category_for(request.user, payload.parent_id, field="parent_id") \
        if payload.parent_id else None
    return Status(201, category_services.create_category(name=payload.name, code=payload.code, parent=parent,
                                                         by=request.user))


@router.patch("ticket-categories/{category_id}", response={200: CategoryOut, **CHANGE_ERRORS},
              url_name="update_ticket_category", summary="Rename, move or (de)activate a category")
def update_category(request, category_id: int, payload: CategoryPatch):
    category = queries.get_category_for(request.user, category_id, "change")
    changes = payload.model_dump(exclude_unset=True)
    if "parent_id" in changes:
        parent_id = changes.pop("parent_id")
        changes["parent"] = queries.get_category_for(request.user, parent_id, field="parent_id") if parent_id else None
    return category_services.update_category(category, by=request.user, changes=changes)


@router.get("root-causes", response={200: list[RootCauseOut], **COMMON_ERRORS}, url_name="root_causes",
            summary="Root causes of complaints (the six default branches and what is configured below them)")
def list_root_causes(request):
    return list(queries.root_causes_for(request.user))


@router.post("root-causes", response={201: RootCauseOut, **CHANGE_ERRORS}, url_name="create_root_cause",
             summary="Add a root cause")
def create_root_cause(request, payload: RootCauseIn):
    parent = queries.get_root_cause_for(request.user, payload.parent_id, field="parent_id") \
        if payload.parent_id else None
    return Status(201, complaint_services.create_root_cause(code=payload.code, name=payload.name,
                                                            branch=payload.branch, parent=parent, by=request.user))


@router.patch("root-causes/{cause_id}", response={200: RootCauseOut, **CHANGE_ERRORS}, url_name="update_root_cause",
              summary="Rename or (de)activate a root cause")
def update_root_cause(request, cause_id: int, payload: RootCausePatch):
    cause = queries.get_root_cause_for(request.user, cause_id, "change", field="cause_id")
    return complaint_services.update_root_cause(cause, by=request.user, changes=payload.model_dump(exclude_unset=True))


@router.get("queues", response={200: list[QueueOut], **COMMON_ERRORS}, url_name="queues", summary="Work queues")
def list_queues(request):
    return list(queries.queues_for(request.user))


@router.post("queues", response={201: QueueOut, **CHANGE_ERRORS}, url_name="create_queue", summary="Add a queue")
def create_queue(request, payload: QueueIn):
    data = _references(request, payload.model_dump())
    if data["department"] is None:
        raise RuleViolation(_("A queue belongs to a department."), field="department_id")
    return Status(201, category_services.create_queue(by=request.user, **data))


@router.patch("queues/{queue_id}", response={200: QueueOut, **CHANGE_ERRORS}, url_name="update_queue",
              summary="Change a queue (members are replaced as a set)")
def update_queue(request, queue_id: int, payload: QueuePatch):
    queue = queries.get_queue_for(request.user, queue_id, "change")
    changes = _references(request, payload.model_dump(exclude_unset=True))
    return category_services.update_queue(queue, by=request.user, changes=changes)


@router.get("canned-replies", response={200: list[CannedReplyOut], **COMMON_ERRORS}, url_name="canned_replies",
            summary="Canned replies you may use")
def list_canned_replies(request):
    return list(queries.canned_replies_for(request.user))


@router.post("canned-replies", response={201: CannedReplyOut, **CHANGE_ERRORS}, url_name="create_canned_reply",
             summary="Add a canned reply", description="`{customer}`, `{ticket}` and `{agent}` are filled in.")
def create_canned_reply(request, payload: CannedReplyIn):
    data = _references(request, payload.model_dump())
    return Status(201, category_services.create_canned_reply(by=request.user, **data))


@router.patch("canned-replies/{reply_id}", response={200: CannedReplyOut, **CHANGE_ERRORS},
              url_name="update_canned_reply", summary="Change a canned reply")
def update_canned_reply(request, reply_id: int, payload: CannedReplyPatch):
    reply = queries.get_canned_reply_for(request.user, reply_id, "change", field="reply_id")
    changes = _references(request, payload.model_dump(exclude_unset=True))
    return category_services.update_canned_reply(reply, by=request.user, changes=changes)


@router.delete("canned-replies/{reply_id}", response={204: None, **CHANGE_ERRORS}, url_name="delete_canned_reply",
               summary="Delete a canned reply")
def delete_canned_reply(request, reply_id: int):
    reply = queries.get_canned_reply_for(request.user, reply_id, "change", field="reply_id")
    category_services.delete_canned_reply(reply, by=request.user)
    return Status(204, None)
