"""Segment rules: a JSON rule over customers, validated and compiled to one Django Q.

The same Q runs on SQLite and PostgreSQL, so a segment's count and members are one SQL query.

    rule      := {"all": [rule, …]} | {"any": [rule, …]} | {"not": rule} | condition
    condition := {"field": <name>, "op": <operator>, "value": <value>}

Fields (`FIELDS`): customer fields (kind, province, city, district, country, industry,
source_channel, is_vip, owner_id, department_id, created_at), tag, the value row (r_score, f_score,
m_score, rfm_segment, tier, stage, vip_suggested, clv, p_alive, frequency, monetary, recency_days) and
purchase behaviour: bought_category / bought_product ({"category": code, "days": N} / {"product": id,
"days": N}) and ordered ({"days": N}), with ops in_last_days / not_in_last_days; and activity fields that
higher layers register (`register_activity_field`: survey answers from feedback), valued {key: item, "days": N}.
An empty {"all": []} matches every customer. Every mistake is a RuleViolation naming where it is
(field "rule.all.0.value").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.commerce.models import Order, OrderLine, Product, ProductCategory
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Customer, SourceChannel, Tag
from loopcrm.value.models import RfmSegment, Stage, Tier

MAX_DEPTH = 6
MAX_CONDITIONS = 50
MAX_LIST = 200
MAX_TEXT = 100
MAX_DAYS = 3650
MAX_NUMBER = 1e15

TEXT_OPS = ("eq", "ne", "in", "not_in", "contains")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
NUMBER_OPS = ("eq", "ne", "gte", "lte", "between", "in")
BOOL_OPS = ("eq",)
DATE_OPS = ("before", "after", "in_last_days")
EXISTS_OPS = ("in_last_days", "not_in_last_days")
TAG_OPS = ("has", "not_has")


@dataclass(frozen=True)
class ActivityField:
    """A condition on what a higher layer records about customers (survey answers), registered by that layer
    so that value never imports it. The rule's value is {key: item, "days": N}, or {"days": N} without a key;
    `rows(op, item, since, until)` are the records (each with a customer_id) that satisfy the condition in
    that window. An op starting with "not_" selects the customers with no such record, for the op without it."""

    label: Any
    ops: tuple[str, ...]
    rows: Callable[[str, Any, dt.datetime, dt.datetime], QuerySet]
    key: str = ""
    options: tuple[tuple[Any, Any], ...] = ()  # the key's values, each with its label

    def positive(self, op: str) -> str:
        return op.removeprefix("not_")


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # text, choice, int, score, number, bool, date, tag, purchase, activity
    lookup: str = ""
    choices: tuple[str, ...] = ()
    activity: ActivityField | None = None

    @property
    def ops(self) -> tuple[str, ...]:
        if self.activity is not None:
            return self.activity.ops
        return {"text": TEXT_OPS, "choice": CHOICE_OPS, "int": ("eq", "ne", "in", "not_in"), "score": NUMBER_OPS,
                "number": NUMBER_OPS, "bool": BOOL_OPS, "date": DATE_OPS, "tag": TAG_OPS,
                "purchase": EXISTS_OPS}[self.kind]


def _values(choices) -> tuple[str, ...]:
    return tuple(value for value, _label in choices)


FIELDS: dict[str, FieldSpec] = {
    "kind": FieldSpec("choice", "kind", _values(Customer.Kind.choices)),
    "province": FieldSpec("text", "province"),
    "city": FieldSpec("text", "city"),
    "district": FieldSpec("text", "district"),
    "country": FieldSpec("text", "country"),
    "industry": FieldSpec("text", "industry"),
    "source_channel": FieldSpec("choice", "source_channel", _values(SourceChannel.choices)),
    "is_vip": FieldSpec("bool", "is_vip"),
    "owner_id": FieldSpec("int", "owner_id"),
    "department_id": FieldSpec("int", "department_id"),
    "created_at": FieldSpec("date", "created_at"),
    "tag": FieldSpec("tag"),
    "r_score": FieldSpec("score", "value__r_score"),
    "f_score": FieldSpec("score", "value__f_score"),
    "m_score": FieldSpec("score", "value__m_score"),
    "rfm_segment": FieldSpec("choice", "value__segment", _values(RfmSegment.choices)),
    "tier": FieldSpec("choice", "value__tier", _values(Tier.choices)),
    "stage": FieldSpec("choice", "value__stage", _values(Stage.choices)),
    "vip_suggested": FieldSpec("bool", "value__vip_suggested"),
    "clv": FieldSpec("number", "value__clv"),
    "p_alive": FieldSpec("number", "value__p_alive"),
    "frequency": FieldSpec("number", "value__frequency"),
    "monetary": FieldSpec("number", "value__monetary"),
    "recency_days": FieldSpec("number", "value__recency_days"),
    "bought_category": FieldSpec("purchase"),
    "bought_product": FieldSpec("purchase"),
    "ordered": FieldSpec("purchase"),
}


VALUE = "value__"  # lookups through the customer's value row


def register_activity_field(name: str, field: ActivityField) -> None:
    """Offer `field` to segment rules and the builder under `name` (from the registering app's ready())."""
    if name in FIELDS and FIELDS[name].activity is None:
        raise ValueError(f"{name!r} is already a segment field")
    FIELDS[name] = FieldSpec("activity", activity=field)


class _Compiler:
    def __init__(self, at: dt.datetime, *, on_values: bool = False) -> None:
        self.at = at
        self.conditions = 0
        self.on_values = on_values  # compile against CustomerValue instead of Customer

    def fail(self, path: str, message: str) -> RuleViolation:
        return RuleViolation(message, field=path)

    def node(self, rule: Any, path: str, depth: int) -> Q:
        if depth > MAX_DEPTH:
            raise self.fail(path, _("Rules nest at most %(n)s levels deep.") % {"n": MAX_DEPTH})
        if not isinstance(rule, dict):
            raise self.fail(path, _("Expected an object: {\"all\": […]}, {\"any\": […]}, {\"not\": …} or a condition."))
        if "all" in rule or "any" in rule:
            key = "all" if "all" in rule else "any"
            if set(rule) != {key}:
                raise self.fail(path, _("A group has only one key, \"all\" or \"any\"."))
            items = rule[key]
            if not isinstance(items, list):
                raise self.fail(f"{path}.{key}", _("Expected a list of rules."))
            if len(items) > MAX_CONDITIONS:
                raise self.fail(f"{path}.{key}", _("At most %(n)s rules in a group.") % {"n": MAX_CONDITIONS})
            parts = [self.node(item, f"{path}.{key}.{i}", depth + 1) for i, item in enumerate(items)]
            if not parts:
                return Q() if key == "all" else Q(pk__in=[])  # "any of nothing" matches nobody
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined & part) if key == "all" else (combined | part)
            return combined
        if "not" in rule:
            if set(rule) != {"not"}:
                raise self.fail(path, _("A negation has only the key \"not\"."))
            return ~self.node(rule["not"], f"{path}.not", depth + 1)
        return self.condition(rule, path)

    def condition(self, rule: dict, path: str) -> Q:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.fail(path, _("At most %(n)s conditions in a rule.") % {"n": MAX_CONDITIONS})
        unknown = set(rule) - {"field", "op", "value"}
        if unknown:
            raise self.fail(f"{path}.{sorted(unknown)[0]}", _("Unknown key; a condition has field, op and value."))
        name = rule.get("field")
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise self.fail(f"{path}.field", _("Unknown field %(field)s; use one of: %(fields)s.")
                            % {"field": repr(name), "fields": ", ".join(FIELDS)})
        op = rule.get("op")
        if op not in spec.ops:
            raise self.fail(f"{path}.op", _("Field %(field)s takes the operators %(ops)s, not %(op)s.")
                            % {"field": name, "ops": ", ".join(spec.ops), "op": repr(op)})
        if "value" not in rule:
            raise self.fail(f"{path}.value", _("A condition needs a value."))
        value = rule["value"]
        vpath = f"{path}.value"
        handler: Callable[..., Q] = getattr(self, f"_{spec.kind}")
        if self.on_values:
            spec = replace(spec, lookup=spec.lookup.removeprefix(VALUE))
        return handler(name, spec, op, value, vpath)

    # --- value checks -------------------------------------------------------------------------

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, _("Expected text."))
        if "\x00" in value:
            raise self.fail(path, _("Text must not contain NUL characters."))
        if len(value) > MAX_TEXT:
            raise self.fail(path, _("At most %(n)s characters.") % {"n": MAX_TEXT})
        return value

    def number(self, value: Any, path: str, *, integer: bool = False, low: float = -MAX_NUMBER,
               high: float = MAX_NUMBER) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(path, _("Expected a whole number.") if integer else _("Expected a number."))
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path, _("Expected a finite number."))
        if not low <= value <= high:
            raise self.fail(path, _("Expected a number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return value

    def listing(self, value: Any, path: str, check: Callable[[Any, str], Any]) -> list:
        if not isinstance(value, list) or not value:
            raise self.fail(path, _("Expected a non-empty list."))
        if len(value) > MAX_LIST:
            raise self.fail(path, _("At most %(n)s values.") % {"n": MAX_LIST})
        return [check(item, f"{path}.{i}") for i, item in enumerate(value)]

    def days(self, value: Any, path: str) -> int:
        return int(self.number(value, path, integer=True, low=1, high=MAX_DAYS))

    # --- field kinds ---------------------------------------------------------------------------

    def _simple(self, lookup: str, op: str, value: Any, path: str, check: Callable[[Any, str], Any]) -> Q:
        if op in ("in", "not_in"):
            q = Q(**{f"{lookup}__in": self.listing(value, path, check)})
            return ~q if op == "not_in" else q
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail(path, _("Expected [low, high]."))
            low, high = check(value[0], f"{path}.0"), check(value[1], f"{path}.1")
            if low > high:
                raise self.fail(path, _("The low end is above the high end."))
            return Q(**{f"{lookup}__gte": low, f"{lookup}__lte": high})
        checked = check(value, path)
        if op == "ne":
            return ~Q(**{lookup: checked})
        suffix = {"eq": "", "gte": "__gte", "lte": "__lte", "contains": "__contains"}[op]
        return Q(**{f"{lookup}{suffix}": checked})

    def _text(self, name, spec, op, value, path) -> Q:
        return self._simple(spec.lookup, op, value, path, self.text)

    def _choice(self, name, spec, op, value, path) -> Q:
        def check(item, where):
            if item not in spec.choices:
                raise self.fail(where, _("Expected one of: %(choices)s.") % {"choices": ", ".join(spec.choices)})
            return item
        return self._simple(spec.lookup, op, value, path, check)

    def _int(self, name, spec, op, value, path) -> Q:
        return self._simple(spec.lookup, op, value, path,
                            lambda item, where: self.number(item, where, integer=True, low=1, high=2**63 - 1))

    def _score(self, name, spec, op, value, path) -> Q:
        return self._simple(spec.lookup, op, value, path,
                            lambda item, where: self.number(item, where, integer=True, low=1, high=5))

    def _number(self, name, spec, op, value, path) -> Q:
        return self._simple(spec.lookup, op, value, path, self.number)

    def _bool(self, name, spec, op, value, path) -> Q:
        if not isinstance(value, bool):
            raise self.fail(path, _("Expected true or false."))
        return Q(**{spec.lookup: value})

    def _date(self, name, spec, op, value, path) -> Q:
        if op == "in_last_days":
            return Q(**{f"{spec.lookup}__gte": self.at - dt.timedelta(days=self.days(value, path))})
        try:
            day = dt.date.fromisoformat(self.text(value, path))
        except ValueError:
            raise self.fail(path, _("Expected a date as YYYY-MM-DD.")) from None
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        return Q(**{f"{spec.lookup}__lt" if op == "before" else f"{spec.lookup}__gte": moment})

    def _tag(self, name, spec, op, value, path) -> Q:
        ids = tag_ids(self.text(value, path))
        if not ids:
            return Q() if op == "not_has" else Q(pk__in=[])
        tagged = Customer.tags.through.objects.filter(customer_id=OuterRef("pk"), tag_id__in=ids)
        return Q(~Exists(tagged)) if op == "not_has" else Q(Exists(tagged))

    def _purchase(self, name, spec, op, value, path) -> Q:
        expected = {"bought_category": {"category", "days"}, "bought_product": {"product", "days"},
                    "ordered": {"days"}}[name]
        if not isinstance(value, dict) or set(value) != expected:
            keys = ", ".join(sorted(expected))
            raise self.fail(path, _("Expected an object with the keys %(keys)s.") % {"keys": keys})
        since = self.at - dt.timedelta(days=self.days(value["days"], f"{path}.days"))
        window = {"placed_at__gte": since, "placed_at__lte": self.at, "status__in": SPENDING_STATUSES}
        if name == "ordered":
            found = Exists(Order.objects.filter(customer_id=OuterRef("pk"), **window))
        else:
            lines = {f"order__{key}": item for key, item in window.items()}
            if name == "bought_category":
                lines["product__category_id__in"] = self._category_ids(value["category"], f"{path}.category")
            else:
                product = self.number(value["product"], f"{path}.product", integer=True, low=1, high=2**63 - 1)
                if not Product.objects.filter(pk=product).exists():
                    raise self.fail(f"{path}.product", _("No product #%(id)s.") % {"id": product})
                lines["product_id"] = product
            found = Exists(OrderLine.objects.filter(order__customer_id=OuterRef("pk"), **lines))
        return Q(~found) if op == "not_in_last_days" else Q(found)

    def _activity(self, name, spec, op, value, path) -> Q:
        field = spec.activity
        expected = {field.key, "days"} - {""}
        if not isinstance(value, dict) or set(value) != expected:
            keys = ", ".join(sorted(expected))
            raise self.fail(path, _("Expected an object with the keys %(keys)s.") % {"keys": keys})
        item = None
        if field.key:
            item = value[field.key]
            allowed = [option for option, _label in field.options]
            if isinstance(item, bool) or item not in allowed:
                raise self.fail(f"{path}.{field.key}", _("Expected one of: %(choices)s.")
                                % {"choices": ", ".join(str(option) for option in allowed)})
        since = self.at - dt.timedelta(days=self.days(value["days"], f"{path}.days"))
        found = Exists(field.rows(field.positive(op), item, since, self.at).filter(customer_id=OuterRef("pk")))
        return Q(~found) if op.startswith("not_") else Q(found)

    def _category_ids(self, value: Any, path: str) -> list[int]:
        ids = category_ids(self.text(value, path))
        if ids is None:
            raise self.fail(path, _("No product category with the code %(code)s.") % {"code": repr(value)})
        return ids


def tag_ids(name: str) -> list[int]:
    """The ids of the tags called `name`, ignoring case. Read first so that the count's plan sees which tag it
    is: from a join on the name the planner guessed 1,500 links for a tag with 32,000 and probed them one by one."""
    return list(Tag.objects.filter(name__iexact=name).order_by().values_list("pk", flat=True))


def category_ids(code: str) -> list[int] | None:
    """The ids of the category with this code and of every category below it (None: no such category)."""
    tree = list(ProductCategory.objects.values_list("id", "code", "parent_id"))
    root = next((row[0] for row in tree if row[1] == code), None)
    if root is None:
        return None
    found, frontier = {root}, {root}
    while frontier:
        frontier = {cid for cid, _code, parent in tree if parent in frontier} - found
        found |= frontier
    return sorted(found)


def compile_rule(rule: Any, *, at: dt.datetime | None = None) -> Q:
    """The Q over Customer that `rule` stands for (RuleViolation naming the part at fault)."""
    return _Compiler(at or timezone.now()).node(rule, "rule", 0)


def validate_rule(rule: Any) -> None:
    compile_rule(rule)


POSITIVE_OPS = ("eq", "in", "gte", "lte", "between", "contains")


def _on_value_row_only(rule: Any) -> bool:
    """True when every condition of `rule` is on the value row, a tag, a purchase or an activity (no customer
    field): those are subqueries on the customer id, which the value row carries as its key."""
    if not isinstance(rule, dict):
        return False
    for key in ("all", "any"):
        if key in rule:
            items = rule[key]
            return isinstance(items, list) and all(_on_value_row_only(item) for item in items)
    if "not" in rule:
        return _on_value_row_only(rule["not"])
    spec = FIELDS.get(rule.get("field")) if isinstance(rule.get("field"), str) else None
    return spec is not None and (spec.lookup.startswith(VALUE) or spec.kind in ("tag", "purchase", "activity"))


def _needs_value_row(rule: dict) -> bool:
    """True when no customer without a value row can match `rule` (a positive test of the row decides)."""
    if "all" in rule:
        return any(_needs_value_row(item) for item in rule["all"])
    if "any" in rule:
        return bool(rule["any"]) and all(_needs_value_row(item) for item in rule["any"])
    if "not" in rule:
        return False
    return FIELDS[rule["field"]].lookup.startswith(VALUE) and rule.get("op") in POSITIVE_OPS


def compile_value_rule(rule: Any, *, at: dt.datetime | None = None) -> Q | None:
    """The Q over CustomerValue that selects the same customers as `rule` over live customers, or None when
    there is none: the rule tests a customer field, or a customer without a value row could match it (a
    negation, or only tags and purchases).

    Sound because every value row belongs to a live customer: the recompute writes rows for live customers
    only, merging drops or moves the duplicate's row to the kept customer, deleting a customer cascades.
    A count then reads the value table alone (an index or bitmap scan), not a million customer rows.
    """
    if not (_on_value_row_only(rule) and _needs_value_row(rule)):
        return None
    return _Compiler(at or timezone.now(), on_values=True).node(rule, "rule", 0)


NEGATED_OPS = {"ne": "eq", "not_in": "in", "not_in_last_days": "in_last_days", "not_has": "has"}


def complement(rule: Any) -> Any | None:
    """The rule whose matches are exactly the live customers `rule` leaves out, when `rule` is a negation at
    the top ({"not": r}, or one condition with ne, not_in or not_in_last_days); else None. A negation is then
    counted as all live customers minus the complement's count, which may be a fast one."""
    if not isinstance(rule, dict):
        return None
    if set(rule) == {"not"}:
        return rule["not"]
    spec = FIELDS.get(rule["field"]) if isinstance(rule.get("field"), str) else None
    if spec is not None and rule.get("op") in NEGATED_OPS:
        return {**rule, "op": NEGATED_OPS[rule["op"]]}
    return None
