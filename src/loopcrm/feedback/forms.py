"""Forms of the feedback pages: filters (parsed into queries.MetricFilter), feedback logging, sending."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.feedback.models import SurveyKind, TextAnalysis, Trigger
from loopcrm.feedback.queries import DIMENSIONS, MetricFilter, VerbatimFilter

BLANK = [("", "—")]


class MetricFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    survey_id = forms.IntegerField(label=_("Survey"), required=False, min_value=1, widget=forms.Select)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=BLANK + list(Channel.choices))
    touchpoint = forms.ChoiceField(label=_("Touchpoint"), required=False, choices=BLANK + list(Touchpoint.choices))
    tier = forms.CharField(label=_("Customer tier"), required=False, max_length=20)

    def __init__(self, *args, surveys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey_id"].widget.choices = BLANK + [(s.pk, s.name) for s in surveys]

    def _bounds(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        values = {}
        if data.get("since"):
            values["since"] = timezone.make_aware(dt.datetime.combine(data["since"], dt.time()))
        if data.get("until"):
            values["until"] = timezone.make_aware(dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time()))
        for key in ("survey_id", "channel", "touchpoint", "tier"):
            if data.get(key):
                values[key] = data[key]
        return values

    def filters(self) -> MetricFilter:
        return MetricFilter(**self._bounds())


class DashboardForm(MetricFilterForm):
    by = forms.ChoiceField(label=_("Break down by"), required=False, choices=[
        ("department", _("Department")), ("agent", _("Agent")), ("team", _("Team")), ("category", _("Category")),
        ("channel", _("Channel")), ("touchpoint", _("Touchpoint")), ("tier", _("Customer tier")),
        ("organisation", _("Organisation")), ("survey", _("Survey")),
    ])
    period = forms.ChoiceField(label=_("Period"), required=False, choices=[
        ("month", _("Month")), ("week", _("Week")), ("day", _("Day"))])

    def by_value(self) -> str:
        value = self.cleaned_data.get("by") if self.is_valid() else ""
        return value if value in DIMENSIONS else "department"

    def period_value(self) -> str:
        value = self.cleaned_data.get("period") if self.is_valid() else ""
        return value or "month"


class VerbatimFilterForm(MetricFilterForm):
    sentiment = forms.ChoiceField(label=_("Sentiment"), required=False,
                                  choices=[*BLANK, *TextAnalysis.Sentiment.choices])
    source = forms.ChoiceField(label=_("Source"), required=False, choices=BLANK + list(TextAnalysis.Source.choices))
    topic = forms.CharField(label=_("Topic"), required=False, max_length=30)
    category = forms.ChoiceField(label=_("Complaint category"), required=False, choices=[
        *BLANK, ("people", _("People")), ("process", _("Process")), ("product", _("Product")), ("policy", _("Policy")),
        ("place", _("Place / environment")), ("partner", _("Partner / logistics"))])
    language = forms.ChoiceField(label=_("Language"), required=False,
                                 choices=[*BLANK, ("zh", "中文"), ("en", "English")])
    q = forms.CharField(label=_("Contains"), required=False, max_length=100)

    def filters(self) -> VerbatimFilter:
        values = self._bounds()
        data = self.cleaned_data if self.is_valid() else {}
        for key in ("sentiment", "source", "topic", "category", "language", "q"):
            if data.get(key):
                values[key] = data[key]
        return VerbatimFilter(**values)


class FeedbackForm(forms.Form):
    customer_id = forms.IntegerField(label=_("Customer id"), required=False, min_value=1)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    touchpoint = forms.ChoiceField(label=_("Touchpoint"), required=False, choices=BLANK + list(Touchpoint.choices))
    rating = forms.IntegerField(label=_("Rating (1–5)"), required=False, min_value=1, max_value=5)
    text = forms.CharField(label=_("What the customer said"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))


class SurveySettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=SurveyKind.choices)
    trigger = forms.ChoiceField(label=_("Trigger"), choices=Trigger.choices)
    delay_hours = forms.IntegerField(label=_("Delay (hours)"), min_value=0, max_value=1440, initial=24)
    valid_days = forms.IntegerField(label=_("Link valid (days)"), min_value=1, max_value=365, initial=14)
    remind_after_days = forms.IntegerField(label=_("Remind after (days)"), min_value=1, max_value=60, initial=3)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    intro_en = forms.CharField(label=_("Introduction (English)"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    intro_zh = forms.CharField(label=_("Introduction (Chinese)"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    publish = forms.BooleanField(label=_("Publish now"), required=False)


class SendForm(forms.Form):
    customer_ids = forms.CharField(label=_("Customer ids"), required=False, max_length=20_000,
                                   help_text=_("Separated by commas or spaces."))
    segment_id = forms.IntegerField(label=_("Segment id"), required=False, min_value=1)

    def ids(self) -> list[int]:
        raw = self.cleaned_data.get("customer_ids", "").replace(",", " ").split()
        return [int(value) for value in raw if value.isdigit()][:1000]
