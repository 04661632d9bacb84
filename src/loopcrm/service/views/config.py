"""Pages (thin): the routing table and the standard service processes (list, version with its flowchart,
the editor that publishes a new version).

Forms parse what a browser sends; every rule lives in services/routing.py and services/processes.py and
comes back as a DomainError shown next to its field.
"""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.models import Department, Role
from loopcrm.accounts.permissions import can
from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError, NotFound
from loopcrm.core.pages import domain_pages
from loopcrm.customers.models import Tag
from loopcrm.service.models import Queue, RoutingRule, Ticket, TicketCategory
from loopcrm.service.queries import processes as process_queries
from loopcrm.service.queries.routing import get_rule_for, require_config_change, rules_for
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import routing as routing_services
from loopcrm.service.services.processes import REQUIRED_FIELD_CHOICES, StepSpec


def _require_view(user) -> None:
    if not can(user, "service_config", "view"):
        raise NotFound(_("Not found."))


def _words(text: str) -> list[str]:
    """ "江苏省, 浙江省；上海市" -> the three names (commas, semicolons, 、 or new lines separate)."""
    import re

    return [word.strip() for word in re.split(r"[,，;；、\n]", text or "") if word.strip()]


def _multiple(choices, label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, choices=choices, required=False,
                                     widget=forms.CheckboxSelectMultiple)


class VipSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", gettext_lazy("Any customer")), ("true", gettext_lazy("Only VIPs")),
                        ("false", gettext_lazy("Only non-VIPs"))]


def _sla_policies():
    try:
        return apps.get_model("service", "SlaPolicy").objects.filter(is_active=True)
    except LookupError:  # the SLA models are not there yet
        return None


def _field_name(error: DomainError, form: forms.Form) -> str | None:
    field = (error.field or "").split(".")[-1].split("[")[0]
    field = {"category_id": "category", "customer_tag_id": "customer_tag", "queue_id": "queue",
             "department_id": "department", "sla_policy_id": "sla_policy"}.get(field, field)
    return field if field in form.fields else None


# --- routing rules ------------------------------------------------------------------------------------

class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    is_active = forms.BooleanField(label=gettext_lazy("active"), required=False, initial=True)
    kinds = _multiple(Ticket.Kind.choices, gettext_lazy("ticket kinds"))
    category = forms.ModelChoiceField(TicketCategory.objects.filter(is_active=True), required=False,
                                      label=gettext_lazy("category"))
    include_subcategories = forms.BooleanField(label=gettext_lazy("and its sub-categories"), required=False,
                                               initial=True)
    channels = _multiple(Channel.choices, gettext_lazy("channels"))
    priorities = forms.TypedMultipleChoiceField(label=gettext_lazy("priorities"), choices=Ticket.Priority.choices,
                                                coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    customer_vip = forms.NullBooleanField(label=gettext_lazy("customer is VIP"), required=False, widget=VipSelect)
    customer_tiers = _multiple(RoutingRule.Tier.choices, gettext_lazy("customer value tiers"))
    customer_tag = forms.ModelChoiceField(Tag.objects.all(), required=False, label=gettext_lazy("customer tag"))
    provinces = forms.CharField(label=gettext_lazy("customer provinces / regions"), required=False, max_length=2000,
                                help_text=gettext_lazy("Separate with commas, e.g. 江苏省, 上海市."))
    keywords = forms.CharField(label=gettext_lazy("keywords in the subject"), required=False, max_length=2000,
                               help_text=gettext_lazy("Separate with commas; any one of them matches."))
    department = forms.ModelChoiceField(Department.objects.all(), required=False, label=gettext_lazy("to department"))
    queue = forms.ModelChoiceField(Queue.objects.filter(is_active=True).select_related("department"), required=False,
                                   label=gettext_lazy("to queue"))
    set_priority = forms.TypedChoiceField(label=gettext_lazy("set priority"), required=False, coerce=int,
                                          empty_value=None, choices=[("", "—"), *Ticket.Priority.choices])
    sla_policy = forms.ModelChoiceField(None, required=False, label=gettext_lazy("SLA policy"))

    SECTIONS = (
        (gettext_lazy("Rule"), ("name", "is_active")),
        (gettext_lazy("When a new ticket has"), ("kinds", "category", "include_subcategories", "channels",
                                                 "priorities", "keywords")),
        (gettext_lazy("And its customer"), ("customer_vip", "customer_tiers", "customer_tag", "provinces")),
        (gettext_lazy("Then"), ("department", "queue", "set_priority", "sla_policy")),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        policies = _sla_policies()
        if policies is None:
            del self.fields["sla_policy"]
        else:
            self.fields["sla_policy"].queryset = policies

    def sections(self):
        return [(title, [self[name] for name in names if name in self.fields]) for title, names in self.SECTIONS]

    @classmethod
    def initial_for(cls, rule: RoutingRule) -> dict:
        initial = {name: getattr(rule, name) for name in (
            "name", "is_active", "kinds", "category", "include_subcategories", "channels", "priorities",
            "customer_vip", "customer_tiers", "customer_tag", "department", "queue", "set_priority")}
        initial["provinces"] = ", ".join(rule.provinces or [])
        initial["keywords"] = ", ".join(rule.keywords or [])
        initial["sla_policy"] = rule.sla_policy_id
        return initial

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["provinces"] = _words(data["provinces"])
        data["keywords"] = _words(data["keywords"])
        policy = data.pop("sla_policy", None)
        data["sla_policy_id"] = policy.pk if policy is not None else None
        return data


def _rule_summary(rule: RoutingRule) -> dict[str, list[str]]:
    """Words for one row of the routing table: what it looks at and what it does."""
    kinds, channels, priorities = dict(Ticket.Kind.choices), dict(Channel.choices), dict(Ticket.Priority.choices)
    tiers = dict(RoutingRule.Tier.choices)
    when = []
    if rule.kinds:
        when.append(" / ".join(str(kinds.get(kind, kind)) for kind in rule.kinds))
    if rule.category_id:
        when.append(str(rule.category) + (" +" if rule.include_subcategories else ""))
    if rule.channels:
        when.append(" / ".join(str(channels.get(channel, channel)) for channel in rule.channels))
    if rule.priorities:
        when.append(" / ".join(str(priorities.get(priority, priority)) for priority in rule.priorities))
    if rule.customer_vip is not None:
        when.append(_("VIP") if rule.customer_vip else _("not VIP"))
    if rule.customer_tiers:
        when.append(" / ".join(str(tiers.get(tier, tier)) for tier in rule.customer_tiers))
    if rule.customer_tag_id:
        when.append(_("tag %(tag)s") % {"tag": rule.customer_tag})
    if rule.provinces:
        when.append(" / ".join(rule.provinces))
    if rule.keywords:
        when.append(_("subject has %(words)s") % {"words": " / ".join(f"“{word}”" for word in rule.keywords)})
    then = []
    if rule.department_id:
        then.append(str(rule.department))
    if rule.queue_id:
        then.append(_("queue %(queue)s") % {"queue": rule.queue})
    if rule.set_priority:
        then.append(_("priority %(priority)s") % {"priority": priorities.get(rule.set_priority)})
    if rule.sla_policy_id:
        then.append(_("SLA policy %(name)s") % {"name": rule.sla_policy})
    return {"when": when or [_("any ticket")], "then": then}


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def routing_rule_list(request: HttpRequest) -> HttpResponse:
    """The routing table in order: the first active rule that matches a new ticket wins."""
    _require_view(request.user)
    rules = list(rules_for(request.user))
    rows = [{"rule": rule, **_rule_summary(rule)} for rule in rules]
    return render(request, "service/config/routing_rule_list.html", {
        "rows": rows, "can_change": can(request.user, "service_config", "change"),
    })


def _rule_form_page(request: HttpRequest, rule: RoutingRule | None) -> HttpResponse:
    require_config_change(request.user)
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                if rule is None:
                    rule = routing_services.create_rule(by=request.user, **form.values())
                    messages.success(request, _("Routing rule “%(name)s” added.") % {"name": rule.name})
                else:
                    rule = routing_services.update_rule(rule, by=request.user, **form.values())
                    messages.success(request, _("Routing rule “%(name)s” saved.") % {"name": rule.name})
                return redirect("web:routing_rule_list")
            except DomainError as error:
                form.add_error(_field_name(error, form), error.message)
        status = 422
    else:
        form = RuleForm(initial=RuleForm.initial_for(rule) if rule else None)
        status = 200
    return render(request, "service/config/routing_rule_form.html", {"form": form, "rule": rule}, status=status)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD", "POST"])
def routing_rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(request, None)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD", "POST"])
def routing_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_form_page(request, get_rule_for(request.user, rule_id, "change"))


@login_required
@domain_pages
@require_POST
def routing_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_rule_for(request.user, rule_id, "change")
    routing_services.delete_rule(rule, by=request.user)
    messages.success(request, _("Routing rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("web:routing_rule_list")


@login_required
@domain_pages
@require_POST
def routing_rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Move a rule one place up or down the table."""
    rule = get_rule_for(request.user, rule_id, "change")
    order = list(rules_for(request.user, "change").values_list("pk", flat=True))
    index = order.index(rule.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        routing_services.reorder_rules(order, by=request.user)
    return redirect(reverse("web:routing_rule_list") + f"#rule-{rule.pk}")


# --- processes ----------------------------------------------------------------------------------------

class ProcessForm(forms.Form):
    key = forms.SlugField(label=gettext_lazy("key"), max_length=50,
                          help_text=gettext_lazy("Lower-case letters, digits, - and _; cannot change later."))
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    description = forms.CharField(label=gettext_lazy("description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    ticket_kind = forms.ChoiceField(label=gettext_lazy("ticket kind"), required=False,
                                    choices=[("", gettext_lazy("Every kind")), *Ticket.Kind.choices])
    category = forms.ModelChoiceField(TicketCategory.objects.filter(is_active=True), required=False,
                                      label=gettext_lazy("category"),
                                      help_text=gettext_lazy("This category and its sub-categories; empty: every "
                                                             "category."))
    is_active = forms.BooleanField(label=gettext_lazy("active"), required=False, initial=True)

    def __init__(self, *args, creating: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["key"]
        else:
            del self.fields["is_active"]


ROLE_CHOICES = [("", "—"), *Role.choices]
STATUS_CHOICES = [("", "—"), *Ticket.Status.choices]


class StepForm(forms.Form):
    key = forms.SlugField(label=gettext_lazy("key"), max_length=50)
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    responsible_role = forms.ChoiceField(label=gettext_lazy("responsible role"), choices=ROLE_CHOICES,
                                         required=False)
    responsible_department = forms.ModelChoiceField(Department.objects.all(), required=False,
                                                    label=gettext_lazy("responsible department"))
    target_minutes = forms.IntegerField(label=gettext_lazy("target (business minutes)"), min_value=1,
                                        max_value=process_services.MAX_TARGET_MINUTES)
    is_mandatory = forms.BooleanField(label=gettext_lazy("mandatory"), required=False, initial=True)
    checklist = forms.CharField(label=gettext_lazy("checklist"), required=False, max_length=6200,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=gettext_lazy("One item a line."))
    required_fields = forms.MultipleChoiceField(
        label=gettext_lazy("required ticket fields"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, Ticket._meta.get_field(name).verbose_name) for name in REQUIRED_FIELD_CHOICES])
    start_on_status = forms.ChoiceField(label=gettext_lazy("start when status becomes"), choices=STATUS_CHOICES,
                                        required=False)
    complete_on_status = forms.ChoiceField(label=gettext_lazy("complete when status becomes"),
                                           choices=STATUS_CHOICES, required=False)

    def spec(self) -> StepSpec:
        data = self.cleaned_data
        return StepSpec(key=data["key"], name=data["name"], target_minutes=data["target_minutes"],
                        responsible_role=data["responsible_role"],
                        responsible_department=data["responsible_department"], is_mandatory=data["is_mandatory"],
                        checklist=[line.strip() for line in data["checklist"].splitlines() if line.strip()],
                        required_fields=list(data["required_fields"]), start_on_status=data["start_on_status"],
                        complete_on_status=data["complete_on_status"])

    @staticmethod
    def initial_for(spec: StepSpec) -> dict:
        return {"key": spec.key, "name": spec.name, "responsible_role": spec.responsible_role,
                "responsible_department": spec.responsible_department, "target_minutes": spec.target_minutes,
                "is_mandatory": spec.is_mandatory, "checklist": "\n".join(spec.checklist),
                "required_fields": spec.required_fields, "start_on_status": spec.start_on_status,
                "complete_on_status": spec.complete_on_status}


class BaseStepFormSet(forms.BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = gettext_lazy("position")
        form.fields["DELETE"].label = gettext_lazy("delete this step")


StepFormSet = forms.formset_factory(StepForm, formset=BaseStepFormSet, extra=2, can_delete=True, can_order=True,
                                    max_num=50, validate_max=True)


class PublishForm(forms.Form):
    change_note = forms.CharField(label=gettext_lazy("what changed"), required=False, max_length=500)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def process_list(request: HttpRequest) -> HttpResponse:
    _require_view(request.user)
    definitions = process_queries.process_rows(list(process_queries.processes_for(request.user)))
    kinds = dict(Ticket.Kind.choices)
    for definition in definitions:
        definition.kind_label = kinds.get(definition.ticket_kind, "")
    return render(request, "service/config/process_list.html", {
        "definitions": definitions, "can_change": can(request.user, "service_config", "change"),
    })


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD", "POST"])
def process_create(request: HttpRequest) -> HttpResponse:
    require_config_change(request.user)
    form = ProcessForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            definition = process_services.create_definition(
                key=data["key"], name=data["name"], ticket_kind=data["ticket_kind"], category=data["category"],
                description=data["description"], by=request.user)
        except DomainError as error:
            form.add_error(_field_name(error, form), error.message)
        else:
            messages.success(request, _("Process created. Now give it its steps and publish version 1."))
            return redirect("web:process_edit", definition.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "service/config/process_create.html", {"form": form}, status=status)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def process_detail(request: HttpRequest, process_id: int) -> HttpResponse:
    """A process: its current version (or the editor, when nothing is published yet)."""
    definition = process_queries.get_process_for(request.user, process_id)
    current = process_queries.current_versions([definition]).get(definition.pk)
    if current is None:
        if can(request.user, "service_config", "change"):
            return redirect("web:process_edit", definition.pk)
        raise NotFound(_("%(process)s has no published version yet.") % {"process": definition})
    return process_version(request, process_id, current.number)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def process_version(request: HttpRequest, process_id: int, number: int) -> HttpResponse:
    """One version of a process: its flowchart, its steps, and the other versions."""
    definition = process_queries.get_process_for(request.user, process_id)
    version = process_queries.get_version(definition, number)
    roles = dict(Role.choices)
    statuses = dict(Ticket.Status.choices)
    fields = {name: Ticket._meta.get_field(name).verbose_name for name in REQUIRED_FIELD_CHOICES}
    steps = [{"step": step, "role": roles.get(step.responsible_role, ""),
              "start_on": statuses.get(step.start_on_status, ""),
              "complete_on": statuses.get(step.complete_on_status, ""),
              "fields": [fields.get(name, name) for name in step.required_fields or []]}
             for step in version.steps.all()]
    return render(request, "service/config/process_version.html", {
        "definition": definition, "version": version, "steps": steps,
        "versions": list(definition.versions.select_related("published_by").order_by("-number")),
        "flowchart": mark_safe(process_queries.flowchart_svg(version)),  # noqa: S308 - built by us, text escaped
        "kind_label": dict(Ticket.Kind.choices).get(definition.ticket_kind, ""),
        "can_change": can(request.user, "service_config", "change"),
    })


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD", "POST"])
def process_edit(request: HttpRequest, process_id: int) -> HttpResponse:
    """The editor: change the steps (and what the process applies to) and publish them as a new version."""
    definition = process_queries.get_process_for(request.user, process_id, "change")
    current = process_queries.current_versions([definition]).get(definition.pk)
    initial_definition = {"name": definition.name, "description": definition.description,
                          "ticket_kind": definition.ticket_kind, "category": definition.category,
                          "is_active": definition.is_active}
    if request.method == "POST":
        form = ProcessForm(request.POST, creating=False, initial=initial_definition)
        steps = StepFormSet(request.POST, prefix="steps")
        publish = PublishForm(request.POST)
        if form.is_valid() and steps.is_valid() and publish.is_valid():
            chosen = [step for step in steps.ordered_forms if step.has_changed() or step.initial]
            chosen = [step for step in chosen if not steps._should_delete_form(step)]
            try:
                changes = {name: value for name, value in form.cleaned_data.items()
                           if value != initial_definition.get(name)}
                if changes:
                    definition = process_services.update_definition(definition, by=request.user, **changes)
                version = process_services.publish_version(
                    definition, steps=[step.spec() for step in chosen],
                    change_note=publish.cleaned_data["change_note"], by=request.user)
            except DomainError as error:
                _show_publish_error(error, form, steps, chosen, publish)
            else:
                messages.success(request, _("Version %(number)s published. Tickets already under way keep their "
                                            "version.") % {"number": version.number})
                return redirect("web:process_version", definition.pk, version.number)
        status = 422
    else:
        form = ProcessForm(creating=False, initial=initial_definition)
        specs = process_services.specs_of(current) if current else []
        steps = StepFormSet(prefix="steps", initial=[{**StepForm.initial_for(spec), "ORDER": position}
                                                     for position, spec in enumerate(specs, start=1)])
        publish = PublishForm()
        status = 200
    return render(request, "service/config/process_edit.html", {
        "definition": definition, "current": current, "form": form, "steps": steps, "publish": publish,
    }, status=status)


def _show_publish_error(error: DomainError, form: forms.Form, steps, chosen: list[StepForm],
                        publish: forms.Form) -> None:
    """A service refusal next to the step field it names (steps[2].key -> the third step kept, its key)."""
    import re

    match = re.match(r"^steps\[(\d+)\]\.(\w+)$", error.field or "")
    if match and int(match.group(1)) < len(chosen):
        step_form = chosen[int(match.group(1))]
        name = match.group(2)
        step_form.add_error(name if name in step_form.fields else None, error.message)
        return
    if error.field == "steps":
        publish.add_error(None, error.message)
        return
    form.add_error(_field_name(error, form), error.message)


urlpatterns = [
    path("service/routing-rules/", routing_rule_list, name="routing_rule_list"),
    path("service/routing-rules/new/", routing_rule_create, name="routing_rule_create"),
    path("service/routing-rules/<int:rule_id>/edit/", routing_rule_edit, name="routing_rule_edit"),
    path("service/routing-rules/<int:rule_id>/delete/", routing_rule_delete, name="routing_rule_delete"),
    path("service/routing-rules/<int:rule_id>/move/", routing_rule_move, name="routing_rule_move"),
    path("service/processes/", process_list, name="process_list"),
    path("service/processes/new/", process_create, name="process_create"),
    path("service/processes/<int:process_id>/", process_detail, name="process_detail"),
    path("service/processes/<int:process_id>/versions/<int:number>/", process_version, name="process_version"),
    path("service/processes/<int:process_id>/edit/", process_edit, name="process_edit"),
]
