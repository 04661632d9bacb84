"""Django admin for people, departments, teams and API tokens.

Departments are created, moved and deleted through the services (their tree paths and the audit
trail stay right); an API token's hash is never shown, and tokens are issued by their owner (API,
`loopcrm token create`), so the admin can only look at them and revoke them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopcrm.accounts import services
from loopcrm.accounts.models import ApiToken, Department, Team, User
from loopcrm.core.errors import DomainError


class TeamsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            queryset=Team.objects.select_related("department"), required=False, label=_("teams"),
            widget=FilteredSelectMultiple(_("teams"), is_stacked=False), **kwargs,
        )


class LoopUserChangeForm(UserChangeForm):
    teams = TeamsField()

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["teams"].initial = list(self.instance.teams.values_list("pk", flat=True))


class LoopUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name", "email", "role", "department")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = LoopUserChangeForm
    add_form = LoopUserCreationForm
    list_display = ("username", "display_name", "email", "role", "department", "is_active", "last_login")
    list_filter = ("role", "department", "is_active", "is_superuser")
    search_fields = ("username", "display_name", "email", "first_name", "last_name")
    list_select_related = ("department",)
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("display_name", "first_name", "last_name", "email", "phone", "language",
                                  "time_zone")}),
        (_("Place in the organisation"), {"fields": ("role", "department", "teams", "is_available")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "display_name", "email", "role", "department",
                                                  "password1", "password2")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if "teams" in form.cleaned_data:
            form.instance.teams.set(form.cleaned_data["teams"])


class DepartmentAdminForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ("name", "code", "parent")

    def _post_clean(self) -> None:
        # The services write departments (tree paths, audit); their rules are checked in clean().
        pass

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        code, parent = cleaned.get("code", ""), cleaned.get("parent")
        if Department.objects.filter(code__iexact=code).exclude(pk=self.instance.pk).exists():
            self.add_error("code", _("A department with this code exists."))
        if self.instance.pk and parent is not None and parent.path.startswith(self.instance.path):
            self.add_error("parent", _("A department cannot be moved below itself."))
        return cleaned


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentAdminForm
    list_display = ("indented_name", "code", "parent", "member_count")
    search_fields = ("name", "code")
    readonly_fields = ("path",)
    ordering = ("path",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).select_related("parent").annotate(member_total=Count("members"))

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, department: Department) -> str:
        return "— " * max(department.path.count("/") - 2, 0) + department.name

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, department: Department) -> int:
        return department.member_total

    def save_model(self, request: HttpRequest, obj: Department, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.update_department(
                Department.objects.get(pk=obj.pk), by=request.user,
                changes={"name": data["name"], "code": data["code"], "parent": data["parent"]},
            )
        else:
            saved = services.create_department(name=data["name"], code=data["code"], parent=data["parent"],
                                               by=request.user)
        for field in Department._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Department) -> None:
        try:
            services.delete_department(obj, by=request.user)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Department]) -> None:
        for department in queryset.order_by("-path"):  # the deepest first, so a tree can go at once
            self.delete_model(request, department)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "department", "lead", "member_count")
    list_filter = ("department",)
    search_fields = ("name",)
    filter_horizontal = ("members",)
    autocomplete_fields = ("lead",)
    list_select_related = ("department", "lead")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, team: Team) -> int:
        return team.member_total


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a token is shown once, to its owner; create it through the API or the CLI

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead: the row stays as the record of what was issued

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.revoke_token(token, by=request.user)
        self.message_user(request, _("Revoked %(count)d tokens.") % {"count": queryset.count()})
