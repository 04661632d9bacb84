"""Pages of PDCA cycles: the board, planning (prefilled from a chart signal), the cycle page with its
Plan / Do / Check / Act sections, and the lessons library. Thin: queries and services do the work."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import plotly.graph_objects as go
from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can
from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.analytics import registry
from loopcrm.core.errors import DomainError, PermissionDenied
from loopcrm.core.pages import domain_pages
from loopcrm.improvement.models import Cycle, CycleAction
from loopcrm.improvement.queries import cycles as queries
from loopcrm.improvement.queries import fishbone as fishbone_queries
from loopcrm.improvement.services import cycles as services
from loopcrm.service.models import ProcessVersion

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PHASE_ORDER = [Cycle.Phase.PLAN, Cycle.Phase.DO, Cycle.Phase.CHECK, Cycle.Phase.ACT]
MAX_LESSONS = 100


def _need_view(user: User) -> None:
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see improvement work."))


def _metric_choices() -> list[tuple[str, str]]:
    try:
        return [(metric.key, str(metric.name)) for metric in registry.metrics()]
    except AttributeError:  # the registry's functions have not landed
        return []


class CycleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    metric_key = forms.ChoiceField(label=gettext_lazy("Metric"), choices=())
    problem = forms.CharField(label=gettext_lazy("Problem statement"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    baseline_start = forms.DateField(label=gettext_lazy("Baseline from"), widget=DATE)
    baseline_end = forms.DateField(label=gettext_lazy("Baseline to"), widget=DATE)
    target_value = forms.FloatField(label=gettext_lazy("Target"), required=False)
    hypothesis = forms.CharField(label=gettext_lazy("Hypothesis"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    members = forms.ModelMultipleChoiceField(label=gettext_lazy("Team"), queryset=User.objects.none(), required=False)
    departments = forms.ModelMultipleChoiceField(label=gettext_lazy("Departments"), queryset=User.objects.none(),
                                                 required=False)
    after_start = forms.DateField(label=gettext_lazy("After from"), required=False, widget=DATE)
    after_end = forms.DateField(label=gettext_lazy("After to"), required=False, widget=DATE)
    filters = forms.CharField(label=gettext_lazy("Scope"), required=False,
                              help_text=gettext_lazy('Dimension filters as JSON, e.g. {"region": "east"}; empty: '
                                                     'everything.'))
    source_chart = forms.IntegerField(required=False, widget=forms.HiddenInput)
    source_signal = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric_key"].choices = _metric_choices()
        self.fields["owner"].queryset = users_for(user).order_by("username")
        self.fields["members"].queryset = users_for(user).order_by("username")
        self.fields["departments"].queryset = departments_for(user).order_by("name")

    def clean_filters(self) -> dict:
        raw = self.cleaned_data.get("filters") or ""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as error:
            raise forms.ValidationError(_("The scope is not valid.")) from error
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The scope is not valid."))
        return value


class ActionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Action"), max_length=200)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    due_date = forms.DateField(label=gettext_lazy("Due"), required=False, widget=DATE)
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=CycleAction.Status.choices,
                               initial=CycleAction.Status.TODO)
    process_version = forms.ModelChoiceField(label=gettext_lazy("Process version changed"), required=False,
                                             queryset=ProcessVersion.objects.none())
    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users_for(user).order_by("username")
        self.fields["process_version"].queryset = (ProcessVersion.objects.select_related("definition")
                                                   .order_by("definition__name", "-number"))


class ActForm(forms.Form):
    decision = forms.ChoiceField(choices=[(Cycle.Decision.STANDARDISE, Cycle.Decision.STANDARDISE.label),
                                          (Cycle.Decision.ADJUST, Cycle.Decision.ADJUST.label)])
    lesson_title = forms.CharField(label=gettext_lazy("Lesson title"), max_length=200, required=False)
    lesson_text = forms.CharField(label=gettext_lazy("What we learned"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(label=gettext_lazy("Tags"), required=False, help_text=gettext_lazy("Separated by commas."))
    note = forms.CharField(label=gettext_lazy("Decision note"), max_length=500, required=False)


def _form_error(form: forms.Form, error: DomainError) -> None:
    field = (error.field or "").split(".")[0]
    form.add_error(field if field in form.fields else None, error.message)


# --- board -------------------------------------------------------------------------------------

@login_required
@domain_pages
def cycle_board(request: HttpRequest) -> HttpResponse:
    _need_view(request.user)
    board = queries.board_for(request.user)
    names = dict(_metric_choices())
    for cycles in board.values():
        for cycle in cycles:
            cycle.metric_name = names.get(cycle.metric_key, cycle.metric_key)
    columns = [{"phase": phase, "label": phase.label, "cycles": board[phase.value]}
               for phase in (*PHASE_ORDER, Cycle.Phase.CLOSED)]
    return render(request, "improvement/cycles/board.html", {
        "columns": columns, "can_plan": can(request.user, "improvement", "change")})


# --- plan --------------------------------------------------------------------------------------

def _prefill(request: HttpRequest) -> dict[str, Any]:
    """Initial Plan values from ?metric=&chart=&signal=&filters= (a chart's signal offers to start a cycle)."""
    today = timezone.localdate()
    initial: dict[str, Any] = {"baseline_start": today - dt.timedelta(days=56),
                               "baseline_end": today - dt.timedelta(days=1), "owner": request.user.pk}
    metric = request.GET.get("metric", "")
    filters: dict[str, Any] = {}
    raw = request.GET.get("filters", "")
    if raw:
        try:
            value = json.loads(raw)
            filters = value if isinstance(value, dict) else {}
        except ValueError:
            filters = {}
    filters.update({name: request.GET[name] for name in registry.DIMENSIONS if request.GET.get(name)})
    chart = _lookup("ControlChart", request.GET.get("chart"))
    signal = _lookup("ChartSignal", request.GET.get("signal"))
    if signal is not None and chart is None:
        chart = getattr(signal, "chart", None)
    if chart is not None:
        initial["source_chart"] = chart.pk
        metric = metric or getattr(chart, "metric_key", "")
        filters = filters or dict(getattr(chart, "filters", None) or {})
        initial["title"] = _("Improve %(chart)s") % {"chart": chart}
    if signal is not None:
        initial["source_signal"] = signal.pk
        when = _signal_date(signal)
        rule = getattr(signal, "description", "") or getattr(signal, "rule_description", "") or str(signal)
        initial["problem"] = _("Control chart signal: %(rule)s") % {"rule": rule} + (
            f" ({when:%Y-%m-%d})" if when else "")
        if when:
            initial["baseline_end"] = when - dt.timedelta(days=1)
            initial["baseline_start"] = when - dt.timedelta(days=56)
    if metric:
        initial["metric_key"] = metric
        if "title" not in initial:
            names = dict(_metric_choices())
            initial["title"] = _("Improve %(metric)s") % {"metric": names.get(metric, metric)}
    if filters:
        initial["filters"] = json.dumps(filters, ensure_ascii=False)
    return initial


def _lookup(model: str, pk: str | None) -> Any:
    if not pk or not str(pk).isdigit():
        return None
    try:
        model_class = apps.get_model("improvement", model)
    except LookupError:
        return None
    return model_class.objects.filter(pk=int(pk)).first()


def _signal_date(signal: Any) -> dt.date | None:
    for name in ("bucket", "point_start", "start", "date", "created_at"):
        value = getattr(signal, name, None)
        if isinstance(value, dt.datetime):
            return timezone.localdate(value) if timezone.is_aware(value) else value.date()
        if isinstance(value, dt.date):
            return value
    return None


def _plan_data(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["source_chart"] = _lookup("ControlChart", str(data.get("source_chart") or ""))
    data["source_signal"] = _lookup("ChartSignal", str(data.get("source_signal") or ""))
    return data


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def cycle_new(request: HttpRequest) -> HttpResponse:
    queries.require_planner(request.user)
    if request.method == "POST":
        form = CycleForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                cycle = services.plan_cycle(by=request.user, **_plan_data(request, form.cleaned_data))
            except DomainError as error:
                _form_error(form, error)
            else:
                return redirect("web:cycle_detail", cycle_id=cycle.pk)
    else:
        form = CycleForm(initial=_prefill(request), user=request.user)
    return render(request, "improvement/cycles/form.html", {"form": form, "cycle": None})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def cycle_edit(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    if request.method == "POST":
        form = CycleForm(request.POST, user=request.user)
        if form.is_valid():
            data = {key: value for key, value in form.cleaned_data.items()
                    if key not in ("source_chart", "source_signal") and not (key == "owner" and value is None)}
            if cycle.phase != Cycle.Phase.PLAN:
                for key in services.REPLAN:
                    data.pop(key, None)
            try:
                services.update_cycle(cycle, by=request.user, **data)
            except DomainError as error:
                _form_error(form, error)
            else:
                return redirect("web:cycle_detail", cycle_id=cycle.pk)
    else:
        initial = {name: getattr(cycle, name) for name in (*services.EDITABLE, *services.REPLAN)}
        initial.update(filters=json.dumps(cycle.filters or {}, ensure_ascii=False), owner=cycle.owner_id,
                       members=list(cycle.members.all()), departments=list(cycle.departments.all()))
        form = CycleForm(initial=initial, user=request.user)
    if cycle.phase != Cycle.Phase.PLAN:
        for name in services.REPLAN:
            form.fields[name].disabled = True
    return render(request, "improvement/cycles/form.html", {"form": form, "cycle": cycle})


# --- the cycle page ----------------------------------------------------------------------------

def check_view(result: Any) -> dict[str, Any] | None:
    """The stored Check in the reader's language."""
    if result is None:
        return None
    data = result.data or {}
    shown = {name: _figure(data.get(name)) for name in ("before", "after", "effect_size")}
    shown.update(effect=_figure(result.effect), ci_low=_figure(result.ci_low), ci_high=_figure(result.ci_high))
    return {
        "result": result, "data": data, "shown": shown, "shift": data.get("shift_direction"),
        **{name: services.label(data.get(name)) for name in ("test_name", "effect_label", "effect_size_name",
                                                              "ci_method")},
        "why": services.translate(data.get("why") or {}),
        "explanation": services.translate(data.get("explanation") or {}) or result.explanation,
        "warnings": [services.translate(w) for w in data.get("warnings") or []],
    }


def _figure(value: Any) -> str:
    """A statistic for reading: four significant digits, no float noise."""
    if value is None:
        return "–"
    return f"{float(value):.4g}"


def before_after_figure(cycle: Cycle, metric: registry.Metric | None) -> str | None:
    """Daily values of the baseline and after windows, each with its level, and the target."""
    if metric is None:
        return None
    try:
        before = registry.series(cycle.metric_key, start=cycle.baseline_start, end=cycle.baseline_end,
                                 filters=cycle.filters or None)
        after = (registry.series(cycle.metric_key, start=cycle.after_start, end=cycle.after_end,
                                 filters=cycle.filters or None) if cycle.after_start and cycle.after_end else [])
    except (DomainError, AttributeError):
        return None
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[p.start.isoformat() for p in before], y=[p.value for p in before],
                                mode="lines+markers", name=_("Before"), line={"color": "#64748b"}))
    if after:
        figure.add_trace(go.Scatter(x=[p.start.isoformat() for p in after], y=[p.value for p in after],
                                    mode="lines+markers", name=_("After"), line={"color": "#2563eb"}))
    if cycle.baseline_value is not None:
        figure.add_hline(y=cycle.baseline_value, line_dash="dot", line_color="#64748b",
                         annotation_text=_("baseline"))
    if cycle.target_value is not None:
        figure.add_hline(y=cycle.target_value, line_dash="dash", line_color="#16a34a", annotation_text=_("target"))
    figure.update_layout(title=_("Before and after: %(metric)s") % {"metric": metric.name},
                         margin={"l": 40, "r": 10, "t": 40, "b": 40}, height=320, template="plotly_white",
                         legend={"orientation": "h", "y": -0.2}, yaxis={"title": metric.unit})
    return figure.to_json()


def _metric(key: str) -> registry.Metric | None:
    try:
        return registry.get(key)
    except (DomainError, AttributeError):
        return None


def _detail_context(request: HttpRequest, cycle: Cycle, **extra: Any) -> dict[str, Any]:
    page = queries.cycle_page(cycle)
    metric = _metric(cycle.metric_key)
    can_change = queries.can_change(request.user, cycle)
    phases = [{"phase": phase, "label": phase.label, "done": PHASE_ORDER.index(phase) < PHASE_ORDER.index(
        Cycle.Phase(cycle.phase)) if cycle.phase != Cycle.Phase.CLOSED else True, "current": phase == cycle.phase}
        for phase in PHASE_ORDER]
    moves = [Cycle.Phase(p) for p in services.MOVES[Cycle.Phase(cycle.phase)]]
    moves.sort(key=lambda phase: PHASE_ORDER.index(phase))
    context = {
        "cycle": cycle, "metric": metric, "can_change": can_change, "phases": phases, "moves": moves,
        "actions": page["actions"], "check": check_view(page["check"]), "events": page["events"],
        "lessons": page["lessons"], "next_cycles": page["next_cycles"],
        "figure": before_after_figure(cycle, metric),
        "action_form": ActionForm(user=request.user, prefix="new"),
        "act_form": ActForm(initial={"lesson_title": cycle.title}),
        "status_choices": CycleAction.Status.choices,
        "pins": list(fishbone_queries.pins_for(request.user, cycle_id=cycle.pk).order_by("-created_at")[:10]),
    }
    context.update(extra)
    return context


@login_required
@domain_pages
def cycle_detail(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id)
    return render(request, "improvement/cycles/detail.html", _detail_context(request, cycle))


@login_required
@domain_pages
@require_POST
def cycle_move(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    try:
        services.move_phase(cycle, to=request.POST.get("phase", ""), by=request.user,
                            note=request.POST.get("note", "")[:500])
    except DomainError as error:
        cycle.refresh_from_db()
        return render(request, "improvement/cycles/detail.html",
                      _detail_context(request, cycle, phase_error=error.message), status=422)
    return redirect("web:cycle_detail", cycle_id=cycle.pk)


def _actions_fragment(request: HttpRequest, cycle: Cycle, *, form: ActionForm | None = None,
                      status: int = 200) -> HttpResponse:
    context = _detail_context(request, cycle)
    if form is not None:
        context["action_form"] = form
    page = "improvement/cycles/detail.html"
    return render(request, f"{page}#actions" if request.htmx else page, context, status=status)


@login_required
@domain_pages
@require_POST
def cycle_action_add(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    form = ActionForm(request.POST, user=request.user, prefix="new")
    if form.is_valid():
        try:
            services.add_action(cycle, by=request.user, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
        else:
            if not request.htmx:
                return redirect("web:cycle_detail", cycle_id=cycle.pk)
            return _actions_fragment(request, cycle)
    return _actions_fragment(request, cycle, form=form, status=422)


@login_required
@domain_pages
@require_POST
def cycle_action_update(request: HttpRequest, cycle_id: int, action_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    action = queries.get_action_for(request.user, cycle, action_id)
    changes: dict[str, Any] = {}
    if "status" in request.POST:
        changes["status"] = request.POST["status"]
    if request.POST.get("title", "").strip():
        changes["title"] = request.POST["title"]
    if request.POST.get("delete") == "1":
        services.delete_action(action, by=request.user)
    else:
        try:
            services.update_action(action, by=request.user, **changes)
        except DomainError:
            return _actions_fragment(request, cycle, status=422)
    if not request.htmx:
        return redirect("web:cycle_detail", cycle_id=cycle.pk)
    return _actions_fragment(request, cycle)


@login_required
@domain_pages
@require_POST
def cycle_check(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    try:
        services.compute_check(cycle, by=request.user)
    except DomainError as error:
        return render(request, "improvement/cycles/detail.html",
                      _detail_context(request, cycle, check_error=error.message), status=422)
    return redirect(f"{cycle_url(cycle)}#check")


def cycle_url(cycle: Cycle) -> str:
    return reverse("web:cycle_detail", kwargs={"cycle_id": cycle.pk})


@login_required
@domain_pages
@require_POST
def cycle_act(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = queries.get_cycle_for(request.user, cycle_id, "change")
    form = ActForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        tags = [tag.strip() for tag in data["tags"].replace("，", ",").split(",") if tag.strip()]
        try:
            if data["decision"] == Cycle.Decision.STANDARDISE:
                services.standardise(cycle, by=request.user, lesson_title=data["lesson_title"],
                                     lesson_text=data["lesson_text"], tags=tags, note=data["note"])
                return redirect("web:cycle_detail", cycle_id=cycle.pk)
            following = services.adjust(cycle, by=request.user, note=data["note"], lesson_text=data["lesson_text"],
                                        tags=tags)
            return redirect("web:cycle_detail", cycle_id=following.pk)
        except DomainError as error:
            _form_error(form, error)
    cycle.refresh_from_db()
    return render(request, "improvement/cycles/detail.html", _detail_context(request, cycle, act_form=form),
                  status=422)


# --- lessons -----------------------------------------------------------------------------------

@login_required
@domain_pages
def lesson_library(request: HttpRequest) -> HttpResponse:
    _need_view(request.user)
    q = request.GET.get("q", "")[:200]
    tag = request.GET.get("tag", "")[:40]
    lessons = list(queries.lessons_for(request.user, q=q, tag=tag)[:MAX_LESSONS])
    page = "improvement/cycles/lessons.html"
    return render(request, f"{page}#results" if request.htmx else page,
                  {"lessons": lessons, "q": q, "tag": tag, "limit": MAX_LESSONS})
