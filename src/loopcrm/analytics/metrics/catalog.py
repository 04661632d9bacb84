"""The definitions: every KPI once, as a registry `Metric` (what it is) and a `Formula` (how SQL computes it).

Ticket metrics are dated by when the ticket opened (the cohort of the day), SLA clocks by when they
started, answers by when they were given, follow-ups by when they opened, orders by when they were
placed, customer values by their first order. Times are wall-clock minutes between the ticket's
milestones (the SLA clocks keep business time; `sla_attainment` reads those).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Exists, F, FloatField, OuterRef, Q, Sum, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from loopcrm.analytics.metrics import sql
from loopcrm.analytics.metrics.engine import NUMERATOR, Agg, Formula, Groups, Query, Term, scoped_rows
from loopcrm.analytics.metrics.sources import SOURCES
from loopcrm.commerce.models import Order
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.service.models import SlaClock, Ticket

COMPLAINT = Q(kind=Ticket.Kind.COMPLAINT)


def _count(column: str, where: Q | None = None):
    # Counting the (never null) date column, not the id: with a covering index on it PostgreSQL can answer
    # from the index alone.
    return lambda: Count(column, filter=where)


def _rate(source: str, date: str, success: Q, trial: Q | None = None) -> Formula:
    """Successes out of trials, in percent."""
    trials = trial if trial is not None else Q()
    return Formula(numerator=Term(source, date, _count(date, success & trials if trial is not None else success)),
                   denominator=Term(source, date, _count(date, trial)), scale=100.0)


def _mean(source: str, date: str, value, where: Q) -> Formula:
    """The mean of one value per case (a duration or a score), with the sums a standard deviation needs."""
    return Formula(
        numerator=Term(source, date, lambda: Sum(value(), filter=where, output_field=FloatField())),
        denominator=Term(source, date, _count(date, where)),
        squares=Term(source, date, lambda: Sum(value() * value(), filter=where, output_field=FloatField())),
        case_value=value, case_where=where,
    )


def _earlier_order():
    return Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__lt=OuterRef("placed_at"),
                                       status__in=SPENDING_STATUSES))


def _nps_value():
    return Case(When(nps__gte=9, then=Value(100.0)), When(nps__lte=6, then=Value(-100.0)), default=Value(0.0),
                output_field=FloatField())


# --- churn and retention (from the stored first and last orders of customer values) ---------------

def churn_lapse_days() -> int:
    """Days without an order after which a customer counts as lost: the value app's lifecycle rule."""
    from loopcrm.value.services import rules_from_settings

    return rules_from_settings().lifecycle.churned_days


def _daily(rows, column: str, low: dt.datetime, high: dt.datetime, dim: dict) -> dict[object, dict[dt.date, int]]:
    """Rows per (dimension value, local day) of `column` in [low, high)."""
    out: dict[object, dict[dt.date, int]] = defaultdict(dict)
    for row in (rows.filter(**{f"{column}__gte": low, f"{column}__lt": high})
                .values(**dim, day=sql.bucket_expression(column, "day")).annotate(n=Count("pk")).order_by()):
        out[row.get("dim")][sql.as_date(row["day"])] = row["n"]
    return out


def _before(rows, column: str, moment: dt.datetime, dim: dict) -> dict[object, int]:
    if not dim:
        return {None: rows.filter(**{f"{column}__lt": moment}).count()}
    return {row["dim"]: row["n"] for row in rows.filter(**{f"{column}__lt": moment}).values(**dim)
            .annotate(n=Count("pk")).order_by()}


def _lifecycle(kept: bool):
    """Churn (kept=False) or retention (kept=True) per bucket: customers active at the bucket's start (first
    order before it, last order less than the lapse before it) and those of them whose lapse ran out in it."""

    def compute(query: Query, paths: dict[int, str]) -> Groups:
        lapse = dt.timedelta(days=churn_lapse_days())
        low, high = sql.bounds(query.start, query.end)
        rows = scoped_rows("values", query, paths)
        dim = {"dim": F(SOURCES["values"].dimensions[query.dimension])} if query.dimension else {}
        first_before, first_days = _before(rows, "first_order_at", low, dim), _daily(rows, "first_order_at", low, high,
                                                                                      dim)
        lapsed_before = _before(rows, "last_order_at", low - lapse, dim)
        lapsed_days = _daily(rows, "last_order_at", low - lapse, high - lapse, dim)
        out: Groups = defaultdict(Agg)
        for value in set(first_before) | set(first_days) | set(lapsed_before) | set(lapsed_days):
            started, lapsed = first_before.get(value, 0), lapsed_before.get(value, 0)
            firsts = sorted(first_days.get(value, {}).items())
            losses = sorted((day + lapse, n) for day, n in lapsed_days.get(value, {}).items())
            for bucket in query.buckets():
                until = query.end + dt.timedelta(days=1) if query.grain is None else sql.next_bucket(bucket,
                                                                                                      query.grain)
                before_bucket = max(bucket, query.start)
                base = (started + sum(n for day, n in firsts if day < before_bucket)
                        - lapsed - sum(n for day, n in losses if day < before_bucket))
                lost = sum(n for day, n in losses if before_bucket <= day < until)
                out[(value, bucket)] = Agg(numerator=float(base - lost if kept else lost), denominator=float(base),
                                           n=base)
        return out

    return compute


# --- the catalogue ---------------------------------------------------------------------------------

def _definitions():
    """(key, name, unit, better, kind, dimensions or None for the sources' common ones, description, formula)."""
    from loopcrm.analytics.registry import Better, MetricKind

    L, H = Better.LOWER, Better.HIGHER
    R, C, D, S = MetricKind.RATE, MetricKind.COUNT, MetricKind.DURATION, MetricKind.SCORE
    first_response = lambda: sql.minutes_between("opened_at", "first_response_at")  # noqa: E731
    resolution = lambda: sql.minutes_between("opened_at", "resolved_at")  # noqa: E731
    loop_minutes = lambda: sql.minutes_between("opened_at", "closed_at")  # noqa: E731
    clv = lambda: Cast("clv", FloatField())  # noqa: E731
    ces = lambda: Cast("ces", FloatField())  # noqa: E731
    decided = Q(state=SlaClock.State.MET) | Q(breached=True)
    ever_resolved = Q(resolved_at__isnull=False) | Q(reopen_count__gt=0)
    return [
        ("ticket_volume", _("Ticket volume"), "tickets", L, C, None,
         _("Tickets opened per period."),
         Formula(numerator=Term("tickets", "opened_at", _count("opened_at")), n_from=NUMERATOR)),
        ("complaint_rate_orders", _("Complaints per 1,000 orders"), "‰", L, C, ("customer_tier", "region"),
         _("Complaints opened per 1,000 orders placed (paid, shipped or delivered) in the period."),
         Formula(numerator=Term("tickets", "opened_at", _count("opened_at", COMPLAINT)),
                 denominator=Term("orders", "placed_at", _count("placed_at")), scale=1000.0, n_from=NUMERATOR)),
        ("complaint_rate_customers", _("Complaints per 1,000 customers"), "‰", L, C, ("customer_tier", "region"),
         _("Complaints opened in the period per 1,000 customers on the books at its start."),
         Formula(numerator=Term("tickets", "opened_at", _count("opened_at", COMPLAINT)),
                 denominator=Term("customers", "created_at", _count("created_at"), stock=True), scale=1000.0,
                 n_from=NUMERATOR, additive=False)),
        ("first_response_minutes", _("First response time"), "min", L, D, None,
         _("Minutes from opening to the first public reply, for tickets opened in the period that have one."),
         _mean("tickets", "opened_at", first_response, Q(first_response_at__isnull=False))),
        ("resolution_minutes", _("Resolution time"), "min", L, D, None,
         _("Minutes from opening to resolution, for tickets opened in the period and resolved."),
         _mean("tickets", "opened_at", resolution, Q(resolved_at__isnull=False))),
        ("sla_attainment", _("SLA attainment"), "%", H, R, None,
         _("Share of decided SLA clocks (met, or breached) started in the period that were met on time."),
         _rate("clocks", "started_at", Q(state=SlaClock.State.MET, breached=False), decided)),
        ("reopen_rate", _("Reopen rate"), "%", L, R, None,
         _("Share of tickets opened in the period and resolved at least once that were reopened."),
         _rate("tickets", "opened_at", Q(reopen_count__gt=0), ever_resolved)),
        ("repeat_complaint_rate", _("Repeat-complaint rate"), "%", L, R,
         ("department", "team", "agent", "category", "channel", "customer_tier", "region"),
         _("Share of complaints opened in the period that repeat an earlier complaint of the same customer."),
         _rate("tickets", "opened_at", Q(repeat_of__isnull=False), COMPLAINT)),
        ("csat", _("CSAT"), "%", H, R, None,
         _("Share of CSAT answers of 4 or 5 (of 5) given in the period."),
         _rate("responses", "answered_at", Q(csat__gte=4), Q(csat__isnull=False))),
        ("nps", _("NPS"), "score", H, S, None,
         _("Net Promoter Score: promoters (9–10) minus detractors (0–6), per 100 answers; each answer counts "
           "100, 0 or −100."),
         Formula(numerator=Term("responses", "answered_at", lambda: (
             Count("nps", filter=Q(nps__gte=9)) - Count("nps", filter=Q(nps__lte=6))) * 100.0),
             denominator=Term("responses", "answered_at", lambda: Count("nps")),
             squares=Term("responses", "answered_at", lambda: Count("nps", filter=Q(nps__gte=9) | Q(nps__lte=6))
                          * 10000.0),
             case_value=_nps_value, case_where=Q(nps__isnull=False))),
        ("ces", _("CES"), "score", L, S, None,
         _("Customer effort: the mean answer (1 = very easy … 7 = very hard)."),
         _mean("responses", "answered_at", ces, Q(ces__isnull=False))),
        ("closed_loop_rate", _("Closed-loop rate"), "%", H, R, None,
         _("Share of follow-ups of unhappy answers opened in the period that had the agent's reply."),
         _rate("follow_ups", "opened_at", Q(closed_at__isnull=False))),
        ("closed_loop_minutes", _("Closed-loop time"), "min", L, D, None,
         _("Minutes from a follow-up opening to the agent's first public reply, for follow-ups opened in the "
           "period and closed."),
         _mean("follow_ups", "opened_at", loop_minutes, Q(closed_at__isnull=False))),
        ("churn_rate", _("Churn rate"), "%", L, R, ("customer_tier", "region"),
         _("Customers whose last order passed the lapse (the lifecycle's churn rule) in the period, out of the "
           "customers active at its start."),
         Formula(custom=_lifecycle(kept=False), scale=100.0, additive=False)),
        ("retention_rate", _("Retention rate"), "%", H, R, ("customer_tier", "region"),
         _("Customers active at the start of the period who had not lapsed by its end."),
         Formula(custom=_lifecycle(kept=True), scale=100.0, additive=False)),
        ("repeat_purchase_rate", _("Repeat purchase rate"), "%", H, R, None,
         _("Share of orders placed in the period by customers who had ordered before."),
         _rate("orders", "placed_at", Q(_earlier_order()))),
        ("average_clv", _("Average CLV"), "CNY", H, S, None,
         _("Mean predicted customer lifetime value of the customers whose first order fell in the period."),
         _mean("values", "first_order_at", clv, Q(clv__isnull=False))),
    ]
