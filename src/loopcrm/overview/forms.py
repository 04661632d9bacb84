"""The erasure page's form: why, and a confirmation that it cannot be undone."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.overview.erasure import MAX_REASON


class ErasureForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The request's reference (a ticket number, say), without personal data."))
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone."))
