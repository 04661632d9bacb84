"""The timeline: agents log calls, mails and visits; everyone in scope reads them, newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopcrm.accounts import services as account_services
from loopcrm.commerce import services as commerce
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.interactions import services
from loopcrm.interactions.models import Interaction
from loopcrm.interactions.queries import interactions_for, timeline
from tests import factories
from tests.commerce.util import count_queries, ok, problem
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    """张伟 (the agent's own customer), Acme 华东贸易 (an organisation in Sales East) with a contact."""
    zhang = factories.customer("张伟", owner=org.agent)
    li = factories.customer("李雷", department=org.service)
    acme = factories.customer("Acme 华东贸易", owner=org.other_agent, kind="organisation")
    contact = ContactPerson.objects.create(organisation=acme, name="陈静", title="采购经理")
    mug = factories.product("马克杯", price="19.99")
    order = commerce.create_order(by=org.admin, customer=zhang, lines=[{"product_id": mug.pk}])
    return {"zhang": zhang, "li": li, "acme": acme, "contact": contact, "order": order}


def state() -> tuple:
    return Interaction.objects.count(), AuditEntry.objects.count()


# --- the service ----------------------------------------------------------------------------

def test_an_agent_logs_a_call_and_the_audit_trail_says_so(org, people):
    touch = services.log_interaction(
        by=org.agent, customer=people["zhang"], channel="phone", direction="outbound", touchpoint="hotline",
        journey_stage="service", subject="  回访  满意度 ", body="客户表示满意。\u200b\n下次送货前联系。",
        order=people["order"],
    )
    assert touch.user == org.agent and touch.order == people["order"]
    assert touch.subject == "回访 满意度" and touch.body == "客户表示满意。\n下次送货前联系。"
    assert abs(touch.occurred_at - timezone.now()) < dt.timedelta(seconds=5)
    entry = AuditEntry.objects.get(object_type="interactions.interaction", object_id=str(touch.pk))
    assert entry.action == "create" and entry.actor == org.agent and entry.changes["channel"] == "phone"


def test_an_agent_may_log_a_touch_with_a_colleagues_customer(org, people):
    # Logging needs only to see the customer: the hotline takes calls for the whole department.
    touch = services.log_interaction(by=org.agent, customer=people["li"], channel="phone")
    assert touch.customer == people["li"]


def test_a_contact_person_must_work_at_the_customer(org, people):
    touch = services.log_interaction(by=org.other_agent, customer=people["acme"], channel="visit",
                                     contact=people["contact"])
    assert touch.contact == people["contact"]
    other = factories.customer("别的公司", owner=org.other_agent, kind="organisation")
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.log_interaction(by=org.other_agent, customer=other, channel="visit", contact=people["contact"])
    assert caught.value.field == "contact_id"
    assert state() == before


def test_a_linked_order_must_be_the_customers_own(org, people):
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.log_interaction(by=org.agent, customer=people["li"], channel="phone", order=people["order"])
    assert caught.value.field == "order_id"
    assert state() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"touchpoint": "moon"}, "touchpoint"),
        ({"journey_stage": "nirvana"}, "journey_stage"),
        ({"subject": "a\x00b"}, "subject"),
        ({"subject": "长" * 201}, "subject"),
        ({"body": "x\x00"}, "body"),
        ({"body": "字" * 100_001}, "body"),
        ({"occurred_at": timezone.now() + dt.timedelta(days=1)}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_bad_input_is_refused_by_name_and_nothing_is_written(org, people, fields, field):
    values = {"channel": "phone", **fields}
    before = state()
    with pytest.raises(RuleViolation) as caught:
        services.log_interaction(by=org.agent, customer=people["zhang"], **values)
    assert caught.value.field == field
    assert state() == before


def test_clock_skew_of_a_few_minutes_is_tolerated_and_naive_times_are_local(org, people):
    soon = services.log_interaction(by=org.agent, customer=people["zhang"], channel="email",
                                    occurred_at=timezone.now() + dt.timedelta(minutes=4))
    assert soon.pk
    local = services.log_interaction(by=org.agent, customer=people["zhang"], channel="email",
                                     occurred_at=dt.datetime(2025, 3, 4, 10, 0))
    assert local.occurred_at == dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC)
    long_body = services.log_interaction(by=org.agent, customer=people["zhang"], channel="email", body="字" * 100_000)
    assert len(long_body.body) == 100_000


def test_who_may_log_with_whom(org, people):
    rep = org.east_rep
    before = state()
    with pytest.raises(NotFound):  # another team's sales rep does not see the customer
        services.log_interaction(by=rep, customer=people["zhang"], channel="phone")
    with pytest.raises(PermissionDenied):  # the executive's role is read-only
        services.log_interaction(by=org.exec, customer=people["zhang"], channel="phone")
    assert state() == before
    # An agent of another department sees every customer (decision 0008) and, not being read-only,
    # logs the call they took.
    touch = services.log_interaction(by=org.other_agent, customer=people["zhang"], channel="phone")
    assert (touch.customer, touch.user) == (people["zhang"], org.other_agent)


def test_the_timeline_is_newest_first_and_pages_without_gaps(org, people):
    now = timezone.now()
    for hours in [5, 1, 3, 2, 4, 0, 6]:
        factories.interaction(people["zhang"], user=org.agent, subject=f"{hours}h", occurred_at=now - dt.timedelta(
            hours=hours))
    factories.interaction(people["li"], subject="other customer")
    seen, cursor = [], None
    while True:
        page = timeline(people["zhang"], cursor=cursor, limit=3)
        seen += [touch.subject for touch in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"{h}h" for h in range(7)]


def test_the_timeline_without_joins_gives_the_same_touches_in_one_plain_query(org, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    now = timezone.now()
    for hours in range(4):
        factories.interaction(people["zhang"], user=org.agent, subject=f"{hours}h",
                              occurred_at=now - dt.timedelta(hours=hours))
    joined = timeline(people["zhang"], limit=3)
    with CaptureQueriesContext(connection) as queries:
        plain = timeline(people["zhang"], limit=3, joined=False)
    assert len(queries) == 1 and "JOIN" not in queries[0]["sql"]
    assert [(t.pk, t.subject, t.occurred_at) for t in plain.items] == [(t.pk, t.subject, t.occurred_at)
                                                                         for t in joined.items]
    assert plain.next_cursor == joined.next_cursor
    assert all(t.customer is people["zhang"] for t in plain.items)
    assert plain.items[0].user == org.agent  # still there, read when touched


def test_the_read_door_keeps_to_the_customer_scope(org, people):
    for customer in (people["zhang"], people["li"], people["acme"]):
        factories.interaction(customer)
    names = {persona: {t.customer.name for t in interactions_for(getattr(org, persona))}
             for persona in ("admin", "lead", "agent", "other_agent", "east_rep", "exec")}
    # Agents and leads see every customer's timeline (decision 0008); a sales rep only their team's.
    everyone = {"张伟", "李雷", "Acme 华东贸易"}
    assert names["agent"] == names["lead"] == names["other_agent"] == names["admin"] == names["exec"] == everyone
    assert names["east_rep"] == set()


# --- the API --------------------------------------------------------------------------------

def test_an_agent_logs_and_reads_a_touch_over_the_api(api_as, org, people):
    agent = api_as("agent")
    created = ok(agent.post("interactions", {
        "customer_id": people["zhang"].pk, "channel": "wechat", "direction": "inbound", "touchpoint": "wechat",
        "journey_stage": "delivery", "subject": "物流查询", "body": "快递到哪了？", "order_id": people["order"].pk,
    }), 201)
    assert created["user"] == {"id": org.agent.pk, "name": "王芳"}
    assert created["order"] == {"id": people["order"].pk, "number": people["order"].number}
    assert created["body"] == "快递到哪了？" and created["excerpt"] == "快递到哪了？"
    assert ok(agent.get(f"interactions/{created['id']}")) == created
    blank = ok(agent.post("interactions", {"customer_id": people["zhang"].pk, "channel": "sms", "touchpoint": "",
                                           "journey_stage": None}), 201)
    assert (blank["touchpoint"], blank["journey_stage"]) == ("", "")


def test_the_list_filters_by_customer_channel_touchpoint_stage_and_time(api_as, org, people):
    now = timezone.now()
    rows = [("phone", "hotline", "service", 1), ("email", "email", "purchase", 2), ("phone", "store", "use", 30),
            ("wechat", "wechat", "service", 50)]
    for channel, touchpoint, stage, hours in rows:
        factories.interaction(people["zhang"], channel=channel, touchpoint=touchpoint, journey_stage=stage,
                              subject=f"{channel}-{hours}", occurred_at=now - dt.timedelta(hours=hours))
    factories.interaction(people["li"], channel="sms", subject="li")
    factories.interaction(people["acme"], channel="phone", subject="acme")
    agent = api_as("agent")

    def listed(**params):
        return [item["subject"] for item in ok(agent.get("interactions", **params))["items"]]

    # Acme's touch too: an agent sees every customer's timeline (decision 0008).
    assert listed() == ["acme", "li", "phone-1", "email-2", "phone-30", "wechat-50"]
    assert listed(customer_id=people["zhang"].pk, channel="phone") == ["phone-1", "phone-30"]
    assert listed(touchpoint="store") == ["phone-30"]
    assert listed(journey_stage="service") == ["phone-1", "wechat-50"]
    window = {"from": (now - dt.timedelta(hours=40)).isoformat(), "to": (now - dt.timedelta(hours=1.5)).isoformat()}
    assert listed(**window) == ["email-2", "phone-30"]
    assert listed(sort="occurred_at")[0] == "wechat-50"
    problem(agent.get("interactions", channel="pigeon"), 422, "channel")
    problem(agent.get("interactions", **{"from": "last week"}), 422, "from")
    problem(agent.get("interactions", sort="subject"), 400, "sort")
    problem(agent.get("interactions", customer_id=10**20), 422, "customer_id")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"channel": "pigeon"}, 422, "channel"),
        ({"channel": 7}, 422, "channel"),
        ({"customer_id": "12"}, 422, "customer_id"),
        ({"touchpoint": "moon"}, 422, "touchpoint"),
        ({"journey_stage": "nirvana"}, 422, "journey_stage"),
        ({"subject": "x" * 201}, 422, "subject"),
        ({"body": "\x00"}, 422, "body"),
        ({"body": "a" * 100_001}, 422, "body"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, 422, "occurred_at"),
        ({"mood": "happy"}, 422, "mood"),
        ({"customer_id": 987654}, 404, "customer_id"),
        ({"customer_id": 10**20}, 422, "customer_id"),
        ({"order_id": 987654}, 404, "order_id"),
        ({"contact_id": 987654}, 404, "contact_id"),
    ],
)
def test_bad_api_input_is_a_clear_problem_and_writes_nothing(api_as, people, change, status, field):
    agent = api_as("agent")
    before = state()
    problem(agent.post("interactions", {"customer_id": people["zhang"].pk, "channel": "phone", **change}), status,
            field)
    assert state() == before


def test_an_order_or_contact_of_another_customer_is_refused(api_as, people, org):
    other_order = commerce.create_order(by=org.admin, customer=people["li"],
                                        lines=[{"description": "x", "unit_price": "1.00"}])
    agent, other, rep = api_as("agent"), api_as("other_agent"), api_as("east_rep")
    second_org = factories.customer("别的公司", owner=org.other_agent, kind="organisation")
    reps_customer = factories.customer("陈刚的客户", owner=org.east_rep)
    before = state()
    problem(agent.post("interactions", {"customer_id": people["zhang"].pk, "channel": "phone",
                                        "order_id": other_order.pk}), 422, "order_id")
    problem(other.post("interactions", {"customer_id": second_org.pk, "channel": "visit",
                                        "contact_id": people["contact"].pk}), 422, "contact_id")
    # Acme's contact is visible to the agent (decision 0008), but works at another customer.
    problem(agent.post("interactions", {"customer_id": people["zhang"].pk, "channel": "visit",
                                        "contact_id": people["contact"].pk}), 422, "contact_id")
    # To the sales rep, Acme and its people do not exist.
    problem(rep.post("interactions", {"customer_id": reps_customer.pk, "channel": "visit",
                                      "contact_id": people["contact"].pk}), 404, "contact_id")
    assert state() == before


PERSONAS = ["admin", "lead", "agent", "other_agent", "east_rep", "exec"]
# Logging a touch on 张伟 (Service, owned by the agent): 201, 403 (read-only role), 404 (invisible).
# An agent of another department sees 张伟 (decision 0008) and may log the call they took.
LOG = {"admin": 201, "lead": 201, "agent": 201, "other_agent": 201, "east_rep": 404, "exec": 403}


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_log_and_read_touches_over_the_api(api_as, people, persona):
    client = api_as(persona)
    existing = factories.interaction(people["zhang"], subject="existing")
    before = state()
    response = client.post("interactions", {"customer_id": people["zhang"].pk, "channel": "phone"})
    if LOG[persona] == 201:
        ok(response, 201)
        assert Interaction.objects.count() == before[0] + 1
    else:
        problem(response, LOG[persona])
        assert state() == before
    read = client.get(f"interactions/{existing.pk}")
    listed = [item["id"] for item in ok(client.get("interactions"))["items"]]
    if persona == "east_rep":
        problem(read, 404)
        assert existing.pk not in listed
    else:
        ok(read)
        assert existing.pk in listed


def test_a_deactivated_users_token_is_refused(org, people):
    client = ApiClient(org.agent)
    ok(client.get("interactions"))
    account_services.deactivate_user(org.agent, by=org.admin)
    before = state()
    problem(client.get("interactions"), 401)
    problem(client.post("interactions", {"customer_id": people["zhang"].pk, "channel": "phone"}), 401)
    assert state() == before


def test_unknown_and_huge_ids_are_404(api_as):
    agent = api_as("agent")
    problem(agent.get("interactions/987654"), 404)
    problem(agent.get("interactions/99999999999999999999999"), 404)


def test_the_list_costs_the_same_queries_for_3_touches_or_30(api_as, org, people):
    agent = api_as("agent")
    ok(agent.get("interactions"))  # the token's first use is recorded once; measure after it

    def add(n: int, customer: Customer):
        for i in range(n):
            services.log_interaction(by=org.agent, customer=customer, channel="phone", subject=f"t{i}",
                                     order=people["order"] if customer == people["zhang"] else None)

    add(3, people["zhang"])
    with count_queries() as few:
        assert len(ok(agent.get("interactions", limit=100))["items"]) == 3
    add(15, people["zhang"])
    add(12, people["li"])
    with count_queries() as many:
        assert len(ok(agent.get("interactions", limit=100))["items"]) == 30
    assert len(few) == len(many) <= 3, [query["sql"] for query in many]
