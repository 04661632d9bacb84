"""Reads of the routing table: service configuration, visible by role (all or nothing)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.service.models import RoutingRule

MAX_ID = 2**63 - 1


def rules_for(user: User, action: str = "view") -> QuerySet[RoutingRule]:
    """Routing rules in table order, with what they name joined."""
    if not can(user, "service_config", action):
        return RoutingRule.objects.none()
    return RoutingRule.objects.select_related("category", "customer_tag", "department", "queue", "sla_policy").order_by(
        "position", "id")


def get_rule_for(user: User, rule_id: int, action: str = "view") -> RoutingRule:
    if isinstance(rule_id, bool) or not isinstance(rule_id, int) or not 0 < rule_id <= MAX_ID:
        raise NotFound(_("No routing rule #%(id)s.") % {"id": rule_id}, field="rule_id")
    rule = rules_for(user, action).filter(pk=rule_id).first()
    if rule is not None:
        return rule
    if action != "view" and rules_for(user, "view").filter(pk=rule_id).exists():
        raise PermissionDenied(_("Your role may not change routing rules."), field="rule_id")
    raise NotFound(_("No routing rule #%(id)s.") % {"id": rule_id}, field="rule_id")


def require_config_change(user: User) -> None:
    """PermissionDenied (403) unless the user's role may change service configuration (it may still see it)."""
    if not can(user, "service_config", "change"):
        if not can(user, "service_config", "view"):
            raise NotFound(_("Not found."))
        raise PermissionDenied(_("Your role may not change the service configuration."))
