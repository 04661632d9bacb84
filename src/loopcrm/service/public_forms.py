"""The public request form (no login): the fields a customer fills in, plus two quiet anti-spam checks.

A hidden "website" field that people never see (bots fill it), and a signed start time: a form sent
back within seconds of being shown, or days later, is not a person writing a request.
"""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

SIGNING_SALT = "loopcrm.service.request-form"
MAX_AGE = 24 * 3600


def min_fill_seconds() -> float:
    return float(getattr(settings, "LOOPCRM_WEBFORM_MIN_SECONDS", 3))


class SupportRequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    order_reference = forms.CharField(label=_("Order number"), max_length=64, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(label=_("How can we help?"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 6}))
    website = forms.CharField(required=False, label=_("Leave this empty"),
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))
    started = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["started"] = signing.dumps(time.time(), salt=SIGNING_SALT)

    def looks_automated(self) -> bool:
        """True for a filled honeypot, a missing or forged start stamp, or a form sent back too fast."""
        if self.cleaned_data.get("website"):
            return True
        try:
            started = float(signing.loads(self.cleaned_data.get("started", ""), salt=SIGNING_SALT, max_age=MAX_AGE))
        except (signing.BadSignature, TypeError, ValueError):
            return True
        return time.time() - started < min_fill_seconds()
