"""The segment builder's form: rows of (field, operator, value, days) joined by "all" or "any", turned into the
JSON rule that value.segments compiles. Parsing only; every rule check is the compiler's."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loopcrm.value import choices
from loopcrm.value.segments import FIELDS

ROWS = 6
FIELD_LABELS = {
    "kind": _("Kind"), "province": _("Province / state"), "city": _("City"), "district": _("District"),
    "country": _("Country"), "industry": _("Industry"), "source_channel": _("Source"), "is_vip": _("VIP"),
    "owner_id": _("Owner (user id)"), "department_id": _("Department (id)"), "created_at": _("Created"),
    "tag": _("Tag"), "r_score": _("R score"), "f_score": _("F score"), "m_score": _("M score"),
    "rfm_segment": _("RFM segment"), "tier": _("Value tier"), "stage": _("Lifecycle stage"),
    "vip_suggested": _("Suggested VIP"), "clv": _("Predicted CLV"), "p_alive": _("P(alive)"),
    "frequency": _("Orders in the window"), "monetary": _("Spend in the window"),
    "recency_days": _("Days since the last order"), "bought_category": _("Bought in category (code)"),
    "bought_product": _("Bought product (id)"), "ordered": _("Ordered"),
}


def field_label(name: str) -> Any:
    """The builder's label of a field, its own for fields other layers register."""
    spec = FIELDS[name]
    return spec.activity.label if spec.activity is not None else FIELD_LABELS[name]


OP_LABELS = {
    "eq": _("is"), "ne": _("is not"), "in": _("is one of"), "not_in": _("is none of"), "contains": _("contains"),
    "gte": _("at least"), "lte": _("at most"), "between": _("between"), "before": _("before"),
    "after": _("on or after"),
    "in_last_days": _("in the last … days"), "not_in_last_days": _("not in the last … days"), "has": _("has"),
    "not_has": _("has not"),
}
_SPLIT = re.compile(r"\s*[,，、]\s*")
_TRUE = {"true", "yes", "1", "是", "y"}
_FALSE = {"false", "no", "0", "否", "n"}


def _number(text: str, *, integer: bool) -> Any:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return text  # the compiler names the mistake


def _value(name: str, op: str, text: str, days: int | None) -> Any:
    spec = FIELDS[name]
    kind = spec.kind
    if spec.activity is not None:
        if not spec.activity.key:
            return {"days": days}
        numeric = all(isinstance(option, int) for option, _label in spec.activity.options)
        return {spec.activity.key: _number(text.strip(), integer=True) if numeric else text.strip(), "days": days}
    if kind == "purchase":
        if name == "ordered":
            return {"days": days if days is not None else _number(text, integer=True)}
        key = "category" if name == "bought_category" else "product"
        item = text if key == "category" else _number(text, integer=True)
        return {key: item, "days": days}
    if kind == "date" and op == "in_last_days":
        return days if days is not None else _number(text, integer=True)
    if kind == "bool":
        lowered = text.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    integer = kind in ("score", "int")
    numeric = kind in ("score", "int", "number")
    if op in ("in", "not_in", "between"):
        parts = [part for part in _SPLIT.split(text.strip()) if part]
        return [_number(part, integer=integer) for part in parts] if numeric else parts
    return _number(text.strip(), integer=integer) if numeric else text.strip()


class _Several(forms.CharField):
    """A value box that may submit several values (a multiple select): kept as the comma list the parser reads."""

    def to_python(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            value = ", ".join(str(each) for each in value if str(each).strip())
        return super().to_python(value)


def _value_field(*, closed: bool, many: bool) -> forms.CharField:
    """A select when the field's values are a closed set (several for "is one of"), else a text box; the values
    and suggestions are filled in when the row is drawn (`SegmentForm.rows`)."""
    if closed:
        widget = forms.SelectMultiple() if many else forms.Select()
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off"})
    return _Several(label=_("Value"), max_length=1000, required=False, widget=widget)


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    match = forms.ChoiceField(label=_("Match"), choices=[("all", _("all of the conditions")),
                                                         ("any", _("any of the conditions"))], initial="all")
    advanced = forms.CharField(label=_("Rule as JSON"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("Used when no condition row is filled in."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_choices = [("", "—"), *((name, field_label(name)) for name in FIELDS)]
        self.row_state: list[dict[str, Any]] = []
        for i in range(ROWS):
            name, op = self._chosen(f"field_{i}"), self._chosen(f"op_{i}")
            ops = choices.operators(name)
            op = op if op in ops else ops[0]
            # Choosing a field or an operator redraws the row with that field's operators and values.
            refresh = {"data-row-refresh": "", "hx-get": reverse("web:segment_row"), "hx-target": f"#segment-row-{i}",
                       "hx-swap": "outerHTML", "hx-include": f"#segment-row-{i}", "hx-vals": json.dumps({"row": i})}
            self.fields[f"field_{i}"] = forms.ChoiceField(
                label=_("Field"), choices=field_choices, required=False, widget=forms.Select(attrs=refresh))
            self.fields[f"op_{i}"] = forms.ChoiceField(
                label=_("Operator"), choices=[(each, OP_LABELS[each]) for each in ops], required=False,
                widget=forms.Select(attrs=refresh))
            self.fields[f"value_{i}"] = _value_field(closed=choices.is_closed(name), many=op in choices.MANY_OPS)
            if not self.is_bound:
                self._fit_initial(f"value_{i}")
            self.fields[f"days_{i}"] = forms.IntegerField(label=_("Days"), min_value=1, max_value=3650, required=False)
            self.row_state.append({"name": name, "needs_days": choices.needs_days(name, op),
                                   "needs_value": choices.needs_value(name, op)})

    def _fit_initial(self, key: str) -> None:
        """A first-shown value in the shape its box takes: a list for a multiple select, else text."""
        value = self.initial.get(key)
        several = isinstance(self.fields[key].widget, forms.SelectMultiple)
        if several and isinstance(value, str):
            self.initial[key] = [part for part in _SPLIT.split(value.strip()) if part]
        elif not several and isinstance(value, list | tuple):
            self.initial[key] = ", ".join(str(part) for part in value)

    def _chosen(self, key: str) -> str:
        """The field's value as submitted (bound) or as first shown (unbound)."""
        value = self.data.get(key) if self.is_bound else self.initial.get(key)
        return value if isinstance(value, str) else ""

    def rows(self) -> list[dict[str, Any]]:
        """The rows to draw, each value box with its field's values (read here, not when a rule is only counted)."""
        drawn = []
        for i, state in enumerate(self.row_state):
            options = choices.field_options(state["name"]) if state["name"] else choices.FieldOptions()
            widget = self.fields[f"value_{i}"].widget
            if options.closed:
                several = isinstance(widget, forms.SelectMultiple)
                widget.choices = list(options.values) if several else [("", "—"), *options.values]
            elif options.values:
                widget.attrs["list"] = f"segment-values-{i}"
            drawn.append({"index": i, "field": self[f"field_{i}"], "op": self[f"op_{i}"], "value": self[f"value_{i}"],
                          "days": self[f"days_{i}"], "options": options, "needs_days": state["needs_days"],
                          "needs_value": state["needs_value"]})
        return drawn

    def rule(self) -> Any:
        """The JSON rule of the filled rows (or of the advanced box); call after is_valid()."""
        data = self.cleaned_data
        conditions = []
        for i in range(ROWS):
            name = data.get(f"field_{i}")
            if not name:
                continue
            op = data.get(f"op_{i}") or FIELDS[name].ops[0]
            conditions.append({"field": name, "op": op,
                               "value": _value(name, op, data.get(f"value_{i}") or "", data.get(f"days_{i}"))})
        if not conditions and (data.get("advanced") or "").strip():
            try:
                return json.loads(data["advanced"])
            except json.JSONDecodeError:
                self.add_error("advanced", _("This is not valid JSON."))
                return None
        return {data.get("match") or "all": conditions}

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        """Builder rows for a flat rule; anything deeper goes to the JSON box."""
        key = next((k for k in ("all", "any") if isinstance(rule, dict) and set(rule) == {k}), None)
        items = rule[key] if key else None
        flat = isinstance(items, list) and len(items) <= ROWS and all(
            isinstance(item, dict) and set(item) == {"field", "op", "value"} for item in items)
        if not flat:
            return {"advanced": json.dumps(rule, ensure_ascii=False, indent=2)}
        initial: dict[str, Any] = {"match": key}
        for i, item in enumerate(items):
            value = item["value"]
            initial[f"field_{i}"], initial[f"op_{i}"] = item["field"], item["op"]
            if isinstance(value, dict):
                initial[f"days_{i}"] = value.get("days")
                value = next((str(item) for key, item in value.items() if key != "days"), "")
            elif isinstance(value, list):
                value = [str(v) for v in value]
            elif isinstance(value, bool):
                value = "true" if value else "false"
            initial[f"value_{i}"] = value
        return initial


def row_initial(params, row: int, changed: str) -> dict[str, Any]:
    """What a redrawn builder row starts from (`params`: the row's submitted boxes). A new field starts the row
    afresh (its first operator, no value); a new operator keeps the value and the days."""
    keys = ("field",) if changed == f"field_{row}" else ("field", "op", "days")
    initial: dict[str, Any] = {f"{key}_{row}": params.get(f"{key}_{row}", "") for key in keys}
    if changed != f"field_{row}":
        initial[f"value_{row}"] = [value for value in params.getlist(f"value_{row}") if value]
    return initial


def row_of(error_field: str | None) -> int | None:
    """The builder row a compiler error points at ("rule.all.2.value" → 2)."""
    match = re.match(r"^rule\.(?:all|any)\.(\d+)", error_field or "")
    return int(match.group(1)) if match else None
