"""Reads of voice of the customer: the read doors (scoped by the "survey" and "feedback" permissions),
metrics aggregated in SQL and finished by the pure `stats` module, verbatims, needs and word counts."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, F, Func, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import Scope, can, scope_filter, scope_for
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.customers.models import Customer
from loopcrm.feedback import rollup, stats
from loopcrm.feedback.models import FollowUp, Invitation, Response, Survey, TextAnalysis, TopicMention
from loopcrm.service.models import TicketMessage

MAX_ID = 2**63 - 1


# --- read doors -----------------------------------------------------------------------------------

def surveys_for(user: User, action: str = "view") -> QuerySet[Survey]:
    if not can(user, "survey", action):
        return Survey.objects.none()
    return Survey.objects.all()


def get_survey_for(user: User, survey_id: int, action: str = "view") -> Survey:
    if not isinstance(survey_id, int) or isinstance(survey_id, bool) or not 0 < survey_id <= MAX_ID:
        raise NotFound(_("No survey #%(id)s.") % {"id": survey_id}, field="survey_id")
    survey = surveys_for(user, "view").filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No survey #%(id)s.") % {"id": survey_id}, field="survey_id")
    if action != "view" and not can(user, "survey", action):
        raise PermissionDenied(_("Your role may not change surveys."), field="survey_id")
    return survey


def _feedback_filter(user: User) -> Q | None:
    """Rows of answers and verbatims the user may see: own = about tickets they handled; department scope."""
    return scope_filter(user, "feedback", "view", owner="agent", department="department")


def responses_for(user: User) -> QuerySet[Response]:
    condition = _feedback_filter(user)
    if condition is None:
        return Response.objects.none()
    return Response.objects.filter(condition, is_complete=True)


def analyses_for(user: User) -> QuerySet[TextAnalysis]:
    condition = _feedback_filter(user)
    if condition is None:
        return TextAnalysis.objects.none()
    return TextAnalysis.objects.filter(condition)


def invitations_for(user: User) -> QuerySet[Invitation]:
    condition = _feedback_filter(user)
    if condition is None:
        return Invitation.objects.none()
    return Invitation.objects.filter(condition)


def follow_ups_for(user: User) -> QuerySet[FollowUp]:
    scope = scope_for(user, "feedback", "view")
    if scope == Scope.NONE:
        return FollowUp.objects.none()
    if scope == Scope.ALL:
        return FollowUp.objects.all()
    condition = scope_filter(user, "feedback", "view", owner="ticket__assignee", department="department")
    return FollowUp.objects.filter(condition)


# --- filters --------------------------------------------------------------------------------------

@dataclass
class MetricFilter:
    """What every dashboard, metric endpoint and verbatim list can be narrowed by."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    survey_id: int | None = None
    department_id: int | None = None
    agent_id: int | None = None
    channel: str | None = None
    touchpoint: str | None = None
    tier: str | None = None
    category: str | None = None  # ticket category code (answers) or root-cause branch (verbatims)


def _window(filters: MetricFilter, *, default_days: int = 365) -> tuple[dt.datetime, dt.datetime]:
    until = filters.until or timezone.now()
    since = filters.since or until - dt.timedelta(days=default_days)
    if since >= until:
        raise RuleViolation(_("The start must be before the end."), field="since")
    return since, until


def filter_responses(rows: QuerySet[Response], filters: MetricFilter) -> QuerySet[Response]:
    since, until = _window(filters)
    return _filter_dimensions(rows.filter(answered_at__gte=since, answered_at__lt=until), filters)


def _filter_dimensions(rows: QuerySet[Response], filters: MetricFilter) -> QuerySet[Response]:
    exact = {"survey_id": filters.survey_id, "department_id": filters.department_id, "agent_id": filters.agent_id,
             "channel": filters.channel, "touchpoint": filters.touchpoint, "tier": filters.tier,
             "category__code": filters.category}
    return rows.filter(**{key: value for key, value in exact.items() if value is not None})


# --- metrics --------------------------------------------------------------------------------------

# Only the score columns: with the period they are all in response_scores_idx, so a trend is index-only.
AGGREGATES = {
    "n_nps": Count("nps"),
    "promoters": Count("nps", filter=Q(nps__gte=9)),
    "detractors": Count("nps", filter=Q(nps__lte=6)),
    "n_csat": Count("csat"),
    "satisfied": Count("csat", filter=Q(csat__gte=4)),
    "n_ces": Count("ces"),
    "ces_sum": Sum("ces"),
    "ces_squares": Sum(F("ces") * F("ces")),
    "low_effort": Count("ces", filter=Q(ces__lte=3)),
}


@dataclass
class Scores:
    """CSAT, NPS and CES of one group of answers, each with its interval or a minimum-sample warning."""

    label: str
    key: Any
    csat: stats.Estimate
    nps: stats.Estimate
    ces: stats.Estimate
    low_effort: stats.Estimate

    def as_dict(self) -> dict[str, Any]:
        def one(estimate: stats.Estimate) -> dict[str, Any]:
            return {"n": estimate.n, "value": stats.shown(estimate), "low": estimate.low if estimate.reliable else None,
                    "high": estimate.high if estimate.reliable else None, "warning": estimate.warning}
        return {"label": self.label, "key": self.key, "csat": one(self.csat), "nps": one(self.nps),
                "ces": one(self.ces), "low_effort": one(self.low_effort)}


def scores_from(row: dict[str, Any], *, label: str = "", key: Any = None, minimum: int = stats.MIN_SAMPLE) -> Scores:
    n_nps, promoters, detractors = row["n_nps"], row["promoters"], row["detractors"]
    n_ces = row["n_ces"]
    ces_mean = stats.ces_from_moments(n_ces, row["ces_sum"] or 0, row["ces_squares"] or 0, minimum=minimum)
    low = stats.proportion(row["low_effort"], n_ces, minimum=minimum)
    return Scores(
        label=label, key=key,
        csat=stats.proportion(row["satisfied"], row["n_csat"], minimum=minimum),
        nps=stats.nps(promoters, n_nps - promoters - detractors, detractors, minimum=minimum),
        ces=ces_mean, low_effort=low,
    )


def overall(user: User, filters: MetricFilter, *, minimum: int = stats.MIN_SAMPLE) -> Scores:
    return summary(user, filters, minimum=minimum).scores


@dataclass
class Summary:
    scores: Scores
    distribution: dict[str, dict[int, int]]


def _distributions(rows) -> dict[str, dict[int, int]]:
    """Answers per score of each metric from rows grouped by (nps, csat, ces) with their count `n`."""
    distribution: dict[str, dict[int, int]] = {"nps": {}, "csat": {}, "ces": {}}
    for row in rows:
        for metric in ("nps", "csat", "ces"):
            if row[metric] is not None:
                distribution[metric][row[metric]] = distribution[metric].get(row[metric], 0) + row["n"]
    return distribution


def _totals(distribution: dict[str, dict[int, int]]) -> dict[str, int]:
    """The AGGREGATES of a group of answers, summed from its score distributions."""
    nps_counts, csat_counts, ces_counts = distribution["nps"], distribution["csat"], distribution["ces"]
    return {
        "n_nps": sum(nps_counts.values()),
        "promoters": sum(n for score, n in nps_counts.items() if score >= 9),
        "detractors": sum(n for score, n in nps_counts.items() if score <= 6),
        "n_csat": sum(csat_counts.values()),
        "satisfied": sum(n for score, n in csat_counts.items() if score >= 4),
        "n_ces": sum(ces_counts.values()),
        "ces_sum": sum(score * n for score, n in ces_counts.items()),
        "ces_squares": sum(score * score * n for score, n in ces_counts.items()),
        "low_effort": sum(n for score, n in ces_counts.items() if score <= 3),
    }


def _fold(rows) -> dict[str, int]:
    return _totals(_distributions(rows))


def summary(user: User, filters: MetricFilter, *, minimum: int = stats.MIN_SAMPLE) -> Summary:
    """Scores and the answer distributions of every metric: whole days from the daily roll-up and the rest
    from ONE grouped query (by nps, csat, ces) over the answers."""
    tallies = _answer_tallies(user, filters, None)
    if tallies is not None:
        distribution = tallies.get(None, rollup.Tally()).distribution()
    else:
        # count(*), not count(id): PostgreSQL then answers from the covering index alone (index-only scan).
        rows = (filter_responses(responses_for(user), filters).values("nps", "csat", "ces").annotate(n=Count("*"))
                .order_by())
        distribution = _distributions(rows)
    total = _totals(distribution)
    return Summary(scores=scores_from(total, label=_("All"), minimum=minimum),
                   distribution={metric: dict(sorted(counts.items())) for metric, counts in distribution.items()})


DIMENSIONS = {
    # name -> (value lookup, label lookup)
    "agent": ("agent_id", "agent__display_name"),
    "team": ("agent__teams__id", "agent__teams__name"),
    "department": ("department_id", "department__name"),
    "category": ("category_id", "category__name"),
    "channel": ("channel", "channel"),
    "touchpoint": ("touchpoint", "touchpoint"),
    "tier": ("tier", "tier"),
    "organisation": ("organisation_id", "organisation__name"),
    "survey": ("survey_id", "survey__name"),
}
PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def breakdown(user: User, filters: MetricFilter, by: str, *, minimum: int = stats.MIN_SAMPLE,
              limit: int = 50) -> list[Scores]:
    """Scores per agent, team, department, category, channel, touchpoint, tier, organisation or survey (one query)."""
    if by not in DIMENSIONS:
        raise RuleViolation(_("Unknown breakdown %(by)s.") % {"by": by}, field="by")
    value, label = DIMENSIONS[by]
    if by in rollup.ROLLED_UP:
        tallies = _answer_tallies(user, filters, value)
        if tallies is not None:
            return _breakdown_from(tallies, value, minimum=minimum, limit=limit)
    rows = (filter_responses(responses_for(user), filters).values(value, label).annotate(**AGGREGATES)
            .order_by("-n_nps", "-n_csat")[:limit])
    return [scores_from(row, label=str(row[label] if row[label] not in (None, "") else _("(none)")), key=row[value],
                        minimum=minimum) for row in rows]


def trend(user: User, filters: MetricFilter, *, period: str = "month", minimum: int = stats.MIN_SAMPLE) -> list[Scores]:
    """Scores per day, week or month, oldest first."""
    if period not in PERIODS:
        raise RuleViolation(_("Unknown period."), field="period")
    if str(timezone.get_current_timezone()) == settings.TIME_ZONE:  # the roll-up's days are this zone's days
        tallies = _answer_tallies(user, filters, "day")
        if tallies is not None:
            return _trend_from(tallies, period, minimum=minimum)
    rows = filter_responses(responses_for(user), filters)
    if connection.vendor == "postgresql":
        return _trend_by_bucket(rows, filters, period, minimum)
    rows = (rows.annotate(period=PERIODS[period]("answered_at"))
            .values("period").annotate(**AGGREGATES).order_by("period"))
    return [scores_from(row, label=row["period"].date().isoformat(), key=row["period"], minimum=minimum)
            for row in rows]


class _WidthBucket(Func):
    """PostgreSQL's width_bucket(operand, thresholds[]): the 1-based index of the last threshold <= operand."""

    function = "width_bucket"
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        operand, operand_params = compiler.compile(self.source_expressions[0])
        return f"width_bucket({operand}, %s::timestamptz[])", (*operand_params, self.thresholds)

    def __init__(self, expression, thresholds: list[dt.datetime]):
        super().__init__(expression)
        self.thresholds = thresholds


def period_starts(since: dt.datetime, until: dt.datetime, period: str) -> list[dt.datetime]:
    """The local starts of every day, week (Monday) or month from the one holding `since` to before `until`:
    the same periods as TruncDay/TruncWeek/TruncMonth in the current time zone."""
    zone = timezone.get_current_timezone()
    day = timezone.localtime(since, zone).date()
    if period == "week":
        day -= dt.timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    starts = []
    while True:
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        if start >= until:
            return starts
        starts.append(start)
        if period == "day":
            day += dt.timedelta(days=1)
        elif period == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _trend_by_bucket(rows: QuerySet[Response], filters: MetricFilter, period: str, minimum: int) -> list[Scores]:
    """The trend on PostgreSQL: each answer placed in its period by a binary search over the period starts
    (no time-zone conversion per row) and counted per (period, nps, csat, ces) from the covering index;
    the sums are finished here exactly as `summary` does."""
    starts = period_starts(*_window(filters), period)
    grouped = (rows.annotate(bucket=_WidthBucket("answered_at", starts)).values("bucket", "nps", "csat", "ces")
               .annotate(n=Count("*")).order_by())
    per_period: dict[int, list[dict[str, Any]]] = {}
    for row in grouped:
        per_period.setdefault(row["bucket"], []).append(row)
    result = []
    for bucket in sorted(per_period):
        start = starts[bucket - 1]
        result.append(scores_from(_fold(per_period[bucket]), label=start.date().isoformat(), key=start,
                                  minimum=minimum))
    return result


def distribution(user: User, filters: MetricFilter, metric: str) -> dict[int, int]:
    """How many answers gave each score of `metric` (csat, nps or ces)."""
    if metric not in ("csat", "nps", "ces"):
        raise RuleViolation(_("Unknown metric."), field="metric")
    tallies = _answer_tallies(user, filters, None)
    if tallies is not None:
        return tallies.get(None, rollup.Tally()).distribution()[metric]
    rows = (filter_responses(responses_for(user), filters).filter(**{f"{metric}__isnull": False})
            .values(metric).annotate(n=Count("id")).order_by(metric))
    return {row[metric]: row["n"] for row in rows}


# --- the daily roll-up (see feedback.rollup) -------------------------------------------------------

def _edges(plan: rollup.Plan, column: str) -> Q:
    condition = Q(pk__in=[])
    for start, end in plan.edges:
        condition |= Q(**{f"{column}__gte": start, f"{column}__lt": end})
    return condition


def _whole_days(plan: rollup.Plan, column: str) -> Q:
    """The plan's whole days: where a scope's correction is added (the edges already read the full scope)."""
    first = dt.datetime.combine(plan.first_day, dt.time(0), tzinfo=plan.zone)
    end = dt.datetime.combine(plan.end_day, dt.time(0), tzinfo=plan.zone)
    return Q(**{f"{column}__gte": first, f"{column}__lt": end})


def _live_tallies(rows: QuerySet[Response], group: str | None, zone: Any) -> dict[Any, rollup.Tally]:
    if group == "day":
        rows = rows.annotate(day=TruncDate("answered_at", tzinfo=zone))
    fields = [group] if group else []
    result: dict[Any, rollup.Tally] = {}
    for row in rows.values(*fields, "nps", "csat", "ces").annotate(n=Count("*")).order_by():
        result.setdefault(row[group] if group else None, rollup.Tally()).add_scores(
            row["nps"], row["csat"], row["ces"], row["n"])
    return result


def _answer_tallies(user: User, filters: MetricFilter, group: str | None) -> dict[Any, rollup.Tally] | None:
    """Tallies of the window's answers per `group` (a rolled-up column or "day"), whole days from the roll-up
    and the rest from the answers; None when the roll-up cannot answer exactly (then read the answers)."""
    since, until = _window(filters)
    plan = rollup.plan(user, since, until, agents=True)
    if plan is None:
        return None
    tallies = rollup.answer_tallies(plan, filters, group)
    if tallies is None:
        return None
    parts = []
    if plan.edges:
        parts.append(_filter_dimensions(responses_for(user).filter(_edges(plan, "answered_at")), filters))
    if plan.correction is not None:
        parts.append(filter_responses(Response.objects.filter(plan.correction, _whole_days(plan, "answered_at"),
                                                              is_complete=True), filters))
    for part in parts:
        for key, tally in _live_tallies(part, group, plan.zone).items():
            tallies.setdefault(key, rollup.Tally()).add(tally)
    return tallies


def _breakdown_from(tallies: dict[Any, rollup.Tally], column: str, *, minimum: int, limit: int) -> list[Scores]:
    names = rollup.labels(column, set(tallies))
    merged: dict[Any, rollup.Tally] = {}
    for key, tally in tallies.items():
        if column.endswith("_id"):  # none, or an id deleted since (SET_NULL on the answers): the "(none)" row
            key = key if key and key in names else None
        merged.setdefault(key, rollup.Tally()).add(tally)
    rows = []
    for key, tally in merged.items():
        total = _totals(tally.distribution())
        label = names.get(key) if column.endswith("_id") else key
        rows.append((total, scores_from(total, label=str(label if label not in (None, "") else _("(none)")), key=key,
                                        minimum=minimum)))
    rows.sort(key=lambda pair: (-pair[0]["n_nps"], -pair[0]["n_csat"]))
    return [scores for _total, scores in rows[:limit]]


def _trend_from(tallies: dict[Any, rollup.Tally], period: str, *, minimum: int) -> list[Scores]:
    zone = timezone.get_current_timezone()
    per_period: dict[dt.date, rollup.Tally] = {}
    for day, tally in tallies.items():
        if period == "week":
            start = day - dt.timedelta(days=day.weekday())
        elif period == "month":
            start = day.replace(day=1)
        else:
            start = day
        per_period.setdefault(start, rollup.Tally()).add(tally)
    result = []
    for start in sorted(per_period):
        key = dt.datetime.combine(start, dt.time(0), tzinfo=zone)
        result.append(scores_from(_totals(per_period[start].distribution()), label=start.isoformat(), key=key,
                                  minimum=minimum))
    return result


@dataclass
class ResponseRate:
    sent: int
    answered: int
    rate: float | None


def response_rate(user: User, filters: MetricFilter) -> ResponseRate:
    """Invitations sent in the window (by survey and department only) and how many were answered: whole days
    from the daily roll-up, the partial days and scope corrections from the invitations."""
    since, until = _window(filters)

    def narrowed(rows: QuerySet[Invitation]) -> QuerySet[Invitation]:
        if filters.survey_id:
            rows = rows.filter(survey_id=filters.survey_id)
        if filters.department_id:
            rows = rows.filter(department_id=filters.department_id)
        return rows

    def counted(rows: QuerySet[Invitation]) -> tuple[int, int]:
        counts = narrowed(rows).aggregate(sent=Count("*"), answered=Count("answered_at"))  # index-only on PG
        return counts["sent"], counts["answered"]

    plan = rollup.plan(user, since, until)
    if plan is None:
        sent, answered = counted(invitations_for(user).filter(sent_at__gte=since, sent_at__lt=until))
    else:
        sent, answered = rollup.invitation_counts(plan, filters)
        parts = [invitations_for(user).filter(_edges(plan, "sent_at"))] if plan.edges else []
        if plan.correction is not None:
            parts.append(Invitation.objects.filter(plan.correction, _whole_days(plan, "sent_at")))
        for part in parts:
            more_sent, more_answered = counted(part)
            sent, answered = sent + more_sent, answered + more_answered
    return ResponseRate(sent=sent, answered=answered, rate=stats.rate(answered, sent))


@dataclass
class LoopMetrics:
    """Follow-ups opened, how many had the agent's reply (closed), the rate and the median hours to close."""

    opened: int
    closed: int
    rate: float | None
    median_hours: float | None
    without_ticket: int


def _first_reply():
    return Subquery(TicketMessage.objects.filter(ticket_id=OuterRef("ticket_id"), kind=TicketMessage.Kind.REPLY,
                                                 created_at__gte=OuterRef("opened_at"))
                    .order_by("created_at").values("created_at")[:1])


def follow_ups_with_closure(user: User) -> QuerySet[FollowUp]:
    """Follow-ups with `closed_at`: the first public reply on their ticket after they opened (None = open loop)."""
    return follow_ups_for(user).annotate(closed_at=_first_reply())


def loop_metrics(user: User, filters: MetricFilter) -> LoopMetrics:
    since, until = _window(filters)
    rows = list(follow_ups_with_closure(user).filter(opened_at__gte=since, opened_at__lt=until)
                .values("opened_at", "closed_at", "ticket_id"))
    closed = [(row["closed_at"] - row["opened_at"]).total_seconds() / 3600 for row in rows if row["closed_at"]]
    return LoopMetrics(opened=len(rows), closed=len(closed), rate=stats.rate(len(closed), len(rows)),
                       median_hours=stats.median(closed),
                       without_ticket=sum(1 for row in rows if row["ticket_id"] is None))


# --- verbatims, words, needs ----------------------------------------------------------------------

@dataclass
class VerbatimFilter(MetricFilter):
    sentiment: str | None = None
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    q: str | None = None


def verbatims(user: User, filters: VerbatimFilter) -> QuerySet[TextAnalysis]:
    """Analysed texts, newest first, narrowed by the filters (page with core.pagination.paginate)."""
    since, until = _window(filters)
    rows = analyses_for(user).filter(at__gte=since, at__lt=until).select_related("customer")
    exact = {"sentiment": filters.sentiment, "source": filters.source, "language": filters.language,
             "department_id": filters.department_id, "agent_id": filters.agent_id, "channel": filters.channel,
             "touchpoint": filters.touchpoint, "tier": filters.tier, "category": filters.category}
    rows = rows.filter(**{key: value for key, value in exact.items() if value is not None})
    if filters.topic:
        rows = rows.filter(mentions__topic=filters.topic)
    if filters.q:
        rows = rows.filter(text__icontains=filters.q)
    return rows


def word_frequencies(user: User, filters: VerbatimFilter, *, limit: int = 60,
                     sample: int = 5000) -> list[tuple[str, int]]:
    """The most frequent content words of the newest `sample` matching texts."""
    from loopcrm.feedback import text as text_analysis

    counts: Counter[str] = Counter()
    for language, tokens in verbatims(user, filters).order_by("-at").values_list("language", "tokens")[:sample]:
        counts.update(text_analysis.content_words(tokens or [], language))
    return counts.most_common(limit)


TIER_WEIGHT = {"vip": 4.0, "high": 3.0, "medium": 2.0, "low": 1.0, "": 1.0}


@dataclass
class Need:
    """A topic customers raise: how many distinct customers, the trend, and the value of those customers."""

    topic: str
    label: str
    customers: int
    mentions: int
    negative_share: float
    recent: int
    previous: int
    trend: float | None  # change of distinct customers, last half of the window vs the first, in %
    value_weight: float
    priority: float
    by_source: dict[str, int] = field(default_factory=dict)


def topic_label(topic: str) -> str:
    labels = {
        # "Delivery" alone is also the journey stage (交付); the topic is the logistics (配送).
        "delivery": pgettext("feedback topic", "Delivery"), "installation": _("Installation"),
        "product_quality": _("Product quality"),
        "product_function": _("Product function and use"), "service_attitude": _("Service attitude"),
        "waiting_response": _("Waiting and follow-through"), "price": _("Price and fees"),
        "refund_return": _("Refunds and returns"), "repair": _("Repair and warranty"), "store": _("Stores"),
        "website_app": _("Website and app"), "packaging": _("Packaging"),
    }
    return str(labels.get(topic, topic))


def needs(user: User, filters: MetricFilter, *, limit: int = 30) -> list[Need]:
    """Topics from surveys, feedback and tickets, ranked by distinct customers × trend × customer value."""
    since, until = _window(filters, default_days=90)
    middle = since + (until - since) / 2
    condition = _feedback_filter(user)
    if condition is None:
        return []
    mentions = TopicMention.objects.filter(at__gte=since, at__lt=until).filter(
        analysis__in=analyses_for(user).values("id"))
    if filters.department_id:
        mentions = mentions.filter(analysis__department_id=filters.department_id)
    rows = mentions.values("topic").annotate(
        customers=Count("customer", distinct=True), mentions=Count("id"),
        negative=Count("id", filter=Q(negative=True)),
        recent=Count("customer", distinct=True, filter=Q(at__gte=middle)),
        previous=Count("customer", distinct=True, filter=Q(at__lt=middle)),
    )
    tiers = mentions.values("topic", "analysis__tier").annotate(customers=Count("customer", distinct=True))
    weight: dict[str, list[float]] = {}
    for row in tiers:
        tier = (row["analysis__tier"] or "").lower()
        weight.setdefault(row["topic"], []).extend([TIER_WEIGHT.get(tier, 1.0)] * row["customers"])
    sources = mentions.values("topic", "analysis__source").annotate(n=Count("id"))
    by_source: dict[str, dict[str, int]] = {}
    for row in sources:
        by_source.setdefault(row["topic"], {})[row["analysis__source"]] = row["n"]
    result = []
    for row in rows:
        weights = weight.get(row["topic"], [1.0])
        value_weight = sum(weights) / len(weights)
        trend_pct = stats.rate(row["recent"] - row["previous"], row["previous"]) if row["previous"] else None
        growth = 1 + max(-0.5, min(1.0, (trend_pct or 0) / 100))
        negative_share = row["negative"] / row["mentions"] if row["mentions"] else 0.0
        priority = row["customers"] * value_weight * growth * (0.5 + negative_share)
        result.append(Need(topic=row["topic"], label=topic_label(row["topic"]), customers=row["customers"],
                           mentions=row["mentions"], negative_share=negative_share, recent=row["recent"],
                           previous=row["previous"], trend=trend_pct, value_weight=round(value_weight, 2),
                           priority=round(priority, 2), by_source=by_source.get(row["topic"], {})))
    result.sort(key=lambda need: (-need.priority, -need.customers, need.topic))
    return result[:limit]


# --- the customer 360 slot ------------------------------------------------------------------------

@dataclass
class LatestScores:
    """The customer's newest CSAT, NPS and CES answers and their latest comments (for the 360 page)."""

    csat: int | None = None
    csat_at: dt.datetime | None = None
    nps: int | None = None
    nps_at: dt.datetime | None = None
    ces: int | None = None
    ces_at: dt.datetime | None = None
    comments: list[TextAnalysis] = field(default_factory=list)
    responses: int = 0

    @property
    def empty(self) -> bool:
        return self.responses == 0 and not self.comments


def latest_scores_of(customer: Customer, *, comments: int = 3) -> LatestScores:
    """Three small queries: the newest answer per metric, the count, and the latest analysed comments."""
    rows = Response.objects.filter(customer=customer, is_complete=True)
    result = LatestScores(responses=rows.count())
    for metric in ("csat", "nps", "ces"):
        newest = (rows.filter(**{f"{metric}__isnull": False}).order_by("-answered_at")
                  .values(metric, "answered_at").first())
        if newest:
            setattr(result, metric, newest[metric])
            setattr(result, f"{metric}_at", newest["answered_at"])
    result.comments = list(TextAnalysis.objects.filter(customer=customer).exclude(source=TextAnalysis.Source.TICKET)
                           .order_by("-at")[:comments])
    return result


def survey_stats(survey: Survey) -> dict[str, Any]:
    """Invitations by status and the response span of one survey."""
    counts = dict(survey.invitations.values_list("status").annotate(n=Count("id")))
    span = survey.responses.filter(is_complete=True).aggregate(first=Min("answered_at"), last=Max("answered_at"),
                                                               mean_nps=Avg("nps"))
    return {"invitations": counts, **span}


def ces_summary_ok(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
