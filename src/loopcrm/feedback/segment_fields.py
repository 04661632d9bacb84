"""Satisfaction in segment rules: the customer's survey answers as conditions of the value app's rule builder.

Value sits below feedback, so feedback offers these fields (`register`, from the app's ready()) instead of value
reading surveys. Each condition asks whether the customer gave such an answer in the last N days (a completed
response, by its answer time), e.g. "gave an NPS rating of 0–6 in the last 90 days" or "rated CSAT at most 2
in the last 30 days"; the "not" operators select customers with no such answer in the window.

    {"field": "nps_group", "op": "in_last_days", "value": {"group": "detractor", "days": 90}}
    {"field": "csat_rating", "op": "lte", "value": {"rating": 2, "days": 30}}
    {"field": "ces_rating", "op": "gte", "value": {"rating": 5, "days": 30}}
    {"field": "answered_survey", "op": "not_in_last_days", "value": {"days": 180}}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from loopcrm.feedback.models import Response
from loopcrm.feedback.services.surveys import METRIC_SCALES
from loopcrm.value.segments import ActivityField, register_activity_field

WINDOW_OPS = ("in_last_days", "not_in_last_days")
RATING_OPS = ("lte", "gte")
# The standard NPS groups of a 0–10 rating (Reichheld 2003).
NPS_GROUPS = {"promoter": Q(nps__gte=9), "passive": Q(nps__gte=7, nps__lte=8), "detractor": Q(nps__lte=6)}


def _answered(since: dt.datetime, until: dt.datetime) -> QuerySet:
    return Response.objects.filter(is_complete=True, answered_at__gte=since, answered_at__lte=until)


def _nps_rows(op: str, group: Any, since: dt.datetime, until: dt.datetime) -> QuerySet:
    return _answered(since, until).filter(NPS_GROUPS[group])


def _rating_rows(metric: str):
    def rows(op: str, rating: Any, since: dt.datetime, until: dt.datetime) -> QuerySet:
        return _answered(since, until).filter(**{f"{metric}__{op}": rating})
    return rows


def _any_rows(op: str, item: Any, since: dt.datetime, until: dt.datetime) -> QuerySet:
    return _answered(since, until)


def _scale(metric: str) -> tuple[tuple[int, str], ...]:
    low, high = METRIC_SCALES[metric]
    return tuple((n, str(n)) for n in range(low, high + 1))


def register() -> None:
    register_activity_field("nps_group", ActivityField(
        label=_("NPS answer"), ops=WINDOW_OPS, rows=_nps_rows, key="group",
        options=(("promoter", _("promoter (9–10)")), ("passive", _("passive (7–8)")),
                 ("detractor", _("detractor (0–6)")))))
    register_activity_field("csat_rating", ActivityField(
        label=_("CSAT rating (1–5)"), ops=RATING_OPS, rows=_rating_rows("csat"), key="rating",
        options=_scale("csat")))
    register_activity_field("ces_rating", ActivityField(
        label=_("CES rating (1–7)"), ops=RATING_OPS, rows=_rating_rows("ces"), key="rating",
        options=_scale("ces")))
    register_activity_field("answered_survey", ActivityField(
        label=_("Answered a survey"), ops=WINDOW_OPS, rows=_any_rows))
