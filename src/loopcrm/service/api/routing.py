"""REST endpoints: routing rules (thin). Reading needs service_config view, writing service_config change."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import departments_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut
from loopcrm.core.errors import NotFound, RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.customers.models import Tag
from loopcrm.customers.queries import get_customer_for
from loopcrm.service.models import Queue, Ticket, TicketCategory
from loopcrm.service.queries.routing import get_rule_for, require_config_change, rules_for
from loopcrm.service.schemas.routing import (
    DecisionOut,
    PreviewIn,
    ReorderIn,
    RuleIn,
    RuleListParams,
    RuleOut,
    RulePatch,
)
from loopcrm.service.services import routing as services

router = Router()


def _references(request, data: dict[str, Any]) -> dict[str, Any]:
    """The ids of the input as the rows they name; an unknown id is a 422 on its field."""
    lookups = {
        "category_id": ("category", TicketCategory.objects.all()),
        "customer_tag_id": ("customer_tag", Tag.objects.all()),
        "department_id": ("department", departments_for(request.user)),
        "queue_id": ("queue", Queue.objects.select_related("department")),
    }
    for key, (name, queryset) in lookups.items():
        if key in data:
            pk = data.pop(key)
            data[name] = None if pk is None else queryset.filter(pk=pk).first()
            if pk is not None and data[name] is None:
                raise RuleViolation(_("No such %(what)s (#%(id)s).") % {"what": name.replace("_", " "), "id": pk},
                                    field=key)
    return data


@router.get("/routing-rules", response={200: PageOut[RuleOut], **COMMON_ERRORS}, url_name="routing_rules",
            summary="List routing rules", description="In table order: the first active rule that matches wins.")
def list_rules(request, params: Query[RuleListParams]):
    page = paginate(rules_for(request.user), sort="position", allowed=("position",), cursor=params.cursor,
                    limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


@router.post("/routing-rules", response={201: RuleOut, **WRITE_ERRORS}, url_name="create_routing_rule",
             summary="Add a routing rule",
             description="Conditions left empty match anything; a rule must set at least one action.")
def create_rule(request, payload: RuleIn, response: HttpResponse):
    require_config_change(request.user)
    data = _references(request, payload.model_dump())
    rule = services.create_rule(by=request.user, **data)
    response["Location"] = f"/api/v1/routing-rules/{rule.pk}"
    return Status(201, rule)


@router.post("/routing-rules/reorder", response={200: list[RuleOut], **WRITE_ERRORS},
             url_name="reorder_routing_rules", summary="Put the routing rules in a new order")
def reorder_rules(request, payload: ReorderIn):
    require_config_change(request.user)
    return services.reorder_rules(payload.order, by=request.user)


@router.post("/routing-rules/preview", response={200: DecisionOut, **COMMON_ERRORS}, url_name="preview_routing",
             summary="Try the routing table on a ticket", description="What routing would decide for a ticket "
             "with these fields, and why. Nothing is written; no queue moves its turn.")
def preview(request, payload: PreviewIn):
    if not can(request.user, "service_config", "view"):
        raise NotFound(_("Not found."))
    customer = get_customer_for(request.user, payload.customer_id)
    category = None
    if payload.category_id is not None:
        category = TicketCategory.objects.filter(pk=payload.category_id).first()
        if category is None:
            raise RuleViolation(_("No such %(what)s (#%(id)s).") % {"what": "category", "id": payload.category_id},
                                field="category_id")
    ticket = Ticket(customer=customer, subject=payload.subject, kind=payload.kind, channel=payload.channel,
                    priority=payload.priority, category=category)
    decision = services.decide(ticket)
    return {"rule_id": decision.rule_id, "department_id": getattr(decision.department, "pk", None),
            "queue_id": getattr(decision.queue, "pk", None), "priority": decision.priority,
            "assignee_id": getattr(decision.assignee, "pk", None), "sla_policy_id": decision.sla_policy_id,
            "reasons": [str(reason) for reason in decision.reasons]}


@router.get("/routing-rules/{rule_id}", response={200: RuleOut, **COMMON_ERRORS}, url_name="routing_rule",
            summary="One routing rule")
def get_rule(request, rule_id: int):
    return get_rule_for(request.user, rule_id)


@router.patch("/routing-rules/{rule_id}", response={200: RuleOut, **WRITE_ERRORS}, url_name="update_routing_rule",
              summary="Change a routing rule")
def update_rule(request, rule_id: int, payload: RulePatch):
    rule = get_rule_for(request.user, rule_id, "change")
    data = payload.model_dump(exclude_unset=True)
    for name in ("name", "is_active", "include_subcategories", "kinds", "channels", "priorities", "customer_tiers",
                 "provinces", "keywords"):
        if name in data and data[name] is None:
            raise RuleViolation(_("This field cannot be empty (null)."), field=name)
    return services.update_rule(rule, by=request.user, **_references(request, data))


@router.delete("/routing-rules/{rule_id}", response={204: None, **WRITE_ERRORS}, url_name="delete_routing_rule",
               summary="Delete a routing rule")
def delete_rule(request, rule_id: int):
    rule = get_rule_for(request.user, rule_id, "change")
    services.delete_rule(rule, by=request.user)
    return Status(204, None)
