"""Customers (people and organisations), their contact persons, tags and consent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.choices import Channel
from loopcrm.core.models import TimeStampedModel


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceChannel(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    ADVERTISING = "advertising", _("Advertising")
    STORE = "store", _("Store")
    EVENT = "event", _("Event")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    SOCIAL = "social", _("Social media")
    MARKETPLACE = "marketplace", _("Marketplace")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Customer(TimeStampedModel):
    """A person or an organisation we serve. The hub every touch, order and ticket hangs on."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("name"), max_length=200)
    # E.164 ("+8613800138000"); the number as it was given is kept beside it. One btree in Meta serves both
    # equality and search's prefixes (PostgreSQL: varchar_pattern_ops; migration 0007).
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_raw = models.CharField(_("phone as entered"), max_length=64, blank=True)
    # Plain btree indexes in Meta (equality: dedupe, matching, API filters). db_index=True would add a
    # `varchar_pattern_ops` twin on PostgreSQL for LIKE 'prefix%', which nothing asks of these two.
    email = models.CharField(_("email"), max_length=254, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, default="CN", help_text=_("ISO 3166 code"))
    province = models.CharField(_("province / state"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    source_channel = models.CharField(
        _("source"), max_length=20, choices=SourceChannel.choices, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_customers",
        verbose_name=_("owner"), db_index=False,  # customer_owner_idx (owner, -id) leads with it
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="customers",
        verbose_name=_("department"), db_index=False,  # customer_dept_idx (department, -id) leads with it
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    is_vip = models.BooleanField(_("VIP"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    # Set when the customer's personal data was erased at their request (overview.erasure): the record stays for
    # the counts it is part of, with nothing that identifies the person, and no longer takes edits.
    erased_at = models.DateTimeField(_("personal data erased"), null=True, blank=True)
    # Optimistic concurrency: every edit must name the version it read; a stale one is refused (409).
    version = models.PositiveIntegerField(_("version"), default=1)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from",
        verbose_name=_("merged into"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["department", "-id"], name="customer_dept_idx"),
            models.Index(fields=["owner", "-id"], name="customer_owner_idx"),
            # Live customers only, carrying the id (PostgreSQL INCLUDE): a region filter or a region joined
            # with value rows (a segment count) is read from the index alone, not from the table's pages.
            models.Index(fields=["province", "city"], include=["id"], condition=models.Q(merged_into__isnull=True),
                         name="customer_live_region_idx"),
            models.Index(fields=["-updated_at", "-id"], name="customer_updated_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["email"], name="customer_email_idx"),
            models.Index(fields=["external_id"], name="customer_external_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactPerson(TimeStampedModel):
    """A person at an organisation customer whom we deal with."""

    organisation = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    phone_raw = models.CharField(_("phone as entered"), max_length=64, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """One recorded decision of a customer about one purpose on one channel (append-only).

    The newest row per (customer, channel, purpose) is the current state; older rows are the proof.
    """

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service communication")
        MARKETING = "marketing", _("Marketing")
        SURVEYS = "surveys", _("Surveys")
        PROFILING = "profiling", _("Profiling and analytics")
        THIRD_PARTY = "third_party", _("Sharing with partners")

    class Status(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Method(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        PAPER = "paper", _("Signed paper")
        PHONE = "phone", _("By phone")
        IN_PERSON = "in_person", _("In person")
        EMAIL = "email", _("By email")
        API = "api", _("Through the API")
        IMPORT = "import", _("Imported")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    at = models.DateTimeField(_("when"))
    method = models.CharField(_("how"), max_length=20, choices=Method.choices)
    notice_version = models.CharField(_("privacy notice version"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["customer", "channel", "purpose", "-at"], name="consent_current_idx")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose}/{self.channel}: {self.status}"


class ErasedIdentity(models.Model):
    """A keyed digest (HMAC-SHA-256) of a phone, email or external id whose person had their personal data erased.

    Checked when a customer is created or imported, so that an erased person does not come back from an old
    list; the digest cannot be read back into the phone or email (customers.privacy).
    """

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        EMAIL = "email", _("email")
        EXTERNAL_ID = "external_id", _("external id")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    digest = models.CharField(_("digest"), max_length=64)
    erased_at = models.DateTimeField(_("erased"))

    class Meta:
        verbose_name = _("erased identity")
        verbose_name_plural = _("erased identities")
        constraints = [models.UniqueConstraint(fields=["kind", "digest"], name="erased_identity_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}…"


class LegalHold(models.Model):
    """A customer whose records must be kept as they are — a lawsuit, a regulator's inquiry, an audit.

    While it stands the customer's personal data cannot be erased, the customer cannot be deleted or merged
    away, and no retention rule may touch their records (customers.holds). Lifting it deletes this row; the
    audit trail keeps who placed and lifted it, when and why.
    """

    # PROTECT: a delete that went round the services (the admin, an import's undo) still cannot remove them.
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="legal_hold",
                                    verbose_name=_("customer"))
    reason = models.CharField(_("reason"), max_length=500)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("placed by"))
    placed_at = models.DateTimeField(_("placed"))

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")

    def __str__(self) -> str:
        return f"legal hold on customer {self.customer_id}"
