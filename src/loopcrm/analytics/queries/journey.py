"""The journey map's facts, aggregated in SQL per customer, stage and touchpoint from four sources.

- interactions: their own journey stage and touchpoint (a blank touchpoint counts as "other"; rows
  without a stage are not on the journey) — these are the volume;
- orders: placing one is the purchase stage at the touchpoint of its sales channel; delivering one
  is the delivery stage at the delivery touchpoint, timed from placed to delivered;
- tickets: the service stage at the touchpoint of their channel — or the delivery stage (delivery
  touchpoint) when opened about an order not yet delivered; timed from opened to resolved, and
  counted as complaints when of the complaint kind;
- survey answers (complete responses): CSAT, NPS and CES at the response's touchpoint, in the
  stage of what was surveyed (a ticket: service; an order: delivery; otherwise: loyalty).

The pure `analytics.journey.build` turns the facts into the map. Every source is cut by the same
filters: the period, the customer's value tier and RFM segment, region (province) and channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass

from django.db.models import Case, CharField, Count, DurationField, ExpressionWrapper, F, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.permissions import can
from loopcrm.analytics import journey
from loopcrm.commerce.models import Order, OrderChannel
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.feedback.models import Response
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Ticket
from loopcrm.value.models import RfmSegment, Tier

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366

# Where a ticket or survey on a channel touches the customer (as the service desk's own timeline does).
CHANNEL_TOUCHPOINT = {
    Channel.PHONE: Touchpoint.HOTLINE, Channel.EMAIL: Touchpoint.EMAIL, Channel.WECHAT: Touchpoint.WECHAT,
    Channel.WEB_FORM: Touchpoint.WEBSITE, Channel.WEB_CHAT: Touchpoint.WEBSITE, Channel.SOCIAL: Touchpoint.SOCIAL,
    Channel.VISIT: Touchpoint.STORE,
}
# Where an order is placed, by its sales channel.
ORDER_TOUCHPOINT = {
    OrderChannel.ONLINE_STORE: Touchpoint.WEBSITE, OrderChannel.MARKETPLACE: Touchpoint.WEBSITE,
    OrderChannel.RETAIL_STORE: Touchpoint.STORE, OrderChannel.PHONE: Touchpoint.HOTLINE,
    OrderChannel.SALES_REP: Touchpoint.SALES_VISIT, OrderChannel.WECHAT: Touchpoint.WECHAT,
}
# The contact channel an order's sales channel counts as, for the channel filter.
ORDER_CHANNEL = {
    OrderChannel.ONLINE_STORE: Channel.WEB_FORM, OrderChannel.MARKETPLACE: Channel.WEB_FORM,
    OrderChannel.RETAIL_STORE: Channel.VISIT, OrderChannel.SALES_REP: Channel.VISIT,
    OrderChannel.PHONE: Channel.PHONE, OrderChannel.WECHAT: Channel.WECHAT,
}


@dataclass(frozen=True)
class JourneyFilter:
    """What the journey map can be narrowed by; dates are whole days in the configured time zone."""

    start: dt.date
    end: dt.date
    tier: str | None = None  # value tier (high / medium / low)
    segment: str | None = None  # RFM segment
    region: str | None = None  # province
    channel: str | None = None

    def as_params(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items() if value is not None}


FILTER_FIELDS = ("start", "end", "tier", "segment", "region", "channel")


def parse_filters(params: Mapping[str, str | None], *, today: dt.date | None = None) -> JourneyFilter:
    """The filters from query parameters (API and page alike); RuleViolation names the field at fault."""
    today = today or timezone.localdate()

    def date(name: str, default: dt.date) -> dt.date:
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise RuleViolation(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": raw}, field=name) from None

    def code(name: str, allowed: Iterable[str], what: str) -> str | None:
        raw = (params.get(name) or "").strip()
        if raw and raw not in allowed:
            raise RuleViolation(_("Unknown %(what)s: %(value)s.") % {"what": what, "value": raw}, field=name)
        return raw or None

    end = date("end", today)
    start = date("start", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise RuleViolation(_("The start must not be after the end."), field="start")
    if (end - start).days >= MAX_DAYS:
        raise RuleViolation(_("The period may be at most three years long."), field="start")
    region = (params.get("region") or "").strip()[:50] or None
    return JourneyFilter(
        start=start, end=end, region=region,
        tier=code("tier", Tier.values, _("value tier")),
        segment=code("segment", RfmSegment.values, _("RFM segment")),
        channel=code("channel", Channel.values, _("channel")),
    )


def _bounds(filters: JourneyFilter) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_default_timezone()
    since = dt.datetime.combine(filters.start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return since, until


def _customer_q(filters: JourneyFilter, prefix: str = "customer__") -> Q:
    q = Q()
    if filters.tier:
        q &= Q(**{f"{prefix}value__tier": filters.tier})
    if filters.segment:
        q &= Q(**{f"{prefix}value__segment": filters.segment})
    if filters.region:
        q &= Q(**{f"{prefix}province": filters.region})
    return q


def _map(field: str, mapping: Mapping[str, str], default: str = Touchpoint.OTHER) -> Case:
    return Case(*(When(**{field: key}, then=Value(str(value))) for key, value in mapping.items()),
                default=Value(str(default)), output_field=CharField())


def _hours(value: dt.timedelta | float | int | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    return float(value) / 3_600_000_000  # microseconds, as some backends sum durations


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def interaction_facts(filters: JourneyFilter) -> Iterator[journey.Fact]:
    since, until = _bounds(filters)
    rows = Interaction.objects.filter(_customer_q(filters), occurred_at__gte=since, occurred_at__lt=until) \
        .exclude(journey_stage="")
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    rows = (rows.annotate(tp=Coalesce(NullIf("touchpoint", Value("")), Value(str(Touchpoint.OTHER))))
            .values("customer_id", "journey_stage", "tp")
            .annotate(touches=Count("id"), first=Min("occurred_at")).order_by())
    for row in rows:
        yield journey.Fact(row["customer_id"], row["journey_stage"], row["tp"], row["first"], touches=row["touches"])


def order_facts(filters: JourneyFilter) -> Iterator[journey.Fact]:
    since, until = _bounds(filters)
    orders = Order.objects.filter(_customer_q(filters))
    if filters.channel:
        orders = orders.filter(channel__in=[k for k, v in ORDER_CHANNEL.items() if v == filters.channel])
    placed = (orders.filter(placed_at__gte=since, placed_at__lt=until)
              .annotate(tp=_map("channel", ORDER_TOUCHPOINT))
              .values("customer_id", "tp").annotate(orders=Count("id"), first=Min("placed_at")).order_by())
    for row in placed:
        yield journey.Fact(row["customer_id"], "purchase", row["tp"], row["first"], orders=row["orders"])
    delivered = (orders.filter(delivered_at__gte=since, delivered_at__lt=until)
                 .values("customer_id")
                 .annotate(episodes=Count("id"), total=Sum(_duration("delivered_at", "placed_at")),
                           first=Min("delivered_at")).order_by())
    for row in delivered:
        yield journey.Fact(row["customer_id"], "delivery", str(Touchpoint.DELIVERY), row["first"],
                           episodes=row["episodes"], episode_hours=_hours(row["total"]))


def ticket_facts(filters: JourneyFilter) -> Iterator[journey.Fact]:
    since, until = _bounds(filters)
    rows = Ticket.objects.filter(_customer_q(filters), opened_at__gte=since, opened_at__lt=until)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    before_delivery = (Q(order__isnull=False) & ~Q(order__status=Order.Status.CANCELLED)
                       & (Q(order__delivered_at__isnull=True) | Q(order__delivered_at__gt=F("opened_at"))))
    rows = (rows.annotate(
        stage=Case(When(before_delivery, then=Value("delivery")), default=Value("service"), output_field=CharField()),
        tp=Case(When(before_delivery, then=Value(str(Touchpoint.DELIVERY))),
                *(When(channel=key, then=Value(str(value))) for key, value in CHANNEL_TOUCHPOINT.items()),
                default=Value(str(Touchpoint.OTHER)), output_field=CharField()))
            .values("customer_id", "stage", "tp")
            .annotate(tickets=Count("id"), complaints=Count("id", filter=Q(kind=Ticket.Kind.COMPLAINT)),
                      episodes=Count("id", filter=Q(resolved_at__isnull=False)),
                      total=Sum(_duration("resolved_at", "opened_at"), filter=Q(resolved_at__isnull=False)),
                      first=Min("opened_at")).order_by())
    for row in rows:
        yield journey.Fact(row["customer_id"], row["stage"], row["tp"], row["first"], tickets=row["tickets"],
                           complaints=row["complaints"], episodes=row["episodes"], episode_hours=_hours(row["total"]))


def survey_facts(filters: JourneyFilter) -> Iterator[journey.Fact]:
    since, until = _bounds(filters)
    rows = Response.objects.filter(_customer_q(filters), is_complete=True, answered_at__gte=since,
                                   answered_at__lt=until)
    if filters.channel:
        rows = rows.filter(Q(invitation__ticket__channel=filters.channel)
                           | Q(invitation__ticket__isnull=True, channel=filters.channel))
    about_ticket, about_order = Q(invitation__ticket__isnull=False), Q(invitation__order__isnull=False)
    rows = (rows.annotate(
        stage=Case(When(about_ticket, then=Value("service")), When(about_order, then=Value("delivery")),
                   default=Value("loyalty"), output_field=CharField()),
        tp=Case(When(~Q(touchpoint=""), then=F("touchpoint")),
                *(When(about_ticket & Q(invitation__ticket__channel=key), then=Value(str(value)))
                  for key, value in CHANNEL_TOUCHPOINT.items()),
                When(about_order & ~about_ticket, then=Value(str(Touchpoint.DELIVERY))),
                default=Value(str(Touchpoint.OTHER)), output_field=CharField()))
            .values("customer_id", "stage", "tp")
            .annotate(csat_n=Count("csat"),
                      csat_satisfied=Count("csat", filter=Q(csat__gte=journey.CSAT_SATISFIED_MIN)),
                      nps_n=Count("nps"), promoters=Count("nps", filter=Q(nps__gte=journey.NPS_PROMOTER_MIN)),
                      detractors=Count("nps", filter=Q(nps__lte=journey.NPS_DETRACTOR_MAX)),
                      ces_n=Count("ces"), ces_sum=Sum("ces"), first=Min("answered_at")).order_by())
    for row in rows:
        yield journey.Fact(row["customer_id"], row["stage"], row["tp"], row["first"], csat_n=row["csat_n"],
                           csat_satisfied=row["csat_satisfied"], nps_n=row["nps_n"], nps_promoters=row["promoters"],
                           nps_detractors=row["detractors"], ces_n=row["ces_n"], ces_sum=float(row["ces_sum"] or 0))


def facts(filters: JourneyFilter) -> Iterator[journey.Fact]:
    """Every fact of the window (four grouped queries; `journey.build` sums facts that share a cell)."""
    yield from interaction_facts(filters)
    yield from order_facts(filters)
    yield from ticket_facts(filters)
    yield from survey_facts(filters)


def check_access(user) -> None:
    """The journey map is for roles that may see improvement analysis (it aggregates over all customers)."""
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see the journey map."))


def journey_map_for(user, filters: JourneyFilter) -> journey.JourneyMap:
    check_access(user)
    return journey.build(facts(filters))
