"""Reads of customers: the one door (`customers_for`) every list, detail, export and API call goes through."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import scope_filter
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.core.pagination import Page, paginate
from loopcrm.customers.filters import SORTS, CustomerFilter
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.customers.search import search_customers

MAX_ID = 2**63 - 1
_DENIED = {  # translated when raised
    "change": gettext_noop("You may see customer #%(id)s but your role may not change it."),
    "delete": gettext_noop("You may see customer #%(id)s but your role may not delete it."),
    "merge": gettext_noop("You may see customer #%(id)s but your role may not merge it."),
    "privacy": gettext_noop("You may see customer #%(id)s but your role may not handle its personal-data "
                            "requests."),
}


def customers_for(user: User, action: str = "view") -> QuerySet[Customer]:
    """Live (not merged) customers `user` may reach for `action`, with owner and department joined."""
    condition = scope_filter(user, "customer", action, owner="owner", department="department")
    if condition is None:
        return Customer.objects.none()
    return Customer.objects.filter(condition, merged_into__isnull=True).select_related("owner", "department")


def get_customer_for(user: User, customer_id: int, action: str = "view", *, field: str = "customer_id") -> Customer:
    """One customer for `action`, tags prefetched.

    Out of the user's view scope, or no such id: NotFound (404) — the two are indistinguishable.
    Visible but not theirs to change/delete/merge: PermissionDenied (403). Merged away: NotFound
    that names the customer it was merged into.
    """
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID:
        raise NotFound(_("No customer #%(id)s.") % {"id": customer_id}, field=field)
    customer = customers_for(user, action).prefetch_related("tags").filter(pk=customer_id).first()
    if customer is not None:
        return customer
    if action != "view" and customers_for(user, "view").filter(pk=customer_id).exists():
        denied = _DENIED.get(action, gettext_noop("You may see customer #%(id)s but your role may not %(action)s it."))
        raise PermissionDenied(_(denied) % {"id": customer_id, "action": action}, field=field)
    condition = scope_filter(user, "customer", "view", owner="owner", department="department")
    if condition is not None:
        merged_into = (
            Customer.objects.filter(condition, pk=customer_id, merged_into__isnull=False)
            .values_list("merged_into", flat=True)
            .first()
        )
        if merged_into is not None:
            raise NotFound(
                _("Customer #%(id)s was merged into customer #%(into)s.") % {"id": customer_id, "into": merged_into},
                field=field, extra={"merged_into": merged_into},
            )
    raise NotFound(_("No customer #%(id)s.") % {"id": customer_id}, field=field)


def filter_customers(queryset: QuerySet[Customer], filters: CustomerFilter) -> QuerySet[Customer]:
    """`queryset` narrowed by everything in `filters` except sort and paging."""
    if filters.q:
        queryset = search_customers(queryset, filters.q)
    exact = {
        "kind": filters.kind,
        "province": filters.province,
        "city": filters.city,
        "department_id": filters.department_id,
        "owner_id": filters.owner_id,
        "source_channel": filters.source_channel,
        "is_vip": filters.is_vip,
    }
    queryset = queryset.filter(**{key: value for key, value in exact.items() if value is not None})
    if filters.tag:
        # EXISTS rather than a join: a join repeats a customer when two tags differ only in case.
        tagged = Customer.tags.through.objects.filter(customer_id=OuterRef("pk"), tag__name__iexact=filters.tag)
        queryset = queryset.filter(Exists(tagged))
    return queryset


def customer_page(user: User, filters: CustomerFilter) -> Page:
    """One page of the customer list as `user` may see it (BadRequest for an unknown sort or cursor)."""
    queryset = filter_customers(customers_for(user, "view"), filters).prefetch_related("tags")
    return paginate(queryset, sort=filters.sort, allowed=SORTS, cursor=filters.cursor, limit=filters.limit)


def current_consents(customer: Customer) -> list[Consent]:
    """The newest decision per (channel, purpose): the customer's consent as it stands."""
    current: dict[tuple[str, str], Consent] = {}
    rows = Consent.objects.filter(customer=customer).select_related("recorded_by").order_by("-at", "-id")
    for consent in rows:
        current.setdefault((consent.channel, consent.purpose), consent)
    return sorted(current.values(), key=lambda c: (c.purpose, c.channel))


def consent_history(customer: Customer) -> QuerySet[Consent]:
    """Every consent decision of the customer (append-only), for paging newest first."""
    return Consent.objects.filter(customer=customer).select_related("recorded_by")


def has_consent(customer: Customer, *, channel: str, purpose: str) -> bool:
    """Whether the customer's current decision for this purpose on this channel is "granted"."""
    latest = (
        Consent.objects.filter(customer=customer, channel=channel, purpose=purpose)
        .order_by("-at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    return latest == Consent.Status.GRANTED


def contacts_of(customer: Customer) -> QuerySet[ContactPerson]:
    return ContactPerson.objects.filter(organisation=customer)


def get_contact_for(user: User, customer_id: int, contact_id: int, action: str = "view") -> ContactPerson:
    """A contact person of a customer the user may reach for `action` (NotFound otherwise)."""
    customer = get_customer_for(user, customer_id, action)
    if isinstance(contact_id, bool) or not isinstance(contact_id, int) or not 0 < contact_id <= MAX_ID:
        raise _no_contact(contact_id, customer_id)
    contact = contacts_of(customer).filter(pk=contact_id).first()
    if contact is None:
        raise _no_contact(contact_id, customer_id)
    contact.organisation = customer
    return contact


def _no_contact(contact_id: object, customer_id: int) -> NotFound:
    return NotFound(_("No contact #%(contact)s at customer #%(customer)s.")
                    % {"contact": contact_id, "customer": customer_id}, field="contact_id")
