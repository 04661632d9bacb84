"""The filter controls of the order list. The request itself is parsed by OrderFilter, as in the API."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.commerce.models import Order, OrderChannel


class DateInput(forms.DateInput):
    input_type = "date"


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Order number"), required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "placeholder": _("Part of the number")}),
    )
    status = forms.ChoiceField(label=_("status"), required=False, choices=[("", _("Any")), *Order.Status.choices])
    channel = forms.ChoiceField(label=_("channel"), required=False, choices=[("", _("Any")), *OrderChannel.choices])
    placed_from = forms.DateField(label=_("Placed from"), required=False, widget=DateInput())
    placed_to = forms.DateField(label=_("Placed until"), required=False, widget=DateInput())
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False,
        choices=[("-placed_at", _("Newest first")), ("placed_at", _("Oldest first"))],
    )

    def visible(self):
        return [self[name] for name in ("q", "status", "channel", "placed_from", "placed_to", "sort")]
