"""Stories of the ticket core through its services: opening, the event log, the customer's timeline,
assignment rules, the conversation, calls, complaints and the category tree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.interactions.models import Interaction
from loopcrm.service.models import RootCause, Ticket, TicketEvent, TicketMessage
from loopcrm.service.queries import tickets as queries
from loopcrm.service.services import categories as category_services
from loopcrm.service.services import complaints
from loopcrm.service.services import tickets as services
from loopcrm.service.services.complaints import REPEAT_TAG
from loopcrm.service.services.tickets import TicketClosed
from tests import factories

E = TicketEvent.Kind


def kinds(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("at", "id").values_list("kind", flat=True))


# --- opening -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_opening_a_ticket_logs_created_routed_assigned_and_the_customers_words(org, zhang, hotline_queue):
    ticket = services.open_ticket(customer=zhang, subject="冰箱不制冷", description="买了三天就不制冷了。",
                                  channel="phone", by=org.agent, queue=hotline_queue, assignee=org.agent,
                                  tags=["冰箱", "Fridge"], followers=[org.lead])
    assert ticket.status == Ticket.Status.NEW
    assert (ticket.department, ticket.queue, ticket.assignee) == (org.service, hotline_queue, org.agent)
    assert kinds(ticket) == [E.CREATED, E.ROUTED, E.ASSIGNED]
    routed = TicketEvent.objects.get(ticket=ticket, kind=E.ROUTED)
    assert routed.data["reasons"]  # routing always says why (here: no rule matched)
    first = ticket.messages.get()
    assert (first.kind, first.body, first.channel) == (TicketMessage.Kind.CUSTOMER, "买了三天就不制冷了。", "phone")
    assert sorted(t.name for t in ticket.tags.all()) == ["Fridge", "冰箱"]
    assert list(ticket.followers.all()) == [org.lead]
    touch = Interaction.objects.get(customer=zhang)
    assert touch.direction == Interaction.Direction.INBOUND and touch.channel == "phone"
    assert touch.subject.startswith(f"#{ticket.pk} ") and touch.user == org.agent


@pytest.mark.django_db
def test_without_routing_or_a_queue_the_ticket_stays_in_the_openers_department(org, zhang):
    ticket = services.open_ticket(customer=zhang, subject="咨询保修", by=org.agent)
    assert ticket.department == org.service and ticket.queue is None and ticket.assignee is None


@pytest.mark.django_db
def test_the_system_opens_tickets_and_they_still_reach_the_timeline(org, zhang):
    ticket = services.open_ticket(customer=zhang, subject="网页表单 Web form", description="请回电", by=None,
                                  channel="web_form", department=org.service)
    assert ticket.created_by is None
    assert Interaction.objects.filter(customer=zhang, channel="web_form", user=None).count() == 1


@pytest.mark.django_db
def test_a_read_only_role_may_not_open_tickets(org, zhang):
    with pytest.raises(PermissionDenied):
        services.open_ticket(customer=zhang, subject="x", by=org.exec)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_an_agent_may_not_give_a_new_ticket_to_someone_else(org, zhang, hotline_queue):
    with pytest.raises(PermissionDenied):
        services.open_ticket(customer=zhang, subject="x", by=org.agent, queue=hotline_queue, assignee=org.lead)
    ticket = services.open_ticket(customer=zhang, subject="x", by=org.lead, queue=hotline_queue, assignee=org.agent)
    assert ticket.assignee == org.agent


@pytest.mark.django_db
def test_an_order_or_contact_of_another_customer_is_refused(org, zhang, east_customer):
    order = factories.order(east_customer)
    with pytest.raises(RuleViolation) as refused:
        services.open_ticket(customer=zhang, subject="x", by=org.agent, order=order)
    assert refused.value.field == "order_id"


# --- assignment ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_agent_takes_an_unassigned_ticket_and_needs_a_reason_to_take_a_colleagues(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.assign(ticket, to=org.agent, by=org.agent)
    with pytest.raises(PermissionDenied):
        services.assign(ticket, to=org.lead, by=org.agent)  # agents take, they do not give
    with pytest.raises(RuleViolation) as refused:
        services.assign(ticket, to=org.lead, by=org.lead)
    assert refused.value.field == "reason"
    services.assign(ticket, to=org.lead, by=org.lead, reason="王芳休假 on leave")
    event = TicketEvent.objects.filter(ticket=ticket, kind=E.ASSIGNED).last()
    assert (event.old, event.new, event.data["reason"]) == (str(org.agent.pk), str(org.lead.pk), "王芳休假 on leave")


@pytest.mark.django_db
def test_only_queue_members_are_assigned_tickets_of_the_queue(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    with pytest.raises(RuleViolation) as refused:
        services.assign(ticket, to=org.other_agent, by=org.admin)
    assert refused.value.field == "assignee_id"
    with pytest.raises(RuleViolation):
        services.assign(ticket, to=org.exec, by=org.admin)  # a read-only role works no tickets


# --- fields and versions -----------------------------------------------------------------------

@pytest.mark.django_db
def test_each_changed_field_is_an_event_with_old_and_new(org, zhang, open_ticket, delivery):
    ticket = open_ticket(zhang)
    changed = services.update_ticket(ticket, by=org.agent, version=ticket.version,
                                     changes={"subject": "冰箱漏水", "category": delivery, "priority": 3})
    assert changed.version == ticket.version + 1
    rows = {e.field: (e.kind, e.old, e.new) for e in TicketEvent.objects.filter(ticket=ticket, kind__in=["field",
                                                                                                       "priority"])}
    assert rows["subject"] == ("field", "冰箱不制冷 Fridge not cooling", "冰箱漏水")
    assert rows["category"] == ("field", "", str(delivery.pk))
    assert rows["priority"] == ("priority", "2", "3")
    with pytest.raises(Conflict) as stale:
        services.update_ticket(ticket, by=org.agent, version=ticket.version, changes={"subject": "旧的"})
    assert stale.value.extra["current_version"] == changed.version


@pytest.mark.django_db
def test_unknown_or_read_only_fields_are_refused(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    for field in ("status", "assignee", "customer", "version", "nonsense"):
        with pytest.raises(RuleViolation) as refused:
            services.update_ticket(ticket, by=org.agent, version=ticket.version, changes={field: 1})
        assert refused.value.field == field


@pytest.mark.django_db
def test_tags_and_followers_change_by_deltas_and_are_logged(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.change_tags(ticket, by=org.agent, add=["加急", "VIP"])
    services.change_tags(ticket, by=org.agent, add=["vip"], remove=["加急"])  # case-insensitive
    assert [t.name for t in ticket.tags.all()] == ["VIP"]
    services.change_followers(ticket, by=org.agent, add=[org.lead, org.agent])
    services.change_followers(ticket, by=org.agent, remove=[org.agent])
    assert list(ticket.followers.all()) == [org.lead]
    assert kinds(ticket).count(E.TAGS) == 2 and kinds(ticket).count(E.FOLLOWERS) == 2


@pytest.mark.django_db
def test_an_executive_may_follow_a_ticket_but_not_add_others(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.change_followers(ticket, by=org.exec, add=[org.exec])
    with pytest.raises(PermissionDenied):
        services.change_followers(ticket, by=org.exec, add=[org.lead])


# --- the conversation ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_reply_is_public_opens_the_ticket_sets_first_response_and_mails_after_commit(
        org, zhang, open_ticket, django_capture_on_commit_callbacks):
    ticket = open_ticket(zhang)
    at = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.add_reply(ticket, body="您好，我们明天上门。", by=org.agent, at=at)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN and ticket.first_response_at == at
    assert message.kind == TicketMessage.Kind.REPLY and message.channel == "email"
    assert len(callbacks) == 1  # mail.deliver_reply(message), once the reply is committed
    services.add_reply(ticket, body="再次确认", by=org.agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at == at
    assert Interaction.objects.filter(customer=zhang, direction="outbound").count() == 2


@pytest.mark.django_db
def test_no_mail_is_scheduled_for_a_customer_without_an_address(org, open_ticket,
                                                                django_capture_on_commit_callbacks):
    customer = factories.customer("无邮箱", owner=org.agent, email="")
    ticket = open_ticket(customer)
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.add_reply(ticket, body="已处理", by=org.agent)
    assert callbacks == [] and message.channel == "phone"


@pytest.mark.django_db
def test_a_reply_can_move_the_ticket_to_pending_and_the_customer_moves_it_back(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.add_reply(ticket, body="请提供购买凭证", by=org.agent, status=Ticket.Status.PENDING)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    services.record_customer_message(ticket, body="凭证在附件", channel="email")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


@pytest.mark.django_db
def test_the_customer_writing_reopens_a_resolved_ticket_and_a_closed_one_needs_a_follow_up(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.change_status(ticket, Ticket.Status.RESOLVED, by=org.agent)
    services.record_customer_message(ticket, body="还是不制冷")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count) == (Ticket.Status.REOPENED, 1)
    services.change_status(ticket, Ticket.Status.CLOSED, by=org.agent, reason="客户未回复")
    with pytest.raises(TicketClosed) as closed:
        services.record_customer_message(ticket, body="喂？")
    assert closed.value.extra["ticket_id"] == ticket.pk
    with pytest.raises(TicketClosed):
        services.add_reply(ticket, body="x", by=org.agent)


@pytest.mark.django_db
def test_a_note_is_internal_and_on_the_timeline_as_internal(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    note = services.add_note(ticket, body="客户情绪激动，注意语气", by=org.agent)
    assert note.kind == TicketMessage.Kind.NOTE
    assert E.NOTE in kinds(ticket)
    assert Interaction.objects.filter(customer=zhang, direction="internal").count() == 1


@pytest.mark.django_db
def test_an_agent_logs_a_call_as_a_new_phone_ticket_and_on_an_existing_one(org, zhang, open_ticket):
    ticket = services.log_call(customer=zhang, by=org.agent, summary="询问安装时间\n周六可以吗？")
    assert (ticket.channel, ticket.subject) == ("phone", "询问安装时间")
    services.log_call(customer=zhang, by=org.agent, ticket=ticket, summary="回电确认周六", direction="outbound",
                      resolve=True)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED and ticket.first_response_at is not None
    assert [m.kind for m in ticket.messages.all()] == ["customer", "reply"]
    other = open_ticket(factories.customer("别人", owner=org.agent))
    with pytest.raises(RuleViolation):
        services.log_call(customer=zhang, by=org.agent, ticket=other, summary="x")


@pytest.mark.django_db
def test_every_touch_is_on_the_customers_timeline(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.add_reply(ticket, body="a", by=org.agent)
    services.record_customer_message(ticket, body="b")
    services.add_note(ticket, body="c", by=org.agent)
    services.change_status(ticket, Ticket.Status.RESOLVED, by=org.agent)
    subjects = list(Interaction.objects.filter(customer=zhang).order_by("id").values_list("direction", flat=True))
    assert subjects == ["inbound", "outbound", "inbound", "internal", "internal"]


@pytest.mark.django_db
def test_an_agent_who_cannot_see_the_customer_record_still_leaves_the_touch(org, east_customer, hotline_queue):
    # Tom's customer, routed to the Service hotline: 王芳 works the ticket without seeing the customer record.
    ticket = services.open_ticket(customer=east_customer, subject="发票", by=org.other_agent, queue=hotline_queue)
    services.add_reply(ticket, body="发票已寄出", by=org.agent)
    touch = Interaction.objects.filter(customer=east_customer, direction="outbound").get()
    assert touch.user == org.agent


# --- complaints ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_default_root_causes_are_seeded_once():
    first = complaints.ensure_default_root_causes()
    again = complaints.ensure_default_root_causes()
    assert [c.pk for c in first] == [c.pk for c in again]
    assert sorted(RootCause.objects.values_list("branch", flat=True)) == sorted(RootCause.Branch.values)


@pytest.mark.django_db
def test_a_complaint_in_the_same_category_within_the_window_is_a_repeat(org, zhang, open_ticket, delivery, settings):
    settings.LOOPCRM_REPEAT_COMPLAINT_DAYS = 30
    now = timezone.now()
    first = open_ticket(zhang, kind="complaint", category=delivery, at=now - dt.timedelta(days=70))
    second = open_ticket(zhang, kind="complaint", category=delivery, at=now - dt.timedelta(days=35))
    third = open_ticket(zhang, kind="complaint", category=delivery, at=now - dt.timedelta(days=10))
    fourth = open_ticket(zhang, kind="complaint", category=delivery, at=now)
    inquiry = open_ticket(zhang, kind="inquiry", category=delivery, at=now)
    for ticket in (first, second, third, fourth, inquiry):
        ticket.refresh_from_db()
    assert first.repeat_of is None  # nothing before it
    assert second.repeat_of is None  # 35 days after the first: outside the window
    assert third.repeat_of == second  # 25 days after the second
    assert fourth.repeat_of == third  # the latest earlier complaint, though the second is in the window too
    assert inquiry.repeat_of is None  # not a complaint
    assert REPEAT_TAG in [t.name for t in third.tags.all()]
    assert REPEAT_TAG not in [t.name for t in second.tags.all()]
    assert TicketEvent.objects.filter(ticket=third, kind=E.REPEAT).get().new == str(second.pk)


@pytest.mark.django_db
def test_another_category_or_customer_is_no_repeat(org, zhang, open_ticket, delivery):
    other_category = category_services.create_category(name="安装 Installation", code="install", by=None)
    open_ticket(zhang, kind="complaint", category=delivery)
    different = open_ticket(zhang, kind="complaint", category=other_category)
    someone_else = open_ticket(factories.customer("李雷", owner=org.agent), kind="complaint", category=delivery)
    assert different.repeat_of is None and someone_else.repeat_of is None


@pytest.mark.django_db
def test_complaint_handling_fields(org, zhang, open_ticket):
    cause = complaints.ensure_default_root_causes()[5]  # partner / logistics
    ticket = open_ticket(zhang, kind="complaint", severity=3)
    changed = services.update_ticket(ticket, by=org.agent, version=ticket.version, changes={
        "root_cause": cause, "corrective_action": "更换快递公司", "compensation_amount": "50.00",
        "compensation_currency": "cny"})
    assert (changed.severity, changed.root_cause, changed.compensation_amount, changed.compensation_currency) == \
        (3, cause, Decimal("50.00"), "CNY")
    for bad, field in (({"compensation_amount": "-1", "compensation_currency": "CNY"}, "compensation_amount"),
                       ({"compensation_amount": "1.001", "compensation_currency": "CNY"}, "compensation_amount"),
                       ({"compensation_amount": 1.5, "compensation_currency": "CNY"}, "compensation_amount"),
                       ({"compensation_amount": "NaN", "compensation_currency": "CNY"}, "compensation_amount"),
                       ({"compensation_amount": "5", "compensation_currency": "元"}, "compensation_currency"),
                       ({"severity": 9}, "severity")):
        with pytest.raises(RuleViolation) as refused:
            services.update_ticket(ticket, by=org.agent, version=changed.version, changes=bad)
        assert refused.value.field == field


@pytest.mark.django_db
def test_only_complaints_carry_complaint_fields(org, zhang, open_ticket):
    with pytest.raises(RuleViolation) as refused:
        open_ticket(zhang, kind="inquiry", severity=2)
    assert refused.value.field == "severity"


# --- categories, queues, canned replies ----------------------------------------------------------

@pytest.mark.django_db
def test_categories_form_a_tree_and_move_with_their_children(org, zhang, open_ticket, delivery):
    parent = delivery.parent
    other = category_services.create_category(name="物流 Logistics", code="logistics", by=org.admin)
    assert delivery.path == f"{parent.path}{delivery.pk}/"
    ticket = open_ticket(zhang, category=delivery)
    from loopcrm.service.filters import TicketFilter

    assert [t.pk for t in queries.ticket_page(org.agent, TicketFilter(category_id=parent.pk)).items] == [ticket.pk]
    category_services.update_category(parent, by=org.admin, changes={"parent": other})
    delivery.refresh_from_db()
    assert delivery.path == f"{other.path}{parent.pk}/{delivery.pk}/"
    with pytest.raises(RuleViolation):
        category_services.update_category(other, by=org.admin, changes={"parent": delivery})
    with pytest.raises(PermissionDenied):
        category_services.create_category(name="x", code="x", by=org.agent)


@pytest.mark.django_db
def test_canned_replies_are_shared_with_a_department_line_or_everyone(org, zhang, open_ticket):
    everyone = category_services.create_canned_reply(title="问候", body="{customer}您好，工单{ticket}已收到。",
                                                     by=org.admin)
    service_only = category_services.create_canned_reply(title="上门", body="明天上门", department=org.service,
                                                         by=org.admin)
    assert set(queries.canned_replies_for(org.agent)) == {everyone, service_only}
    assert set(queries.canned_replies_for(org.other_agent)) == {everyone}
    ticket = open_ticket(zhang)
    assert category_services.render_canned_reply(everyone, ticket=ticket) == f"张伟您好，工单#{ticket.pk}已收到。"


@pytest.mark.django_db
def test_a_reply_with_a_refused_status_writes_nothing(org, zhang, open_ticket):
    ticket = open_ticket(zhang)
    services.change_status(ticket, Ticket.Status.RESOLVED, by=org.agent)
    with pytest.raises(RuleViolation) as refused:
        services.add_reply(ticket, body="x", by=org.agent, status=Ticket.Status.PENDING)
    assert refused.value.field == "status"
    assert ticket.messages.count() == 1 and not TicketEvent.objects.filter(ticket=ticket, kind=E.REPLY).exists()
