"""REST endpoints for customers, contact persons and consent (thin): load through queries, call one service,
serialise. Mounted at /api/v1/customers."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Status

from loopcrm.accounts.queries import departments_for, users_for
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import NotFound, RuleViolation
from loopcrm.core.pagination import Page, paginate
from loopcrm.customers import holds, queries, services
from loopcrm.customers.filters import CustomerFilter
from loopcrm.customers.schemas import (
    ConsentIn,
    ConsentOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    LegalHoldIn,
    LegalHoldOut,
    ListParams,
    MergeIn,
)

router = Router()

# Writes on a record the user may see but not change that way (a read-only role, a colleague's customer): 403;
# a database that stays busy past its timeout (SQLite under many writers): 503 with Retry-After.
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem, 503: Problem}
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _version(body_version: int | None, if_match: str | None, *, required: bool) -> int | None:
    """The version the client read: from the body or the If-Match header (an ETag we sent)."""
    header_version = None
    if if_match:
        match = _ETAG.match(if_match)
        if not match:
            raise RuleViolation(_('If-Match must be the ETag you received, such as "3" (not *).'), field="If-Match")
        header_version = int(match.group(1))
    if body_version is not None and header_version is not None and body_version != header_version:
        raise RuleViolation(_("The version in the body and the If-Match header disagree."), field="version")
    version = body_version if body_version is not None else header_version
    if version is None and required:
        raise RuleViolation(_("Send the version you read, in the body or as the If-Match header."), field="version")
    return version


def _references(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """owner_id / department_id of the input as the rows they name (unknown ids are a 422 on that field)."""
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        data["owner"] = None
        if owner_id is not None:
            data["owner"] = users_for(request.user).filter(pk=owner_id).first()
            if data["owner"] is None:
                raise RuleViolation(_("No user #%(id)s.") % {"id": owner_id}, field="owner_id")
    if "department_id" in data:
        department_id = data.pop("department_id")
        data["department"] = None
        if department_id is not None:
            data["department"] = departments_for(request.user).filter(pk=department_id).first()
            if data["department"] is None:
                raise RuleViolation(_("No department #%(id)s.") % {"id": department_id}, field="department_id")
    return data


def _etag(response: HttpResponse, customer) -> None:
    response["ETag"] = f'"{customer.version}"'


# --- customers ------------------------------------------------------------------------------

@router.get("", response={200: PageOut[CustomerOut], **COMMON_ERRORS}, url_name="customers",
            summary="List customers",
            description="Customers you may see, filtered and searched; cursor-paginated. An unknown sort is a 400.")
def list_customers(request, filters: Query[CustomerFilter]):
    return _page(queries.customer_page(request.user, filters))


@router.post("", response={201: CustomerOut, **CHANGE_ERRORS}, url_name="create_customer",
             summary="Create a customer",
             description="A customer with the phone, email or external id of an existing one answers 409 with "
                         "`existing_id` and `matched_on` in `errors[0]`.")
def create_customer(request, payload: CustomerIn, response: HttpResponse):
    data = _references(request, payload.model_dump())
    customer = services.create_customer(by=request.user, **data)
    response["Location"] = f"/api/v1/customers/{customer.pk}"
    _etag(response, customer)
    return Status(201, customer)


@router.post("/merge", response={200: CustomerOut, **CHANGE_ERRORS}, url_name="merge_customers",
             summary="Merge a duplicate into the customer that stays",
             description="Orders, interactions, contacts, consent records, tags and everything else of the "
                         "duplicate move to the kept customer; its empty fields are filled from the duplicate.")
def merge_customers(request, payload: MergeIn):
    keep = queries.get_customer_for(request.user, payload.keep_id, "merge", field="keep_id")
    duplicate = queries.get_customer_for(request.user, payload.duplicate_id, "merge", field="duplicate_id")
    return services.merge_customers(keep=keep, duplicate=duplicate, by=request.user)


@router.get("/{customer_id}", response={200: CustomerOut, **COMMON_ERRORS}, url_name="customer",
            summary="One customer")
def get_customer(request, customer_id: int, response: HttpResponse):
    customer = queries.get_customer_for(request.user, customer_id)
    _etag(response, customer)
    return customer


@router.patch("/{customer_id}", response={200: CustomerOut, **CHANGE_ERRORS}, url_name="update_customer",
              summary="Change a customer",
              description="Send the `version` you read (or `If-Match`); if someone changed the customer since, "
                          "the answer is 409 and nothing changes.")
def update_customer(request, customer_id: int, payload: CustomerPatch, response: HttpResponse,
                    if_match: str | None = Header(None, alias="If-Match")):
    customer = queries.get_customer_for(request.user, customer_id, "change")
    version = _version(payload.version, if_match, required=True)
    changes = _references(request, payload.model_dump(exclude_unset=True, exclude={"version"}))
    customer = services.update_customer(customer, by=request.user, version=version, changes=changes)
    _etag(response, customer)
    return customer


@router.delete("/{customer_id}", response={204: None, **CHANGE_ERRORS}, url_name="delete_customer",
               summary="Delete a customer",
               description="Refused (409) while the customer has orders: merge it instead. Contacts, consent "
                           "records and interactions go with it.")
def delete_customer(request, customer_id: int, if_match: str | None = Header(None, alias="If-Match")):
    customer = queries.get_customer_for(request.user, customer_id, "delete")
    services.delete_customer(customer, by=request.user, version=_version(None, if_match, required=False))
    return Status(204, None)


# --- contact persons ----------------------------------------------------------------------------

@router.get("/{customer_id}/contacts", response={200: PageOut[ContactOut], **COMMON_ERRORS},
            url_name="customer_contacts", summary="Contact persons of an organisation")
def list_contacts(request, customer_id: int, params: Query[ListParams]):
    customer = queries.get_customer_for(request.user, customer_id)
    contacts = queries.contacts_of(customer)
    return _page(paginate(contacts, sort="id", allowed=("id",), cursor=params.cursor, limit=params.limit))


@router.post("/{customer_id}/contacts", response={201: ContactOut, **CHANGE_ERRORS}, url_name="add_contact",
             summary="Add a contact person to an organisation")
def add_contact(request, customer_id: int, payload: ContactIn):
    organisation = queries.get_customer_for(request.user, customer_id, "change")
    return Status(201, services.add_contact(organisation, by=request.user, **payload.model_dump()))


@router.patch("/{customer_id}/contacts/{contact_id}", response={200: ContactOut, **CHANGE_ERRORS},
              url_name="update_contact", summary="Change a contact person")
def update_contact(request, customer_id: int, contact_id: int, payload: ContactPatch):
    contact = queries.get_contact_for(request.user, customer_id, contact_id, "change")
    return services.update_contact(contact, by=request.user, changes=payload.model_dump(exclude_unset=True))


@router.delete("/{customer_id}/contacts/{contact_id}", response={204: None, **CHANGE_ERRORS},
               url_name="delete_contact", summary="Remove a contact person")
def delete_contact(request, customer_id: int, contact_id: int):
    contact = queries.get_contact_for(request.user, customer_id, contact_id, "change")
    services.delete_contact(contact, by=request.user)
    return Status(204, None)


# --- consent ------------------------------------------------------------------------------------

@router.get("/{customer_id}/consents", response={200: list[ConsentOut], **COMMON_ERRORS},
            url_name="customer_consents", summary="Consent as it stands",
            description="The newest decision per channel and purpose.")
def list_consents(request, customer_id: int):
    return queries.current_consents(queries.get_customer_for(request.user, customer_id))


@router.get("/{customer_id}/consents/history", response={200: PageOut[ConsentOut], **COMMON_ERRORS},
            url_name="customer_consent_history", summary="Every consent decision, newest first")
def consent_history(request, customer_id: int, params: Query[ListParams]):
    customer = queries.get_customer_for(request.user, customer_id)
    return _page(paginate(queries.consent_history(customer), sort="-at", allowed=("-at",), cursor=params.cursor,
                          limit=params.limit))


@router.post("/{customer_id}/consents", response={201: ConsentOut, **CHANGE_ERRORS}, url_name="record_consent",
             summary="Record a consent decision", description="Consent is append-only: a new decision is a new row.")
def record_consent(request, customer_id: int, payload: ConsentIn):
    customer = queries.get_customer_for(request.user, customer_id, "change")
    return Status(201, services.record_consent(customer, by=request.user, **payload.model_dump()))


# --- legal hold ----------------------------------------------------------------------------------

HOLD = ("Needs the customer \"privacy\" permission (administrators; managers for their department). While a hold "
        "stands the customer's personal data cannot be erased, and the customer cannot be deleted or merged away.")


@router.get("/{customer_id}/legal-hold", response={200: LegalHoldOut, **COMMON_ERRORS}, url_name="legal_hold",
            summary="The customer's legal hold (404 when there is none)", description=HOLD)
def get_legal_hold(request, customer_id: int):
    hold = holds.legal_hold_of(request.user, customer_id)
    if hold is None:
        raise NotFound(_("Customer #%(id)s is not under a legal hold.") % {"id": customer_id}, field="customer_id")
    return hold


@router.post("/{customer_id}/legal-hold", response={201: LegalHoldOut, **WRITE_ERRORS}, url_name="place_legal_hold",
             summary="Place a legal hold on a customer", description=f"{HOLD} 409 when one stands already. Audited "
                                                                       "with the reason.")
def place_legal_hold(request, customer_id: int, payload: LegalHoldIn):
    return Status(201, holds.place_legal_hold(request.user, customer_id, reason=payload.reason))


@router.post("/{customer_id}/legal-hold/lift", response={204: None, **WRITE_ERRORS}, url_name="lift_legal_hold",
             summary="Lift a customer's legal hold", description=f"{HOLD} 404 when there is none. Audited with the "
                                                                   "reason and the hold that was lifted.")
def lift_legal_hold(request, customer_id: int, payload: LegalHoldIn):
    holds.lift_legal_hold(request.user, customer_id, reason=payload.reason)
    return Status(204, None)
