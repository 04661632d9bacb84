"""Django admin for the catalogue and for orders.

Catalogue saves go through the services (SKU and code uniqueness, money rules, audit). Orders are
records of what customers bought: the admin shows them with their lines and moves them along
their lifecycle through the service; it never edits amounts.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopcrm.commerce import services
from loopcrm.commerce.models import Order, OrderLine, Product, ProductCategory
from loopcrm.core.errors import DomainError


def _add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    field = {"category_id": "category", "parent_id": "parent"}.get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


def _copy_into(target, source) -> None:
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False


class ServiceForm(forms.ModelForm):
    """A model form whose rules are the service's: `values()` is what it hands the service."""

    def _post_clean(self) -> None:
        pass  # the service validates and writes

    def values(self) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                self.validate(self.values())
            except DomainError as error:
                _add_domain_error(self, error)
        return cleaned


class CategoryForm(ServiceForm):
    class Meta:
        model = ProductCategory
        fields = ("name", "code", "parent")

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data.get("name"), "code": data.get("code"),
                "parent_id": data["parent"].pk if data.get("parent") else None}

    def validate(self, values: dict[str, Any]) -> None:
        services.validate_category(values, category=self.instance if self.instance.pk else None)


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "code", "parent")
    search_fields = ("name", "code")
    list_select_related = ("parent",)

    def save_model(self, request: HttpRequest, obj: ProductCategory, form: CategoryForm, change: bool) -> None:
        if change:
            saved = services.update_category(obj, by=request.user, changes=form.values())
        else:
            saved = services.create_category(by=request.user, **form.values())
        _copy_into(obj, saved)

    def has_delete_permission(self, request: HttpRequest, obj: ProductCategory | None = None) -> bool:
        return False


class ProductForm(ServiceForm):
    class Meta:
        model = Product
        fields = ("sku", "name", "category", "price", "currency", "is_active", "description")

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {name: data.get(name) for name in ("sku", "name", "price", "currency", "is_active", "description")}
        values["category_id"] = data["category"].pk if data.get("category") else None
        return values

    def validate(self, values: dict[str, Any]) -> None:
        services.validate_product(values, product=self.instance if self.instance.pk else None)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ("sku", "name", "category", "price", "currency", "is_active")
    list_filter = ("is_active", "category", "currency")
    search_fields = ("sku", "name")
    list_select_related = ("category",)

    def save_model(self, request: HttpRequest, obj: Product, form: ProductForm, change: bool) -> None:
        if change:
            saved = services.update_product(obj, by=request.user, changes=form.values())
        else:
            saved = services.create_product(by=request.user, **form.values())
        _copy_into(obj, saved)

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False  # sold products stay on record; take them off sale instead


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("product", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("product")


def _move(status: str):
    @admin.action(description=_("Mark the selected orders %(status)s") % {"status": Order.Status(status).label})
    def action(modeladmin: OrderAdmin, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        moved = 0
        for order in queryset:
            try:
                services.change_order_status(order, by=request.user, status=status, version=order.version)
                moved += 1
            except DomainError as error:
                modeladmin.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
        if moved:
            modeladmin.message_user(request, _("%(count)d orders changed.") % {"count": moved})

    action.__name__ = f"mark_{status}"
    return action


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "status", "channel", "placed_at", "total", "currency")
    list_filter = ("status", "channel", "currency")
    search_fields = ("number", "customer__name")
    date_hierarchy = "placed_at"
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    readonly_fields = ("number", "customer", "channel", "status", "placed_at", "delivered_at", "currency", "total",
                       "notes", "version", "created_by", "created_at", "updated_at")
    fields = readonly_fields
    inlines = [OrderLineInline]
    actions = [_move(status) for status in ("paid", "shipped", "delivered", "cancelled", "returned")]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are recorded through the API, the pages or an import (one rule set)

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False
