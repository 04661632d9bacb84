"""REST endpoints for the retention rules (thin). Mounted at /api/v1/retention; administrators only."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema
from pydantic import ConfigDict, Field

from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS
from loopcrm.overview import retention
from loopcrm.overview.models import RetentionRule

router = Router()


class RuleOut(Schema):
    category: str
    label: str
    keep_days: int
    is_active: bool
    updated_at: dt.datetime | None
    last_applied_at: dt.datetime | None
    last_count: int


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    keep_days: int = Field(ge=retention.MIN_DAYS, le=retention.MAX_DAYS,
                           description="Records of the category older than this many days are overwritten.")
    is_active: bool = Field(description="Applied nightly (and by POST /retention/apply) while true.")


class AppliedOut(Schema):
    at: dt.datetime
    preview: bool
    counts: dict[str, dict[str, int]] = Field(description="Per rule that is on: records per kind.")


def _out(rule: RetentionRule) -> dict:
    return {"category": rule.category, "label": str(rule.get_category_display()), "keep_days": rule.keep_days,
            "is_active": rule.is_active, "updated_at": rule.updated_at, "last_applied_at": rule.last_applied_at,
            "last_count": rule.last_count}


@router.get("/rules", response={200: list[RuleOut], **COMMON_ERRORS}, url_name="retention_rules",
            summary="The retention rules, one per category (off until turned on)")
def list_rules(request):
    return [_out(rule) for rule in retention.rules(request.user)]


@router.put("/rules/{category}", response={200: RuleOut, **WRITE_ERRORS}, url_name="retention_rule",
            summary="Set a category's keeping period and turn its rule on or off", description="Audited.")
def put_rule(request, category: str, payload: RuleIn):
    return _out(retention.update_rule(request.user, category, keep_days=payload.keep_days,
                                      is_active=payload.is_active))


@router.get("/preview", response={200: AppliedOut, **COMMON_ERRORS}, url_name="retention_preview",
            summary="What the rules that are on would overwrite now (nothing changes)")
def get_preview(request):
    return retention.preview(request.user)


@router.post("/apply", response={200: AppliedOut, **WRITE_ERRORS}, url_name="retention_apply",
             summary="Apply the rules that are on now",
             description="Overwrites what identifies people in the records each rule selects; customers under a "
                         "legal hold are passed by. Cannot be undone. Audited per rule with its counts.")
def post_apply(request):
    return retention.apply_rules(request.user)
