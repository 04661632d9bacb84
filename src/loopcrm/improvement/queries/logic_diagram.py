"""The customer quality logic diagram read from the live configuration plus what quality managers added.

Layers, and where their live elements come from:
- needs: the topics customers raise (feedback's needs ranking), when the user may see feedback;
- service processes: active standard service processes with their current version's steps, whose target
  times are the control points;
- key indicators: metrics of the registry — a core set, every metric a control chart watches and every
  metric a relationship or an element names — with their control charts;
- feedback mechanisms: active surveys (kind and trigger) and the channels unsolicited feedback came by.
Every element has a key ("need:delivery", "process:3", "step:12", "metric:csat", "chart:4", "survey:2",
"channel:wechat", "element:7") that relationships (`LogicLink`) name. Survey → indicator relationships
(a CSAT survey feeds CSAT) are live; all others are added by people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.core.choices import Channel
from loopcrm.core.errors import NotFound, RuleViolation
from loopcrm.improvement import logic_svg
from loopcrm.improvement.models import LogicElement, LogicLink
from loopcrm.improvement.queries.fishbone import require_view

MAX_ID = 2**63 - 1
LAYERS = tuple(LogicElement.Layer.values)
KINDS = ("need", "process", "step", "metric", "chart", "survey", "channel", "element")
KIND_LAYER = {"need": "need", "process": "process", "step": "process", "metric": "indicator", "chart": "indicator",
              "survey": "feedback", "channel": "feedback"}
CORE_INDICATORS = ("first_response_minutes", "resolution_minutes", "sla_attainment", "complaint_rate_orders",
                   "repeat_complaint_rate", "csat", "nps", "ces", "closed_loop_rate")
SURVEY_METRIC = {"csat": "csat", "nps": "nps", "ces": "ces"}
NEEDS_SHOWN = 8


@dataclass
class ControlPoint:
    """A step's target time or a control chart on an indicator."""

    key: str
    label: str
    target_minutes: int | None = None


@dataclass
class LogicNode:
    key: str
    layer: str
    label: str
    live: bool
    details: list[str] = field(default_factory=list)
    control_points: list[ControlPoint] = field(default_factory=list)
    note: str = ""
    url: str = ""
    element_id: int | None = None
    source_type: str = ""
    source_id: str = ""


@dataclass
class LogicEdge:
    source: str
    target: str
    strength: str
    live: bool
    id: int | None = None
    note: str = ""


@dataclass
class LogicDiagram:
    nodes: list[LogicNode]
    edges: list[LogicEdge]
    rows: list[str]  # matrix rows: need keys
    columns: list[str]  # matrix columns: process and indicator keys

    def layer(self, layer: str) -> list[LogicNode]:
        return [node for node in self.nodes if node.layer == layer]

    def cell(self, row: str, column: str) -> str:
        for edge in self.edges:
            if {edge.source, edge.target} == {row, column}:
                return edge.strength
        return ""

    def matrix(self) -> list[dict[str, Any]]:
        """Rows of the matrix for a page or the API: the need and one strength (or "") per column."""
        cells = {}
        for edge in self.edges:
            cells[(edge.source, edge.target)] = edge
            cells[(edge.target, edge.source)] = edge
        nodes = {node.key: node for node in self.nodes}
        return [{"need": nodes[row], "cells": [
            {"column": column, "strength": cells[(row, column)].strength if (row, column) in cells else "",
             "live": cells[(row, column)].live if (row, column) in cells else False} for column in self.columns]}
            for row in self.rows]


# --- keys ------------------------------------------------------------------------------------------

def parse_key(key: str, *, field_name: str = "key") -> tuple[str, str]:
    kind, _sep, ident = (key or "").partition(":")
    if kind not in KINDS or not ident or len(key) > 90:
        raise RuleViolation(_("“%(key)s” names no element: write kind:id, kind one of %(kinds)s.")
                            % {"key": key, "kinds": ", ".join(KINDS)}, field=field_name)
    if kind in ("process", "step", "chart", "survey", "element") and (
            not ident.isdigit() or not 0 < int(ident) <= MAX_ID):
        raise RuleViolation(_("“%(key)s”: the id must be a whole number.") % {"key": key}, field=field_name)
    return kind, ident


def _metric_keys() -> list[str]:
    from loopcrm.analytics import registry

    listing = getattr(registry, "metrics", None)
    return [metric.key for metric in listing()] if listing else []


def _chart_model():
    try:
        return apps.get_model("improvement", "ControlChart")
    except LookupError:
        return None


def key_layer(key: str, *, field_name: str = "key") -> str:
    """The layer of the element `key` names, after checking that it exists (else a clear error)."""
    kind, ident = parse_key(key, field_name=field_name)
    missing = RuleViolation(_("No element “%(key)s”.") % {"key": key}, field=field_name)
    if kind == "element":
        layer = LogicElement.objects.filter(pk=int(ident)).values_list("layer", flat=True).first()
        if layer is None:
            raise missing
        return layer
    if kind == "process":
        from loopcrm.service.models import ProcessDefinition
        exists = ProcessDefinition.objects.filter(pk=int(ident)).exists()
    elif kind == "step":
        from loopcrm.service.models import ProcessStep
        exists = ProcessStep.objects.filter(pk=int(ident)).exists()
    elif kind == "survey":
        from loopcrm.feedback.models import Survey
        exists = Survey.objects.filter(pk=int(ident)).exists()
    elif kind == "chart":
        model = _chart_model()
        exists = model is not None and model.objects.filter(pk=int(ident)).exists()
    elif kind == "metric":
        keys = _metric_keys()
        exists = ident in keys if keys else ident in CORE_INDICATORS
    elif kind == "channel":
        exists = ident in Channel.values
    else:  # need: any topic a customer may raise; topics are open-ended words of the text analysis
        exists = ident.replace("_", "").isalnum() and len(ident) <= 30
    if not exists:
        raise missing
    return KIND_LAYER[kind]


# --- read doors ------------------------------------------------------------------------------------

def elements_for(user: User) -> QuerySet[LogicElement]:
    require_view(user)
    return LogicElement.objects.select_related("created_by", "updated_by")


def get_element_for(user: User, element_id: int) -> LogicElement:
    if not isinstance(element_id, int) or not 0 < element_id <= MAX_ID:
        raise NotFound(_("No element #%(id)s.") % {"id": element_id}, field="element_id")
    element = elements_for(user).filter(pk=element_id).first()
    if element is None:
        raise NotFound(_("No element #%(id)s.") % {"id": element_id}, field="element_id")
    return element


def links_for(user: User) -> QuerySet[LogicLink]:
    require_view(user)
    return LogicLink.objects.select_related("created_by", "updated_by")


def get_link_for(user: User, link_id: int) -> LogicLink:
    if not isinstance(link_id, int) or not 0 < link_id <= MAX_ID:
        raise NotFound(_("No relationship #%(id)s.") % {"id": link_id}, field="link_id")
    link = links_for(user).filter(pk=link_id).first()
    if link is None:
        raise NotFound(_("No relationship #%(id)s.") % {"id": link_id}, field="link_id")
    return link


# --- the diagram -----------------------------------------------------------------------------------

def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _minutes(minutes: int) -> str:
    if minutes % (60 * 24) == 0 and minutes >= 60 * 24:
        return _("%(n)s d") % {"n": minutes // (60 * 24)}
    if minutes % 60 == 0 and minutes >= 60:
        return _("%(n)s h") % {"n": minutes // 60}
    return _("%(n)s min") % {"n": minutes}


def _needs(user: User) -> list[LogicNode]:
    if not can(user, "feedback", "view"):
        return []
    from loopcrm.feedback.queries import MetricFilter, needs

    rows = needs(user, MetricFilter(), limit=NEEDS_SHOWN)
    nodes = []
    for need in rows:
        details = [_("%(n)s customers") % {"n": need.customers}]
        if need.trend is not None:
            details.append(("▲ " if need.trend > 0 else "▼ " if need.trend < 0 else "") + f"{need.trend:.0f}%")
        nodes.append(LogicNode(key=f"need:{need.topic}", layer="need", label=need.label, live=True, details=details,
                               url=_url("web:verbatims") + f"?topic={need.topic}" if _url("web:verbatims") else ""))
    return nodes


def _processes(user: User) -> list[LogicNode]:
    from loopcrm.service.models import ProcessStep
    from loopcrm.service.queries.processes import current_versions, processes_for

    definitions = list(processes_for(user).filter(is_active=True).order_by("name", "id"))
    versions = current_versions(definitions)
    steps: dict[int, list[ProcessStep]] = {}
    for step in ProcessStep.objects.filter(version_id__in=[version.pk for version in versions.values()]).order_by(
            "version_id", "position"):
        steps.setdefault(step.version_id, []).append(step)
    nodes = []
    for definition in definitions:
        version = versions.get(definition.pk)
        own = steps.get(version.pk, []) if version else []
        points = [ControlPoint(key=f"step:{step.pk}", label=step.name, target_minutes=step.target_minutes)
                  for step in own]
        details = [f"{index}. {step.name} · ≤ {_minutes(step.target_minutes)}" for index, step in enumerate(own, 1)]
        nodes.append(LogicNode(key=f"process:{definition.pk}", layer="process", label=definition.name, live=True,
                               details=details, control_points=points,
                               url=_url("web:process_detail", definition.pk)))
    return nodes


def _charts() -> dict[str, list[ControlPoint]]:
    model = _chart_model()
    if model is None:
        return {}
    names = {field.name for field in model._meta.get_fields()}
    metric_field = "metric_key" if "metric_key" in names else "metric" if "metric" in names else None
    if metric_field is None:
        return {}
    label_field = next((name for name in ("name", "title") if name in names), None)
    out: dict[str, list[ControlPoint]] = {}
    for row in model.objects.values("pk", metric_field, *([label_field] if label_field else [])):
        label = row.get(label_field) if label_field else ""
        out.setdefault(row[metric_field], []).append(
            ControlPoint(key=f"chart:{row['pk']}", label=label or _("control chart #%(id)s") % {"id": row["pk"]}))
    return out


def _indicators(wanted: set[str]) -> list[LogicNode]:
    from loopcrm.analytics import registry

    charts = _charts()
    listing = getattr(registry, "metrics", None)
    metrics = listing() if listing else []
    keep = set(CORE_INDICATORS) | set(charts) | wanted
    nodes = []
    for metric in metrics:
        if metric.key not in keep:
            continue
        points = charts.get(metric.key, [])
        details = [f"{_('better')}: {_('higher') if metric.better == 'higher' else _('lower')} · {metric.unit}"]
        details += [f"◆ {point.label}" for point in points]
        nodes.append(LogicNode(key=f"metric:{metric.key}", layer="indicator", label=str(metric.name), live=True,
                               details=details, control_points=points,
                               url=_url("web:metric_detail", metric.key)))
    return nodes


def _feedback(user: User) -> list[LogicNode]:
    from loopcrm.feedback.models import Feedback, SurveyKind, Trigger
    from loopcrm.feedback.queries import surveys_for

    kinds, triggers = dict(SurveyKind.choices), dict(Trigger.choices)
    nodes = [LogicNode(key=f"survey:{survey.pk}", layer="feedback", label=survey.name, live=True,
                       details=[str(kinds.get(survey.kind, survey.kind)), str(triggers.get(survey.trigger, ""))],
                       url=_url("web:survey_detail", survey.pk))
             for survey in surveys_for(user).filter(is_active=True).order_by("name", "id")]
    if can(user, "feedback", "view"):
        since = timezone.now() - dt.timedelta(days=365)
        channels = dict(Channel.choices)
        used = Feedback.objects.filter(received_at__gte=since).values_list("channel", flat=True).distinct()
        for code in sorted(set(used)):
            nodes.append(LogicNode(key=f"channel:{code}", layer="feedback",
                                   label=_("Feedback by %(channel)s") % {"channel": channels.get(code, code)},
                                   live=True, details=[_("unsolicited feedback")]))
    return nodes


def logic_diagram(user: User) -> LogicDiagram:
    """The four layers from live configuration and added elements, the relationships, and the matrix."""
    require_view(user)
    links = list(LogicLink.objects.order_by("id"))
    elements = list(LogicElement.objects.order_by("layer", "position", "id"))
    named = {key.partition(":")[2] for link in links for key in (link.source, link.target)
             if key.startswith("metric:")}
    named |= {element.source_id for element in elements if element.source_type == "metric"}
    live = [*_needs(user), *_processes(user), *_indicators(named), *_feedback(user)]
    live_keys = {node.key for node in live}
    added = [LogicNode(key=element.key, layer=element.layer, label=element.label, live=False, note=element.note,
                       details=[element.note[:60]] if element.note else [], element_id=element.pk,
                       source_type=element.source_type, source_id=element.source_id)
             for element in elements]
    nodes = []
    for layer in LAYERS:
        nodes += [node for node in live if node.layer == layer]
        nodes += [node for node in added if node.layer == layer]
    keys = {node.key for node in nodes}
    # Links to steps count as links to their process on the diagram.
    step_owner = {point.key: node.key for node in nodes for point in node.control_points
                  if point.key.startswith("step:")}
    edges = []
    for link in links:
        source, target = step_owner.get(link.source, link.source), step_owner.get(link.target, link.target)
        if source in keys and target in keys:
            edges.append(LogicEdge(source=source, target=target, strength=link.strength, live=False, id=link.pk,
                                   note=link.note))
    related = {frozenset((edge.source, edge.target)) for edge in edges}
    from loopcrm.feedback.models import Survey

    survey_kinds = dict(Survey.objects.filter(pk__in=[int(key.partition(":")[2]) for key in live_keys
                                                      if key.startswith("survey:")]).values_list("pk", "kind"))
    for survey_id, kind in survey_kinds.items():
        metric = SURVEY_METRIC.get(kind)
        pair = (f"survey:{survey_id}", f"metric:{metric}")
        if metric and pair[1] in keys and frozenset(pair) not in related:
            edges.append(LogicEdge(source=pair[1], target=pair[0], strength="strong", live=True))
    rows = [node.key for node in nodes if node.layer == "need"]
    columns = [node.key for node in nodes if node.layer == "process"] + \
        [node.key for node in nodes if node.layer == "indicator"]
    return LogicDiagram(nodes=nodes, edges=edges, rows=rows, columns=columns)


def svg_labels() -> dict[str, str]:
    return {"title": _("Customer quality logic diagram"), "need": _("Customer needs"),
            "process": _("Service processes"), "indicator": _("Key indicators"),
            "feedback": _("Feedback mechanisms"), "loop": _("back to customer needs"),
            "matrix": _("Relationship matrix"), "strong": _("strong"), "medium": _("medium"), "weak": _("weak"),
            "added": _("added"), "empty": _("nothing yet"),
            "no_matrix": _("Add needs and processes or indicators to relate them.")}


def _pure(diagram: LogicDiagram) -> tuple[list[logic_svg.Node], list[logic_svg.Edge]]:
    nodes = [logic_svg.Node(key=node.key, layer=node.layer, label=node.label, details=tuple(node.details),
                            live=node.live, badge="SPC" if any(point.key.startswith("chart:")
                                                              for point in node.control_points) else "")
             for node in diagram.nodes]
    edges = [logic_svg.Edge(source=edge.source, target=edge.target, strength=edge.strength, live=edge.live)
             for edge in diagram.edges]
    return nodes, edges


def logic_svg_text(diagram: LogicDiagram) -> str:
    nodes, edges = _pure(diagram)
    return logic_svg.render_svg(nodes, edges, rows=diagram.rows, columns=diagram.columns, labels=svg_labels())


def logic_png(diagram: LogicDiagram) -> bytes:
    nodes, edges = _pure(diagram)
    return logic_svg.render_png(nodes, edges, rows=diagram.rows, columns=diagram.columns, labels=svg_labels())
