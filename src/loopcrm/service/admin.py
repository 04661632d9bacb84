"""Django admin for the ticket core: configuration is edited through the services; tickets are read here.

Tickets are worked on in the workbench (and the API), where the lifecycle, routing, SLA clocks and
process steps apply; the admin shows a ticket with its conversation and event log, read-only.
Categories, root causes, queues and canned replies save through their services, so paths, codes,
permissions and the audit trail are the same as everywhere else.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopcrm.core.errors import DomainError
from loopcrm.service.models import CannedReply, Queue, RootCause, Ticket, TicketCategory, TicketEvent, TicketMessage
from loopcrm.service.services import categories as category_services
from loopcrm.service.services import complaints as complaint_services

_FIELDS = {"parent_id": "parent", "department_id": "department", "member_ids": "members"}


class ServiceFormMixin:
    """A ModelForm whose save is the service's: `call(form)` returns the saved row or raises DomainError."""

    def _post_clean(self) -> None:  # the model's own validation is the service's job
        pass

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.saved = self.call()  # type: ignore[attr-defined]
        except DomainError as error:
            field = _FIELDS.get(error.field or "", error.field)
            self.add_error(field if field in self.fields else None, error.message)
        return cleaned

    def changes(self, names: list[str]) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in names if name in self.changed_data}


class ServiceAdmin(admin.ModelAdmin):
    """Saves are done by the form's service call (inside the admin's transaction)."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        saved = getattr(form, "saved", None)
        if saved is not None:
            obj.pk = saved.pk
            obj._state.adding = False
            obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        pass  # members and the like were set by the service

    def delete_model(self, request, obj) -> None:
        messages.error(request, _("Deactivate it instead; tickets keep pointing at it."))

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CategoryForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = TicketCategory
        fields = ["name", "code", "parent", "is_active"]

    def call(self) -> TicketCategory:
        user = self.request_user
        if not self.instance.pk:
            return category_services.create_category(name=self.cleaned_data["name"], code=self.cleaned_data["code"],
                                                     parent=self.cleaned_data.get("parent"), by=user)
        instance = TicketCategory.objects.get(pk=self.instance.pk)
        return category_services.update_category(instance, by=user,
                                                 changes=self.changes(["name", "code", "parent", "is_active"]))


@admin.register(TicketCategory)
class TicketCategoryAdmin(ServiceAdmin):
    form = CategoryForm
    list_display = ["name", "code", "path", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]


class RootCauseForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = RootCause
        fields = ["name", "code", "branch", "parent", "is_active"]

    def call(self) -> RootCause:
        user = self.request_user
        if not self.instance.pk:
            return complaint_services.create_root_cause(
                code=self.cleaned_data["code"], name=self.cleaned_data["name"], branch=self.cleaned_data.get("branch"),
                parent=self.cleaned_data.get("parent"), by=user)
        instance = RootCause.objects.get(pk=self.instance.pk)
        return complaint_services.update_root_cause(instance, by=user,
                                                    changes=self.changes(["name", "code", "is_active"]))


@admin.register(RootCause)
class RootCauseAdmin(ServiceAdmin):
    form = RootCauseForm
    list_display = ["name", "code", "branch", "parent", "is_active"]
    list_filter = ["branch", "is_active"]
    search_fields = ["name", "code"]

    def get_readonly_fields(self, request, obj=None):
        return ["branch", "parent"] if obj is not None else []


class QueueForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "code", "department", "strategy", "members", "is_active"]

    def call(self) -> Queue:
        user = self.request_user
        if not self.instance.pk:
            return category_services.create_queue(
                name=self.cleaned_data["name"], code=self.cleaned_data["code"],
                department=self.cleaned_data["department"], strategy=self.cleaned_data["strategy"],
                members=self.cleaned_data.get("members") or [], by=user)
        instance = Queue.objects.get(pk=self.instance.pk)
        changes = self.changes(["name", "code", "department", "strategy", "members", "is_active"])
        if "members" in changes:
            changes["members"] = list(changes["members"] or [])
        return category_services.update_queue(instance, by=user, changes=changes)


@admin.register(Queue)
class QueueAdmin(ServiceAdmin):
    form = QueueForm
    list_display = ["name", "code", "department", "strategy", "is_active"]
    list_filter = ["strategy", "is_active", "department"]
    search_fields = ["name", "code"]
    filter_horizontal = ["members"]


class CannedReplyForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body", "department", "is_active"]

    def call(self) -> CannedReply:
        user = self.request_user
        if not self.instance.pk:
            return category_services.create_canned_reply(
                title=self.cleaned_data["title"], body=self.cleaned_data["body"],
                department=self.cleaned_data.get("department"), by=user)
        instance = CannedReply.objects.get(pk=self.instance.pk)
        return category_services.update_canned_reply(
            instance, by=user, changes=self.changes(["title", "body", "department", "is_active"]))


@admin.register(CannedReply)
class CannedReplyAdmin(ServiceAdmin):
    form = CannedReplyForm
    list_display = ["title", "department", "is_active"]
    list_filter = ["is_active", "department"]
    search_fields = ["title", "body"]


# --- tickets, read-only -------------------------------------------------------------------------

class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = ["created_at", "kind", "author", "channel", "body"]
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["at", "kind", "actor", "field", "old", "new", "step"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "kind", "status", "priority", "customer", "department", "assignee", "opened_at"]
    list_filter = ["status", "kind", "priority", "channel", "department"]
    search_fields = ["=id", "subject", "customer__name"]
    list_select_related = ["customer", "department", "assignee"]
    date_hierarchy = "opened_at"
    inlines = [MessageInline, EventInline]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Ticket._meta.fields] + ["tags", "followers"]
