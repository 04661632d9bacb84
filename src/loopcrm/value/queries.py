"""Reads of customer value: one customer's value, the dashboard summary, segments and their members, and
next-best products. Every read goes through the user's permission scope; aggregates run in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import Scope, can, scope_filter, scope_for
from loopcrm.commerce.models import Order, OrderLine, Product
from loopcrm.commerce.queries import SPENDING_STATUSES
from loopcrm.core.errors import NotFound
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customers_for, get_customer_for
from loopcrm.value import purchases, rfm
from loopcrm.value.models import CustomerValue, ProductAssociation, Segment, Stage, Tier, ValueRun
from loopcrm.value.segments import compile_rule, compile_value_rule, complement, tag_ids

MAX_ID = 2**63 - 1


# --- one customer --------------------------------------------------------------------------------

def _customer_id(customer: Customer | int) -> int:
    return customer.pk if isinstance(customer, Customer) else int(customer)


def value_of(customer: Customer | int) -> CustomerValue | None:
    """The customer's stored value (RFM, tier, CLV, P(alive), stage, computed_at), or None before any recompute.

    For routing and the 360 page: the caller has already checked that the user may see the customer.
    """
    # By primary key: at most one row, so no ORDER BY (as .first() would add) to build or run.
    rows = list(CustomerValue.objects.filter(pk=_customer_id(customer))[:1])
    return rows[0] if rows else None


def tier_of(customer: Customer | int) -> str | None:
    """"high", "medium", "low", or None (no recompute yet, or no counted order)."""
    tier = CustomerValue.objects.filter(customer_id=_customer_id(customer)).values_list("tier", flat=True).first()
    return tier or None


@dataclass(frozen=True)
class ValuePanel:
    """What the customer 360 page shows about value: the stored row (or None) and next-best products."""

    value: CustomerValue | None
    recommendations: list


def value_panel(customer: Customer | int, *, k: int = 5) -> ValuePanel:
    """The 360 slot "value" (four queries; the caller has checked the user may see the customer)."""
    return ValuePanel(value=value_of(customer), recommendations=recommendations_for(customer, k=k))


def customer_value_for(user: User, customer_id: int) -> tuple[Customer, CustomerValue | None]:
    """A customer the user may see, with its value row (NotFound outside the scope or without value access)."""
    customer = get_customer_for(user, customer_id)
    if not can(user, "value", "view"):
        raise NotFound(_("No customer #%(id)s.") % {"id": customer_id}, field="customer_id")
    return customer, value_of(customer)


# --- the dashboard -------------------------------------------------------------------------------

def values_for(user: User) -> QuerySet[CustomerValue]:
    """Value rows of the live customers the user may see (none without value access)."""
    condition = scope_filter(user, "customer", "view", owner="customer__owner", department="customer__department")
    if condition is None or not can(user, "value", "view"):
        return CustomerValue.objects.none()
    return CustomerValue.objects.filter(condition, customer__merged_into__isnull=True)


CLV_BINS = (0, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


@dataclass
class Summary:
    customers: int = 0
    computed_at: dt.datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    rfm_grid: list[list[int]] = field(default_factory=list)  # [R 5..1][FM 1..5]
    clv_histogram: list[dict[str, Any]] = field(default_factory=list)
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    churn: list[dict[str, Any]] = field(default_factory=list)


def summary(user: User, *, months: int = 12, at: dt.datetime | None = None) -> Summary:
    """Tier, stage and segment counts, the R × FM grid, a CLV histogram, cohort retention and churn trend."""
    rows = values_for(user)
    run = ValueRun.objects.filter(finished_at__isnull=False).first()
    result = Summary(computed_at=run.finished_at if run else None, parameters=run.parameters if run else {})
    result.customers = rows.count()
    result.tiers = {tier: 0 for tier in Tier.values}
    for item in rows.exclude(tier="").values("tier").annotate(n=Count("pk")).order_by():
        result.tiers[item["tier"]] = item["n"]
    result.stages = {stage: 0 for stage in Stage.values}
    for item in rows.values("stage").annotate(n=Count("pk")).order_by():
        result.stages[item["stage"]] = item["n"]
    result.segments = {name: 0 for name in rfm.SEGMENTS}
    grid = [[0] * 5 for _ in range(5)]
    for item in (rows.filter(r_score__isnull=False).values("r_score", "f_score", "m_score")
                 .annotate(n=Count("pk")).order_by()):
        fm = int(rfm.fm_score(item["f_score"], item["m_score"]))
        grid[5 - item["r_score"]][fm - 1] += item["n"]
        result.segments[rfm.segment_of(item["r_score"], item["f_score"], item["m_score"])] += item["n"]
    result.rfm_grid = grid
    result.clv_histogram = clv_histogram(rows)
    result.cohorts = cohort_retention(rows, months=months, at=at)
    result.churn = churn_trend(rows, months=months, at=at)
    return result


def clv_histogram(rows: QuerySet[CustomerValue]) -> list[dict[str, Any]]:
    """Customers per CLV band (one aggregate query)."""
    edges = [*CLV_BINS, None]
    counts = {}
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        condition = Q(clv__gte=low) if high is None else Q(clv__gte=low, clv__lt=high)
        counts[f"b{i}"] = Count("pk", filter=condition)
    totals = rows.aggregate(**counts)
    out = []
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        out.append({"low": low, "high": high, "customers": totals[f"b{i}"]})
    return out


def _month_start(moment: dt.datetime) -> dt.date:
    local = timezone.localtime(moment)
    return dt.date(local.year, local.month, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _as_date(value: Any) -> dt.date:
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


def cohort_retention(rows: QuerySet[CustomerValue], *, months: int = 12,
                     at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Monthly cohorts by first counted order: size, and the share who ordered in each later month.

    Two GROUP BY queries: cohort sizes from the value rows, and (cohort, order month) distinct buyers.
    """
    at = at or timezone.now()
    first_month = _add_months(_month_start(at), -(months - 1))
    start = timezone.make_aware(dt.datetime.combine(first_month, dt.time.min))
    sizes = {
        _as_date(item["cohort"]): item["n"]
        for item in rows.filter(first_order_at__gte=start, first_order_at__lte=at)
        .annotate(cohort=TruncMonth("first_order_at")).values("cohort").annotate(n=Count("pk")).order_by()
    }
    active: dict[tuple[dt.date, dt.date], int] = {}
    orders = (
        Order.objects.filter(status__in=SPENDING_STATUSES, placed_at__gte=start, placed_at__lte=at,
                customer__value__in=rows, customer__value__first_order_at__gte=start)
        .annotate(cohort=TruncMonth("customer__value__first_order_at"), month=TruncMonth("placed_at"))
        .values("cohort", "month").annotate(n=Count("customer_id", distinct=True)).order_by()
    )
    for item in orders:
        active[(_as_date(item["cohort"]), _as_date(item["month"]))] = item["n"]
    out = []
    for i in range(months):
        cohort = _add_months(first_month, i)
        size = sizes.get(cohort, 0)
        retention = []
        for k in range(months - i):
            n = active.get((cohort, _add_months(cohort, k)), 0)
            retention.append(round(n / size, 4) if size else None)
        out.append({"cohort": cohort.isoformat()[:7], "customers": size, "retention": retention})
    return out


def churn_trend(rows: QuerySet[CustomerValue], *, months: int = 12, at: dt.datetime | None = None,
                lapse_days: int | None = None) -> list[dict[str, Any]]:
    """Monthly churn rate: customers whose last order lapsed (last order + lapse) in the month, over the
    customers still active at its start (first order before it, last order less than `lapse` before it).

    A customer is counted at the lapse after their *last* order; one who lapsed and came back later is
    not counted in the earlier month (we read the stored last order, one aggregate query).
    """
    from loopcrm.value.services import rules_from_settings  # the lapse is the lifecycle's churn rule

    at = at or timezone.now()
    lapse = dt.timedelta(days=lapse_days or rules_from_settings().lifecycle.churned_days)
    first_month = _add_months(_month_start(at), -(months - 1))
    counts = {}
    bounds = []
    for i in range(months):
        begin = timezone.make_aware(dt.datetime.combine(_add_months(first_month, i), dt.time.min))
        end = min(timezone.make_aware(dt.datetime.combine(_add_months(first_month, i + 1), dt.time.min)), at)
        bounds.append((begin, end))
        counts[f"base{i}"] = Count("pk", filter=Q(first_order_at__lt=begin, last_order_at__gte=begin - lapse))
        counts[f"lost{i}"] = Count("pk", filter=Q(last_order_at__gte=begin - lapse, last_order_at__lt=end - lapse))
    totals = rows.aggregate(**counts)
    out = []
    for i, (begin, _end) in enumerate(bounds):
        base, lost = totals[f"base{i}"], totals[f"lost{i}"]
        out.append({"month": begin.date().isoformat()[:7], "active": base, "churned": lost,
                    "rate": round(lost / base, 4) if base else None})
    return out


# --- segments ------------------------------------------------------------------------------------

def segments_for(user: User, action: str = "view") -> QuerySet[Segment]:
    condition = scope_filter(user, "segment", action, owner="owner", department="department")
    if condition is None:
        return Segment.objects.none()
    return Segment.objects.filter(condition).select_related("owner")


def get_segment_for(user: User, segment_id: int, action: str = "view") -> Segment:
    """A segment the user may reach for `action`: NotFound out of view scope, PermissionDenied if only visible."""
    from loopcrm.core.errors import PermissionDenied

    if isinstance(segment_id, bool) or not 0 < int(segment_id) <= MAX_ID:
        raise NotFound(_("No segment #%(id)s.") % {"id": segment_id}, field="segment_id")
    segment = segments_for(user, action).filter(pk=segment_id).first()
    if segment is not None:
        return segment
    if action != "view" and segments_for(user, "view").filter(pk=segment_id).exists():
        raise PermissionDenied(_("You may see segment #%(id)s but your role may not change it.") % {"id": segment_id},
                               field="segment_id")
    raise NotFound(_("No segment #%(id)s.") % {"id": segment_id}, field="segment_id")


def rule_members(rule: Any, *, user: User | None = None, at: dt.datetime | None = None) -> QuerySet[Customer]:
    """Live customers matching `rule` (RuleViolation if it is malformed), within `user`'s scope when given."""
    base = customers_for(user) if user is not None else Customer.objects.filter(merged_into__isnull=True)
    return base.filter(compile_rule(rule, at=at))


def segment_members(segment: Segment, *, user: User | None = None, at: dt.datetime | None = None) -> QuerySet[Customer]:
    """The customers of a saved segment, as a queryset (for surveys, campaigns and streaming export).

    Without `user` every live customer matching the rule is returned (system jobs); with it, only those
    the user may see. The rule is evaluated now (or at `at`): "bought in the last 30 days" moves with time.
    """
    return rule_members(segment.rule, user=user, at=at)


def segment_count(segment: Segment, *, user: User | None = None) -> int:
    return rule_count(segment.rule, user=user)


def rule_count(rule: Any, *, user: User | None = None, at: dt.datetime | None = None) -> int:
    """How many customers `rule` selects (within `user`'s scope when given).

    For someone who sees every customer (or a job): a rule only about the value row is counted on the value
    table alone (segments.compile_value_rule); one purchase condition from the recompute's purchase summary
    (value.purchases); one tag from its links (`_tag_count`); a negation of any of these as all live
    customers minus its complement. Anything else joins the customers.
    """
    if user is None or scope_for(user, "customer", "view") == Scope.ALL:
        at = at or timezone.now()
        count = _count_without_customers(rule, at)
        if count is not None:
            return count
        # A negation: every live customer minus those its complement selects, when that is counted fast.
        positive = complement(rule)
        if positive is not None:
            compile_rule(rule, at=at)  # the rule itself must be valid, not only its complement
            count = _count_without_customers(positive, at)
            if count is not None:
                return Customer.objects.filter(merged_into__isnull=True).count() - count
    return rule_members(rule, user=user, at=at).order_by().count()


def _count_without_customers(rule: Any, at: dt.datetime) -> int | None:
    """The count of `rule` over every live customer when it can be read without the customer table, else None."""
    on_values = compile_value_rule(rule, at=at)
    if on_values is not None:
        return CustomerValue.objects.filter(on_values).count()
    count = purchases.purchase_count(rule, at=at)
    return count if count is not None else _tag_count(rule, at)


def _tag_count(rule: Any, at: dt.datetime) -> int | None:
    """Live customers with a tag, when `rule` is that one condition: the customers of its links less the few of
    them merged away (found through the merged-into index), so no live customer's row is read."""
    if not (isinstance(rule, dict) and set(rule) == {"field", "op", "value"} and rule["field"] == "tag"
            and rule["op"] == "has"):
        return None
    compile_rule(rule, at=at)  # RuleViolation for a malformed value, as the plain count would raise
    links = Customer.tags.through.objects.filter(tag_id__in=tag_ids(rule["value"]))
    tagged = links.values("customer_id").distinct().count()
    merged = links.filter(customer__merged_into__isnull=False).values("customer_id").distinct().count()
    return tagged - merged


# --- cross-sell ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recommendation:
    product: Product
    confidence: float | None
    lift: float | None
    because_of: Product | None


def recommendations_for(customer: Customer | int, *, k: int = 5) -> list[Recommendation]:
    """Next-best products for a customer (the caller has checked it may see them): the stored rules from
    what they bought, best confidence first; popular products when the rules run out. Three queries."""
    customer_id = _customer_id(customer)
    owned = set(OrderLine.objects.filter(order__customer_id=customer_id, order__status__in=SPENDING_STATUSES,
                                         product__isnull=False).values_list("product_id", flat=True).distinct())
    best: dict[int, ProductAssociation] = {}
    if owned:
        rules = (ProductAssociation.objects.filter(antecedent_id__in=owned).exclude(consequent_id__in=owned)
                 .select_related("consequent", "antecedent").order_by("-confidence", "-lift", "consequent_id"))
        for rule in rules[: 20 * k]:
            best.setdefault(rule.consequent_id, rule)
            if len(best) >= k:
                break
    out = [Recommendation(product=rule.consequent, confidence=rule.confidence, lift=rule.lift,
                          because_of=rule.antecedent) for rule in best.values()]
    if len(out) < k:
        taken = owned | set(best)
        # Popularity is stored with the rules as product → itself (pair_count = customers who bought it).
        popular = (ProductAssociation.objects.filter(antecedent_id=F("consequent_id"), consequent__is_active=True)
                   .exclude(consequent_id__in=taken).select_related("consequent")
                   .order_by("-pair_count", "consequent_id")[: k - len(out)])
        out += [Recommendation(product=row.consequent, confidence=None, lift=None, because_of=None) for row in popular]
    return out
