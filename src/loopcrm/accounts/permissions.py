"""The one permission layer: which rows of a kind a user may see or change, for API and UI alike.

A role gives, per object type and action, a *scope*: none, own, team, department (with its
sub-departments) or all. Each protected domain turns a scope into a queryset filter through
`scope_filter`; a record outside the scope is treated as missing (404), never as forbidden.
"""

from __future__ import annotations

from enum import IntEnum

from django.conf import settings
from django.db.models import Q

from loopcrm.accounts.models import Role, User


class Scope(IntEnum):
    NONE = 0
    OWN = 1
    TEAM = 2
    DEPARTMENT = 3
    ALL = 4


NONE, OWN, TEAM, DEPT, ALL = Scope.NONE, Scope.OWN, Scope.TEAM, Scope.DEPARTMENT, Scope.ALL

# role -> object type -> action -> scope. "customer" covers orders and interactions too, which are
# seen through their customer; "directory" is users and departments. "ticket" rows are scoped by
# assignee and department; "service_config" is SLA policies, calendars, routing, processes, queues;
# "feedback" is survey answers and verbatims (own = about tickets one handled); a customer's "privacy"
# action is answering their requests about their personal data (a copy of everything held); "transfer" is bulk
# import and export (export still only reaches rows the user may view).
DEFAULT_SCOPES: dict[str, dict[str, dict[str, Scope]]] = {
    Role.ADMINISTRATOR: {
        "customer": {"view": ALL, "change": ALL, "delete": ALL, "merge": ALL, "privacy": ALL},
        "product": {"view": ALL, "change": ALL},
        "directory": {"view": ALL, "change": ALL},
        "ticket": {"view": ALL, "change": ALL, "assign": ALL},
        "service_config": {"view": ALL, "change": ALL},
        "survey": {"view": ALL, "change": ALL},
        "feedback": {"view": ALL},
        "value": {"view": ALL, "change": ALL},
        "segment": {"view": ALL, "change": ALL},
        "loyalty": {"view": ALL, "change": ALL},
        "transfer": {"import": ALL, "export": ALL},
        "improvement": {"view": ALL, "change": ALL},
    },
    Role.MANAGER: {
        "customer": {"view": ALL, "change": DEPT, "delete": DEPT, "merge": DEPT, "privacy": DEPT},
        "product": {"view": ALL, "change": ALL},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": DEPT, "change": DEPT, "assign": DEPT},
        "service_config": {"view": ALL, "change": ALL},
        "survey": {"view": ALL, "change": ALL},
        "feedback": {"view": DEPT},
        "value": {"view": ALL, "change": ALL},
        "segment": {"view": ALL, "change": ALL},
        "loyalty": {"view": ALL, "change": ALL},
        "transfer": {"import": DEPT, "export": DEPT},
        "improvement": {"view": ALL, "change": ALL},
    },
    Role.TEAM_LEAD: {
        "customer": {"view": ALL, "change": TEAM, "delete": NONE, "merge": TEAM, "privacy": NONE},
        "product": {"view": ALL, "change": NONE},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": DEPT, "change": DEPT, "assign": DEPT},
        "service_config": {"view": ALL, "change": NONE},
        "survey": {"view": ALL, "change": NONE},
        "feedback": {"view": DEPT},
        "value": {"view": ALL, "change": NONE},
        "segment": {"view": ALL, "change": NONE},
        "loyalty": {"view": ALL, "change": NONE},
        "transfer": {"import": NONE, "export": DEPT},
        "improvement": {"view": ALL, "change": TEAM},
    },
    Role.AGENT: {
        "customer": {"view": ALL, "change": OWN, "delete": NONE, "merge": NONE, "privacy": NONE},
        "product": {"view": ALL, "change": NONE},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": DEPT, "change": DEPT, "assign": NONE},
        "service_config": {"view": ALL, "change": NONE},
        "survey": {"view": NONE, "change": NONE},
        "feedback": {"view": OWN},
        "value": {"view": ALL, "change": NONE},
        "segment": {"view": NONE, "change": NONE},
        "loyalty": {"view": ALL, "change": NONE},
        "transfer": {"import": NONE, "export": NONE},
        "improvement": {"view": ALL, "change": NONE},
    },
    Role.SALES: {
        "customer": {"view": TEAM, "change": OWN, "delete": NONE, "merge": NONE, "privacy": NONE},
        "product": {"view": ALL, "change": NONE},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": OWN, "change": OWN, "assign": NONE},
        "service_config": {"view": NONE, "change": NONE},
        "survey": {"view": NONE, "change": NONE},
        "feedback": {"view": NONE},
        "value": {"view": ALL, "change": NONE},
        "segment": {"view": ALL, "change": ALL},
        "loyalty": {"view": ALL, "change": NONE},
        "transfer": {"import": OWN, "export": OWN},
        "improvement": {"view": NONE, "change": NONE},
    },
    Role.MARKETING: {
        "customer": {"view": ALL, "change": NONE, "delete": NONE, "merge": NONE, "privacy": NONE},
        "product": {"view": ALL, "change": ALL},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": NONE, "change": NONE, "assign": NONE},
        "service_config": {"view": NONE, "change": NONE},
        "survey": {"view": ALL, "change": ALL},
        "feedback": {"view": ALL},
        "value": {"view": ALL, "change": ALL},
        "segment": {"view": ALL, "change": ALL},
        "loyalty": {"view": ALL, "change": ALL},
        "transfer": {"import": ALL, "export": ALL},
        "improvement": {"view": ALL, "change": NONE},
    },
    Role.QUALITY_MANAGER: {
        "customer": {"view": ALL, "change": NONE, "delete": NONE, "merge": NONE, "privacy": NONE},
        "product": {"view": ALL, "change": NONE},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": ALL, "change": NONE, "assign": NONE},
        "service_config": {"view": ALL, "change": ALL},
        "survey": {"view": ALL, "change": ALL},
        "feedback": {"view": ALL},
        "value": {"view": ALL, "change": NONE},
        "segment": {"view": ALL, "change": ALL},
        "loyalty": {"view": ALL, "change": NONE},
        "transfer": {"import": NONE, "export": ALL},
        "improvement": {"view": ALL, "change": ALL},
    },
    Role.EXECUTIVE: {
        "customer": {"view": ALL, "change": NONE, "delete": NONE, "merge": NONE, "privacy": NONE},
        "product": {"view": ALL, "change": NONE},
        "directory": {"view": ALL, "change": NONE},
        "ticket": {"view": ALL, "change": NONE, "assign": NONE},
        "service_config": {"view": ALL, "change": NONE},
        "survey": {"view": ALL, "change": NONE},
        "feedback": {"view": ALL},
        "value": {"view": ALL, "change": NONE},
        "segment": {"view": ALL, "change": NONE},
        "loyalty": {"view": ALL, "change": NONE},
        "transfer": {"import": NONE, "export": ALL},
        "improvement": {"view": ALL, "change": NONE},
    },
}


def scope_for(user: User, object_type: str, action: str) -> Scope:
    """The widest scope `user` has for `action` on `object_type` (NONE for anonymous or inactive users)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope.NONE
    if user.is_superuser:
        return Scope.ALL
    table = getattr(settings, "LOOPCRM_SCOPES", None) or DEFAULT_SCOPES
    return table.get(user.role, {}).get(object_type, {}).get(action, Scope.NONE)


def can(user: User, object_type: str, action: str) -> bool:
    return scope_for(user, object_type, action) > Scope.NONE


def scope_filter(
    user: User, object_type: str, action: str, *, owner: str, department: str
) -> Q | None:
    """A Q that keeps the rows `user` may reach, given the lookups of the row's owner and department.

    Returns None when the scope is NONE (the caller answers with nothing). For example, for
    interactions: `scope_filter(user, "customer", "view", owner="customer__owner",
    department="customer__department")`.
    """
    scope = scope_for(user, object_type, action)
    if scope == Scope.NONE:
        return None
    if scope == Scope.ALL:
        return Q()
    if scope == Scope.OWN:
        return Q(**{owner: user.pk})
    if scope == Scope.TEAM:
        team_members = User.objects.filter(teams__members=user).values("pk")
        return Q(**{owner: user.pk}) | Q(**{f"{owner}__in": team_members})
    # DEPARTMENT: the user's department and everything below it; rows without a department stay
    # with their owner.
    if user.department_id is None:
        return Q(**{owner: user.pk})
    path = user.department.path
    return Q(**{f"{department}__path__startswith": path}) | Q(**{owner: user.pk})
