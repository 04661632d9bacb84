"""Pages of the diagrams: the fishbone (filters, drawing, counts, pinning to a cycle), a pinned fishbone
with its 5-whys editor, and the customer quality logic diagram (flowchart, matrix, elements and
relationships edited in place with htmx). Thin: queries and services do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import departments_for
from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError
from loopcrm.core.pages import domain_pages
from loopcrm.improvement.models import LogicElement, Strength
from loopcrm.improvement.queries import fishbone as fishbone_queries
from loopcrm.improvement.queries import logic_diagram as logic_queries
from loopcrm.improvement.queries.fishbone import BRANCHES, FishboneScope
from loopcrm.improvement.services import diagrams as services
from loopcrm.service.models import RootCause, TicketCategory

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _blank(choices) -> list[tuple[str, str]]:
    return [("", "—"), *choices]


def _form_error(form: forms.Form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- fishbone ----------------------------------------------------------------------------------------

class FishboneForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), widget=DATE, required=False)
    end = forms.DateField(label=gettext_lazy("To"), widget=DATE, required=False)
    department_id = forms.TypedChoiceField(label=gettext_lazy("Department"), coerce=int, empty_value=None,
                                           required=False)
    category_id = forms.TypedChoiceField(label=gettext_lazy("Category"), coerce=int, empty_value=None,
                                         required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=_blank(Channel.choices), required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=50, required=False)
    effect = forms.CharField(label=gettext_lazy("Problem (the fish's head)"), max_length=200, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department_id"].choices = _blank(
            [(department.pk, department.name) for department in departments_for(user).order_by("path")])
        self.fields["category_id"].choices = _blank(
            [(category.pk, category.name) for category in TicketCategory.objects.order_by("path")])

    def scope(self) -> FishboneScope:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return FishboneScope(department_id=data.get("department_id"), category_id=data.get("category_id"),
                             channel=data.get("channel") or None, region=data.get("region") or None)


class PinForm(forms.Form):
    cycle_id = forms.TypedChoiceField(label=gettext_lazy("Improvement cycle"), coerce=int)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cycles = fishbone_queries.open_cycles(user)[:100]
        self.fields["cycle_id"].choices = [(cycle.pk, cycle.title) for cycle in cycles]


def _fishbone_context(request: HttpRequest, form: FishboneForm) -> dict[str, Any]:
    context: dict[str, Any] = {"form": form, "can_change": can(request.user, "improvement", "change")}
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    try:
        fishbone = fishbone_queries.fishbone(request.user, form.scope(), start=data.get("start"), end=data.get("end"),
                                             effect=data.get("effect") or "")
    except DomainError as error:
        _form_error(form, error)
        return context
    query = {key: value for key, value in request.GET.items() if value}
    query.pop("format", None)
    context.update(
        fishbone=fishbone, svg=mark_safe(fishbone_queries.fishbone_svg_text(fishbone)),  # noqa: S308 - ours, escaped
        svg_url=reverse("api:fishbone") + "?" + urlencode({**query, "format": "svg"}),
        png_url=reverse("api:fishbone") + "?" + urlencode({**query, "format": "png"}),
        query=urlencode(query),
        pins=list(fishbone_queries.pins_for(request.user).select_related("cycle")[:10]),
    )
    if context["can_change"]:
        context["pin_form"] = PinForm(user=request.user)
    return context


@login_required
@domain_pages
def fishbone(request: HttpRequest) -> HttpResponse:
    """Cause-and-effect of complaints for a scope and period (the filters re-draw it through htmx)."""
    fishbone_queries.require_view(request.user)
    form = FishboneForm(request.GET or None, user=request.user)
    context = _fishbone_context(request, form)
    page = "improvement/diagrams/fishbone.html"
    return render(request, f"{page}#result" if request.htmx and not request.htmx.history_restore_request else page,
                  context, status=422 if form.errors else 200)


@require_POST
@login_required
@domain_pages
def fishbone_pin(request: HttpRequest) -> HttpResponse:
    """Pin the fishbone of the filters in the query string to an open cycle."""
    fishbone_queries.require_change(request.user)
    form = FishboneForm(request.GET or None, user=request.user)
    pin_form = PinForm(request.POST, user=request.user)
    if pin_form.is_valid() and (not form.is_bound or form.is_valid()):
        data = form.cleaned_data if form.is_bound else {}
        try:
            cycle = fishbone_queries.get_cycle_for(request.user, pin_form.cleaned_data["cycle_id"])
            snapshot = fishbone_queries.fishbone(request.user, form.scope(), start=data.get("start"),
                                                 end=data.get("end"), effect=data.get("effect") or "")
            pin = services.pin_fishbone(cycle, snapshot, by=request.user)
        except DomainError as error:
            _form_error(pin_form, error)
        else:
            messages.success(request, _("Fishbone pinned to “%(cycle)s”.") % {"cycle": cycle})
            return redirect("web:fishbone_pin_detail", pin_id=pin.pk)
    context = _fishbone_context(request, form)
    context["pin_form"] = pin_form
    return render(request, "improvement/diagrams/fishbone.html", context, status=422)


class DrillForm(FishboneForm):
    """The fishbone's filters plus which count to open: a branch, a cause (or sub-cause) or the unclassified."""

    branch = forms.ChoiceField(label=gettext_lazy("Branch"), choices=_blank(RootCause.Branch.choices), required=False)
    cause_id = forms.IntegerField(label=gettext_lazy("Cause"), min_value=1, required=False)
    unclassified = forms.BooleanField(label=gettext_lazy("No root cause yet"), required=False)


@login_required
@domain_pages
def fishbone_complaints(request: HttpRequest) -> HttpResponse:
    """The complaints behind one count of the fishbone (htmx: the panel under the counts; else a page)."""
    fishbone_queries.require_view(request.user)
    form = DrillForm(request.GET, user=request.user)  # bound even when empty: the query says what is missing
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            context["drill"] = fishbone_queries.complaints_behind(
                request.user, form.scope(), start=data.get("start"), end=data.get("end"),
                branch=data.get("branch") or "", cause_id=data.get("cause_id"),
                unclassified=bool(data.get("unclassified")))
        except DomainError as error:
            _form_error(form, error)
    query = {key: value for key, value in request.GET.items()
             if value and key not in ("branch", "cause_id", "unclassified")}
    context["back_url"] = reverse("web:fishbone") + ("?" + urlencode(query) if query else "")
    page = "improvement/diagrams/complaints.html"
    return render(request, f"{page}#drill" if request.htmx and not request.htmx.history_restore_request else page,
                  context, status=422 if form.errors else 200)


class WhyForm(forms.Form):
    chain = forms.ChoiceField(label=gettext_lazy("Branch or cause"))
    position = forms.IntegerField(label=gettext_lazy("Why number"), min_value=1, max_value=5)
    text = forms.CharField(label=gettext_lazy("Why?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, pin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = []
        snapshot = {item["branch"]: item for item in pin.snapshot.get("branches", [])}
        for branch in BRANCHES:
            label = str(RootCause.Branch(branch).label)
            choices.append((f"{branch}|", label))
            for cause in snapshot.get(branch, {}).get("causes", []):
                choices.append((f"{branch}|{cause['code']}", f"{label} › {cause['label']}"))
                for sub in cause.get("sub_causes", []):
                    choices.append((f"{branch}|{sub['code']}", f"{label} › {cause['label']} › {sub['label']}"))
        self.fields["chain"].choices = choices


def _pin_context(request: HttpRequest, pin, form: WhyForm | None = None) -> dict[str, Any]:
    chains = fishbone_queries.why_chains(pin)
    if form is None:
        first = chains[0] if chains else None
        initial = {"chain": f"{first.branch}|{first.cause_code}", "position": min(5, len(first.notes) + 1)} \
            if first else {"position": 1}
        form = WhyForm(pin=pin, initial=initial)
    return {"pin": pin, "chains": chains, "why_form": form, "can_change": can(request.user, "improvement", "change"),
            "svg": mark_safe(fishbone_queries.fishbone_svg_text(pin.snapshot)),  # noqa: S308 - ours, escaped
            "snapshot": pin.snapshot}


@login_required
@domain_pages
def fishbone_pin_detail(request: HttpRequest, pin_id: int) -> HttpResponse:
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    return render(request, "improvement/diagrams/pin.html", _pin_context(request, pin))


@require_POST
@login_required
@domain_pages
def fishbone_why(request: HttpRequest, pin_id: int) -> HttpResponse:
    """Write a why (htmx: answers the 5-whys fragment)."""
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    fishbone_queries.require_change(request.user)
    form = WhyForm(request.POST, pin=pin)
    status = 200
    if form.is_valid():
        branch, _sep, cause_code = form.cleaned_data["chain"].partition("|")
        try:
            services.set_why(pin, branch=branch, cause_code=cause_code, position=form.cleaned_data["position"],
                             text=form.cleaned_data["text"], by=request.user)
        except DomainError as error:
            _form_error(form, error)
            status = 422
        else:
            form = None
    else:
        status = 422
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    page = "improvement/diagrams/pin.html"
    return render(request, f"{page}#whys" if request.htmx else page, _pin_context(request, pin, form), status=status)


@require_POST
@login_required
@domain_pages
def fishbone_why_delete(request: HttpRequest, pin_id: int, why_id: int) -> HttpResponse:
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    services.delete_why(fishbone_queries.get_why_for(request.user, pin, why_id), by=request.user)
    pin = fishbone_queries.get_pin_for(request.user, pin_id)
    page = "improvement/diagrams/pin.html"
    return render(request, f"{page}#whys" if request.htmx else page, _pin_context(request, pin))


# --- the customer quality logic diagram ---------------------------------------------------------------

class ElementForm(forms.Form):
    layer = forms.ChoiceField(label=gettext_lazy("Layer"), choices=LogicElement.Layer.choices)
    label = forms.CharField(label=gettext_lazy("Label"), max_length=120)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=2000, required=False)
    link_to = forms.ChoiceField(label=gettext_lazy("Refers to"), required=False,
                                help_text=gettext_lazy("A live element this one stands for, if any."))

    def __init__(self, *args: Any, diagram: logic_queries.LogicDiagram, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["link_to"].choices = _blank([(node.key, node.label) for node in diagram.nodes if node.live])


class LinkForm(forms.Form):
    source = forms.ChoiceField(label=gettext_lazy("From"))
    target = forms.ChoiceField(label=gettext_lazy("To"))
    strength = forms.ChoiceField(label=gettext_lazy("Strength"), choices=Strength.choices, initial=Strength.MEDIUM)

    def __init__(self, *args: Any, diagram: logic_queries.LogicDiagram, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layers = dict(LogicElement.Layer.choices)
        choices = [(node.key, f"{layers[node.layer]} · {node.label}") for node in diagram.nodes]
        self.fields["source"].choices = choices
        self.fields["target"].choices = choices


def _logic_context(request: HttpRequest, *, element_form: ElementForm | None = None,
                   link_form: LinkForm | None = None, error: str = "") -> dict[str, Any]:
    diagram = logic_queries.logic_diagram(request.user)
    nodes = {node.key: node for node in diagram.nodes}
    links = [edge for edge in diagram.edges if edge.id is not None]
    return {
        "diagram": diagram, "nodes": nodes, "matrix": diagram.matrix(),
        "columns": [nodes[key] for key in diagram.columns],
        "layers": [(layer, label, diagram.layer(layer)) for layer, label in LogicElement.Layer.choices],
        "links": [{"edge": edge, "source": nodes[edge.source], "target": nodes[edge.target]} for edge in links],
        "elements": [node for node in diagram.nodes if not node.live],
        "svg": mark_safe(logic_queries.logic_svg_text(diagram)),  # noqa: S308 - ours, escaped
        "strengths": Strength.choices, "can_change": can(request.user, "improvement", "change"),
        "element_form": element_form or ElementForm(diagram=diagram),
        "link_form": link_form or LinkForm(diagram=diagram), "error": error,
    }


def _logic_render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    page = "improvement/diagrams/logic.html"
    return render(request, f"{page}#workspace" if request.htmx else page, context, status=status)


@login_required
@domain_pages
def logic_diagram(request: HttpRequest) -> HttpResponse:
    """The customer quality logic diagram: flowchart, relationship matrix, and what people added."""
    logic_queries.require_view(request.user)
    return _logic_render(request, _logic_context(request))


@require_POST
@login_required
@domain_pages
def logic_element_add(request: HttpRequest) -> HttpResponse:
    fishbone_queries.require_change(request.user)
    form = ElementForm(request.POST, diagram=logic_queries.logic_diagram(request.user))
    if form.is_valid():
        kind, _sep, ident = (form.cleaned_data.get("link_to") or "").partition(":")
        try:
            services.add_element(layer=form.cleaned_data["layer"], label=form.cleaned_data["label"],
                                 note=form.cleaned_data.get("note") or "", source_type=kind, source_id=ident,
                                 by=request.user)
        except DomainError as error:
            _form_error(form, error)
        else:
            return _logic_render(request, _logic_context(request))
    return _logic_render(request, _logic_context(request, element_form=form), status=422)


@require_POST
@login_required
@domain_pages
def logic_element_edit(request: HttpRequest, element_id: int) -> HttpResponse:
    element = logic_queries.get_element_for(request.user, element_id)
    try:
        if request.POST.get("remove"):
            services.remove_element(element, by=request.user)
        else:
            services.edit_element(element, label=request.POST.get("label"), note=request.POST.get("note"),
                                  layer=request.POST.get("layer") or None, by=request.user)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return _logic_render(request, _logic_context(request, error=error.message), status=422)
    return _logic_render(request, _logic_context(request))


@require_POST
@login_required
@domain_pages
def logic_link_add(request: HttpRequest) -> HttpResponse:
    fishbone_queries.require_change(request.user)
    form = LinkForm(request.POST, diagram=logic_queries.logic_diagram(request.user))
    if form.is_valid():
        try:
            services.add_link(source=form.cleaned_data["source"], target=form.cleaned_data["target"],
                              strength=form.cleaned_data["strength"], by=request.user)
        except DomainError as error:
            _form_error(form, error)
        else:
            return _logic_render(request, _logic_context(request))
    return _logic_render(request, _logic_context(request, link_form=form), status=422)


@require_POST
@login_required
@domain_pages
def logic_link_edit(request: HttpRequest, link_id: int) -> HttpResponse:
    link = logic_queries.get_link_for(request.user, link_id)
    try:
        if request.POST.get("remove"):
            services.remove_link(link, by=request.user)
        else:
            services.edit_link(link, strength=request.POST.get("strength") or None, by=request.user)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return _logic_render(request, _logic_context(request, error=error.message), status=422)
    return _logic_render(request, _logic_context(request))


@require_http_methods(["POST"])
@login_required
@domain_pages
def logic_matrix_cell(request: HttpRequest) -> HttpResponse:
    """Set one matrix cell from its select (htmx: answers the whole workspace, diagram included)."""
    try:
        services.set_strength(need=request.POST.get("need", ""), other=request.POST.get("other", ""),
                              strength=request.POST.get("strength") or None, by=request.user)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return _logic_render(request, _logic_context(request, error=error.message), status=422)
    return _logic_render(request, _logic_context(request))
