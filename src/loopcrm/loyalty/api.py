"""REST endpoints for the loyalty programme (thin): load through queries, call one service, serialise.

Mounted under /api/v1/: /loyalty/programmes (with tiers) and /loyalty/members (enrol, ledger, earn,
redeem, adjust, statement). A member whose customer is out of your sight is missing (404).
The Idempotency-Key header replays a whole POST (core middleware); the ledger's own
`idempotency_key` (required to earn) makes the movement itself happen once.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import RuleViolation
from loopcrm.core.pagination import Page, paginate
from loopcrm.core.times import as_utc
from loopcrm.customers.queries import get_customer_for
from loopcrm.loyalty import queries, services
from loopcrm.loyalty.models import Programme
from loopcrm.loyalty.schemas import (
    AdjustIn,
    EarnIn,
    EnrolIn,
    EntryOut,
    ListParams,
    MemberFilter,
    MemberOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    RedeemIn,
    StatementOut,
    StatementParams,
    TierIn,
    TierOut,
    TierPatch,
)

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem, 503: Problem}


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _programme_out(programme: Programme) -> Programme:
    programme.tiers_list = queries.tiers_of(programme)
    return programme


# --- programmes ---------------------------------------------------------------------------------

@router.get("/loyalty/programmes", response={200: PageOut[ProgrammeOut], **COMMON_ERRORS},
            url_name="loyalty_programmes", summary="List loyalty programmes")
def list_programmes(request, params: Query[ListParams]):
    page = paginate(queries.programmes_for(request.user).prefetch_related("tiers"), sort="id", allowed=("id",),
                    cursor=params.cursor, limit=params.limit)
    for programme in page.items:
        programme.tiers_list = sorted(programme.tiers.all(), key=lambda tier: tier.rank)
    return _page(page)


@router.post("/loyalty/programmes", response={201: ProgrammeOut, **CHANGE_ERRORS}, url_name="create_programme",
             summary="Create a programme with its tiers",
             description="Give an entry tier (rank 0, threshold 0) so customers can enrol.")
def create_programme(request, payload: ProgrammeIn, response: HttpResponse):
    data = payload.model_dump()
    tiers = data.pop("tiers")
    programme = services.create_programme(by=request.user, tiers=tiers, **data)
    response["Location"] = f"/api/v1/loyalty/programmes/{programme.pk}"
    return Status(201, _programme_out(programme))


@router.get("/loyalty/programmes/{programme_id}", response={200: ProgrammeOut, **COMMON_ERRORS},
            url_name="loyalty_programme", summary="One programme with its tiers")
def get_programme(request, programme_id: int):
    return _programme_out(queries.get_programme_for(request.user, programme_id))


@router.patch("/loyalty/programmes/{programme_id}", response={200: ProgrammeOut, **CHANGE_ERRORS},
              url_name="update_programme", summary="Change a programme",
              description="Send the `version` you read; if it changed since, 409 and nothing changes.")
def update_programme(request, programme_id: int, payload: ProgrammePatch):
    programme = queries.get_programme_for(request.user, programme_id, "change")
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    for key, value in changes.items():
        if value is None:
            raise RuleViolation(_("This field cannot be empty."), field=key)
    programme = services.update_programme(programme, by=request.user, version=payload.version, changes=changes)
    return _programme_out(programme)


@router.delete("/loyalty/programmes/{programme_id}", response={204: None, **CHANGE_ERRORS},
               url_name="delete_programme", summary="Delete a programme nobody has joined",
               description="A programme with members answers 409: deactivate it instead.")
def delete_programme(request, programme_id: int):
    services.delete_programme(queries.get_programme_for(request.user, programme_id, "change"), by=request.user)
    return Status(204, None)


@router.post("/loyalty/programmes/{programme_id}/tiers", response={201: TierOut, **CHANGE_ERRORS},
             url_name="create_tier", summary="Add a tier")
def create_tier(request, programme_id: int, payload: TierIn):
    programme = queries.get_programme_for(request.user, programme_id, "change")
    return Status(201, services.add_tier(programme, by=request.user, **payload.model_dump()))


@router.patch("/loyalty/programmes/{programme_id}/tiers/{tier_id}", response={200: TierOut, **CHANGE_ERRORS},
              url_name="update_tier", summary="Change a tier's rules or benefits")
def update_tier(request, programme_id: int, tier_id: int, payload: TierPatch):
    tier = queries.get_tier_for(request.user, programme_id, tier_id, "change")
    changes = payload.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise RuleViolation(_("This field cannot be empty."), field=key)
    return services.update_tier(tier, by=request.user, changes=changes)


@router.delete("/loyalty/programmes/{programme_id}/tiers/{tier_id}", response={204: None, **CHANGE_ERRORS},
               url_name="delete_tier", summary="Remove a tier nobody holds")
def delete_tier(request, programme_id: int, tier_id: int):
    services.delete_tier(queries.get_tier_for(request.user, programme_id, tier_id, "change"), by=request.user)
    return Status(204, None)


# --- members ------------------------------------------------------------------------------------

@router.get("/loyalty/members", response={200: PageOut[MemberOut], **COMMON_ERRORS}, url_name="loyalty_members",
            summary="List members", description="Members whose customers you may see; an unknown sort is a 400.")
def list_members(request, filters: Query[MemberFilter]):
    return _page(queries.member_page(
        request.user, programme_id=filters.programme_id, tier_id=filters.tier_id, customer_id=filters.customer_id,
        sort=filters.sort, cursor=filters.cursor, limit=filters.limit))


@router.post("/loyalty/members", response={201: MemberOut, **CHANGE_ERRORS}, url_name="enrol_member",
             summary="Enrol a customer", description="A customer already in the programme answers 409 with "
                                                     "`existing_id`.")
def enrol_member(request, payload: EnrolIn, response: HttpResponse):
    programme = queries.get_programme_for(request.user, payload.programme_id, "change")
    customer = get_customer_for(request.user, payload.customer_id)
    membership = services.enrol(customer, programme, by=request.user)
    response["Location"] = f"/api/v1/loyalty/members/{membership.pk}"
    return Status(201, queries.get_membership_for(request.user, membership.pk))


@router.get("/loyalty/members/{member_id}", response={200: MemberOut, **COMMON_ERRORS}, url_name="loyalty_member",
            summary="One member")
def get_member(request, member_id: int):
    return queries.get_membership_for(request.user, member_id)


@router.post("/loyalty/members/{member_id}/evaluate-tier", response={200: MemberOut, **CHANGE_ERRORS},
             url_name="loyalty_evaluate_tier", summary="Evaluate a member's tier now",
             description="Upgrades at once; below the tier, starts or finishes the downgrade grace period. "
                         "The monthly task does this for everyone.")
def evaluate_tier(request, member_id: int):
    membership = queries.get_membership_for(request.user, member_id, "change")
    services.evaluate_tier(membership, by=request.user)
    return queries.get_membership_for(request.user, member_id)


@router.get("/loyalty/members/{member_id}/ledger", response={200: PageOut[EntryOut], **COMMON_ERRORS},
            url_name="loyalty_ledger", summary="A member's points ledger, newest first")
def member_ledger(request, member_id: int, params: Query[ListParams]):
    membership = queries.get_membership_for(request.user, member_id)
    return _page(queries.ledger_page(membership, cursor=params.cursor, limit=params.limit))


def _entry_response(entry) -> Status:
    # A replayed key is not a new entry: 200 with the first one; a new entry is 201.
    return Status(200 if entry.replayed else 201, entry)


@router.post("/loyalty/members/{member_id}/earn", response={200: EntryOut, 201: EntryOut, **CHANGE_ERRORS},
             url_name="loyalty_earn", summary="Grant points by hand",
             description="Exactly the points given (no tier multiplier). `idempotency_key` is required: the same "
                         "key again answers 200 with the first entry and adds nothing.")
def earn(request, member_id: int, payload: EarnIn):
    membership = queries.get_membership_for(request.user, member_id, "change")
    return _entry_response(services.earn_points(membership, by=request.user, **payload.model_dump()))


@router.post("/loyalty/members/{member_id}/redeem", response={200: EntryOut, 201: EntryOut, **CHANGE_ERRORS},
             url_name="loyalty_redeem", summary="Redeem points",
             description="More than the balance answers 422 (field `points`), whatever runs at the same time.")
def redeem(request, member_id: int, payload: RedeemIn):
    membership = queries.get_membership_for(request.user, member_id, "change")
    return _entry_response(services.redeem_points(membership, by=request.user, **payload.model_dump()))


@router.post("/loyalty/members/{member_id}/adjust", response={200: EntryOut, 201: EntryOut, **CHANGE_ERRORS},
             url_name="loyalty_adjust", summary="Correct the balance",
             description="Positive adds, negative removes (never below zero); a reason is required.")
def adjust(request, member_id: int, payload: AdjustIn):
    membership = queries.get_membership_for(request.user, member_id, "change")
    return _entry_response(services.adjust_points(membership, by=request.user, **payload.model_dump()))


@router.get("/loyalty/members/{member_id}/statement", response={200: StatementOut, **COMMON_ERRORS},
            url_name="loyalty_statement", summary="A member's statement for a period",
            description="Opening balance, the entries from `from` (inclusive) to `to` (exclusive), closing balance.")
def member_statement(request, member_id: int, params: Query[StatementParams]):
    membership = queries.get_membership_for(request.user, member_id)
    start, end = as_utc(params.start, field="from"), as_utc(params.end, field="to")
    if end <= start:
        raise RuleViolation(_("The end of the period must be after its start."), field="to")
    result = queries.statement(membership, start=start, end=end)
    return {"member_id": membership.pk, "start": result.start, "end": result.end, "opening": result.opening,
            "closing": result.closing, "totals": result.totals, "entries": result.entries,
            "truncated": result.truncated}
