"""Django admin for the loyalty programme: read-only.

The points ledger is append-only and balances are a cache of it, so nothing here edits or deletes
them; programmes and tiers change through the API (services validate and audit every change).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from loopcrm.loyalty.models import Membership, MembershipTier, PointsEntry, Programme, TierChange


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TierInline(admin.TabularInline):
    model = MembershipTier
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Programme)
class ProgrammeAdmin(ReadOnly):
    list_display = ("name", "currency", "points_per_unit", "survey_points", "expiry_months", "is_active")
    inlines = [TierInline]


@admin.register(Membership)
class MembershipAdmin(ReadOnly):
    list_display = ("id", "customer", "programme", "tier", "balance", "joined_at")
    list_select_related = ("customer", "programme", "tier")
    list_filter = ("programme",)
    raw_id_fields = ("customer",)


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnly):
    list_display = ("id", "created_at", "membership", "kind", "amount", "balance_after", "reason", "by")
    list_filter = ("kind",)
    list_select_related = ("membership", "by")
    raw_id_fields = ("membership", "order")
    show_full_result_count = False


@admin.register(TierChange)
class TierChangeAdmin(ReadOnly):
    list_display = ("at", "membership", "kind", "from_tier", "to_tier", "qualifying_value")
