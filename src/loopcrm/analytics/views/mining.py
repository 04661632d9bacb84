"""The process map page (thin): filters in; the event log from analytics.queries.eventlog, mined by
analytics.mining, drawn by analytics.processmap; tables of bottlenecks, rework, ping-pong, variants and
conformance. The same view answers the whole page or, for htmx, only the results under the filters.

The highlighted bottleneck is the process step with the most time spent (when the tickets have steps),
else the top of the ranking: the waits after a ticket is resolved are not the process's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.models import Department, Team, User
from loopcrm.analytics import mining, processmap
from loopcrm.analytics.api.mining import conformance_of
from loopcrm.analytics.queries import eventlog as queries
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pages import domain_pages, htmx_target
from loopcrm.service.models import ProcessDefinition, Queue, Ticket, TicketCategory

TOP = 10


def top_bottleneck(ranking: list[mining.Bottleneck], targets: dict[str, float]) -> mining.Bottleneck | None:
    steps = [b for b in ranking if b.kind == "activity" and b.source in targets]
    return steps[0] if steps else (ranking[0] if ranking else None)


def _names(model, ids: set[int], label) -> dict[int, str]:
    return {obj.pk: label(obj) for obj in model.objects.filter(pk__in=ids)}


def _ping_pong(rows: list[mining.PingPong], names: dict[int, str]) -> list[dict[str, Any]]:
    return [{"a": names.get(p.a, f"#{p.a}"), "b": names.get(p.b, f"#{p.b}"), "count": p.count, "cases": p.cases}
            for p in rows[:TOP]]


def results(filters: queries.MiningFilter, loaded: queries.Loaded) -> dict[str, Any]:
    words = loaded.vocabulary
    log = loaded.log
    graph = mining.dfg(log)
    ranking = mining.bottlenecks(log, targets=words.targets, graph=graph)
    hot = top_bottleneck(ranking, words.targets)
    highlight = None if hot is None else \
        processmap.Highlight(hot.source, None if hot.kind == "activity" else hot.target)
    svg = processmap.process_map_svg(graph, names=words.names, targets=words.targets, highlight=highlight, labels={
        "title": _("Process map"), "start": _("Start"), "end": _("End"), "cases": _("tickets"),
        "median": _("median"), "bottleneck": _("bottleneck"), "target": _("target")})
    rework = mining.rework(log, reopen=[queries.REOPEN])
    queue_pp, queue_cases = mining.ping_pong(*loaded.queues)
    agent_pp, agent_cases = mining.ping_pong(*loaded.agents)
    queue_names = _names(Queue, {p.a for p in queue_pp[:TOP]} | {p.b for p in queue_pp[:TOP]}, lambda q: q.name)
    agent_names = _names(User, {p.a for p in agent_pp[:TOP]} | {p.b for p in agent_pp[:TOP]},
                         lambda u: u.display_name or u.username)
    variants = mining.variants(log, top=TOP)
    conformance = conformance_of(filters, loaded) if words.expected else None

    def name(key: str) -> str:
        return words.names.get(key, key)

    return {
        "graph": graph, "svg": mark_safe(svg),  # noqa: S308 — built by processmap, every text escaped there
        "hot": hot,
        "hot_name": "" if hot is None else name(hot.source) if hot.kind == "activity"
        else f"{name(hot.source)} → {name(hot.target)}",
        "bottlenecks": [(b, name(b.source) if b.kind == "activity" else f"{name(b.source)} → {name(b.target)}",
                         processmap.human(b.duration.median), processmap.human(b.duration.p90),
                         processmap.human(b.per_case), processmap.human(b.target_seconds) if b.target_seconds else "")
                        for b in ranking[:15]],
        "rework": rework, "rework_rows": [(r, name(r.activity)) for r in rework.activities[:TOP]],
        "queue_ping_pong": _ping_pong(queue_pp, queue_names), "queue_ping_pong_cases": queue_cases,
        "agent_ping_pong": _ping_pong(agent_pp, agent_names), "agent_ping_pong_cases": agent_cases,
        "variants": variants,
        "variant_rows": [(v, [name(a) for a in v.activities], processmap.human(v.duration.median))
                         for v in variants.top],
        "conformance": conformance,
        "conformance_rows": [(s, name(s.activity)) for s in conformance.steps] if conformance else [],
        "nodes": [(n, name(n.activity), processmap.human(n.duration.median), processmap.human(n.duration.mean),
                   processmap.human(n.duration.p90), processmap.human(words.targets.get(n.activity)))
                  for n in graph.nodes],
    }


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def process_map(request: HttpRequest) -> HttpResponse:
    queries.check_access(request.user)
    context: dict[str, Any] = {
        "params": request.GET,
        "processes": list(ProcessDefinition.objects.order_by("name").values_list("key", "name")),
        "kinds": [(str(code), str(label)) for code, label in Ticket.Kind.choices],
        "categories": list(TicketCategory.objects.order_by("path").values_list("pk", "name")),
        "departments": list(Department.objects.order_by("path").values_list("pk", "name")),
        "teams": list(Team.objects.order_by("name").values_list("pk", "name")),
        "views": [("lifecycle", _("Whole ticket life")), ("steps", _("Process steps only")),
                  ("all", _("Every event (replies, notes, SLA…)"))],
    }
    status = 200
    try:
        filters = queries.parse_filters(request.GET)
    except RuleViolation as error:
        status, context["problem"], context["problem_field"] = 400, error.message, error.field
        context["filters"] = queries.parse_filters({})
    else:
        context["filters"] = filters
        context.update(results(filters, queries.load_for(request.user, filters)))
    page = "analytics/mining/process_map.html"
    if htmx_target(request) == "mining-results":
        return render(request, f"{page}#results", context, status=status)
    return render(request, page, context, status=status)
