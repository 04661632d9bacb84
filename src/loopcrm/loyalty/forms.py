"""Forms of the loyalty pages: they parse what a browser sends; the rules live in loyalty.services."""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.core.errors import DomainError
from loopcrm.loyalty.services import MAX_POINTS


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """A service's error next to the field it names, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class _Movement(forms.Form):
    # A fresh key with every form shown: a double-clicked submit replays instead of moving points twice.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=120)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["idempotency_key"] = uuid.uuid4().hex


class RedeemForm(_Movement):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=MAX_POINTS)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class AdjustForm(_Movement):
    points = forms.IntegerField(label=_("Points"), min_value=-MAX_POINTS, max_value=MAX_POINTS,
                                help_text=_("Positive adds, negative removes."))
    reason = forms.CharField(label=_("Reason"), max_length=200)


FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)  # a day after LAST_DAY must still exist


class StatementForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name) and not FIRST_DAY <= data[name] <= LAST_DAY:
                self.add_error(name, _("Choose a date between %(first)s and %(last)s.")
                               % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()})
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end of the period must be after its start."))
        return data
