"""Django admin for the timeline: a read-only view of interactions (they are logged through the services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from loopcrm.interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "customer", "channel", "direction", "touchpoint", "journey_stage", "subject", "user")
    list_filter = ("channel", "direction", "touchpoint", "journey_stage")
    search_fields = ("subject", "customer__name")
    date_hierarchy = "occurred_at"
    list_select_related = ("customer", "user")
    fields = ("customer", "contact", "channel", "direction", "touchpoint", "journey_stage", "subject", "body",
              "occurred_at", "user", "order", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a touch is logged through the API or the customer page, which check scope and input

    def has_change_permission(self, request: HttpRequest, obj: Interaction | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Interaction | None = None) -> bool:
        return False
