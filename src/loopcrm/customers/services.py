"""Every write on customers, contacts, tags and consent: the one place their business rules live.

Rules kept here:
- Input is cleaned once (names through core.text, phones to E.164, emails normalised) and a
  customer is identified by its phone, email or external id: a second live customer with any of
  them is a `DuplicateCustomer` (409) naming the one that exists. Concurrent creates of the same
  identity are serialised (SQLite: IMMEDIATE transactions; PostgreSQL: a transaction-scoped
  advisory lock per identity), so the check cannot be raced.
- Edits name the version they read; a stale version is a Conflict (409) and the other edit
  survives. The write is a conditional UPDATE, which holds on SQLite where row locks do not exist.
- A customer with orders (or any record that protects it) is not deleted; merge it instead.
- Merging moves every record that points at the duplicate — whatever app it lives in — to the
  customer kept, fills the kept customer's empty fields, and leaves the duplicate as a tombstone
  (`merged_into`).
- Consent is append-only: a decision is a new row, the newest per channel and purpose counts.
- Every write leaves an audit row in its own transaction. `by=None` means the system (imports, demo).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_
from typing import Any

import phonenumbers
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, ProtectedError, Q, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.core import audit
from loopcrm.core.choices import Channel
from loopcrm.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text, fold, listing
from loopcrm.core.times import as_utc
from loopcrm.customers.holds import refuse_if_held
from loopcrm.customers.models import Consent, ContactPerson, Customer, SourceChannel, Tag
from loopcrm.customers.normalise import normalise_email, normalise_phone
from loopcrm.customers.privacy import refuse_erased

NAME_MAX = 200
NOTES_MAX = 10_000
TAG_NAME_MAX = 50
TAGS_MAX = 50
# How far ahead of the server clock a stated time may be (clocks of other systems drift), no more.
CLOCK_SKEW = dt.timedelta(minutes=5)
_LINES = {  # free one-line fields and their length, as in the model
    "external_id": 100, "province": 50, "city": 50, "district": 50, "street": 200, "postal_code": 20,
    "industry": 100,
}
EDITABLE = frozenset({
    "name", "kind", "phone", "email", "birthday", "country", "source_channel", "owner", "department",
    "tags", "notes", "is_vip", *_LINES,
})
CONTACT_EDITABLE = frozenset({"name", "title", "phone", "email", "is_primary", "notes"})
_IDENTITIES = ("phone", "email", "external_id")
_DUPLICATE_MESSAGES = {  # translated when raised
    "phone": gettext_noop(
        "Customer #%(id)s already has the phone number %(value)s. Open that customer, or merge the two."
    ),
    "email": gettext_noop(
        "Customer #%(id)s already has the email address %(value)s. Open that customer, or merge the two."
    ),
    "external_id": gettext_noop(
        "Customer #%(id)s already has the external id %(value)s. Open that customer, or merge the two."
    ),
}
_ADDRESS = ("province", "city", "district", "street", "postal_code")


class DuplicateCustomer(Conflict):
    """Another live customer already has this phone, email or external id."""

    title = "Duplicate customer"

    def __init__(self, existing_id: int, matched_on: str, value: str) -> None:
        super().__init__(
            _(_DUPLICATE_MESSAGES[matched_on]) % {"id": existing_id, "value": value},
            field=matched_on, extra={"existing_id": existing_id, "matched_on": matched_on},
        )
        self.existing_id = existing_id
        self.matched_on = matched_on


# --- cleaning input ---------------------------------------------------------------------------

def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleViolation(_("Expected text, not %(type)s.") % {"type": type(value).__name__}, field=field)
    return value


def _choice(value: Any, choices: type[models.TextChoices], field: str, *, blank: bool = False) -> str:
    value = _text(value, field)
    if blank and value == "":
        return ""
    if value not in choices.values:
        raise RuleViolation(_("%(value)s is not one of: %(choices)s.") % {"value": repr(value),
                            "choices": listing(choices.values)}, field=field)
    return value


def _country(value: Any) -> str:
    code = _text(value, "country").strip().upper()
    if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
        raise RuleViolation(_("%(value)s is not an ISO 3166 two-letter country code (such as CN).")
                            % {"value": repr(value)}, field="country")
    return code


def _birthday(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise RuleViolation(_("A birthday is a date."), field="birthday")
    if value > timezone.localdate():
        raise RuleViolation(_("A birthday cannot be in the future (%(date)s).") % {"date": value.isoformat()},
                            field="birthday")
    if value.year < 1900:
        raise RuleViolation(_("A birthday before 1900 (%(date)s) is not plausible.") % {"date": value.isoformat()},
                            field="birthday")
    return value


def _owner(value: Any) -> User | None:
    if value is None:
        return None
    if not isinstance(value, User):
        raise RuleViolation(_("The owner must be a user."), field="owner_id")
    if not value.is_active:
        raise RuleViolation(_("%(user)s is deactivated and cannot own customers.") % {"user": value},
                            field="owner_id")
    return value


def _department(value: Any) -> Department | None:
    if value is not None and not isinstance(value, Department):
        raise RuleViolation(_("The department must be a department."), field="department_id")
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RuleViolation(_("Expected true or false."), field=field)
    return value


# A line `clean_line` would return unchanged: no NUL, no invisible control (core.text's set), no
# whitespace but single spaces between words. With an NFC check and the length this is most names,
# streets and ids of an import, which then skip the full cleaning (same result, a fraction of the cost).
_PLAIN_LINE = re.compile(
    r"[^\s\x00\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+"
    r"(?: [^\s\x00\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+)*"
)


def _line(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    """`clean_line` of a text field; values already clean are returned as they are."""
    if (type(value) is str and len(value) <= max_length and _PLAIN_LINE.fullmatch(value)
            and unicodedata.is_normalized("NFC", value)):
        return value
    return clean_line(_text(value, field), field=field, max_length=max_length, required=required)


def _clean_customer(values: Mapping[str, Any], *, country: str) -> dict[str, Any]:
    """Model field values from input values (only the keys given). `country` reads national phones."""
    cleaned: dict[str, Any] = {}
    if "country" in values:
        cleaned["country"] = country = _country(values["country"])
    for key, value in values.items():
        if key == "name":
            cleaned["name"] = _line(value, "name", NAME_MAX, required=True)
        elif key == "kind":
            cleaned["kind"] = _choice(value, Customer.Kind, "kind")
        elif key == "phone":
            cleaned["phone"], cleaned["phone_raw"] = normalise_phone(_text(value, "phone"), region=country)
        elif key == "email":
            cleaned["email"] = normalise_email(_text(value, "email"))
        elif key in _LINES:
            cleaned[key] = _line(value, key, _LINES[key])
        elif key == "birthday":
            cleaned["birthday"] = _birthday(value)
        elif key == "source_channel":
            cleaned["source_channel"] = _choice(value, SourceChannel, "source_channel", blank=True)
        elif key == "owner":
            cleaned["owner"] = _owner(value)
        elif key == "department":
            cleaned["department"] = _department(value)
        elif key == "notes":
            cleaned["notes"] = clean_text(_text(value, "notes"), field="notes", max_length=NOTES_MAX)
        elif key == "is_vip":
            cleaned["is_vip"] = _bool(value, "is_vip")
        elif key == "tags":
            cleaned["tags"] = _tag_names(value)
    return cleaned


def _tag_names(names: Any) -> list[str]:
    """Tag names cleaned (NFKC, one line), blanks dropped, repeats (ignoring case) collapsed."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise RuleViolation(_("Tags are a list of names."), field="tags")
    result: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = clean_line(unicodedata.normalize("NFKC", _text(raw, "tags")), field="tags", max_length=TAG_NAME_MAX)
        if name and fold(name) not in seen:
            seen.add(fold(name))
            result.append(name)
    if len(result) > TAGS_MAX:
        raise RuleViolation(_("At most %(limit)d tags per customer (got %(count)d).")
                            % {"limit": TAGS_MAX, "count": len(result)}, field="tags")
    return result


def _resolve_tags(names: list[str]) -> list[Tag]:
    """Tags with these names, matched case-insensitively, the missing ones created."""
    if not names:
        return []
    found = {fold(tag.name): tag for tag in Tag.objects.filter(reduce(or_, (Q(name__iexact=n) for n in names)))}
    tags = []
    for name in names:
        tag = found.get(fold(name))
        if tag is None:
            tag, _created = Tag.objects.get_or_create(name=name)  # races on the unique name are retried inside
            found[fold(name)] = tag
        tags.append(tag)
    return tags


# --- identity, locking, scope -------------------------------------------------------------------

def _lock_identities(values: Mapping[str, str]) -> None:
    """Serialise writers of the same phone/email/external id until the transaction ends.

    SQLite runs IMMEDIATE transactions (settings), which already serialise all writers. PostgreSQL
    takes a transaction-scoped advisory lock per identity, in a fixed order (no deadlocks).
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        int.from_bytes(hashlib.blake2b(f"customer:{kind}:{value}".encode(), digest_size=8).digest(), "big", signed=True)
        for kind, value in values.items() if value
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def check_duplicates(values: Mapping[str, str], *, exclude_pk: int | None = None) -> None:
    """Raise DuplicateCustomer if a live customer other than `exclude_pk` has one of these identities."""
    wanted = {key: values[key] for key in _IDENTITIES if values.get(key)}
    if not wanted:
        return
    rows = (
        Customer.objects.filter(reduce(or_, (Q(**{key: value}) for key, value in wanted.items())),
                                merged_into__isnull=True)
        .exclude(pk=exclude_pk)
        .order_by("pk")
        .values("pk", *_IDENTITIES)[:10]
    )
    for key in _IDENTITIES:  # phone first: it is what people search by
        for row in rows:
            if key in wanted and row[key] == wanted[key]:
                raise DuplicateCustomer(row["pk"], key, wanted[key])


def _require_can_change(by: User | None) -> None:
    if by is not None and not can(by, "customer", "change"):
        raise PermissionDenied(_("Your role may not create or change customers."))


def _require_in_scope(by: User | None, pk: int, action: str = "change") -> None:
    """After a write: the row must lie within what `by` may change (else the transaction is undone)."""
    if by is None:
        return
    condition = scope_filter(by, "customer", action, owner="owner", department="department")
    if condition is None or not Customer.objects.filter(condition, pk=pk).exists():
        raise PermissionDenied(
            _("The customer would be outside what you may change (check the owner and department); "
              "leave the owner empty to own it yourself, or ask a team lead to hand it over."),
            field="owner_id",
        )


def _lock(pk: int) -> Customer:
    """The current row, locked until commit on PostgreSQL (SQLite's IMMEDIATE transaction serialises)."""
    customer = Customer.objects.select_for_update().filter(pk=pk).first()
    if customer is None:
        raise _no_customer(pk, "customer_id")
    return customer


def _no_customer(pk: int, field: str) -> NotFound:
    return NotFound(_("No customer #%(id)s.") % {"id": pk}, field=field)


def _merged(pk: int, merged_into: int) -> Conflict:
    return Conflict(
        _("Customer #%(id)s was merged into customer #%(into)s; work on that one.") % {"id": pk, "into": merged_into},
        field="customer_id", extra={"merged_into": merged_into},
    )


def _ensure_live(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise _merged(customer.pk, customer.merged_into_id)


def _ensure_live_pk(pk: int) -> None:
    merged_into = Customer.objects.filter(pk=pk).values_list("merged_into", flat=True).first()
    if merged_into is not None:
        raise _merged(pk, merged_into)


def _erased(pk: int) -> Conflict:
    return Conflict(_("Customer #%(id)s had their personal data erased at their request; it takes no more edits.")
                    % {"id": pk}, field="customer_id")


def _stale(customer: Customer, version: int) -> Conflict:
    return Conflict(
        _("Customer #%(id)s was changed by someone else since you read it (you sent version %(sent)s; "
          "it is now at version %(current)s). Reload it and apply your change again.")
        % {"id": customer.pk, "sent": version, "current": customer.version},
        field="version", extra={"current_version": customer.version},
    )


def _unknown_fields(unknown: list[str]) -> RuleViolation:
    return RuleViolation(_("Unknown or read-only field(s): %(fields)s.") % {"fields": listing(unknown)},
                         field=unknown[0])


def _value_of(instance: models.Model, key: str) -> Any:
    """A field's value, foreign keys as their id (no query)."""
    field = instance._meta.get_field(key)
    return getattr(instance, field.attname)


def _value_of_input(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _fresh(pk: int) -> Customer:
    return Customer.objects.select_related("owner", "department").prefetch_related("tags").get(pk=pk)


def _tag_list(tags: Iterable[Tag]) -> list[str]:
    return sorted(tag.name for tag in tags)


# --- customers ----------------------------------------------------------------------------------

def validate_customer(values: Mapping[str, Any], *, customer: Customer | None = None) -> dict[str, Any]:
    """Clean `values` exactly as create/update would and check duplicates, writing nothing.

    For forms (admin, pages) that want field errors before they call the service; the service checks
    again inside its transaction.
    """
    unknown = sorted(set(values) - EDITABLE)
    if unknown:
        raise _unknown_fields(unknown)
    country = values.get("country") or (customer.country if customer is not None else "CN")
    cleaned = _clean_customer(values, country=country)
    check_duplicates(cleaned, exclude_pk=customer.pk if customer is not None else None)
    return cleaned


@transaction.atomic
def create_customer(
    *,
    by: User | None,
    name: str,
    kind: str = Customer.Kind.PERSON,
    phone: str = "",
    email: str = "",
    external_id: str = "",
    birthday: dt.date | None = None,
    country: str = "CN",
    province: str = "",
    city: str = "",
    district: str = "",
    street: str = "",
    postal_code: str = "",
    industry: str = "",
    source_channel: str = "",
    owner: User | None = None,
    department: Department | None = None,
    tags: Iterable[str] = (),
    notes: str = "",
    is_vip: bool = False,
    at: dt.datetime | None = None,
    came_back: bool = False,
) -> Customer:
    """A new customer. The owner defaults to the creator; the department to the owner's (or the creator's).

    A phone, email or external id of a person whose data was erased is refused (customers.privacy), unless the
    person `came_back` on their own (they wrote to us): then they are a customer again, by their own act."""
    _require_can_change(by)
    values = _clean_customer(
        {"name": name, "kind": kind, "phone": phone, "email": email, "external_id": external_id,
         "birthday": birthday, "country": country, "province": province, "city": city, "district": district,
         "street": street, "postal_code": postal_code, "industry": industry, "source_channel": source_channel,
         "owner": owner, "department": department, "tags": tags, "notes": notes, "is_vip": is_vip},
        country=country,
    )
    tag_names = values.pop("tags")
    if values["owner"] is None and by is not None:
        values["owner"] = by
    if values["department"] is None:
        values["department"] = getattr(values["owner"], "department", None) or getattr(by, "department", None)
    _lock_identities({key: values[key] for key in _IDENTITIES})
    if not came_back:
        refuse_erased(values)
    check_duplicates(values)
    customer = Customer.objects.create(**values, created_by=by if getattr(by, "pk", None) else None)
    _require_in_scope(by, customer.pk)
    tag_objects = _resolve_tags(tag_names)
    customer.tags.set(tag_objects)
    snapshot = audit.snapshot(customer, [key for key, value in values.items() if value not in ("", None, False)])
    audit.record(action="create", obj=customer, by=by, changes={**snapshot, "tags": _tag_list(tag_objects)}, at=at)
    return _fresh(customer.pk)


@transaction.atomic
def update_customer(
    customer: Customer, *, by: User | None, version: int, changes: Mapping[str, Any], at: dt.datetime | None = None
) -> Customer:
    """Apply `changes` (field -> new value; `tags` replaces the tag set) to the version the caller read."""
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise _unknown_fields(unknown)
    if isinstance(version, bool) or not isinstance(version, int):
        raise RuleViolation(_("Send the version you read, as an integer."), field="version")
    current = _lock(customer.pk)
    _ensure_live(current)
    if current.erased_at is not None:
        raise _erased(current.pk)
    if current.version != version:
        raise _stale(current, version)
    values = _clean_customer(changes, country=changes.get("country") or current.country)
    refuse_erased({key: value for key, value in values.items() if key in _IDENTITIES})
    tag_names = values.pop("tags", None)
    changed = {key: value for key, value in values.items() if _value_of(current, key) != _value_of_input(value)}
    # The number as entered is part of the phone: audited on its own only when the E.164 form stays.
    diff: dict[str, Any] = {key: [_value_of(current, key), new] for key, new in changed.items()
                            if key != "phone_raw" or "phone" not in changed}
    if changed.get("kind") == Customer.Kind.PERSON and current.contacts.exists():
        raise RuleViolation(
            _("Customer #%(id)s has contact persons, which only organisations have; remove them first.")
            % {"id": current.pk},
            field="kind",
        )
    old_tags = new_tags = None
    if tag_names is not None:
        old_tags = list(current.tags.all())
        new_tags = _resolve_tags(tag_names)
        if {t.pk for t in old_tags} != {t.pk for t in new_tags}:
            diff["tags"] = [_tag_list(old_tags), _tag_list(new_tags)]
    if not changed and "tags" not in diff:
        return _fresh(current.pk)  # nothing to do: no new version, no audit row
    identities = {key: changed[key] for key in _IDENTITIES if changed.get(key)}
    _lock_identities(identities)
    check_duplicates(identities, exclude_pk=current.pk)
    updated = Customer.objects.filter(pk=current.pk, version=version, merged_into__isnull=True).update(
        **changed, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:  # only reachable without row locks: someone else won the race
        raise _stale(_lock(current.pk), version)
    if "owner" in changed or "department" in changed:
        _require_in_scope(by, current.pk)
    if "tags" in diff:
        current.tags.set(new_tags)
    audit.record(action="update", obj=current, by=by, changes=diff, at=at)
    return _fresh(current.pk)


@transaction.atomic
def set_tags(customer: Customer, names: Iterable[str], *, by: User | None) -> list[Tag]:
    """Replace the customer's tags by these names (tags are created as needed). A new version if they differ."""
    current = _lock(customer.pk)
    _ensure_live(current)
    old = list(current.tags.all())
    new = _resolve_tags(_tag_names(names))
    if {t.pk for t in old} != {t.pk for t in new}:
        current.tags.set(new)
        Customer.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=timezone.now())
        audit.record(action="update", obj=current, by=by, changes={"tags": [_tag_list(old), _tag_list(new)]})
    return new


def _relations() -> list[models.ForeignObjectRel]:
    """Everything in any installed app that points at a customer (orders, interactions, tickets…)."""
    return [rel for rel in Customer._meta.related_objects if rel.related_model is not None]


def _relation_label(rel: models.ForeignObjectRel) -> str:
    return str(rel.related_model._meta.verbose_name_plural)


@transaction.atomic
def delete_customer(customer: Customer, *, by: User | None, version: int | None = None) -> None:
    """Delete a customer with its contacts, consent records and interactions — unless something protects it."""
    current = _lock(customer.pk)
    if version is not None and current.version != version:
        raise _stale(current, version)
    refuse_if_held([current.pk], "delete")
    blockers, cascaded = [], {}
    for rel in _relations():
        if rel.many_to_many:
            continue
        count = rel.related_model._base_manager.filter(**{rel.field.name: current}).count()
        if not count:
            continue
        if rel.on_delete in (models.PROTECT, models.RESTRICT):
            blockers.append(_("%(count)d %(records)s") % {"count": count, "records": _relation_label(rel)})
        elif rel.on_delete is models.CASCADE:
            cascaded[rel.related_model._meta.label_lower] = count
    if blockers:
        raise Conflict(
            _("Customer #%(id)s has %(records)s, which are kept for the books, so it cannot be deleted. "
              "If it duplicates another customer, merge it into that one instead.")
            % {"id": current.pk, "records": listing(blockers)},
            field="customer_id",
        )
    snapshot = audit.snapshot(current, ["name", "kind", "phone", "email", "external_id", "owner", "department"])
    audit.record(action="delete", obj=current, by=by, changes={**snapshot, "deleted_with": cascaded})
    try:
        current.delete()
    except (ProtectedError, RestrictedError) as error:  # a protecting row arrived since the check above
        raise Conflict(_("Customer #%(id)s gained records that protect it; it cannot be deleted.")
                       % {"id": current.pk}, field="customer_id") from error


@transaction.atomic
def merge_customers(*, keep: Customer, duplicate: Customer, by: User | None, at: dt.datetime | None = None) -> Customer:
    """Fold `duplicate` into `keep`: what points at it moves, empty fields are filled, it becomes a tombstone."""
    if keep.pk == duplicate.pk:
        raise RuleViolation(_("A customer cannot be merged into itself."), field="duplicate_id")
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, duplicate.pk]).order_by("pk")}
    if keep.pk not in rows:
        raise _no_customer(keep.pk, "keep_id")
    if duplicate.pk not in rows:
        raise _no_customer(duplicate.pk, "duplicate_id")
    keep, duplicate = rows[keep.pk], rows[duplicate.pk]
    _ensure_live(keep)
    _ensure_live(duplicate)
    if keep.erased_at is not None:  # filling its empty fields from the duplicate would identify the person again
        raise _erased(keep.pk)
    refuse_if_held([duplicate.pk], "merge", field="duplicate_id")  # it would become a tombstone
    if keep.kind != duplicate.kind:
        raise RuleViolation(
            _("Customer #%(duplicate)s is a %(duplicate_kind)s and #%(keep)s a %(keep_kind)s: only customers of "
              "the same kind can be merged.")
            % {"duplicate": duplicate.pk, "duplicate_kind": duplicate.get_kind_display().lower(),
               "keep": keep.pk, "keep_kind": keep.get_kind_display().lower()},
            field="duplicate_id",
        )
    moved = _move_relations(keep, duplicate)
    for field in Customer._meta.many_to_many:  # tags: the union
        manager_keep, manager_dup = getattr(keep, field.name), getattr(duplicate, field.name)
        extra = list(manager_dup.exclude(pk__in=manager_keep.values("pk")))
        if extra:
            manager_keep.add(*extra)
            moved[field.name] = len(extra)
        manager_dup.clear()
    filled = _fill_from(keep, duplicate)
    now = timezone.now()
    Customer.objects.filter(pk=keep.pk).update(
        **{key: new for key, (_old, new) in filled.items()}, version=F("version") + 1, updated_at=now
    )
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=keep, version=F("version") + 1, updated_at=now)
    audit.record(action="merge", obj=keep, by=by, at=at, changes={
        "merged_from": duplicate.pk, "moved": moved,
        "filled": {key: [old, new] for key, (old, new) in filled.items() if key != "phone_raw"},
    })
    audit.record(action="merge", obj=duplicate, by=by, at=at, changes={"merged_into": keep.pk})
    return _fresh(keep.pk)


def _move_relations(keep: Customer, duplicate: Customer) -> dict[str, int]:
    moved: dict[str, int] = {}
    for rel in _relations():
        label = rel.related_model._meta.label_lower
        try:
            with transaction.atomic():  # a savepoint: a unique clash becomes a clear Conflict
                count = _move_relation(rel, keep, duplicate)
        except IntegrityError as error:
            raise Conflict(
                _("Both customers have %(records)s that cannot exist twice for one customer; "
                  "resolve that first, then merge.") % {"records": _relation_label(rel)}, field="duplicate_id",
            ) from error
        if count:
            moved[label] = moved.get(label, 0) + count
    return moved


def _move_relation(rel: models.ForeignObjectRel, keep: Customer, duplicate: Customer) -> int:
    if not rel.many_to_many:
        manager = rel.related_model._base_manager
        # A row derived from other data (a model that says `merge_drops_duplicate`) is dropped when
        # the kept customer already has its own; it is rebuilt from the merged history later.
        derived = getattr(rel.related_model, "merge_drops_duplicate", False)
        if derived and manager.filter(**{rel.field.name: keep}).exists():
            manager.filter(**{rel.field.name: duplicate}).delete()
            return 0
        return manager.filter(**{rel.field.name: duplicate}).update(**{rel.field.name: keep})
    # Another model's many-to-many to customers (a segment's members, say): move the links, dropping
    # those the kept customer already has.
    through = rel.through._base_manager
    mine, other = rel.field.m2m_reverse_field_name(), rel.field.m2m_field_name()
    already = rel.through._base_manager.filter(**{mine: keep}).values(other)
    through.filter(**{mine: duplicate, f"{other}__in": already}).delete()
    return through.filter(**{mine: duplicate}).update(**{mine: keep})


def _fill_from(keep: Customer, duplicate: Customer) -> dict[str, tuple[Any, Any]]:
    """Fields of `keep` to fill from `duplicate`: {field: (old, new)}. Blocks (phone, address) move whole."""
    filled: dict[str, tuple[Any, Any]] = {}

    def empty(value: Any) -> bool:
        return value in ("", None)

    blocks = [("phone", "phone_raw"), _ADDRESS, ("email",), ("external_id",), ("birthday",), ("industry",),
              ("source_channel",), ("owner_id",), ("department_id",)]
    for block in blocks:
        if all(empty(getattr(keep, f)) for f in block) and any(not empty(getattr(duplicate, f)) for f in block):
            for f in block:
                filled[f] = (getattr(keep, f), getattr(duplicate, f))
    if duplicate.is_vip and not keep.is_vip:
        filled["is_vip"] = (False, True)
    if duplicate.notes.strip():
        note = f"[Merged from customer #{duplicate.pk}]\n{duplicate.notes.strip()}"
        filled["notes"] = (keep.notes, f"{keep.notes.rstrip()}\n\n{note}" if keep.notes.strip() else note)
    return filled


# --- consent ------------------------------------------------------------------------------------

def _moment(at: dt.datetime | None, field: str = "at") -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if not isinstance(at, dt.datetime):
        raise RuleViolation(_("Expected a date and time."), field=field)
    at = as_utc(at, field=field)  # a naive time is meant in the organisation's zone
    if at > now + CLOCK_SKEW:
        raise RuleViolation(_("%(time)s is in the future.") % {"time": at.isoformat()}, field=field)
    return at


@transaction.atomic
def record_consent(
    customer: Customer,
    *,
    by: User | None,
    channel: str,
    purpose: str,
    status: str,
    method: str,
    notice_version: str = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> Consent:
    """Record one decision of the customer (granted or withdrawn) for a purpose on a channel. Never edited."""
    values = {
        "channel": _choice(channel, Channel, "channel"),
        "purpose": _choice(purpose, Consent.Purpose, "purpose"),
        "status": _choice(status, Consent.Status, "status"),
        "method": _choice(method, Consent.Method, "method"),
        "notice_version": clean_line(_text(notice_version, "notice_version"), field="notice_version", max_length=50),
        "note": clean_line(_text(note, "note"), field="note", max_length=500),
        "at": _moment(at),
    }
    _ensure_live_pk(customer.pk)
    consent = Consent.objects.create(customer_id=customer.pk, recorded_by=by if getattr(by, "pk", None) else None,
                                     **values)
    audit.record(action="create", obj=consent, by=by, changes={"customer": customer.pk, **values})
    return consent


# --- contact persons ------------------------------------------------------------------------------

def _clean_contact(values: Mapping[str, Any], *, country: str) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            cleaned["name"] = clean_line(_text(value, "name"), field="name", max_length=NAME_MAX, required=True)
        elif key == "title":
            cleaned["title"] = clean_line(_text(value, "title"), field="title", max_length=100)
        elif key == "phone":
            cleaned["phone"], cleaned["phone_raw"] = normalise_phone(_text(value, "phone"), region=country)
        elif key == "email":
            cleaned["email"] = normalise_email(_text(value, "email"))
        elif key == "is_primary":
            cleaned["is_primary"] = _bool(value, "is_primary")
        elif key == "notes":
            cleaned["notes"] = clean_text(_text(value, "notes"), field="notes", max_length=NOTES_MAX)
    return cleaned


def _no_contact(contact_pk: int, customer_pk: int) -> NotFound:
    return NotFound(_("No contact #%(contact)s at customer #%(customer)s.")
                    % {"contact": contact_pk, "customer": customer_pk}, field="contact_id")


def _contact_snapshot(contact: ContactPerson, fields: Iterable[str]) -> dict[str, Any]:
    return audit.snapshot(contact, [f for f in fields if f != "phone_raw"])


@transaction.atomic
def add_contact(
    organisation: Customer,
    *,
    by: User | None,
    name: str,
    title: str = "",
    phone: str = "",
    email: str = "",
    is_primary: bool = False,
    notes: str = "",
) -> ContactPerson:
    """A person we deal with at an organisation customer. Marking one primary unmarks the others."""
    org = _lock(organisation.pk)  # serialises "who is primary" between concurrent edits
    _ensure_live(org)
    if org.kind != Customer.Kind.ORGANISATION:
        raise RuleViolation(
            _("Customer #%(id)s is a person; contact persons belong to organisations.") % {"id": org.pk},
            field="customer_id",
        )
    values = _clean_contact(
        {"name": name, "title": title, "phone": phone, "email": email, "is_primary": is_primary, "notes": notes},
        country=org.country,
    )
    if values["is_primary"]:
        ContactPerson.objects.filter(organisation=org, is_primary=True).update(is_primary=False)
    contact = ContactPerson.objects.create(organisation=org, **values)
    audit.record(action="create", obj=contact, by=by,
                 changes={"organisation": org.pk, **_contact_snapshot(contact, values)})
    return contact


@transaction.atomic
def update_contact(contact: ContactPerson, *, by: User | None, changes: Mapping[str, Any]) -> ContactPerson:
    unknown = sorted(set(changes) - CONTACT_EDITABLE)
    if unknown:
        raise _unknown_fields(unknown)
    org = _lock(contact.organisation_id)
    _ensure_live(org)
    current = ContactPerson.objects.filter(pk=contact.pk, organisation=org).first()
    if current is None:
        raise _no_contact(contact.pk, org.pk)
    values = _clean_contact(changes, country=org.country)
    changed = {key: value for key, value in values.items() if _value_of(current, key) != value}
    if not changed:
        return current
    before = _contact_snapshot(current, changed)
    if changed.get("is_primary"):
        ContactPerson.objects.filter(organisation=org, is_primary=True).exclude(pk=current.pk).update(is_primary=False)
    for key, value in changed.items():
        setattr(current, key, value)
    current.save(update_fields=[*changed, "updated_at"])
    audit.record(action="update", obj=current, by=by, changes=audit.diff(before, _contact_snapshot(current, changed)))
    return current


@transaction.atomic
def delete_contact(contact: ContactPerson, *, by: User | None) -> None:
    """Remove a contact person; interactions that named them keep their organisation."""
    org = _lock(contact.organisation_id)
    _ensure_live(org)
    current = ContactPerson.objects.filter(pk=contact.pk, organisation=org).first()
    if current is None:
        raise _no_contact(contact.pk, org.pk)
    audit.record(action="delete", obj=current, by=by,
                 changes={"organisation": org.pk, **_contact_snapshot(current, ["name", "title", "phone", "email"])})
    current.delete()
