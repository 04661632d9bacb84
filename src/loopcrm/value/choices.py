"""What the segment builder offers for a field: the operators the rule compiler accepts for it and, where its
values are a known set, those values with their labels, so nobody has to type a code or an id.

`closed` options are the only values that make sense (a select); open ones are suggestions taken from the
data (a datalist: any other value may still be typed). The compiler stays the judge of every value.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.commerce.models import Product, ProductCategory
from loopcrm.customers.models import Customer, SourceChannel, Tag
from loopcrm.value.models import RfmSegment, Stage, Tier
from loopcrm.value.segments import FIELDS

MAX_SUGGESTIONS = 300
LABELLED = {"kind": Customer.Kind, "source_channel": SourceChannel, "rfm_segment": RfmSegment, "tier": Tier,
            "stage": Stage}
# Text fields whose existing values are suggested (read with DISTINCT; province and city from their index).
SUGGESTED_TEXT = ("province", "city", "district", "country", "industry")
# Operators that take several values, and those whose number of days is the whole value.
MANY_OPS = frozenset({"in", "not_in"})
DAYS_OPS = frozenset({"in_last_days", "not_in_last_days"})


@dataclass(frozen=True)
class FieldOptions:
    values: tuple[tuple[str, str], ...] = ()
    closed: bool = False


def operators(field: str) -> tuple[str, ...]:
    """The operators the compiler accepts for `field` ("" or unknown: none chosen yet, so all of them)."""
    spec = FIELDS.get(field)
    if spec is None:
        return tuple(dict.fromkeys(op for each in FIELDS.values() for op in each.ops))
    return spec.ops


def needs_days(field: str, op: str) -> bool:
    spec = FIELDS.get(field)
    return spec is not None and (spec.kind in ("purchase", "activity") or op in DAYS_OPS)


def needs_value(field: str, op: str) -> bool:
    """Whether the value box means anything: "ordered" and "created in the last N days" only need the days."""
    spec = FIELDS.get(field)
    if spec is None:
        return True
    if spec.activity is not None:
        return bool(spec.activity.key)
    return field != "ordered" and not (spec.kind == "date" and op in DAYS_OPS)


def is_closed(field: str) -> bool:
    """Whether `field`'s values are a closed set (a select), known without reading them."""
    spec = FIELDS.get(field)
    return spec is not None and (field in LABELLED or spec.kind in ("bool", "score")
                                 or field in ("owner_id", "department_id", "bought_category")
                                 or bool(spec.activity and spec.activity.options))


def field_options(field: str) -> FieldOptions:
    """The values to offer for `field` (read from the database for people, categories, tags and places: call it
    only to draw the row, not to read a submitted one)."""
    spec = FIELDS.get(field)
    if spec is None:
        return FieldOptions()
    if field in LABELLED:
        return FieldOptions(tuple((value, str(label)) for value, label in LABELLED[field].choices), closed=True)
    if spec.activity is not None:
        options = spec.activity.options
        return FieldOptions(tuple((str(value), str(label)) for value, label in options), closed=bool(options))
    if spec.kind == "bool":
        return FieldOptions((("true", _("yes")), ("false", _("no"))), closed=True)
    if spec.kind == "score":
        return FieldOptions(tuple((str(n), str(n)) for n in range(1, 6)), closed=True)
    if field == "owner_id":
        users = User.objects.filter(is_active=True).order_by("display_name", "username")[:MAX_SUGGESTIONS]
        return FieldOptions(tuple((str(user.pk), str(user)) for user in users), closed=True)
    if field == "department_id":
        departments = Department.objects.order_by("path")[:MAX_SUGGESTIONS]
        return FieldOptions(tuple((str(d.pk), str(d)) for d in departments), closed=True)
    if field == "bought_category":
        categories = ProductCategory.objects.order_by("name").values_list("code", "name")[:MAX_SUGGESTIONS]
        return FieldOptions(tuple((code, f"{name} ({code})") for code, name in categories), closed=True)
    if field == "bought_product":
        products = Product.objects.order_by("name").values_list("pk", "sku", "name")[:MAX_SUGGESTIONS]
        return FieldOptions(tuple((str(pk), f"{name} · {sku}") for pk, sku, name in products))
    if spec.kind == "tag":
        names = Tag.objects.order_by("name").values_list("name", flat=True)[:MAX_SUGGESTIONS]
        return FieldOptions(tuple((name, name) for name in names))
    if field in SUGGESTED_TEXT:
        values = (Customer.objects.filter(merged_into__isnull=True).exclude(**{spec.lookup: ""})
                  .order_by(spec.lookup).values_list(spec.lookup, flat=True).distinct()[:MAX_SUGGESTIONS])
        return FieldOptions(tuple((value, value) for value in values))
    return FieldOptions()
