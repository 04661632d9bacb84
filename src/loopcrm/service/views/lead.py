"""The team lead's view of the service desk (thin): queue load, open tickets by status, SLA breaches and
the workload of each agent with their availability — all counted in the database over the tickets the
lead may see (the tickets' read door)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import users_for
from loopcrm.core.errors import PermissionDenied
from loopcrm.core.pages import domain_pages
from loopcrm.service.models import Ticket
from loopcrm.service.queries.sla import tickets_breaching_soon
from loopcrm.service.queries.tickets import ACTIVE_STATUSES, BREACHING_WITHIN, tickets_for

OVERDUE_LIST = 10


@dataclass
class AgentLoad:
    agent: User
    open: int = 0
    overdue: int = 0


@dataclass
class TeamOverview:
    """What a lead reads at a glance; every number is over the active tickets the lead may see."""

    open_total: int
    unassigned: int
    breaching_soon: int
    overdue: int
    by_status: list[tuple[str, str, int]]
    by_queue: list[dict]
    agents: list[AgentLoad]
    overdue_tickets: list[Ticket] = field(default_factory=list)


def team_overview(user: User, *, at: dt.datetime | None = None) -> TeamOverview:
    at = at or timezone.now()
    active = tickets_for(user, "view").filter(status__in=ACTIVE_STATUSES)
    overdue = tickets_breaching_soon(active, dt.timedelta(0), at)
    soon = tickets_breaching_soon(active, BREACHING_WITHIN, at)
    labels = dict(Ticket.Status.choices)
    status_counts = dict(active.order_by().values_list("status").annotate(n=Count("id")))
    by_status = [(status, labels[status], status_counts.get(status, 0)) for status in ACTIVE_STATUSES]
    by_queue = list(
        active.order_by().values("queue_id", "queue__name")
        .annotate(open=Count("id"), unassigned=Count("id", filter=Q(assignee__isnull=True)),
                  urgent=Count("id", filter=Q(priority__gte=Ticket.Priority.HIGH)))
        .order_by("-open")
    )
    open_by_agent = dict(active.filter(assignee__isnull=False).order_by().values_list("assignee")
                         .annotate(n=Count("id")))
    overdue_by_agent = dict(overdue.filter(assignee__isnull=False).order_by().values_list("assignee")
                            .annotate(n=Count("id")))
    people = users_for(user).filter(is_active=True)
    if user.department_id is not None and not user.is_superuser:
        people = people.filter(Q(department__path__startswith=user.department.path) | Q(pk__in=list(open_by_agent)))
    else:
        people = people.filter(Q(pk__in=list(open_by_agent)) | Q(queues__isnull=False)).distinct()
    agents = [AgentLoad(agent=person, open=open_by_agent.get(person.pk, 0), overdue=overdue_by_agent.get(person.pk, 0))
              for person in people.order_by("display_name", "username")]
    agents.sort(key=lambda row: (-row.overdue, -row.open, str(row.agent)))
    return TeamOverview(
        open_total=sum(status_counts.values()), unassigned=active.filter(assignee__isnull=True).count(),
        breaching_soon=soon.count(), overdue=overdue.count(), by_status=by_status, by_queue=by_queue,
        agents=agents, overdue_tickets=list(overdue.order_by("-priority", "id")[:OVERDUE_LIST]),
    )


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def team_queue(request: HttpRequest) -> HttpResponse:
    """The team lead view (those who may assign tickets: leads, managers, administrators)."""
    if not can(request.user, "ticket", "assign"):
        raise PermissionDenied(_("Your role does not lead a team of agents."))
    overview = team_overview(request.user)
    peak = max([row["open"] for row in overview.by_queue] + [row.open for row in overview.agents] + [1])
    return render(request, "service/workbench/team.html", {"overview": overview, "peak": peak})


urlpatterns = [
    path("service/team/", team_queue, name="team_queue"),
]
