"""Forms of the customer pages. They parse what a browser sends into Python values; every rule about
customers (identity, cleaning, duplicates, scope) lives in customers/services.py and comes back as a
RuleViolation that `add_domain_error` puts next to the field at fault."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.core.choices import Channel
from loopcrm.core.errors import DomainError
from loopcrm.customers.models import Consent, Customer, SourceChannel

# Tags are typed as one line: commas (also the Chinese ， and 、) or semicolons separate them.
_TAG_SEPARATORS = re.compile(r"[,，、;；]")

# Service error fields that a form shows under another name.
FIELD_ALIASES = {"owner_id": "owner", "department_id": "department", "phone_raw": "phone"}


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's error next to the field it names, or above the form when it names none we show."""
    field = FIELD_ALIASES.get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


def split_tags(value: str) -> list[str]:
    return [name.strip() for name in _TAG_SEPARATORS.split(value or "") if name.strip()]


ANY = _("Any")


def blank_choice(choices, label=ANY):
    return [("", label), *choices]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CustomerForm(forms.Form):
    """Create or edit a customer. `changes()` gives the fields to send to update_customer."""

    kind = forms.ChoiceField(label=_("kind"), choices=Customer.Kind.choices, initial=Customer.Kind.PERSON)
    name = forms.CharField(label=_("name"), max_length=200)
    phone = forms.CharField(
        label=_("phone"), max_length=64, required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
        help_text=_("Mobile or landline with area code, e.g. 138 0013 8000 or 010-6552 9988."),
    )
    email = forms.CharField(
        label=_("email"), max_length=254, required=False,
        widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off", "spellcheck": "false"}),
    )
    external_id = forms.CharField(label=_("external id"), max_length=100, required=False)
    birthday = forms.DateField(label=_("birthday"), required=False, widget=DateInput())
    country = forms.CharField(
        label=_("country"), max_length=2, initial="CN", help_text=_("ISO 3166 code"),
        widget=forms.TextInput(attrs={"size": 3, "autocapitalize": "characters"}),
    )
    province = forms.CharField(label=_("province / state"), max_length=50, required=False)
    city = forms.CharField(label=_("city"), max_length=50, required=False)
    district = forms.CharField(label=_("district"), max_length=50, required=False)
    street = forms.CharField(label=_("street address"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("postal code"), max_length=20, required=False)
    industry = forms.CharField(label=_("industry"), max_length=100, required=False)
    source_channel = forms.ChoiceField(
        label=_("source"), required=False, choices=blank_choice(SourceChannel.choices, _("Unknown"))
    )
    owner = forms.ModelChoiceField(label=_("owner"), queryset=None, required=False)
    department = forms.ModelChoiceField(label=_("department"), queryset=None, required=False)
    tags = forms.CharField(
        label=_("tags"), required=False, help_text=_("Separate tags with commas."),
    )
    is_vip = forms.BooleanField(label=_("VIP"), required=False)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    # The version the person read (optimistic concurrency): a stale one is refused by the service.
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    # The groups the page shows, in order.
    SECTIONS = (
        (_("Who"), ("kind", "name", "phone", "email", "birthday", "external_id")),
        (_("Where"), ("country", "province", "city", "district", "street", "postal_code")),
        (_("Relationship"), ("owner", "department", "source_channel", "industry", "tags", "is_vip", "notes")),
    )
    WIDE = frozenset({"street", "notes", "tags"})

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        owner, department = self.fields["owner"], self.fields["department"]
        owner.queryset = users_for(user).filter(is_active=True).order_by("display_name", "username")
        department.queryset = departments_for(user)
        # Empty means "nobody" on an existing customer; on a new one the service fills in defaults.
        owner.empty_label = _("— nobody —") if editing else _("Me (default)")
        department.empty_label = _("— none —") if editing else _("The owner's department (default)")

    @classmethod
    def initial_for(cls, customer: Customer) -> dict:
        return {
            "kind": customer.kind, "name": customer.name, "phone": customer.phone_raw or customer.phone,
            "email": customer.email, "external_id": customer.external_id, "birthday": customer.birthday,
            "country": customer.country, "province": customer.province, "city": customer.city,
            "district": customer.district, "street": customer.street, "postal_code": customer.postal_code,
            "industry": customer.industry, "source_channel": customer.source_channel, "owner": customer.owner_id,
            "department": customer.department_id, "tags": ", ".join(tag.name for tag in customer.tags.all()),
            "is_vip": customer.is_vip, "notes": customer.notes, "version": customer.version,
        }

    def sections(self):
        for title, names in self.SECTIONS:
            yield title, [(self[name], name in self.WIDE) for name in names]

    def values(self) -> dict:
        """Every field as create_customer takes it."""
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["tags"] = split_tags(data["tags"])
        data["country"] = data["country"].upper()
        return data

    def changes(self) -> dict:
        """Only the fields the person changed, as update_customer takes them."""
        values = self.values()
        return {name: values[name] for name in self.changed_data if name in values}


class CustomerFilterForm(forms.Form):
    """The filter controls of the customer list. Only for showing them: the request is parsed by
    CustomerFilter, the same schema the API list uses."""

    q = forms.CharField(
        label=_("Search"), required=False,
        widget=forms.TextInput(attrs={
            "type": "search", "autocomplete": "off", "spellcheck": "false",
            "placeholder": _("Name, phone or email — two characters of a name are enough"),
        }),
    )
    kind = forms.ChoiceField(label=_("kind"), required=False, choices=blank_choice(Customer.Kind.choices))
    province = forms.CharField(label=_("province / state"), required=False)
    city = forms.CharField(label=_("city"), required=False)
    tag = forms.CharField(label=_("tag"), required=False)
    owner_id = forms.ChoiceField(label=_("owner"), required=False)
    is_vip = forms.ChoiceField(
        label=_("VIP"), required=False, choices=[("", _("Any")), ("true", _("VIP only")), ("false", _("Not VIP"))]
    )
    source_channel = forms.ChoiceField(
        label=_("source"), required=False, choices=blank_choice(SourceChannel.choices)
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False,
        choices=[
            ("-id", _("Newest first")), ("id", _("Oldest first")), ("name", _("Name (A → Z)")),
            ("-name", _("Name (Z → A)")), ("-updated_at", _("Recently updated")),
            ("updated_at", _("Least recently updated")), ("-created_at", _("Recently created")),
        ],
    )

    FILTERS = ("kind", "province", "city", "tag", "owner_id", "is_vip", "source_channel", "sort")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        owners = users_for(user).filter(is_active=True).exclude(pk=user.pk).order_by("display_name", "username")
        # A callable: the users are only read when the select is drawn, not for an htmx fragment.
        self.fields["owner_id"].choices = lambda: [
            ("", _("Anyone")), (str(user.pk), _("Me")), *((str(u.pk), str(u)) for u in owners)
        ]

    def filter_fields(self):
        return [self[name] for name in self.FILTERS]

    def active_count(self) -> int:
        return sum(1 for name in self.FILTERS if name != "sort" and self.data.get(name))


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("purpose"), choices=Consent.Purpose.choices)
    channel = forms.ChoiceField(label=_("channel"), choices=Channel.choices)
    status = forms.ChoiceField(label=_("status"), choices=Consent.Status.choices, initial=Consent.Status.GRANTED)
    method = forms.ChoiceField(label=_("how"), choices=Consent.Method.choices)
    notice_version = forms.CharField(label=_("privacy notice version"), max_length=50, required=False)
    note = forms.CharField(label=_("note"), max_length=500, required=False)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    title = forms.CharField(label=_("job title"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("phone"), max_length=64, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    email = forms.CharField(
        label=_("email"), max_length=254, required=False, widget=forms.TextInput(attrs={"inputmode": "email"})
    )
    is_primary = forms.BooleanField(label=_("primary contact"), required=False)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
