"""Configuration the ticket core reads: the category tree, work queues and canned replies.

Changing any of it needs the `service_config` change permission. The category tree keeps a
materialised `path` ("/3/7/") like departments, so "this category and below" is one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import can
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text, listing
from loopcrm.service.models import CannedReply, Queue, TicketCategory
from loopcrm.service.services.complaints import _clean_code

CANNED_BODY_MAX = 20_000


def _require_config(by: User | None) -> None:
    if by is not None and not can(by, "service_config", "change"):
        raise PermissionDenied(_("Your role may not change the service desk's configuration."))


def _unknown(changes: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise RuleViolation(_("Unknown or read-only field(s): %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RuleViolation(_("Expected true or false."), field=field)
    return value


# --- categories ---------------------------------------------------------------------------------

@transaction.atomic
def create_category(*, name: str, code: str, parent: TicketCategory | None = None,
                    by: User | None) -> TicketCategory:
    """A category, at the top or under `parent`."""
    _require_config(by)
    name = clean_line(name, field="name", max_length=100, required=True)
    code = _clean_code(code, model=TicketCategory)
    category = TicketCategory.objects.create(name=name, code=code, parent=parent)
    category.path = f"{parent.path if parent else '/'}{category.pk}/"
    category.save(update_fields=["path"])
    audit.record(action="create", obj=category, by=by, changes={"name": name, "code": code, "parent": parent})
    return category


@transaction.atomic
def update_category(category: TicketCategory, *, by: User | None, changes: dict[str, Any]) -> TicketCategory:
    """Rename, recode, (de)activate or move a category (with everything below it)."""
    _require_config(by)
    _unknown(changes, {"name", "code", "is_active", "parent"})
    category = TicketCategory.objects.select_for_update().get(pk=category.pk)
    before = audit.snapshot(category, changes.keys())
    if "name" in changes:
        category.name = clean_line(changes["name"], field="name", max_length=100, required=True)
    if "code" in changes:
        category.code = _clean_code(changes["code"], exclude_pk=category.pk, model=TicketCategory)
    if "is_active" in changes:
        category.is_active = _bool(changes["is_active"], "is_active")
    category.save()
    if "parent" in changes and changes["parent"] != category.parent:
        parent = changes["parent"]
        if parent is not None and parent.path.startswith(category.path):
            raise RuleViolation(_("A category cannot move below itself."), field="parent_id")
        old_path = category.path
        new_path = f"{parent.path if parent else '/'}{category.pk}/"
        category.parent = parent
        category.save(update_fields=["parent"])
        for node in TicketCategory.objects.select_for_update().filter(path__startswith=old_path):
            node.path = new_path + node.path[len(old_path):]
            node.save(update_fields=["path"])
        category.refresh_from_db()
    audit.record(action="update", obj=category, by=by, changes=audit.diff(before, audit.snapshot(category, changes)))
    return category


def category_and_below(category: TicketCategory) -> Iterable[int]:
    return TicketCategory.objects.filter(path__startswith=category.path).values_list("pk", flat=True)


# --- queues -------------------------------------------------------------------------------------

def _members(members: Iterable[User]) -> list[User]:
    members = list(members)
    for member in members:
        if not isinstance(member, User) or not member.is_active:
            raise RuleViolation(_("Queue members must be active users."), field="member_ids")
    return members


@transaction.atomic
def create_queue(*, name: str, code: str, department: Department, strategy: str = Queue.Strategy.LEAST_LOADED,
                 members: Iterable[User] = (), by: User | None) -> Queue:
    """A work queue in `department`; new tickets routed to it go to its available members."""
    _require_config(by)
    name = clean_line(name, field="name", max_length=100, required=True)
    code = _clean_code(code, model=Queue)
    if strategy not in Queue.Strategy.values:
        raise RuleViolation(_("Unknown assignment %(value)s; use one of: %(choices)s.")
                            % {"value": repr(strategy), "choices": listing(Queue.Strategy.values)}, field="strategy")
    if not isinstance(department, Department):
        raise RuleViolation(_("A queue belongs to a department."), field="department_id")
    queue = Queue.objects.create(name=name, code=code, department=department, strategy=strategy)
    member_list = _members(members)
    queue.members.set(member_list)
    audit.record(action="create", obj=queue, by=by, changes={
        "name": name, "code": code, "department": department, "strategy": strategy,
        "members": sorted(m.pk for m in member_list)})
    return queue


@transaction.atomic
def update_queue(queue: Queue, *, by: User | None, changes: dict[str, Any]) -> Queue:
    """Change a queue's name, code, department, strategy, active flag or members (replaced as a set)."""
    _require_config(by)
    _unknown(changes, {"name", "code", "department", "strategy", "is_active", "members"})
    queue = Queue.objects.select_for_update().get(pk=queue.pk)
    before = audit.snapshot(queue, [key for key in changes if key != "members"])
    if "name" in changes:
        queue.name = clean_line(changes["name"], field="name", max_length=100, required=True)
    if "code" in changes:
        queue.code = _clean_code(changes["code"], exclude_pk=queue.pk, model=Queue)
    if "department" in changes:
        if not isinstance(changes["department"], Department):
            raise RuleViolation(_("A queue belongs to a department."), field="department_id")
        queue.department = changes["department"]
    if "strategy" in changes:
        if changes["strategy"] not in Queue.Strategy.values:
            raise RuleViolation(_("Unknown assignment %(value)s; use one of: %(choices)s.")
                                % {"value": repr(changes["strategy"]), "choices": listing(Queue.Strategy.values)},
                                field="strategy")
        queue.strategy = changes["strategy"]
    if "is_active" in changes:
        queue.is_active = _bool(changes["is_active"], "is_active")
    queue.save()
    diff = audit.diff(before, audit.snapshot(queue, before.keys()))
    if "members" in changes:
        old = sorted(queue.members.values_list("pk", flat=True))
        new_members = _members(changes["members"])
        queue.members.set(new_members)
        if old != sorted(m.pk for m in new_members):
            diff["members"] = [old, sorted(m.pk for m in new_members)]
    audit.record(action="update", obj=queue, by=by, changes=diff)
    return queue


# --- canned replies -----------------------------------------------------------------------------

def _clean_canned(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "title" in values:
        cleaned["title"] = clean_line(values["title"], field="title", max_length=100, required=True)
    if "body" in values:
        cleaned["body"] = clean_text(values["body"], field="body", max_length=CANNED_BODY_MAX)
        if not cleaned["body"]:
            raise RuleViolation(_("This field is required."), field="body")
    if "department" in values:
        if values["department"] is not None and not isinstance(values["department"], Department):
            raise RuleViolation(_("Pick a department, or none for everyone."), field="department_id")
        cleaned["department"] = values["department"]
    if "is_active" in values:
        cleaned["is_active"] = _bool(values["is_active"], "is_active")
    return cleaned


@transaction.atomic
def create_canned_reply(*, title: str, body: str, department: Department | None = None,
                        by: User | None) -> CannedReply:
    """A saved answer for everyone (no department) or one department and those below it."""
    _require_config(by)
    values = _clean_canned({"title": title, "body": body, "department": department})
    reply = CannedReply.objects.create(**values, created_by=by if getattr(by, "pk", None) else None)
    audit.record(action="create", obj=reply, by=by, changes={"title": reply.title, "department": department})
    return reply


@transaction.atomic
def update_canned_reply(reply: CannedReply, *, by: User | None, changes: dict[str, Any]) -> CannedReply:
    _require_config(by)
    _unknown(changes, {"title", "body", "department", "is_active"})
    values = _clean_canned(changes)
    before = audit.snapshot(reply, values.keys())
    for key, value in values.items():
        setattr(reply, key, value)
    reply.save()
    audit.record(action="update", obj=reply, by=by, changes=audit.diff(before, audit.snapshot(reply, values)))
    return reply


@transaction.atomic
def delete_canned_reply(reply: CannedReply, *, by: User | None) -> None:
    _require_config(by)
    audit.record(action="delete", obj=reply, by=by, changes={"title": reply.title})
    reply.delete()


def render_canned_reply(reply: CannedReply, *, ticket) -> str:
    """The reply's text with {customer}, {ticket} and {agent} filled in (unknown braces stay as they are)."""
    if not reply.is_active:
        raise Conflict(_("This canned reply is no longer active."), field="canned_reply_id")
    values = {"customer": str(ticket.customer), "ticket": f"#{ticket.pk}",
              "agent": str(ticket.assignee) if ticket.assignee_id else ""}
    text = reply.body
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
