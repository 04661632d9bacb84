"""Routing decisions: the ordered rule table (first match wins) and the VIP / high-value boosts."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import timezone

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Tag
from loopcrm.service.models import RoutingRule, Ticket
from loopcrm.service.services import routing
from loopcrm.service.services.routing import TicketFacts, customer_tier, decide, rule_match
from loopcrm.value.models import CustomerValue
from tests import factories
from tests.service.test_processes_helpers import away, category, queue

pytestmark = pytest.mark.django_db

URGENT, HIGH, NORMAL, LOW = (Ticket.Priority.URGENT, Ticket.Priority.HIGH, Ticket.Priority.NORMAL,
                             Ticket.Priority.LOW)


# --- one rule against facts (no database needed for the matching itself) -----------------------------

def facts(**overrides) -> TicketFacts:
    values = {"kind": "inquiry", "channel": "phone", "priority": NORMAL, "subject": "Where is my parcel",
              "category_lineage": [], "is_vip": False, "tier": "", "tag_ids": set(), "province": "上海市",
              "city": "上海市"}
    values.update(overrides)
    return TicketFacts(**values)


@pytest.mark.parametrize(("conditions", "ticket_facts", "matches"), [
    ({}, {}, True),
    ({"kinds": ["complaint", "return"]}, {"kind": "return"}, True),
    ({"kinds": ["complaint"]}, {"kind": "inquiry"}, False),
    ({"category_id": 7}, {"category_lineage": [9, 7, 1]}, True),  # a sub-category of 7
    ({"category_id": 7, "include_subcategories": False}, {"category_lineage": [9, 7, 1]}, False),
    ({"category_id": 7, "include_subcategories": False}, {"category_lineage": [7, 1]}, True),
    ({"category_id": 7}, {"category_lineage": []}, False),
    ({"channels": ["email", "web_form"]}, {"channel": "email"}, True),
    ({"channels": ["email"]}, {"channel": "phone"}, False),
    ({"priorities": [3, 4]}, {"priority": 4}, True),
    ({"priorities": [3, 4]}, {"priority": 2}, False),
    ({"customer_vip": True}, {"is_vip": True}, True),
    ({"customer_vip": True}, {"is_vip": False}, False),
    ({"customer_vip": False}, {"is_vip": False}, True),
    ({"customer_tiers": ["high"]}, {"tier": "high"}, True),
    ({"customer_tiers": ["high", "medium"]}, {"tier": ""}, False),
    ({"customer_tag_id": 5}, {"tag_ids": {4, 5}}, True),
    ({"customer_tag_id": 5}, {"tag_ids": {4}}, False),
    ({"provinces": ["江苏省", "上海市"]}, {"province": "上海市"}, True),
    ({"provinces": ["南京市"]}, {"province": "江苏省", "city": "南京市"}, True),  # a city counts as a region
    ({"provinces": ["guangdong"]}, {"province": "Guangdong"}, True),
    ({"provinces": ["江苏省"]}, {"province": "浙江省", "city": "杭州市"}, False),
    ({"keywords": ["REFUND", "退款"]}, {"subject": "Please refund my order"}, True),
    ({"keywords": ["退款"]}, {"subject": "申请退款"}, True),
    ({"keywords": ["refund"]}, {"subject": "Where is my parcel"}, False),
    ({"kinds": ["complaint"], "channels": ["email"]}, {"kind": "complaint", "channel": "phone"}, False),
    ({"kinds": ["complaint"], "channels": ["email"]}, {"kind": "complaint", "channel": "email"}, True),
])
def test_a_rule_matches_when_every_condition_it_sets_is_met(conditions, ticket_facts, matches):
    rule = RoutingRule(name="r", **conditions)
    assert (rule_match(rule, facts(**ticket_facts)) is not None) is matches


# --- the whole table ------------------------------------------------------------------------------------

@pytest.fixture
def table(org):
    delivery = category("Delivery 配送")
    late = category("Late delivery 延迟", parent=delivery)
    east = queue("East complaints", department=org.sales_east, members=[org.other_agent])
    billing = queue("Billing", department=org.service, members=[org.agent])
    key_accounts = queue("Key accounts", department=org.service, members=[org.lead])
    general = queue("General", department=org.service, members=[org.agent, org.lead])
    key_tag = Tag.objects.create(name="key account 大客户")
    gold = apps.get_model("service", "SlaPolicy").objects.create(name="Gold")
    rules = [
        dict(name="Delivery complaints in Jiangsu", kinds=["complaint"], category=delivery, provinces=["江苏省"],
             queue=east),
        dict(name="Refunds", keywords=["refund", "退款"], queue=billing, set_priority=HIGH),
        dict(name="Quiet inquiries", kinds=["inquiry"], queue=billing, is_active=False),
        dict(name="By email to sales", channels=["email"], department=org.sales_east),
        dict(name="Key accounts", customer_tag=key_tag, queue=key_accounts, sla_policy_id=gold.pk),
        dict(name="High value", customer_tiers=["high"], queue=key_accounts),
        dict(name="Everything else", queue=general),
    ]
    for rule in rules:
        routing.create_rule(by=org.admin, **rule)
    return {"late": late, "east": east, "billing": billing, "key": key_accounts, "general": general,
            "key_tag": key_tag, "gold": gold, "org": org}


CASES = [
    # (story, ticket fields, customer fields, rule, queue, priority, dedicated agent)
    ("late delivery complaint from Jiangsu", {"kind": "complaint", "category": "late"}, {"province": "江苏省"},
     "Delivery complaints in Jiangsu", "east", None, None),
    ("the same complaint from Shanghai falls through", {"kind": "complaint", "category": "late"}, {},
     "Everything else", "general", None, None),
    ("a refund in Chinese", {"subject": "订单申请退款"}, {}, "Refunds", "billing", HIGH, None),
    ("an inactive rule is passed over", {"kind": "inquiry"}, {}, "Everything else", "general", None, None),
    ("email goes to sales, no queue", {"channel": "email"}, {}, "By email to sales", None, None, None),
    ("a tagged key account", {}, {"tag": True}, "Key accounts", "key", None, None),
    ("a high-value customer: queue and one level up", {}, {"tier": "high"}, "High value", "key", HIGH, None),
    ("VIP: one level up to at least High, to the owner", {"priority": LOW}, {"is_vip": True, "owner": "lead"},
     "Everything else", "general", HIGH, "lead"),
    ("VIP at High goes to Urgent", {"priority": HIGH}, {"is_vip": True}, "Everything else", "general", URGENT,
     None),
    ("VIP refund: rule sets High, VIP raises to Urgent", {"subject": "refund please"}, {"is_vip": True},
     "Refunds", "billing", URGENT, None),
    ("VIP whose owner is away: the queue assigns", {}, {"is_vip": True, "owner": "away"}, "Everything else",
     "general", HIGH, None),
    ("non-VIP with an owner keeps the queue", {}, {"owner": "lead"}, "Everything else", "general", None, None),
]


@pytest.mark.parametrize(("story", "ticket_fields", "customer_fields", "rule", "queue_name", "priority", "agent"),
                         CASES, ids=[case[0] for case in CASES])
def test_routing_decisions(table, story, ticket_fields, customer_fields, rule, queue_name, priority, agent):
    org = table["org"]
    absent = away(factories.user("away", department=org.service))
    owner = {"lead": org.lead, "away": absent}.get(customer_fields.get("owner"))
    customer = factories.customer(owner=owner, is_vip=customer_fields.get("is_vip", False),
                                  province=customer_fields.get("province", "上海市"))
    if customer_fields.get("tag"):
        customer.tags.add(table["key_tag"])
    if customer_fields.get("tier"):
        CustomerValue.objects.create(customer=customer, tier=customer_fields["tier"], computed_at=timezone.now())
    fields = {"subject": "Printer does not start", "kind": "inquiry", "channel": "phone", "priority": NORMAL,
              **ticket_fields}
    if "category" in fields:
        fields["category"] = table[fields["category"]]
    ticket = Ticket(customer=customer, **fields)

    decision = decide(ticket)

    assert RoutingRule.objects.get(pk=decision.rule_id).name == rule
    assert decision.queue == (table[queue_name] if queue_name else None)
    assert decision.priority == priority
    assert decision.assignee == ({"lead": org.lead}.get(agent))
    assert decision.reasons[0].startswith(f"Rule “{rule}” matched")
    if decision.queue and rule != "By email to sales":
        assert decision.department == decision.queue.department
    if priority is not None and customer.is_vip:
        assert any("priority raised" in reason for reason in decision.reasons)
    if owner == absent:
        assert any("not available" in reason for reason in decision.reasons)


def test_the_rule_gives_its_sla_policy_and_department(table):
    customer = factories.customer()
    customer.tags.add(table["key_tag"])
    decision = decide(Ticket(customer=customer, subject="Hello", kind="inquiry", channel="phone", priority=NORMAL))
    assert (decision.sla_policy_id, decision.department) == (table["gold"].pk, table["org"].service)
    by_email = decide(Ticket(customer=factories.customer(), subject="Hello", kind="inquiry", channel="email",
                             priority=NORMAL))
    assert (by_email.department, by_email.queue) == (table["org"].sales_east, None)


def test_no_rules_no_route(org):
    decision = decide(Ticket(customer=factories.customer(), subject="x", kind="inquiry", channel="phone",
                             priority=NORMAL))
    assert (decision.rule_id, decision.queue, decision.priority, decision.reasons) == \
        (None, None, None, ["No routing rule matched."])


def test_deciding_moves_no_queue_pointer(table):
    before = list(RoutingRule.objects.values_list("id", "position"))
    decide(Ticket(customer=factories.customer(), subject="x", kind="inquiry", channel="phone", priority=NORMAL))
    table["general"].refresh_from_db()
    assert table["general"].last_assigned_id is None
    assert list(RoutingRule.objects.values_list("id", "position")) == before


# --- the rule table itself ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"kinds": ["gossip"]}, "kinds"),
    ({"channels": ["pigeon"]}, "channels"),
    ({"priorities": [9]}, "priorities"),
    ({"customer_tiers": ["platinum"]}, "customer_tiers"),
    ({"keywords": ["x" * 101]}, "keywords"),
    ({"set_priority": 0}, "set_priority"),
    ({"sla_policy_id": 99999}, "sla_policy_id"),
    ({"queue": None}, "queue"),  # a rule that does nothing
    ({"colour": "red"}, "colour"),
])
def test_a_bad_rule_is_refused_and_nothing_is_written(org, fields, field):
    general = queue("General", department=org.service)
    data = {"name": "A rule", "queue": general, **fields}
    with pytest.raises(RuleViolation) as refused:
        routing.create_rule(by=org.admin, **data)
    assert refused.value.field == field
    assert not RoutingRule.objects.exists()


def test_a_queue_of_another_department_is_refused(org):
    east = queue("East", department=org.sales_east)
    with pytest.raises(RuleViolation) as refused:
        routing.create_rule(by=org.admin, name="Mixed", queue=east, department=org.service)
    assert refused.value.field == "queue"


def test_rules_keep_their_order_and_can_be_reordered(org):
    general = queue("General", department=org.service)
    a, b, c = (routing.create_rule(by=org.admin, name=name, queue=general) for name in "abc")
    first = routing.create_rule(by=org.admin, name="first", queue=general, position=1)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["first", "a", "b", "c"]
    routing.reorder_rules([c.pk, a.pk, first.pk, b.pk], by=org.admin)
    assert list(RoutingRule.objects.values_list("name", "position")) == [("c", 1), ("a", 2), ("first", 3), ("b", 4)]
    for bad in ([c.pk, a.pk, b.pk], [c.pk, a.pk, b.pk, b.pk], [c.pk, a.pk, b.pk, first.pk, 99999]):
        with pytest.raises(RuleViolation):
            routing.reorder_rules(bad, by=org.admin)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["c", "a", "first", "b"]


def test_a_rule_changes_and_is_deleted_on_the_record(org):
    from loopcrm.core.models import AuditEntry

    general = queue("General", department=org.service)
    rule = routing.create_rule(by=org.admin, name="Refunds", keywords=["refund", "refund", " "], queue=general)
    assert rule.keywords == ["refund"]
    routing.update_rule(rule, by=org.admin, set_priority=HIGH, kinds=["complaint"])
    rule.refresh_from_db()
    assert (rule.set_priority, rule.kinds) == (HIGH, ["complaint"])
    routing.delete_rule(rule, by=org.admin)
    assert list(AuditEntry.objects.filter(object_type="service.routingrule").order_by("id")
                .values_list("action", flat=True)) == ["create", "update", "delete"]


def test_the_tier_comes_from_the_value_app(org):
    unknown, valued, annotated = factories.customer(), factories.customer(), factories.customer()
    CustomerValue.objects.create(customer=valued, tier="medium", computed_at=timezone.now())
    annotated.value_tier = "high"  # as a queryset annotation gives it: no query
    assert (customer_tier(unknown), customer_tier(valued), customer_tier(annotated), customer_tier(None)) == \
        ("", "medium", "high", "")


def test_a_loyalty_tier_raises_priority_and_brings_the_dedicated_agent(org):
    from loopcrm.loyalty.services import ledger, programmes

    club = programmes.create_programme(
        by=None, name="会员计划 Members", currency="CNY", points_per_unit="1", survey_points=20, expiry_months=12,
        tiers=[{"name": "钻石 Diamond", "rank": 0, "qualify_by": "spend", "threshold": 0, "priority_boost": 30,
                "dedicated_agent": True}])
    member = factories.customer("钱女士", owner=org.lead)
    ledger.enrol(member, club, by=org.admin)
    decision = decide(Ticket(customer=member, subject="x", kind="inquiry", channel="phone", priority=NORMAL))
    assert (decision.priority, decision.assignee) == (HIGH, org.lead)
    assert any("钻石 Diamond" in reason for reason in decision.reasons)
    stranger = factories.customer("路人", owner=org.lead)
    plain = decide(Ticket(customer=stranger, subject="x", kind="inquiry", channel="phone", priority=NORMAL))
    assert (plain.priority, plain.assignee) == (None, None)
