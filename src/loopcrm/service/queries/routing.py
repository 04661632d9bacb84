"""Reads of the routing table: service configuration, visible by role (all or nothing)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.loyalty.queries import ServiceBenefits
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


# --- what routing asks about many customers at once (a batch of new tickets) ----------------------------

def value_tiers(customer_ids: list[int]) -> dict[int, str]:
    """Each customer's value tier ("high", "medium", "low"; absent while unknown), as value.queries.tier_of."""
    from loopcrm.value.models import CustomerValue

    return {pk: tier for pk, tier in CustomerValue.objects.filter(customer_id__in=customer_ids)
            .values_list("customer_id", "tier") if tier}


def service_benefits_of(customer_ids: list[int]) -> dict[int, ServiceBenefits]:
    """Each member's best service benefits over active programmes, as loyalty.queries.service_benefits
    (customers without a membership are absent)."""
    from loopcrm.loyalty.models import Membership

    rows: dict[int, list[tuple]] = {}
    for customer_id, *row in (Membership.objects.filter(customer_id__in=customer_ids, programme__is_active=True)
                              .order_by("id")
                              .values_list("customer_id", "tier__name", "tier__priority_boost",
                                           "tier__dedicated_agent")):
        rows.setdefault(customer_id, []).append(row)
    return {pk: ServiceBenefits(priority_boost=max(r[1] for r in found), dedicated_agent=any(r[2] for r in found),
                                tiers=tuple(r[0] for r in found)) for pk, found in rows.items()}


def tag_ids_of(customer_ids: list[int]) -> dict[int, set[int]]:
    """Each customer's tag ids."""
    from loopcrm.customers.models import Customer

    tags: dict[int, set[int]] = {}
    for customer_id, tag_id in Customer.tags.through.objects.filter(customer_id__in=customer_ids) \
            .values_list("customer_id", "tag_id"):
        tags.setdefault(customer_id, set()).add(tag_id)
    return tags
