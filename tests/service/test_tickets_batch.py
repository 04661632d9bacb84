"""Opening many tickets at once (`open_tickets`) leaves exactly what opening them one by one leaves.

The desk of these stories: a VIP rule sends VIP customers to the hotline queue (round robin), a region
rule sends Shanghai customers' complaints to a least-loaded escalation queue, everything else goes
to the general queue (round robin); an SLA policy for complaints and one for the rest; a repair
process and a complaint process. The same twelve requests are opened one by one (then rolled back)
and as one batch, and every row they leave is compared: tickets, events, clocks, messages, tags,
processes and steps, the customers' timeline interactions and their audit rows.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from loopcrm.core.errors import RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import Queue, SlaClock, Ticket, TicketEvent, TicketMessage, TicketStep
from loopcrm.service.services import routing
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.services.opening import TicketRequest, open_tickets
from loopcrm.value.models import CustomerValue
from tests import factories
from tests.service import sla_support
from tests.service.test_processes_helpers import category, queue, repair_process, repair_steps


class Rollback(Exception):
    pass


@pytest.fixture
def desk(org):
    """Queues, rules, policies and processes of the stories (built through the services where they exist)."""
    second = factories.user("agent2", role="agent", department=org.service, display_name="赵磊")
    third = factories.user("agent3", role="agent", department=org.service, display_name="孙丽")
    hotline = queue("Hotline 热线", department=org.service, members=[org.agent, org.lead])
    escalation = queue("Escalation 升级", department=org.service, members=[org.agent, second, third],
                       strategy=Queue.Strategy.LEAST_LOADED)
    general = queue("General 综合", department=org.service, members=[second, third])
    delivery = category("配送 Delivery")
    late = category("延迟送达 Late delivery", parent=delivery)
    complaints_policy = sla_support.policy("Complaints", kinds=["complaint"], first_response_minutes=30)
    sla_support.policy("Everything else")
    routing.create_rule(by=org.admin, name="VIP", customer_vip=True, queue=hotline)
    routing.create_rule(by=org.admin, name="Shanghai complaints", kinds=["complaint"], provinces=["上海市"],
                        queue=escalation, sla_policy_id=complaints_policy.pk)
    routing.create_rule(by=org.admin, name="Rest", queue=general)
    repair_process(org.admin)
    repair_process(org.admin, kind="complaint", key="complaint", steps=repair_steps())
    # One of the escalation agents already has open work, so least-loaded has something to weigh.
    busy = factories.customer("老客户")
    for _n in range(2):
        ticket_services.open_ticket(customer=busy, subject="Earlier work", by=None, queue=escalation,
                                    assignee=org.agent)
    return {"hotline": hotline, "escalation": escalation, "general": general, "late": late, "agents": [second, third]}


def requests_for(org, desk) -> list[TicketRequest]:
    """Twelve requests: VIPs, a high-value owner-served customer, Shanghai complaints (one repeated, so the second
    is a repeat complaint of the first inside the batch), tags, followers, a named assignee, an attachment-free
    message and one without a description."""
    vip = factories.customer("王总", is_vip=True, owner=org.lead)
    valued = factories.customer("刘女士", owner=org.agent)
    CustomerValue.objects.create(customer=valued, tier="high", computed_at=timezone.now())
    shanghai = factories.customer("张伟")
    beijing = factories.customer("李雷", province="北京市")
    late = desk["late"]
    return [
        TicketRequest(customer=vip, subject="发票开具", kind="inquiry", channel="phone", description="要发票"),
        TicketRequest(customer=shanghai, subject="快递太慢", kind="complaint", channel="email", category=late,
                      description="三天了还没到", tags=["物流", "Delivery"]),
        TicketRequest(customer=beijing, subject="How do I pair the app?", channel="web_form", description="?"),
        TicketRequest(customer=shanghai, subject="还是没到", kind="complaint", channel="phone", category=late,
                      description="又打电话了", severity=3),
        TicketRequest(customer=valued, subject="设备无法开机", kind="repair", channel="phone", description="坏了",
                      followers=[org.lead]),
        TicketRequest(customer=beijing, subject="退货", kind="return", channel="wechat", description=""),
        TicketRequest(customer=factories.customer("周杰"), subject="退款申请", kind="service_request",
                      channel="web_chat", description="退款", assignee=org.agent, tags=["delivery"]),
        *[TicketRequest(customer=factories.customer(), subject=f"问题 {n}", kind="complaint", channel="phone",
                        category=late, description="投诉") for n in range(3)],
        TicketRequest(customer=vip, subject="再次咨询", channel="email", description="第二次", priority=3),
        TicketRequest(customer=beijing, subject="Question", channel="email", description="hi", priority=1),
    ]


def snapshot(tickets: list[Ticket]) -> list[dict]:
    """Every row the opening left for these tickets, ids replaced by the ticket's place in the list."""
    place = {ticket.pk: n for n, ticket in enumerate(tickets)}

    def ref(pk):
        return f"ticket {place[pk]}" if pk in place else pk

    rows = []
    for ticket in Ticket.objects.filter(pk__in=place).order_by("id"):
        events = [(e.kind, e.at, e.actor_id, e.field, e.old,
                   str(ref(int(e.new))) if e.field == "repeat_of" else e.new, e.step, e.data)
                  for e in TicketEvent.objects.filter(ticket=ticket).order_by("id")]
        clocks = list(SlaClock.objects.filter(ticket=ticket).order_by("id").values(
            "metric", "policy_id", "calendar_id", "target_minutes", "warning_percent", "state", "cycle", "started_at",
            "warning_at", "due_at", "paused_at"))
        messages = list(TicketMessage.objects.filter(ticket=ticket).order_by("id").values(
            "kind", "author_id", "body", "channel", "message_id", "in_reply_to", "created_at"))
        steps = list(TicketStep.objects.filter(ticket_process__ticket=ticket).order_by("id").values(
            "ticket_process__version_id", "ticket_process__started_at", "step_id", "position", "status", "started_at",
            "started_by_id"))
        timeline = []
        for interaction in Interaction.objects.filter(subject__startswith=f"#{ticket.pk} ").order_by("id"):
            audit = AuditEntry.objects.get(object_type="interactions.interaction", object_id=str(interaction.pk))
            changes = {**audit.changes, **({"ticket": ref(audit.changes["ticket"])} if "ticket" in audit.changes
                                           else {})}
            timeline.append((interaction.customer_id, interaction.user_id, interaction.channel,
                             interaction.direction, interaction.touchpoint, interaction.journey_stage,
                             interaction.subject.replace(f"#{ticket.pk} ", "#N "), interaction.body,
                             interaction.occurred_at, audit.actor_id,
                             # the audit row of a touch logged by a person is stamped with the clock's now
                             audit.at if audit.actor_id is None else audit.at >= interaction.occurred_at, changes,
                             audit.object_repr.replace(f"#{ticket.pk} ", "#N ")))
        rows.append({
            "ticket": (ticket.customer_id, ticket.contact_id, ticket.subject, ticket.description, ticket.kind,
                       ticket.channel, ticket.category_id, ticket.priority, ticket.status, ticket.department_id,
                       ticket.queue_id, ticket.assignee_id, ticket.created_by_id, ticket.opened_at, ticket.severity,
                       ref(ticket.repeat_of_id) if ticket.repeat_of_id else None, ticket.version),
            "tags": sorted(ticket.tags.values_list("name", flat=True)),
            "followers": sorted(ticket.followers.values_list("pk", flat=True)),
            "events": events, "clocks": clocks, "messages": messages, "steps": steps, "timeline": timeline,
        })
    return rows


def queue_pointers() -> dict[int, int | None]:
    return dict(Queue.objects.values_list("pk", "last_assigned_id"))


@pytest.mark.parametrize("by", ["system", "lead"])
def test_a_batch_leaves_exactly_what_opening_one_by_one_leaves(org, desk, by):
    """Given the desk and twelve requests, when they are opened one by one and, instead, as one batch, then
    every ticket, event, clock, message, tag, follower, process step and timeline row is the same, and the
    round-robin queues end on the same agents."""
    actor = None if by == "system" else org.lead
    at = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC)
    requests = requests_for(org, desk)
    try:
        with transaction.atomic():
            one_by_one = [ticket_services.open_ticket(by=actor, **{**vars(request), "at": at}) for request in requests]
            expected, expected_pointers = snapshot(one_by_one), queue_pointers()
            raise Rollback
    except Rollback:
        pass

    batch = open_tickets(requests, by=actor, at=at)

    got = snapshot(batch)
    for n, (row, want) in enumerate(zip(got, expected, strict=True)):
        for key in want:
            assert (n, key, row[key]) == (n, key, want[key])
    assert queue_pointers() == expected_pointers
    # The stories the comparison covers actually happened:
    assert {t.queue_id for t in batch} == {desk["hotline"].pk, desk["escalation"].pk, desk["general"].pk}
    assert batch[3].repeat_of_id == batch[1].pk
    assert batch[0].assignee_id == org.lead.pk  # the VIP's dedicated agent (their owner)
    general = {t.assignee_id for t in batch if t.queue_id == desk["general"].pk}
    assert general >= {agent.pk for agent in desk["agents"]}  # turns were taken
    assert all(TicketEvent.objects.filter(ticket=t, kind=TicketEvent.Kind.ROUTED).exists() for t in batch)


def test_a_bad_request_opens_nothing_and_names_its_place(org, desk):
    """Given a batch whose third request has no subject, nothing is opened and the error says which one."""
    requests = requests_for(org, desk)[:4]
    requests[2].subject = "  "
    before = Ticket.objects.count(), Interaction.objects.count(), queue_pointers()

    with pytest.raises(RuleViolation) as caught:
        open_tickets(requests, by=org.agent)

    assert caught.value.field == "subject"
    assert caught.value.extra["index"] == 2
    assert (Ticket.objects.count(), Interaction.objects.count(), queue_pointers()) == before


def test_an_empty_batch_opens_nothing(org):
    assert open_tickets([], by=org.agent) == []


# --- through the API ---------------------------------------------------------------------------------

def test_an_agent_opens_a_batch_through_the_api(api_as, org, zhang, hotline_queue, delivery):
    """Given 王芳 (agent) and two requests, POST /tickets/batch opens both, in order, as POST /tickets would."""
    api = api_as("agent")
    response = api.post("tickets/batch", {"tickets": [
        {"customer_id": zhang.pk, "subject": "洗衣机噪音大", "description": "很响", "queue_id": hotline_queue.pk},
        {"customer_id": zhang.pk, "subject": "Late parcel", "kind": "complaint", "category_id": delivery.pk,
         "tags": ["物流"]},
    ]})

    assert response.status_code == 201, response.json()
    ids = response.json()["ids"]
    opened = list(Ticket.objects.filter(pk__in=ids).order_by("id"))
    assert [t.pk for t in opened] == ids
    assert [t.subject for t in opened] == ["洗衣机噪音大", "Late parcel"]
    assert opened[0].queue_id == hotline_queue.pk and opened[0].created_by_id == org.agent.pk
    assert list(opened[1].tags.values_list("name", flat=True)) == ["物流"]
    assert all(TicketEvent.objects.filter(ticket=t, kind=TicketEvent.Kind.CREATED).exists() for t in opened)


def test_a_batch_naming_a_customer_out_of_reach_opens_nothing(api_as, org, zhang):
    """Given 王芳's customer is outside the sales rep 陈刚's scope, a batch naming it is a 422 at its place;
    nothing opens (agents see every customer since decision 0008, so the story is told by a sales rep)."""
    api = api_as("east_rep")
    own = factories.customer("陈刚的客户", owner=org.east_rep)
    before = Ticket.objects.count()

    response = api.post("tickets/batch", {"tickets": [
        {"customer_id": own.pk, "subject": "One"}, {"customer_id": zhang.pk, "subject": "Two"}]})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_id"
    assert response.json()["errors"][0]["index"] == 1
    assert Ticket.objects.count() == before


def test_a_read_only_role_may_not_open_a_batch(api_as, zhang):
    api = api_as("exec")
    before = Ticket.objects.count()

    response = api.post("tickets/batch", {"tickets": [{"customer_id": zhang.pk, "subject": "One"}]})

    assert response.status_code == 403, response.content
    assert Ticket.objects.count() == before
