"""Routing: ordered rules pick department, queue, priority and SLA policy; queues pick the assignee.

`decide` only reads (a preview changes nothing); `pick_assignee` moves a round-robin queue's pointer, so
the ticket services call it once, when the decision names no dedicated agent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.core import audit
from loopcrm.core.choices import Channel
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.customers.models import Customer
from loopcrm.loyalty.queries import ServiceBenefits, service_benefits
from loopcrm.service.models import Queue, RoutingRule, Ticket
from loopcrm.service.queries import routing as queries
from loopcrm.service.queries.config import DeskConfig, desk_config
from loopcrm.value.queries import tier_of

OPEN_STATUSES = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.ON_HOLD,
                 Ticket.Status.REOPENED)
HIGH_TIER = "high"


@dataclass
class RoutingDecision:
    """What routing chose for a new ticket, and why (the reasons go into the ROUTED event)."""

    department: Department | None = None
    queue: Queue | None = None
    priority: int | None = None
    assignee: User | None = None
    sla_policy_id: int | None = None
    rule_id: int | None = None
    reasons: list[str] = field(default_factory=list)


# --- facts about the ticket and its customer ----------------------------------------------------------

def customer_tier(customer: Customer | None) -> str:
    """The customer's value tier from the value app: "high", "medium", "low", or "" while unknown.

    A `value_tier` attribute on the customer (a queryset annotation) is used as it is, saving the query;
    the answer is kept on the instance, so one routing decision asks once.
    """
    if customer is None or customer.pk is None:
        return ""
    tier = getattr(customer, "value_tier", None)
    if tier is None:
        tier = tier_of(customer) or ""
        customer.value_tier = tier
    return tier if tier in RoutingRule.Tier.values else ""


def customer_tag_ids(customer: Customer) -> set[int]:
    """The ids of the customer's tags; kept on the instance (a batch reads them for all its customers at once)."""
    tag_ids = getattr(customer, "_service_tag_ids", None)
    if tag_ids is None:
        tag_ids = customer._service_tag_ids = set(customer.tags.values_list("pk", flat=True))
    return tag_ids


def customer_benefits(customer: Customer) -> ServiceBenefits:
    """The customer's loyalty benefits in service; kept on the instance like the value tier."""
    benefits = getattr(customer, "_service_benefits", None)
    if benefits is None:
        benefits = customer._service_benefits = service_benefits(customer)
    return benefits


def load_customer_facts(customers: Sequence[Customer], *, config: DeskConfig) -> None:
    """Read what routing and SLA matching ask about these customers in three queries for all of them (value
    tier, loyalty benefits, tags when a rule or policy looks at tags, dedicated agents), kept on the instances."""
    unique = {customer.pk: customer for customer in customers}
    todo = [c for c in unique.values() if getattr(c, "value_tier", None) is None]
    if todo:
        tiers = queries.value_tiers([c.pk for c in todo])
        for customer in todo:
            customer.value_tier = tiers.get(customer.pk) or ""
    todo = [c for c in unique.values() if getattr(c, "_service_benefits", None) is None]
    if todo:
        benefits = queries.service_benefits_of([c.pk for c in todo])
        for customer in todo:
            customer._service_benefits = benefits.get(customer.pk, ServiceBenefits())
    if any(rule.customer_tag_id for rule in config.rules) or any(p.customer_tag_id for p in config.policies):
        todo = [c for c in unique.values() if getattr(c, "_service_tag_ids", None) is None]
        tags = queries.tag_ids_of([c.pk for c in todo]) if todo else {}
        for customer in todo:
            customer._service_tag_ids = tags.get(customer.pk, set())
    owners = [c for c in unique.values() if c.owner_id is not None and not Customer.owner.is_cached(c)
              and (c.is_vip or customer_tier(c) == HIGH_TIER or c._service_benefits.dedicated_agent)]
    if owners:
        people = User.objects.in_bulk({c.owner_id for c in owners})
        for customer in owners:
            customer.owner = people.get(customer.owner_id)


def dedicated_agent(customer: Customer | None, *, loyalty: ServiceBenefits | None = None) -> User | None:
    """The agent a customer is served by: their account owner, when the customer is VIP, high-value, or in a
    loyalty tier that gives a dedicated agent — and has an owner."""
    if customer is None or customer.owner_id is None:
        return None
    entitled = customer.is_vip or customer_tier(customer) == HIGH_TIER or bool(loyalty and loyalty.dedicated_agent)
    return customer.owner if entitled else None


def category_lineage(category_id: int | None, *, config: DeskConfig | None = None) -> list[int]:
    """The category's id, then its parent's, up to the root (from the cached configuration)."""
    if category_id is None:
        return []
    return (config or desk_config()).lineage(category_id)


@dataclass
class TicketFacts:
    """What rules look at, as plain values (so a rule can be tried against facts without a ticket)."""

    kind: str
    channel: str
    priority: int
    subject: str = ""
    category_lineage: list[int] = field(default_factory=list)
    is_vip: bool = False
    tier: str = ""
    tag_ids: set[int] = field(default_factory=set)
    province: str = ""
    city: str = ""


def facts_of(ticket: Ticket, *, config: DeskConfig | None = None, tags: bool = True) -> TicketFacts:
    """The facts of `ticket`; the customer's tags only when `tags` (no rule looks at them otherwise)."""
    customer = ticket.customer if ticket.customer_id else None
    return TicketFacts(
        kind=ticket.kind, channel=ticket.channel, priority=ticket.priority, subject=ticket.subject or "",
        category_lineage=category_lineage(ticket.category_id, config=config),
        is_vip=bool(customer and customer.is_vip), tier=customer_tier(customer),
        tag_ids=customer_tag_ids(customer) if customer and tags else set(),
        province=(customer.province if customer else "") or "", city=(customer.city if customer else "") or "",
    )


def rule_match(rule: RoutingRule, facts: TicketFacts) -> list[str] | None:
    """The conditions of `rule` that `facts` meet, as words for the reasons; None when one is not met."""
    met: list[str] = []
    if rule.kinds:
        if facts.kind not in rule.kinds:
            return None
        met.append(f"kind={facts.kind}")
    if rule.category_id is not None:
        if rule.include_subcategories:
            if rule.category_id not in facts.category_lineage:
                return None
        elif not facts.category_lineage or facts.category_lineage[0] != rule.category_id:
            return None
        met.append(f"category={rule.category_id}")
    if rule.channels:
        if facts.channel not in rule.channels:
            return None
        met.append(f"channel={facts.channel}")
    if rule.priorities:
        if facts.priority not in rule.priorities:
            return None
        met.append(f"priority={facts.priority}")
    if rule.customer_vip is not None:
        if facts.is_vip != rule.customer_vip:
            return None
        met.append(f"vip={'yes' if facts.is_vip else 'no'}")
    if rule.customer_tiers:
        if facts.tier not in rule.customer_tiers:
            return None
        met.append(f"tier={facts.tier}")
    if rule.customer_tag_id is not None:
        if rule.customer_tag_id not in facts.tag_ids:
            return None
        met.append(f"tag={rule.customer_tag_id}")
    if rule.provinces:
        wanted = {place.strip().casefold() for place in rule.provinces}
        found = next((place for place in (facts.province, facts.city) if place and place.casefold() in wanted), None)
        if found is None:
            return None
        met.append(f"region={found}")
    if rule.keywords:
        subject = facts.subject.casefold()
        word = next((word for word in rule.keywords if word and word.casefold() in subject), None)
        if word is None:
            return None
        met.append(f"keyword={word}")
    return met


def raised_priority(priority: int) -> int:
    """One level up, and at least High (never past Urgent)."""
    return max(Ticket.Priority.HIGH, min(Ticket.Priority.URGENT, priority + 1))


def decide(ticket: Ticket, *, config: DeskConfig | None = None) -> RoutingDecision:
    """Apply the routing rules (first match wins) and the VIP / high-value boosts to an unsaved ticket.

    Reads only. `assignee` is set only for a dedicated agent; otherwise the caller asks
    `pick_assignee(decision.queue)`. The rules come from the cached configuration.
    """
    config = config or desk_config()
    decision = RoutingDecision()
    rules = config.rules
    facts = facts_of(ticket, config=config, tags=any(rule.customer_tag_id is not None for rule in rules))
    priority = ticket.priority
    for rule in rules:
        met = rule_match(rule, facts)
        if met is None:
            continue
        decision.rule_id = rule.pk
        decision.queue = rule.queue
        decision.department = rule.department or (rule.queue.department if rule.queue else None)
        decision.sla_policy_id = rule.sla_policy_id
        decision.reasons.append(_("Rule “%(rule)s” matched (%(conditions)s).")
                                % {"rule": rule.name, "conditions": ", ".join(met) or _("any ticket")})
        if rule.set_priority:
            priority = rule.set_priority
            decision.priority = priority
        break
    else:
        decision.reasons.append(_("No routing rule matched."))
    customer = ticket.customer if ticket.customer_id else None
    loyalty = customer_benefits(customer) if customer is not None else ServiceBenefits()
    if facts.is_vip or facts.tier == HIGH_TIER or loyalty.priority_boost or loyalty.dedicated_agent:
        if facts.is_vip or facts.tier == HIGH_TIER:
            who = _("VIP customer") if facts.is_vip else _("High-value customer")
            boosted = raised_priority(priority)
        else:
            who = _("Member (%(tiers)s)") % {"tiers": ", ".join(loyalty.tiers)}
            # A loyalty boost raises one level (the tier's 0-100 boost has no finer meaning on four priorities).
            boosted = min(Ticket.Priority.URGENT, priority + 1) if loyalty.priority_boost else priority
        if boosted != priority:
            decision.priority = boosted
            decision.reasons.append(_("%(who)s: priority raised from %(old)s to %(new)s.")
                                    % {"who": who, "old": Ticket.Priority(priority).label,
                                       "new": Ticket.Priority(boosted).label})
        agent = dedicated_agent(customer, loyalty=loyalty)
        if agent is not None:
            if agent.is_active and agent.is_available:
                decision.assignee = agent
                decision.reasons.append(_("%(who)s: goes to their dedicated agent %(agent)s.")
                                        % {"who": who, "agent": agent})
            else:
                decision.reasons.append(_("Dedicated agent %(agent)s is not available; the queue assigns.")
                                        % {"agent": agent})
    return decision


# --- assignment within a queue ------------------------------------------------------------------------

def _candidates(queue_id: int) -> list[User]:
    return list(User.objects.filter(queues__pk=queue_id, is_active=True, is_available=True).order_by("id"))


def pick_assignee(queue: Queue, *, at: dt.datetime) -> User | None:
    """The next available member of `queue` by its strategy (round robin or least loaded); None if nobody.

    Round robin takes the queue row's lock and moves `last_assigned` (a conditional update backs the
    lock on SQLite, which has none), so two tickets opened at once never go to the same turn.
    Least loaded takes the member with the fewest open tickets (then the lowest id).
    """
    if queue is None or queue.strategy == Queue.Strategy.MANUAL or not queue.is_active:
        return None
    if queue.strategy == Queue.Strategy.LEAST_LOADED:
        candidates = _candidates(queue.pk)
        if not candidates:
            return None
        # Counted from the tickets' side, on the (assignee, status) index: only the members' open tickets.
        loads = dict(Ticket.objects.filter(assignee_id__in=[user.pk for user in candidates],
                                           status__in=OPEN_STATUSES)
                     .values("assignee_id").annotate(n=Count("id")).order_by().values_list("assignee_id", "n"))
        return min(candidates, key=lambda user: (loads.get(user.pk, 0), user.pk))
    for _attempt in range(20):
        with transaction.atomic(savepoint=False):
            locked = list(Queue.objects.select_for_update().filter(pk=queue.pk)
                          .values_list("last_assigned_id", flat=True))
            if not locked:
                return None
            last_id = locked[0]
            candidates = _candidates(queue.pk)
            if not candidates:
                return None
            chosen = next((user for user in candidates if user.pk > (last_id or 0)), candidates[0])
            moved = Queue.objects.filter(pk=queue.pk, last_assigned_id=last_id).update(last_assigned_id=chosen.pk)
            if moved:
                queue.last_assigned_id = chosen.pk
                return chosen
    return None


class QueueTurns:
    """Assignment for a batch of new tickets, turn by turn as `pick_assignee` would give them one by one.

    Round-robin queues are locked once (in id order, so two batches cannot deadlock), their members read
    once and their pointers written once (`save`); least-loaded queues count their members' open tickets
    once and add the batch's own assignments (`took`) as they are made.
    """

    def __init__(self, queues: Sequence[Queue | None]) -> None:
        self.members: dict[int, list[User]] = {}
        self.pointer: dict[int, int | None] = {}
        self.moved: dict[int, Queue] = {}
        self.read_pointer: dict[int, int | None] = {}
        self.loads: dict[int, int] = {}
        self.taken: Counter = Counter()
        active = {queue.pk: queue for queue in queues if queue is not None and queue.is_active
                  and queue.strategy != Queue.Strategy.MANUAL}
        round_robin = sorted(pk for pk, queue in active.items() if queue.strategy != Queue.Strategy.LEAST_LOADED)
        if round_robin:
            self.pointer = dict(Queue.objects.select_for_update().filter(pk__in=round_robin).order_by("pk")
                                .values_list("pk", "last_assigned_id"))
            self.read_pointer = dict(self.pointer)
        if active:
            rows = (User.objects.filter(queues__pk__in=list(active), is_active=True, is_available=True)
                    .annotate(queue_pk=F("queues__pk")).order_by("id"))
            for user in rows:
                self.members.setdefault(user.queue_pk, []).append(user)
        loaded = {user.pk for pk, queue in active.items() if queue.strategy == Queue.Strategy.LEAST_LOADED
                  for user in self.members.get(pk, ())}
        if loaded:
            self.loads = dict(Ticket.objects.filter(assignee_id__in=loaded, status__in=OPEN_STATUSES)
                              .values("assignee_id").annotate(n=Count("id")).order_by()
                              .values_list("assignee_id", "n"))
            self.loads.update({pk: self.loads.get(pk, 0) for pk in loaded})

    def pick(self, queue: Queue) -> User | None:
        if queue.strategy == Queue.Strategy.MANUAL or not queue.is_active:
            return None
        candidates = self.members.get(queue.pk, [])
        if not candidates:
            return None
        if queue.strategy == Queue.Strategy.LEAST_LOADED:
            return min(candidates, key=lambda user: (self.loads[user.pk] + self.taken[user.pk], user.pk))
        if queue.pk not in self.pointer:
            return None
        last_id = self.pointer[queue.pk]
        chosen = next((user for user in candidates if user.pk > (last_id or 0)), candidates[0])
        self.pointer[queue.pk] = chosen.pk
        self.moved[queue.pk] = queue
        return chosen

    def took(self, user: User | None) -> None:
        """A ticket of the batch went to `user` (by routing, by name or by turn): one more open ticket."""
        if user is not None:
            self.taken[user.pk] += 1

    def save(self) -> None:
        """Move the round-robin pointers (conditionally: SQLite has no row lock; its IMMEDIATE transaction
        serialises writers, so the condition only ever fails on a bug)."""
        for pk, queue in self.moved.items():
            moved = Queue.objects.filter(pk=pk, last_assigned_id=self.read_pointer[pk]) \
                .update(last_assigned_id=self.pointer[pk])
            if not moved:
                raise Conflict(_("Another opening moved the turn of queue %(queue)s; try again.") % {"queue": queue},
                               field="queue_id")
            queue.last_assigned_id = self.pointer[pk]


# --- the rule table ---------------------------------------------------------------------------------

RULE_FIELDS = (
    "name", "is_active", "kinds", "category", "include_subcategories", "channels", "priorities", "customer_vip",
    "customer_tiers", "customer_tag", "provinces", "keywords", "department", "queue", "set_priority",
    "sla_policy_id",
)


def _clean_list(values: Any, allowed: Sequence[Any] | None, *, field_name: str, label: str) -> list:
    values = list(values or [])
    if allowed is not None:
        bad = [value for value in values if value not in allowed]
        if bad:
            names = ", ".join(map(str, bad))
            raise RuleViolation(_("Unknown %(what)s: %(values)s.") % {"what": label, "values": names}, field=field_name)
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _clean_rule(data: dict[str, Any]) -> dict[str, Any]:
    if "name" in data:
        data["name"] = (data["name"] or "").strip()
        if not data["name"] or len(data["name"]) > 100:
            raise RuleViolation(_("Give the rule a name of at most 100 characters."), field="name")
    if "kinds" in data:
        data["kinds"] = _clean_list(data["kinds"], Ticket.Kind.values, field_name="kinds", label=_("ticket kind"))
    if "channels" in data:
        data["channels"] = _clean_list(data["channels"], Channel.values, field_name="channels", label=_("channel"))
    if "priorities" in data:
        data["priorities"] = _clean_list(data["priorities"], Ticket.Priority.values, field_name="priorities",
                                         label=_("priority"))
    if "customer_tiers" in data:
        data["customer_tiers"] = _clean_list(data["customer_tiers"], RoutingRule.Tier.values,
                                             field_name="customer_tiers", label=_("value tier"))
    for name in ("provinces", "keywords"):
        if name in data:
            values = [str(value).strip() for value in data[name] or [] if str(value).strip()]
            if len(values) > 50 or any(len(value) > 100 for value in values):
                raise RuleViolation(_("At most 50 entries of up to 100 characters each."), field=name)
            data[name] = _clean_list(values, None, field_name=name, label=name)
    if data.get("set_priority") is not None and data["set_priority"] not in Ticket.Priority.values:
        raise RuleViolation(_("Unknown priority."), field="set_priority")
    if data.get("sla_policy_id") is not None:
        try:
            policy_model = apps.get_model("service", "SlaPolicy")
        except LookupError:
            policy_model = None
        if policy_model is not None and not policy_model.objects.filter(pk=data["sla_policy_id"]).exists():
            raise RuleViolation(_("No SLA policy #%(id)s.") % {"id": data["sla_policy_id"]}, field="sla_policy_id")
    return data


def _check_actions(rule: RoutingRule) -> None:
    if not (rule.department_id or rule.queue_id or rule.set_priority or rule.sla_policy_id):
        raise RuleViolation(_("A rule must do something: set a department, a queue, a priority or an SLA policy."),
                            field="queue")
    if rule.queue_id and rule.department_id and rule.queue.department_id != rule.department_id:
        raise RuleViolation(_("The queue %(queue)s belongs to another department.") % {"queue": rule.queue},
                            field="queue")


@transaction.atomic
def create_rule(*, by: User, at: dt.datetime | None = None, position: int | None = None, **fields) -> RoutingRule:
    """A new routing rule, last in the table unless a position is given (the others move down)."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise RuleViolation(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    if "name" not in fields:
        raise RuleViolation(_("Give the rule a name of at most 100 characters."), field="name")
    data = _clean_rule(dict(fields))
    rules = RoutingRule.objects.select_for_update()
    last = rules.aggregate(last=Max("position"))["last"] or 0
    if position is None or position > last:
        position = last + 1
    else:
        position = max(1, position)
        RoutingRule.objects.filter(position__gte=position).update(position=F("position") + 1)
    rule = RoutingRule(position=position, created_by=by, **data)
    _check_actions(rule)
    rule.save()
    audit.record(action="create", obj=rule, by=by, at=at or timezone.now(),
                 changes=audit.snapshot(rule, ["position", *data]))
    return rule


@transaction.atomic
def update_rule(rule: RoutingRule, *, by: User, at: dt.datetime | None = None, **changes) -> RoutingRule:
    """Change a rule's conditions or actions (its place in the table changes through `reorder_rules`)."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise RuleViolation(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    data = _clean_rule(dict(changes))
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    before = audit.snapshot(rule, data)
    for name, value in data.items():
        setattr(rule, name, value)
    _check_actions(rule)
    rule.save()
    audit.record(action="update", obj=rule, by=by, at=at or timezone.now(),
                 changes=audit.diff(before, audit.snapshot(rule, data)))
    return rule


@transaction.atomic
def delete_rule(rule: RoutingRule, *, by: User, at: dt.datetime | None = None) -> None:
    audit.record(action="delete", obj=rule, by=by, at=at or timezone.now(), changes={"name": rule.name})
    RoutingRule.objects.filter(pk=rule.pk).delete()


@transaction.atomic
def reorder_rules(order: Sequence[int], *, by: User, at: dt.datetime | None = None) -> list[RoutingRule]:
    """Put the rules in the order of `order`, which must name every rule exactly once."""
    rules = {rule.pk: rule for rule in RoutingRule.objects.select_for_update()}
    if len(order) != len(set(order)) or set(order) != set(rules):
        raise RuleViolation(_("Send every rule's id exactly once, in the new order."), field="order")
    changed = []
    for position, pk in enumerate(order, start=1):
        rule = rules[pk]
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    RoutingRule.objects.bulk_update(changed, ["position"])
    if changed:
        audit.record(action="update", object_type="service.routingrule", object_id="*", by=by,
                     at=at or timezone.now(), changes={"order": list(order)}, note="reorder")
    return sorted(rules.values(), key=lambda rule: rule.position)
