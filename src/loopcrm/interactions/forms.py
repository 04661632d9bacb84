"""The form that logs a touch from the customer's page. Rules live in interactions/services.py."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.interactions.models import Interaction

NONE = "—"


def _blank(choices, label=NONE):
    return [("", label), *choices]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=Channel.choices, initial=Channel.PHONE)
    direction = forms.ChoiceField(
        label=_("direction"), choices=Interaction.Direction.choices, initial=Interaction.Direction.INBOUND
    )
    occurred_at = forms.DateTimeField(
        label=_("when"), required=False, widget=DateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text=_("Empty: now."),
    )
    touchpoint = forms.ChoiceField(label=_("touchpoint"), choices=_blank(Touchpoint.choices), required=False)
    subject = forms.CharField(
        label=_("subject"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Asked about delivery date")}),
    )
    journey_stage = forms.ChoiceField(
        label=_("journey stage"), choices=_blank(JourneyStage.choices), required=False
    )
    contact = forms.TypedChoiceField(label=_("contact person"), required=False, coerce=int, empty_value=None)
    body = forms.CharField(
        label=_("details"), required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What was said, asked or promised")}),
    )

    # What an agent fills in on every call, and what is one click further ("more details").
    MAIN = (("channel", False), ("direction", False), ("subject", True), ("body", "full"))
    MORE = (("occurred_at", False), ("touchpoint", False), ("journey_stage", False), ("contact", False))

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.contacts = {contact.pk: contact for contact in contacts}
        if self.contacts:
            self.fields["contact"].choices = _blank((pk, str(c)) for pk, c in self.contacts.items())
        else:
            del self.fields["contact"]

    def main_fields(self):
        return [(self[name], wide) for name, wide in self.MAIN if name in self.fields]

    def more_fields(self):
        return [(self[name], wide) for name, wide in self.MORE if name in self.fields]

    def more_has_errors(self) -> bool:
        return any(self[name].errors for name, _wide in self.MORE if name in self.fields)

    def values(self) -> dict:
        """The fields as log_interaction takes them (the contact as the customer's own ContactPerson)."""
        data = dict(self.cleaned_data)
        contact_id = data.pop("contact", None)
        data["contact"] = self.contacts.get(contact_id) if contact_id else None
        return data


class DateInput(forms.DateInput):
    input_type = "date"


class InteractionFilterForm(forms.Form):
    """The filter controls of the interaction list; the request itself is parsed by InteractionFilter."""

    channel = forms.ChoiceField(label=_("channel"), required=False, choices=_blank(Channel.choices, _("Any")))
    touchpoint = forms.ChoiceField(label=_("touchpoint"), required=False, choices=_blank(Touchpoint.choices, _("Any")))
    journey_stage = forms.ChoiceField(
        label=_("journey stage"), required=False, choices=_blank(JourneyStage.choices, _("Any"))
    )
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" and "to" are the API's parameter names (and a Python keyword), so they are added here.
        self.fields["from"] = forms.DateField(label=_("From"), required=False, widget=DateInput())
        self.fields["to"] = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def visible(self):
        return [self[name] for name in ("channel", "touchpoint", "journey_stage", "from", "to")]
