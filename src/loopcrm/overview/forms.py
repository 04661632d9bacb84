"""The privacy pages' forms: erasure (why, and a confirmation that it cannot be undone) and legal hold (why)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.customers.holds import MAX_REASON as MAX_HOLD_REASON
from loopcrm.overview.erasure import MAX_REASON


class ErasureForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The request's reference (a ticket number, say), without personal data."))
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone."))


class LegalHoldForm(forms.Form):
    """Place or lift, as the page offered: `expect` says which, so a hold placed or lifted meanwhile is not
    lifted or placed again by a second click."""

    reason = forms.CharField(label=_("Reason"), max_length=MAX_HOLD_REASON, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The case, inquiry or request it is for, without personal data."))
    expect = forms.ChoiceField(choices=[("place", "place"), ("lift", "lift")], widget=forms.HiddenInput)
