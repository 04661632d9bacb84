"""Django admin for customers, contact persons, consent records and tags.

Saves go through the services, so the admin obeys the same rules as the API and the pages: phones
and emails are normalised, duplicates are refused, edits are checked against the version the form
was opened at, deletes of customers with orders are refused, and every change leaves an audit row.
Consent records are append-only here too: they can be added, never edited or deleted.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopcrm.core.errors import DomainError
from loopcrm.customers import services
from loopcrm.customers.models import Consent, ContactPerson, Customer, Tag
from loopcrm.customers.normalise import normalise_email, normalise_phone

_TAG_SEPARATORS = re.compile(r"[,，;；]")
_FORM_FIELD = {"owner_id": "owner", "department_id": "department", "customer_id": None, "duplicate_id": None}
CUSTOMER_FIELDS = [
    "kind", "name", "phone", "email", "external_id", "birthday", "country", "province", "city", "district",
    "street", "postal_code", "industry", "source_channel", "owner", "department", "is_vip", "notes",
]


def _add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    field = _FORM_FIELD.get(error.field, error.field) if error.field else None
    if field not in form.fields:
        field = None
    form.add_error(field, error.message)


def _copy_into(target: Customer, source: Customer) -> None:
    """Make the admin's object the row the service wrote (the admin goes on using its own instance)."""
    for field in Customer._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class CustomerAdminForm(forms.ModelForm):
    tag_names = forms.CharField(
        label=_("tags"), required=False, max_length=2000, help_text=_("Separated by commas; new tags are created."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Customer
        fields = [*CUSTOMER_FIELDS, "version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "phone" in self.fields:  # (a view-only form has no fields)
            self.fields["tag_names"].initial = ", ".join(tag.name for tag in self.instance.tags.all())
            self.fields["phone"].help_text = _("Stored in E.164; as entered: %(raw)s") % {
                "raw": self.instance.phone_raw or "—"
            }

    def tags(self) -> list[str]:
        names = _TAG_SEPARATORS.split(self.cleaned_data.get("tag_names") or "")
        return [name.strip() for name in names if name.strip()]

    def changes(self) -> dict[str, Any]:
        """The service's input: every field for a new customer, the changed ones for an edit."""
        names = CUSTOMER_FIELDS if not self.instance.pk else [f for f in CUSTOMER_FIELDS if f in self.changed_data]
        values = {name: self.cleaned_data.get(name) for name in names}
        for name in ("phone", "email", "external_id", "province", "city", "district", "street", "postal_code",
                     "industry", "source_channel", "notes"):
            if name in values and values[name] is None:
                values[name] = ""
        if not self.instance.pk or "tag_names" in self.changed_data:
            values["tags"] = self.tags()
        return values

    def _post_clean(self) -> None:
        # The model's own validation would write nothing useful: the service's rules apply instead.
        pass

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        instance = self.instance if self.instance.pk else None
        if instance is not None:
            current = Customer.objects.filter(pk=instance.pk).values_list("version", flat=True).first()
            if cleaned.get("version") is not None and current != cleaned["version"]:
                raise forms.ValidationError(
                    _("Someone changed this customer since you opened it (version %(sent)s, now %(now)s). "
                      "Reload the page and apply your change again.") % {"sent": cleaned["version"], "now": current}
                )
        try:
            services.validate_customer(self.changes(), customer=instance)
        except DomainError as error:
            _add_domain_error(self, error)
        return cleaned


class ContactInlineForm(forms.ModelForm):
    class Meta:
        model = ContactPerson
        fields = ["name", "title", "phone", "email", "is_primary", "notes"]

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone") or ""
        if "phone" in self.changed_data:
            try:
                normalise_phone(value)
            except DomainError as error:
                raise forms.ValidationError(error.message) from error
        return value

    def clean_email(self) -> str:
        value = self.cleaned_data.get("email") or ""
        try:
            return normalise_email(value)
        except DomainError as error:
            raise forms.ValidationError(error.message) from error

    def _post_clean(self) -> None:
        pass


class ContactPersonInline(admin.TabularInline):
    model = ContactPerson
    form = ContactInlineForm
    extra = 0
    fields = ["name", "title", "phone", "email", "is_primary", "notes"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ["id", "name", "kind", "phone", "email", "owner", "department", "is_vip", "merged_into",
                    "updated_at"]
    list_display_links = ["id", "name"]
    list_filter = ["kind", "is_vip", "source_channel", "country", "department",
                   ("merged_into", admin.EmptyFieldListFilter)]
    list_select_related = ["owner", "department", "merged_into"]
    search_fields = ["name", "phone", "email", "external_id"]
    raw_id_fields = ["owner", "department"]
    readonly_fields = ["phone_raw", "merged_into", "created_by", "created_at", "updated_at"]
    ordering = ["-id"]
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not worth it
    actions = ["merge_selected"]
    fieldsets = [
        (None, {"fields": ["kind", "name", "tag_names", "is_vip", "version"]}),
        (_("Contact"), {"fields": ["phone", "phone_raw", "email", "external_id", "birthday"]}),
        (_("Address"), {"fields": ["country", "province", "city", "district", "street", "postal_code"]}),
        (_("Business"), {"fields": ["industry", "source_channel", "owner", "department", "notes"]}),
        (_("Record"), {"fields": ["merged_into", "created_by", "created_at", "updated_at"]}),
    ]

    def get_inlines(self, request: HttpRequest, obj: Customer | None):
        return [ContactPersonInline] if obj is not None and obj.kind == Customer.Kind.ORGANISATION else []

    def has_change_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        if obj is not None and obj.merged_into_id:  # a tombstone: shown, never edited
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Customer, form: CustomerAdminForm, change: bool) -> None:
        if change:
            saved = services.update_customer(obj, by=request.user, version=form.cleaned_data.get("version") or
                                             obj.version, changes=form.changes())
        else:
            saved = services.create_customer(by=request.user, **form.changes())
        _copy_into(obj, saved)

    def save_related(self, request: HttpRequest, form: CustomerAdminForm, formsets, change: bool) -> None:
        # Tags went through the service in save_model; only the contact inline is left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ContactPerson:
            super().save_formset(request, form, formset, change)
            return
        deleted = set(formset.deleted_forms)
        # The admin's history message reads these, as ModelFormSet.save() would have set them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for contact_form in formset.forms:
            instance = contact_form.instance
            if contact_form in deleted:
                if instance.pk:
                    services.delete_contact(instance, by=request.user)
                    formset.deleted_objects.append(instance)
                continue
            if not contact_form.has_changed():
                continue
            data = {name: contact_form.cleaned_data.get(name) for name in ContactInlineForm.Meta.fields}
            data = {key: ("" if value is None and key != "is_primary" else value) for key, value in data.items()}
            if instance.pk is None:
                formset.new_objects.append(services.add_contact(form.instance, by=request.user, **data))
            else:
                changes = {name: data[name] for name in contact_form.changed_data if name in data}
                services.update_contact(instance, by=request.user, changes=changes)
                formset.changed_objects.append((instance, list(changes)))

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        services.delete_customer(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            try:
                services.delete_customer(customer, by=request.user)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)

    @admin.action(description=_("Merge the two selected customers (the older one stays)"))
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        customers = list(queryset.order_by("pk")[:3])
        if len(customers) != 2:
            self.message_user(request, _("Select exactly two customers to merge."), messages.WARNING)
            return
        keep, duplicate = customers
        try:
            services.merge_customers(keep=keep, duplicate=duplicate, by=request.user)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, _("Customer #%(dup)s was merged into #%(keep)s.") % {
            "dup": duplicate.pk, "keep": keep.pk}, messages.SUCCESS)


class ConsentAdminForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["customer", "channel", "purpose", "status", "method", "at", "notice_version", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        customer = cleaned.get("customer")
        if customer is not None and customer.merged_into_id:
            self.add_error("customer", _("This customer was merged into #%(id)s; record consent there.") % {
                "id": customer.merged_into_id})
        at = cleaned.get("at")
        if at is not None and at > timezone.now() + services.CLOCK_SKEW:
            self.add_error("at", _("A decision cannot be in the future."))
        return cleaned

    def _post_clean(self) -> None:
        pass


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Append-only proof: decisions are added (through the service), never edited or deleted."""

    form = ConsentAdminForm
    list_display = ["customer", "purpose", "channel", "status", "at", "method", "notice_version", "recorded_by"]
    list_filter = ["purpose", "channel", "status", "method"]
    list_select_related = ["customer", "recorded_by"]
    search_fields = ["customer__name", "customer__phone", "customer__email"]
    raw_id_fields = ["customer"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Consent, form: ConsentAdminForm, change: bool) -> None:
        data = form.cleaned_data
        consent = services.record_consent(
            data["customer"], by=request.user, channel=data["channel"], purpose=data["purpose"],
            status=data["status"], method=data["method"], notice_version=data.get("notice_version") or "",
            note=data.get("note") or "", at=data.get("at"),
        )
        obj.pk = consent.pk
        obj._state.adding = False


class TagAdminForm(forms.ModelForm):
    color = forms.RegexField(regex=r"^#[0-9a-fA-F]{6}$", initial="#64748b",
                             help_text=_("A colour as #rrggbb."))

    class Meta:
        model = Tag
        fields = ["name", "color"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "color", "customer_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description=_("customers"), ordering="customer_count")
    def customer_count(self, tag: Tag) -> int:
        return tag.customer_count
