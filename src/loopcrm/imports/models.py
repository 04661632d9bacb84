"""Import jobs, their report lines, their staged rows (which double as the undo record) and saved mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loopcrm.core.models import TimeStampedModel


class ImportKind(models.TextChoices):
    """What a file brings in: customers by the set-based path (engine.py), the others record by record
    through their own services (records.py, kinds.py)."""

    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contact persons")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders with lines")
    INTERACTIONS = "interactions", _("Interactions")
    TICKETS = "tickets", _("Tickets (opened now)")


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    TSV = "tsv", "TSV"
    XLSX = "xlsx", "XLSX"


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    UPDATE = "update", _("Update the customer from the row")
    MERGE = "merge", _("Fill the customer's empty fields")


class ImportMapping(TimeStampedModel):
    """A saved, reusable column mapping: file header -> field (or "tags" / "notes" / "" to ignore)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices, default=ImportKind.CUSTOMERS)
    columns = models.JSONField(_("columns"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))

    class Meta:
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="import_mapping_unique_name")]

    def __str__(self) -> str:
        return self.name


class ImportJob(TimeStampedModel):
    """One file brought in by one person: where it stands, what it did, and how to undo it."""

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        VALIDATED = "validated", _("Validated")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        ROLLED_BACK = "rolled_back", _("Rolled back")

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices, default=ImportKind.CUSTOMERS)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    format = models.CharField(_("format"), max_length=10, choices=FileFormat.choices)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    mapping = models.JSONField(_("mapping"), default=dict)
    dry_run = models.BooleanField(_("dry run"), default=True)
    on_duplicate = models.CharField(_("on duplicate"), max_length=10, choices=OnDuplicate.choices,
                                    default=OnDuplicate.SKIP)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.VALIDATING)
    # Counts: rows read, valid, invalid (bad or duplicate inside the file), and what the import did.
    rows = models.PositiveIntegerField(_("rows"), default=0)
    valid = models.PositiveIntegerField(_("valid"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    created = models.PositiveIntegerField(pgettext_lazy("import rows", "created"), default=0)
    updated = models.PositiveIntegerField(pgettext_lazy("import rows", "updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    merged = models.PositiveIntegerField(pgettext_lazy("import rows", "merged"), default=0)
    # Valid rows that match an existing customer (known after validation, before the import).
    matched = models.PositiveIntegerField(_("matching existing"), default=0)
    unmapped = models.CharField(_("unmapped columns go to"), max_length=10, default="ignore")
    # Staging: rows of the file parsed and stored so far (a restart re-reads the file past it).
    staged_through = models.PositiveIntegerField(_("staged through row"), default=0)
    staging_done = models.BooleanField(default=False)
    # Duplicates inside the file marked and rows matched to existing customers (once, before any batch).
    prepared = models.BooleanField(default=False)
    # The last file row whose batch is committed; it moves in the same transaction as the batch.
    checkpoint = models.PositiveIntegerField(_("checkpoint"), default=0)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    # {"rebuild_indexes": bool, "dropped_indexes": [[name, definition], …],
    #  "dropped_constraints": [[name, definition], …]} — see engine.drop_indexes.
    options = models.JSONField(_("options"), default=dict, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="import_job_owner_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def progress(self) -> int:
        """Percent done of the current phase (validation reads the file, import works the valid rows)."""
        if self.status in (self.Status.DONE, self.Status.VALIDATED, self.Status.ROLLED_BACK):
            return 100
        if self.status == self.Status.IMPORTING and self.rows:
            return min(100, int(100 * self.checkpoint / self.rows))
        return 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED, self.Status.ROLLED_BACK,
                               self.Status.VALIDATED)


class ImportRowError(models.Model):
    """One line of the validation report: a row of the file, the column at fault, its value and why."""

    class Reason(models.TextChoices):
        BAD_PHONE = "bad_phone", _("Bad phone")
        BAD_EMAIL = "bad_email", _("Bad email")
        UNKNOWN_CATEGORY = "unknown_category", _("Unknown category")
        BAD_DATE = "bad_date", _("Bad date")
        DATE_OUT_OF_RANGE = "date_out_of_range", _("Date out of range")
        DUPLICATE_IN_FILE = "duplicate_in_file", _("Duplicate inside the file")
        MISSING_REQUIRED = "missing_required", _("Missing required value")
        BAD_VALUE = "bad_value", _("Bad value")
        NOT_ALLOWED = "not_allowed", _("Not allowed")
        BAD_ROW = "bad_row", _("Malformed row")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    message = models.CharField(_("message"), max_length=500)

    class Meta:
        verbose_name = _("import report line")
        verbose_name_plural = _("import report lines")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="import_error_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.reason}"


class StagedRow(models.Model):
    """One valid row of a file, cleaned, waiting for (then recording) its import.

    After the import it is the undo record: `action` says what happened to which customer
    (`object_id`), `before` holds the fields an update or merge overwrote. A row is staged as
    `create` with the customer id reserved for it; it is inserted under that id when the merge
    reaches its row (`job.checkpoint`). `pending` rows match an existing customer.
    """

    class Action(models.TextChoices):
        PENDING = "pending", pgettext_lazy("import row", "Pending")
        CREATE = "create", pgettext_lazy("import row", "Created")
        UPDATE = "update", pgettext_lazy("import row", "Updated")
        MERGE = "merge", _("Merged")
        SKIP = "skip", _("Skipped")
        DUPLICATE = "duplicate", _("Duplicate inside the file")
        DENIED = "denied", _("Not allowed")

    # No database constraint and no index of its own: a million rows staged by COPY paid a foreign-key
    # check each (about as much as the row itself), and (job, row) below already leads with the job.
    # Deleting a job still deletes its rows (Django's cascade).
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="staged", db_constraint=False,
                            db_index=False)
    row = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, default="person")
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True)
    phone_raw = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    birthday = models.DateField(null=True, blank=True)
    country = models.CharField(max_length=2, default="CN")
    province = models.CharField(max_length=50, blank=True)
    city = models.CharField(max_length=50, blank=True)
    district = models.CharField(max_length=50, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    source_channel = models.CharField(max_length=20, blank=True)
    is_vip = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    tags = models.TextField(blank=True)  # tag names joined by "\x1f"
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.PENDING)
    object_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("imported row")
        verbose_name_plural = _("imported rows")
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="import_staged_unique_row")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.action}"


class StagedRecord(models.Model):
    """One valid record of a contacts, products, orders or interactions file, then its undo record.

    `data` holds the parsed row(s) (an order: one entry per line, in file order); `matched_id` the
    existing record with the same identity (a product's SKU, an order's number); after the import
    `action` says what happened and `object_id` to which record, `before` what an update overwrote.
    """

    Action = StagedRow.Action

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    row = models.PositiveIntegerField()  # the record's first row in the file
    last_row = models.PositiveIntegerField()
    identity = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=list)
    matched_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=StagedRow.Action.choices, default=StagedRow.Action.PENDING)
    object_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="import_record_unique_row")]
        indexes = [models.Index(fields=["job", "identity"], name="import_record_identity_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.action}"
