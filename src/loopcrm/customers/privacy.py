"""The suppression list of erased people: keyed digests of their phones, emails and external ids.

A digest is HMAC-SHA-256 under the deployment's SECRET_KEY, so the list cannot be turned back into phone
numbers by trying every number (it can without a key: China's mobile numbers are only ~10^9). Changing the
SECRET_KEY therefore forgets the list — docs/deployment.md says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import ErasedIdentity

KINDS = tuple(ErasedIdentity.Kind.values)  # phone, email, external_id: the customer fields they digest


def digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


def digests_of(values: Mapping[str, str | None]) -> dict[str, str]:
    """{kind: digest} of the identities present in `values` (a customer's phone, email, external id)."""
    return {kind: digest(values[kind]) for kind in KINDS if values.get(kind)}


def suppress(customers: Iterable[Mapping[str, str | None]], *, at: dt.datetime) -> int:
    """Add the identities of these customers (dicts or rows with phone, email, external_id) to the list."""
    rows = {(kind, value) for customer in customers for kind, value in digests_of(customer).items()}
    created = ErasedIdentity.objects.bulk_create(
        [ErasedIdentity(kind=kind, digest=value, erased_at=at) for kind, value in sorted(rows)],
        ignore_conflicts=True)
    return len(created)


def erased_match(values: Mapping[str, str | None]) -> ErasedIdentity | None:
    """The suppression entry one of these identities hits, if any (one query; none when nothing is given)."""
    wanted = digests_of(values)
    if not wanted:
        return None
    condition = Q()
    for kind, value in wanted.items():
        condition |= Q(kind=kind, digest=value)
    return ErasedIdentity.objects.filter(condition).order_by("kind").first()


def refuse_erased(values: Mapping[str, str | None]) -> None:
    """RuleViolation naming the field when `values` identify a person whose personal data was erased."""
    hit = erased_match(values)
    if hit is not None:
        raise RuleViolation(
            _("This %(field)s belongs to a person whose personal data was erased at their request on %(date)s; "
              "they are not added again.") % {"field": hit.get_kind_display(),
                                              "date": formats.date_format(hit.erased_at, "SHORT_DATE_FORMAT")},
            field=hit.kind)
