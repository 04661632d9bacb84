"""The privacy pages' forms: erasure (why, and a confirmation that it cannot be undone), legal hold (why), and the
retention rules (a category's period and whether it is on; applying them after a confirmation)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.customers.holds import MAX_REASON as MAX_HOLD_REASON
from loopcrm.overview.erasure import MAX_REASON
from loopcrm.overview.models import RetentionRule
from loopcrm.overview.retention import MAX_DAYS, MIN_DAYS


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


class RetentionRuleForm(forms.Form):
    category = forms.ChoiceField(choices=RetentionRule.Category.choices, widget=forms.HiddenInput)
    keep_days = forms.IntegerField(label=_("Keep for (days)"), min_value=MIN_DAYS, max_value=MAX_DAYS)
    is_active = forms.BooleanField(label=_("On"), required=False)


class RetentionApplyForm(forms.Form):
    confirm = forms.BooleanField(error_messages={"required": _("Tick the box to confirm first.")})
