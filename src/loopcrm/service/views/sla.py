"""Pages (thin): SLA policies, business calendars and the SLA attainment report.

Forms parse what a browser sends; every rule lives in services/sla_config.py and comes back as a
DomainError shown next to its field.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.permissions import can
from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError, PermissionDenied
from loopcrm.core.pages import domain_pages
from loopcrm.customers.models import Tag
from loopcrm.service.models import BusinessCalendar, CalendarDay, Queue, SlaClock, SlaPolicy, Ticket, TicketCategory
from loopcrm.service.models.sla import WEEKDAY_KEYS
from loopcrm.service.queries import sla as queries
from loopcrm.service.services import sla_config as services

WEEKDAY_LABELS = [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
                  gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday")]
_INTERVAL = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–~至]\s*(\d{1,2}:\d{2})\s*$")
_SEPARATORS = re.compile(r"[,，;；、]")


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """A service error next to the field it names (weekly_hours.mon -> mon; calendar_id -> calendar)."""
    field = (error.field or "").split(".")[-1].split("[")[0]
    field = {"calendar_id": "calendar", "breach_queue_id": "breach_queue", "breach_assignee_id": "breach_assignee",
             "customer_tag_id": "customer_tag", "category_id": "category"}.get(field, field)
    if error.field and error.field.startswith("days"):
        field = "days"
    form.add_error(field if field in form.fields else None, error.message)


def parse_intervals(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-18:00" -> [["09:00", "12:00"], ["13:00", "18:00"]]; times padded to HH:MM."""
    result = []
    for part in _SEPARATORS.split(text or ""):
        if not part.strip():
            continue
        match = _INTERVAL.match(part)
        if not match:
            raise forms.ValidationError(_("Write intervals as 09:00-12:00, separated by commas."))
        result.append([value.zfill(5) for value in match.groups()])
    return result


def show_intervals(intervals) -> str:
    return ", ".join(f"{start}-{end}" for start, end in intervals or [])


# --- forms -----------------------------------------------------------------------------------------------

class CalendarForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    time_zone = forms.CharField(label=gettext_lazy("time zone"), max_length=64, initial="Asia/Shanghai",
                                help_text=gettext_lazy("An IANA name, e.g. Asia/Shanghai or America/New_York."))
    is_default = forms.BooleanField(label=gettext_lazy("default calendar"), required=False)
    days = forms.CharField(
        label=gettext_lazy("holidays and make-up working days"), required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=gettext_lazy("One date a line: “2026-02-16 holiday 春节” or “2026-02-14 workday 09:00-18:00 调休”."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label in zip(WEEKDAY_KEYS, WEEKDAY_LABELS, strict=True):
            widget = forms.TextInput(attrs={"placeholder": "09:00-12:00, 13:00-18:00"})
            self.fields[key] = forms.CharField(label=label, required=False, max_length=200, widget=widget)

    def clean(self):
        cleaned = super().clean()
        weekly = {}
        for key in WEEKDAY_KEYS:
            try:
                weekly[key] = parse_intervals(cleaned.get(key, ""))
            except forms.ValidationError as error:
                self.add_error(key, error)
        cleaned["weekly_hours"] = {key: hours for key, hours in weekly.items() if hours}
        try:
            cleaned["day_rows"] = self._parse_days(cleaned.get("days", ""))
        except forms.ValidationError as error:
            self.add_error("days", error)
        return cleaned

    @staticmethod
    def _parse_days(text: str) -> list[dict]:
        rows = []
        for number, line in enumerate((text or "").splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            try:
                date = dt.date.fromisoformat(words[0])
            except ValueError as error:
                raise forms.ValidationError(_("Line %(n)d: the date is not YYYY-MM-DD.") % {"n": number}) from error
            kind = words[1] if len(words) > 1 else ""
            if kind not in CalendarDay.Kind.values:
                raise forms.ValidationError(_("Line %(n)d: say “holiday” or “workday” after the date.") % {"n": number})
            rest = words[2:]
            hours_text = [word for word in rest if _INTERVAL.match(word.replace(",", ""))]
            name = " ".join(word for word in rest if word not in hours_text)
            hours = parse_intervals(",".join(hours_text)) if hours_text else []
            rows.append({"date": date, "kind": kind, "name": name, "hours": hours})
        return rows

    @classmethod
    def initial_for(cls, calendar: BusinessCalendar) -> dict:
        initial = {"name": calendar.name, "time_zone": calendar.time_zone, "is_default": calendar.is_default}
        initial.update({key: show_intervals(calendar.weekly_hours.get(key)) for key in WEEKDAY_KEYS})
        initial["days"] = "\n".join(
            " ".join(part for part in (day.date.isoformat(), day.kind, show_intervals(day.hours).replace(" ", ""),
                                       day.name) if part)
            for day in calendar.days.order_by("date"))
        return initial

    def values(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "time_zone": data["time_zone"], "weekly_hours": data["weekly_hours"],
                "days": data["day_rows"], "is_default": data["is_default"]}


class VipSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", gettext_lazy("Any customer")), ("true", gettext_lazy("Only VIPs")),
                        ("false", gettext_lazy("Only non-VIPs"))]


def _multiple(choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(choices=choices, required=False, widget=forms.CheckboxSelectMultiple)


class PolicyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    position = forms.IntegerField(label=gettext_lazy("position"), min_value=0, required=False)
    is_active = forms.BooleanField(label=gettext_lazy("active"), required=False, initial=True)
    priorities = _multiple(Ticket.Priority.choices)
    kinds = _multiple(Ticket.Kind.choices)
    category = forms.ModelChoiceField(TicketCategory.objects.all(), required=False)
    include_subcategories = forms.BooleanField(required=False, initial=True)
    channels = _multiple(Channel.choices)
    customer_tiers = _multiple([("high", gettext_lazy("High value")), ("medium", gettext_lazy("Medium value")),
                                ("low", gettext_lazy("Low value"))])
    customer_vip = forms.NullBooleanField(required=False, widget=VipSelect)
    customer_tag = forms.ModelChoiceField(Tag.objects.all(), required=False)
    first_response_minutes = forms.IntegerField(min_value=1, required=False)
    next_response_minutes = forms.IntegerField(min_value=1, required=False)
    resolution_minutes = forms.IntegerField(min_value=1, required=False)
    calendar = forms.ModelChoiceField(BusinessCalendar.objects.all(), required=False)
    warning_percent = forms.IntegerField(min_value=1, max_value=100, initial=80)
    pause_on_hold = forms.BooleanField(required=False)
    warning_notify_lead = forms.BooleanField(required=False, initial=True)
    warning_raise_priority = forms.BooleanField(required=False)
    breach_notify_lead = forms.BooleanField(required=False, initial=True)
    breach_raise_priority = forms.BooleanField(required=False)
    breach_queue = forms.ModelChoiceField(Queue.objects.filter(is_active=True), required=False)
    breach_assignee = forms.ModelChoiceField(None, required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from loopcrm.accounts.queries import users_for

        self.fields["breach_assignee"].queryset = users_for(user).filter(is_active=True)
        for name, field in self.fields.items():
            if not field.label:
                field.label = SlaPolicy._meta.get_field(name).verbose_name

    SECTIONS = (
        (gettext_lazy("SLA policy"), ("name", "position", "is_active", "calendar")),
        (gettext_lazy("Applies to tickets with"), ("priorities", "kinds", "category", "include_subcategories",
                                                   "channels", "customer_tiers", "customer_vip", "customer_tag")),
        (gettext_lazy("Targets (business minutes)"), ("first_response_minutes", "next_response_minutes",
                                                      "resolution_minutes", "warning_percent", "pause_on_hold")),
        (gettext_lazy("Escalation"), ("warning_notify_lead", "warning_raise_priority", "breach_notify_lead",
                                      "breach_raise_priority", "breach_queue", "breach_assignee")),
    )

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    @classmethod
    def initial_for(cls, policy: SlaPolicy) -> dict:
        return {name: getattr(policy, name) for name in services.POLICY_FIELDS}

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["priorities"] = [int(value) for value in data["priorities"]]
        if data.get("position") is None:
            data.pop("position", None)
        return data


# --- pages ----------------------------------------------------------------------------------------------------

def _require_view(request: HttpRequest) -> None:
    if not can(request.user, "service_config", "view"):
        raise PermissionDenied(_("Your role may not see the service configuration."))


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def policy_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    policies = queries.policies_for(request.user).order_by("position", "id")
    default = BusinessCalendar.objects.filter(is_default=True).first()
    return render(request, "service/sla/policy_list.html", {
        "policies": policies, "default_calendar": default,
        "can_change": can(request.user, "service_config", "change"),
    })


def _policy_form(request: HttpRequest, policy: SlaPolicy | None) -> HttpResponse:
    initial = PolicyForm.initial_for(policy) if policy else None
    form = PolicyForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                values = form.values()
                policy = services.create_policy(by=request.user, **values)
            else:
                policy = services.update_policy(policy, by=request.user, changes=form.values())
        except DomainError as error:
            if isinstance(error, PermissionDenied) and not error.field:
                raise
            add_domain_error(form, error)
        else:
            messages.success(request, _("SLA policy %(name)s was saved.") % {"name": policy.name})
            return redirect("web:sla_policy_list")
    return render(request, "service/sla/policy_form.html", {"form": form, "policy": policy},
                  status=422 if form.errors else 200)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def policy_create(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "service_config", "change"):
        raise PermissionDenied(_("Your role may not change the service configuration."))
    return _policy_form(request, None)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_form(request, queries.get_policy_for(request.user, policy_id, "change"))


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def calendar_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    calendars = queries.calendars_for(request.user).prefetch_related("days")
    rows = [(calendar, [(label, show_intervals(calendar.weekly_hours.get(key)))
                        for key, label in zip(WEEKDAY_KEYS, WEEKDAY_LABELS, strict=True)])
            for calendar in calendars]
    return render(request, "service/sla/calendar_list.html", {
        "rows": rows, "can_change": can(request.user, "service_config", "change"),
    })


def _calendar_form(request: HttpRequest, calendar: BusinessCalendar | None) -> HttpResponse:
    initial = CalendarForm.initial_for(calendar) if calendar else None
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            values = form.values()
            if calendar is None:
                calendar = services.create_calendar(by=request.user, **values)
            else:
                if not values["is_default"]:
                    values.pop("is_default")
                calendar = services.update_calendar(calendar, by=request.user, changes=values)
        except DomainError as error:
            if isinstance(error, PermissionDenied) and not error.field:
                raise
            add_domain_error(form, error)
        else:
            messages.success(request, _("Calendar %(name)s was saved.") % {"name": calendar.name})
            return redirect("web:business_calendar_list")
    return render(request, "service/sla/calendar_form.html", {
        "form": form, "calendar": calendar, "weekdays": [form[key] for key in WEEKDAY_KEYS],
    }, status=422 if form.errors else 200)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def calendar_create(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "service_config", "change"):
        raise PermissionDenied(_("Your role may not change the service configuration."))
    return _calendar_form(request, None)


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, calendar_id: int) -> HttpResponse:
    return _calendar_form(request, queries.get_calendar_for(request.user, calendar_id, "change"))


class AttainmentForm(forms.Form):
    group_by = forms.ChoiceField(label=gettext_lazy("per"), initial="policy", required=False, choices=[
        ("policy", gettext_lazy("SLA policy")), ("team", gettext_lazy("Team")), ("agent", gettext_lazy("Agent"))])
    metric = forms.ChoiceField(label=gettext_lazy("target"), required=False,
                               choices=[("", gettext_lazy("All targets")), *SlaClock.Metric.choices])
    start = forms.DateField(label=gettext_lazy("from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=gettext_lazy("until"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def attainment_report(request: HttpRequest) -> HttpResponse:
    """SLA attainment per policy, team or agent over a period (default: the last 30 days)."""
    form = AttainmentForm(request.GET or None)
    rows, problem = [], None
    today = timezone.localdate()
    group_by, metric, start_day, end_day = "policy", None, today - dt.timedelta(days=30), today
    if form.is_bound and form.is_valid():
        group_by = form.cleaned_data["group_by"] or "policy"
        metric = form.cleaned_data["metric"] or None
        start_day = form.cleaned_data["start"] or start_day
        end_day = form.cleaned_data["end"] or end_day
    elif form.is_bound:
        problem = _("Some filters could not be understood and were not applied.")
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(start_day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)  # the end day included
    if start >= end:
        problem = _("The period ends before it starts.")
    else:
        rows = queries.attainment(request.user, group_by=group_by, start=start, end=end, metric=metric)
    return render(request, "service/sla/attainment.html", {
        "form": form, "rows": rows, "problem": problem, "start": start_day, "end": end_day, "group_by": group_by,
    }, status=400 if problem else 200)


urlpatterns = [
    path("service/sla-policies/", policy_list, name="sla_policy_list"),
    path("service/sla-policies/new/", policy_create, name="sla_policy_create"),
    path("service/sla-policies/<int:policy_id>/edit/", policy_edit, name="sla_policy_edit"),
    path("service/calendars/", calendar_list, name="business_calendar_list"),
    path("service/calendars/new/", calendar_create, name="business_calendar_create"),
    path("service/calendars/<int:calendar_id>/edit/", calendar_edit, name="business_calendar_edit"),
    path("service/sla-attainment/", attainment_report, name="sla_attainment"),
]
