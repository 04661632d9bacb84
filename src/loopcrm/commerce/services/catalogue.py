"""Writes on the catalogue: products and their categories. SKUs and category codes are unique."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Product, ProductCategory
from loopcrm.commerce.services.rules import (
    MAX_NOTES,
    currency_code,
    money,
    object_id,
    require_product_change,
)
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.core.text import clean_line, clean_text, listing


def _sku(value: Any) -> str:
    if not isinstance(value, str):
        raise RuleViolation(_("A SKU is text."), field="sku")
    sku = clean_line(value, field="sku", max_length=64, required=True)
    if " " in sku:
        raise RuleViolation(_("A SKU may not contain spaces."), field="sku")
    return sku


def _check_sku_free(sku: str, *, exclude_pk: int | None = None) -> None:
    taken = Product.objects.filter(sku__iexact=sku)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    existing = taken.values_list("pk", "sku").first()
    if existing is not None:
        raise Conflict(_sku_taken(existing[1]), field="sku", extra={"existing_id": existing[0]})


def _sku_taken(sku: str) -> str:
    return _("The SKU %(sku)s is already used by another product.") % {"sku": repr(sku)}


def _category(category_id: int | None) -> ProductCategory | None:
    if category_id is None:
        return None
    category = ProductCategory.objects.filter(pk=object_id(category_id, field="category_id")).first()
    if category is None:
        raise RuleViolation(_no_category(category_id), field="category_id")
    return category


def _no_category(category_id: object) -> str:
    return _("No product category with id %(id)s.") % {"id": category_id}


def _save_product(product: Product, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            product.save(**kwargs)
    except IntegrityError as error:  # a concurrent writer took the SKU between our check and our write
        raise Conflict(_sku_taken(product.sku), field="sku") from error


PRODUCT_FIELDS = ("sku", "name", "price", "currency", "category_id", "is_active", "description")


def validate_product(values: Mapping[str, Any], *, product: Product | None = None) -> dict[str, Any]:
    """The cleaned catalogue fields of `values` (a subset of PRODUCT_FIELDS), or RuleViolation/Conflict.

    Used by the writes below, and by forms that want the same answers before they save.
    """
    unknown = sorted(set(values) - set(PRODUCT_FIELDS))
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "sku":
            cleaned["sku"] = _sku(value)
            _check_sku_free(cleaned["sku"], exclude_pk=product.pk if product is not None else None)
        elif key == "name":
            cleaned["name"] = clean_line(value, field="name", max_length=200, required=True)
        elif key == "price":
            cleaned["price"] = money(value, field="price")
        elif key == "currency":
            cleaned["currency"] = currency_code(value)
        elif key == "category_id":
            category = _category(value)
            cleaned["category_id"] = category.pk if category is not None else None
        elif key == "is_active":
            if not isinstance(value, bool):
                raise RuleViolation(_("Give true or false."), field="is_active")
            cleaned["is_active"] = value
        elif key == "description":
            cleaned["description"] = clean_text(value, field="description", max_length=MAX_NOTES)
    return cleaned


@transaction.atomic
def create_product(
    *, by: User, sku: str, name: str, price: Any, currency: str = "CNY", category_id: int | None = None,
    is_active: bool = True, description: str = "",
) -> Product:
    """Add a product to the catalogue. SKUs are unique, compared without regard to case."""
    require_product_change(by)
    product = Product(**validate_product({
        "sku": sku, "name": name, "price": price, "currency": currency, "category_id": category_id,
        "is_active": is_active, "description": description,
    }))
    _save_product(product)
    audit.record(
        action="create", obj=product, by=by,
        changes=audit.snapshot(product, ["sku", "name", "price", "currency", "category_id", "is_active"]),
    )
    return product


@transaction.atomic
def update_product(product: Product, *, by: User, changes: Mapping[str, Any]) -> Product:
    """Change catalogue fields of a product. Orders already placed keep the prices they were sold at."""
    require_product_change(by)
    product = Product.objects.select_for_update().get(pk=product.pk)
    cleaned = validate_product(changes, product=product)
    before = audit.snapshot(product, PRODUCT_FIELDS)
    for key, value in cleaned.items():
        setattr(product, key, value)
    changed = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    if changed:
        fields = [("category" if name == "category_id" else name) for name in changed]
        _save_product(product, update_fields=[*fields, "updated_at"])
        audit.record(action="update", obj=product, by=by, changes=changed)
    return product


_CODE = re.compile(r"^[-a-zA-Z0-9_]+$")


def validate_category(values: Mapping[str, Any], *, category: ProductCategory | None = None) -> dict[str, Any]:
    """The cleaned fields (name, code, parent_id) of a category, or RuleViolation/Conflict."""
    unknown = sorted(set(values) - {"name", "code", "parent_id"})
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = clean_line(values["name"], field="name", max_length=100, required=True)
    if "code" in values:
        code = clean_line(values["code"], field="code", max_length=50, required=True)
        if not _CODE.match(code):
            raise RuleViolation(_("A code uses letters, digits, '-' and '_' only."), field="code")
        taken = ProductCategory.objects.filter(code__iexact=code)
        if category is not None:
            taken = taken.exclude(pk=category.pk)
        if taken.exists():
            raise Conflict(_category_taken(code), field="code")
        cleaned["code"] = code
    if values.get("parent_id") is not None:
        parent = ProductCategory.objects.filter(pk=object_id(values["parent_id"], field="parent_id")).first()
        if parent is None:
            raise RuleViolation(_no_category(values["parent_id"]), field="parent_id")
        ancestor: ProductCategory | None = parent
        while category is not None and ancestor is not None:  # categories are few and shallow
            if ancestor.pk == category.pk:
                raise RuleViolation(_("A category cannot be placed below itself."), field="parent_id")
            ancestor = ancestor.parent
        cleaned["parent_id"] = parent.pk
    elif "parent_id" in values:
        cleaned["parent_id"] = None
    return cleaned


def _category_taken(code: str) -> str:
    return _("A product category with code %(code)s exists.") % {"code": repr(code)}


def _save_category(category: ProductCategory, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            category.save(**kwargs)
    except IntegrityError as error:
        raise Conflict(_category_taken(category.code), field="code") from error


@transaction.atomic
def create_category(*, by: User, name: str, code: str, parent_id: int | None = None) -> ProductCategory:
    """A product category (categories may nest). Codes are unique, compared without regard to case."""
    require_product_change(by)
    category = ProductCategory(**validate_category({"name": name, "code": code, "parent_id": parent_id}))
    _save_category(category)
    audit.record(action="create", obj=category, by=by, changes=audit.snapshot(category, ["name", "code", "parent_id"]))
    return category


@transaction.atomic
def update_category(category: ProductCategory, *, by: User, changes: Mapping[str, Any]) -> ProductCategory:
    require_product_change(by)
    category = ProductCategory.objects.select_for_update().get(pk=category.pk)
    cleaned = validate_category(changes, category=category)
    before = audit.snapshot(category, ["name", "code", "parent_id"])
    for key, value in cleaned.items():
        setattr(category, key, value)
    changed = audit.diff(before, audit.snapshot(category, ["name", "code", "parent_id"]))
    if changed:
        _save_category(category, update_fields=[("parent" if name == "parent_id" else name) for name in changed])
        audit.record(action="update", obj=category, by=by, changes=changed)
    return category
