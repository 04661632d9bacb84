"""The agent workbench through the Django test client: the inbox and its views, filters and bulk actions,
the ticket page and its actions, opening a ticket and logging a call, the team lead view — each for
the people who may and the people who may not.

Personas (tests/conftest.py): 王芳 the agent and 李娜 the lead work the Service department's hotline;
Tom Baker is an agent of Sales East; exec reads everything and changes nothing.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from loopcrm.service.models import Ticket, TicketEvent, TicketMessage
from loopcrm.service.queries.processes import process_progress
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import sla_config
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.services.processes import StepSpec
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db

INBOX = reverse("web:ticket_inbox")
HTMX = {"HX-Request": "true"}



@pytest.fixture
def complaint_process(org):
    """Complaints follow: acknowledge (checklist of two), investigate (mandatory), follow up (optional)."""
    definition = process_services.create_definition(key="complaint", name="Complaint 投诉处理",
                                                    ticket_kind="complaint", by=org.admin)
    process_services.publish_version(definition, by=org.admin, steps=[
        StepSpec(key="acknowledge", name="Acknowledge 受理", target_minutes=30,
                 checklist=["Apologised 已致歉", "Order checked 已核对订单"]),
        StepSpec(key="investigate", name="Investigate 调查", target_minutes=240),
        StepSpec(key="follow-up", name="Follow up 回访", target_minutes=60, is_mandatory=False),
    ])
    return definition


@pytest.fixture
def sla_policy(org):
    """A round-the-clock calendar: 1 h to first response, 8 h to resolution."""
    calendar = sla_config.create_calendar(
        by=None, name="24x7", time_zone="Asia/Shanghai",
        weekly_hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    return sla_config.create_policy(by=None, name="Standard 标准", calendar=calendar, first_response_minutes=60,
                                    resolution_minutes=480)


@pytest.fixture
def desk(org, hotline_queue, zhang, open_ticket, complaint_process, sla_policy):
    """Three hotline tickets of 张伟: one of the agent's, one unassigned complaint, one of the lead's."""
    mine = open_ticket(zhang, subject="冰箱不制冷 Fridge not cooling", assignee=org.agent)
    loose = open_ticket(zhang, subject="送货太慢 Delivery too slow", kind="complaint")
    leads = open_ticket(zhang, subject="发票 Invoice copy", assignee=org.lead, by=org.lead)
    return {"mine": mine, "loose": loose, "leads": leads}


# --- the inbox ----------------------------------------------------------------------------------------

def test_the_agent_sees_their_own_tickets_first(org, desk):
    response = signed_in(org.agent).get(INBOX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "冰箱不制冷" in body and "送货太慢" not in body and "发票" not in body
    assert 'value="mine" checked' in body


@pytest.mark.parametrize(("view", "shown"), [
    ("mine", {"mine"}), ("team", {"mine", "leads"}), ("unassigned", {"loose"}), ("all", {"mine", "loose", "leads"}),
])
def test_each_inbox_view(org, desk, view, shown):
    response = signed_in(org.agent).get(INBOX, {"view": view})
    body = response.content.decode()
    for name, ticket in desk.items():
        assert (f'id="pick-{ticket.pk}"' in body) == (name in shown), name


def test_breaching_soon_lists_tickets_whose_sla_runs_out(org, desk):
    # The first-response target is one hour: every unanswered ticket is due within the two-hour window.
    response = signed_in(org.agent).get(INBOX, {"view": "breaching"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="pick-{desk["mine"].pk}"' in body
    assert "left" in body  # the SLA column counts down in business time


def test_filters_narrow_the_inbox_and_htmx_gets_only_the_results(org, desk):
    response = signed_in(org.agent).get(INBOX, {"view": "all", "kind": "complaint"},
                                         headers={**HTMX, "HX-Target": "inbox-results"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "送货太慢" in body and "冰箱不制冷" not in body
    assert response["HX-Push-Url"].startswith(INBOX + "?")


def test_a_ticket_number_finds_the_ticket(org, desk):
    body = signed_in(org.agent).get(INBOX, {"view": "all", "q": f"#{desk['leads'].pk}"}).content.decode()
    assert "发票" in body and "冰箱不制冷" not in body


@pytest.mark.parametrize("params", [{"sort": "subject"}, {"priority": "9"}, {"cursor": "!!"}, {"view": "nobody"},
                                    {"q": "a\x00b"}])
def test_filters_that_cannot_be_understood_answer_400_with_a_message(org, desk, params):
    response = signed_in(org.agent).get(INBOX, params)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_show_more_pages_with_a_cursor(org, hotline_queue, zhang, open_ticket):
    for n in range(27):
        open_ticket(zhang, subject=f"Question {n:02d}", assignee=org.agent)
    client = signed_in(org.agent)
    first = client.get(INBOX)
    assert first.content.decode().count("data-ticket-row ") == 25
    cursor = first.context["page"].next_cursor
    more = client.get(INBOX, {"cursor": cursor}, headers={**HTMX, "HX-Target": "more-row"})
    assert more.content.decode().count("data-ticket-row ") == 2
    assert 'id="more-row"' not in more.content.decode()


def test_the_inbox_costs_the_same_for_many_tickets(org, hotline_queue, zhang, open_ticket, sla_policy,
                                                   django_assert_max_num_queries):
    for n in range(30):
        open_ticket(zhang, subject=f"Question {n:02d}", assignee=org.agent)
    client = signed_in(org.agent)
    # session, user, department; the page's ids, its rows, their tags, their SLA clocks; the configuration
    # stamp and, the first time under it, the filter and bulk selects (categories, queues, agents) — whatever
    # the number of rows.
    with django_assert_max_num_queries(11):
        response = client.get(INBOX, {"view": "all"})
    assert response.status_code == 200
    with django_assert_max_num_queries(8):  # drawn again under the same stamp: the selects are kept
        again = client.get(INBOX, {"view": "all"})
    assert again.content.count(b"<option") == response.content.count(b"<option") > 10
    with django_assert_max_num_queries(7):  # the results alone, for htmx: no selects drawn
        response = client.get(INBOX, {"view": "all"}, headers={**HTMX, "HX-Target": "inbox-results"})
    assert response.status_code == 200


def test_bulk_assign_to_me_reports_each_ticket(org, desk):
    client = signed_in(org.agent)
    response = client.post(reverse("web:ticket_bulk"), {
        "bulk-action": "assign_me", "bulk-ticket": [desk["loose"].pk, desk["leads"].pk], "view": "all",
    }, headers={**HTMX, "HX-Target": "inbox-results"})
    assert response.status_code == 200
    desk["loose"].refresh_from_db()
    desk["leads"].refresh_from_db()
    assert desk["loose"].assignee == org.agent
    assert desk["leads"].assignee == org.lead  # not the agent's to take: reported, not done
    body = response.content.decode()
    assert "1 ticket changed." in body and f"#{desk['leads'].pk}</a>" in body


def test_bulk_status_and_priority(org, desk):
    client = signed_in(org.lead)
    ids = [desk["mine"].pk, desk["loose"].pk]
    client.post(reverse("web:ticket_bulk"), {"bulk-action": "priority", "bulk-priority": "4", "bulk-ticket": ids},
                headers=HTMX)
    client.post(reverse("web:ticket_bulk"), {"bulk-action": "status", "bulk-status": "on_hold", "bulk-ticket": ids},
                headers=HTMX)
    assert set(Ticket.objects.filter(pk__in=ids).values_list("priority", "status")) == {(4, "on_hold")}


def test_bulk_on_tickets_out_of_reach_changes_nothing(org, desk, east_customer, east_queue):
    theirs = ticket_services.open_ticket(customer=east_customer, subject="East", by=org.other_agent, queue=east_queue)
    response = signed_in(org.agent).post(reverse("web:ticket_bulk"), {
        "bulk-action": "priority", "bulk-priority": "4", "bulk-ticket": [theirs.pk]}, headers=HTMX)
    assert response.status_code == 200
    assert "0 tickets changed." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.priority == Ticket.Priority.NORMAL


def test_bulk_without_a_value_is_refused(org, desk):
    response = signed_in(org.lead).post(reverse("web:ticket_bulk"), {
        "bulk-action": "status", "bulk-ticket": [desk["mine"].pk]}, headers=HTMX)
    assert response.status_code == 422
    desk["mine"].refresh_from_db()
    assert desk["mine"].status == "new"


def test_taking_a_ticket_from_the_inbox(org, desk):
    response = signed_in(org.agent).post(reverse("web:ticket_take", args=[desk["loose"].pk]), headers=HTMX)
    assert response["HX-Redirect"] == reverse("web:ticket_detail", args=[desk["loose"].pk])
    desk["loose"].refresh_from_db()
    assert desk["loose"].assignee == org.agent


def test_pages_need_a_sign_in(desk):
    for url in (INBOX, reverse("web:ticket_detail", args=[desk["mine"].pk]), reverse("web:ticket_new"),
                reverse("web:team_queue")):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- the ticket page ----------------------------------------------------------------------------------

def detail_url(ticket) -> str:
    return reverse("web:ticket_detail", args=[ticket.pk])


def test_the_ticket_page_shows_the_ticket_process_sla_and_customer(org, desk):
    response = signed_in(org.agent).get(detail_url(desk["loose"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "送货太慢" in body and "Acknowledge 受理" in body and "Apologised 已致歉" in body
    assert "张伟" in body and "First response" in body
    assert "客户来电：冰箱不制冷。" in body  # the first message of the thread
    assert "Other open tickets" in body and "冰箱不制冷" in body


def test_an_agent_of_another_department_gets_404(org, desk):
    client = signed_in(org.other_agent)
    ticket = desk["mine"]
    assert client.get(detail_url(ticket)).status_code == 404
    for name, data in (("ticket_reply", {"reply-body": "Hi"}), ("ticket_note", {"note-body": "Hi"}),
                       ("ticket_status", {"status-status": "open"}), ("ticket_priority", {"priority-priority": "4"}),
                       ("ticket_assign", {"assign-agent": org.other_agent.pk}), ("ticket_take", {})):
        assert client.post(reverse(f"web:{name}", args=[ticket.pk]), data).status_code == 404, name
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("new", 2, org.agent)
    assert not TicketMessage.objects.filter(ticket=ticket).exclude(kind="customer").exists()


def test_the_executive_reads_but_may_not_act(org, desk):
    client = signed_in(org.exec)
    ticket = desk["mine"]
    body = client.get(detail_url(ticket)).content.decode()
    assert "Send reply" not in body and "Take it" not in body
    response = client.post(reverse("web:ticket_status", args=[ticket.pk]), {"status-status": "open"})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_the_ticket_page_costs_a_fixed_number_of_queries(org, desk, django_assert_max_num_queries):
    ticket = desk["loose"]
    for n in range(10):
        ticket_services.add_note(ticket, body=f"Note {n}", by=org.agent)
    client = signed_in(org.agent)
    with django_assert_max_num_queries(24):  # the first time under the stamp: the assignee select is read
        response = client.get(detail_url(ticket))
    assert response.status_code == 200
    with django_assert_max_num_queries(22):  # then kept: the stamp alone
        again = client.get(detail_url(ticket))
    assert again.content.count(b"<option") == response.content.count(b"<option")


def test_replying_through_htmx_answers_the_ticket_part(org, desk):
    ticket = desk["mine"]
    response = signed_in(org.agent).post(reverse("web:ticket_reply", args=[ticket.pk]),
                                          {"reply-body": "您好，我们已安排上门。", "reply-then": "pending"},
                                          headers={**HTMX, "HX-Target": "ticket"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="ticket"' in body and "<html" not in body and "您好，我们已安排上门。" in body
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.first_response_at is not None


def test_an_empty_reply_is_refused_in_place(org, desk):
    response = signed_in(org.agent).post(reverse("web:ticket_reply", args=[desk["mine"].pk]), {"reply-body": " "},
                                          headers=HTMX)
    assert response.status_code == 422
    assert not TicketMessage.objects.filter(ticket=desk["mine"], kind="reply").exists()


def test_a_note_with_an_attachment(org, desk):
    ticket = desk["mine"]
    upload = SimpleUploadedFile("发票.txt", "发票号 123".encode(), content_type="text/plain")
    client = signed_in(org.agent)
    response = client.post(reverse("web:ticket_note", args=[ticket.pk]),
                           {"note-body": "内部备注", "note-attachments": upload})
    assert response.status_code == 302
    note = TicketMessage.objects.get(ticket=ticket, kind="note")
    attachment = note.attachments.get()
    download = client.get(reverse("web:ticket_attachment", args=[ticket.pk, attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == "发票号 123".encode()
    outsider = signed_in(org.other_agent).get(reverse("web:ticket_attachment", args=[ticket.pk, attachment.pk]))
    assert outsider.status_code == 404


def test_resolving_with_open_mandatory_steps_needs_a_reason(org, desk):
    ticket = desk["loose"]
    client = signed_in(org.agent)
    url = reverse("web:ticket_status", args=[ticket.pk])
    refused = client.post(url, {"status-status": "resolved"}, headers=HTMX)
    assert refused.status_code == 422
    assert "Mandatory steps are still open" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new"
    done = client.post(url, {"status-status": "resolved", "status-reason": "客户撤回投诉"}, headers=HTMX)
    assert done.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert TicketEvent.objects.filter(ticket=ticket, kind="step_overridden").exists()


def test_working_the_checklist_and_the_steps(org, desk):
    ticket = desk["loose"]
    client = signed_in(org.agent)
    step = process_progress(ticket).current
    url = reverse("web:ticket_step", args=[ticket.pk, step.id])
    refused = client.post(url, {"op": "complete"}, headers=HTMX)
    assert refused.status_code == 422 and "Tick every checklist item first" in refused.content.decode()
    client.post(url, {"op": "tick", "index": 0}, headers=HTMX)
    client.post(url, {"op": "tick", "index": 1}, headers=HTMX)
    assert client.post(url, {"op": "complete"}, headers=HTMX).status_code == 200
    progress = process_progress(ticket)
    assert [(s.key, s.status) for s in progress.steps] == [
        ("acknowledge", "done"), ("investigate", "active"), ("follow-up", "pending")]


@pytest.mark.parametrize("data", [{"op": "explode"}, {"op": "tick"}, {"op": "tick", "index": "99"}])
def test_bad_step_actions_change_nothing(org, desk, data):
    ticket = desk["loose"]
    step = process_progress(ticket).current
    response = signed_in(org.agent).post(reverse("web:ticket_step", args=[ticket.pk, step.id]), data, headers=HTMX)
    assert response.status_code == 422
    assert process_progress(ticket).current.checklist == [("Apologised 已致歉", False),
                                                          ("Order checked 已核对订单", False)]


def test_a_step_of_another_ticket_is_404(org, desk):
    other_step = process_progress(desk["loose"]).current
    response = signed_in(org.agent).post(reverse("web:ticket_step", args=[desk["mine"].pk, other_step.id]),
                                          {"op": "start"})
    assert response.status_code == 404


def test_assigning_and_priority_from_the_ticket_page(org, desk):
    ticket = desk["mine"]
    client = signed_in(org.lead)
    refused = client.post(reverse("web:ticket_assign", args=[ticket.pk]), {"assign-agent": org.lead.pk}, headers=HTMX)
    assert refused.status_code == 422 and "Say why" in refused.content.decode()
    client.post(reverse("web:ticket_assign", args=[ticket.pk]),
                {"assign-agent": org.lead.pk, "assign-reason": "王芳休假"}, headers=HTMX)
    client.post(reverse("web:ticket_priority", args=[ticket.pk]), {"priority-priority": "3"}, headers=HTMX)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (org.lead, 3)


def test_an_agent_may_take_but_not_give_away(org, desk):
    response = signed_in(org.agent).post(reverse("web:ticket_assign", args=[desk["loose"].pk]),
                                          {"assign-agent": org.lead.pk}, headers=HTMX)
    assert response.status_code == 422
    desk["loose"].refresh_from_db()
    assert desk["loose"].assignee is None


# --- opening tickets --------------------------------------------------------------------------------

def test_opening_a_ticket(org, hotline_queue, zhang, delivery):
    order = factories.order(zhang)
    client = signed_in(org.agent)
    form = client.get(reverse("web:ticket_new"), {"pick": zhang.pk})
    assert form.status_code == 200 and order.number in form.content.decode()
    response = client.post(reverse("web:ticket_new"), {
        "customer": zhang.pk, "kind": "complaint", "category": delivery.pk, "subject": "快递丢件",
        "description": "包裹显示已签收但未收到", "channel": "phone", "order": order.pk})
    ticket = Ticket.objects.get(subject="快递丢件")
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)
    assert (ticket.customer, ticket.order, ticket.category, ticket.kind) == (zhang, order, delivery, "complaint")


@pytest.mark.parametrize("data", [
    {},  # nothing
    {"customer": "999999", "subject": "x", "kind": "inquiry", "channel": "phone"},  # no such customer
    {"customer": "{zhang}", "subject": "", "kind": "inquiry", "channel": "phone"},  # no subject
    {"customer": "{zhang}", "subject": "x", "kind": "nope", "channel": "phone"},  # unknown kind
    {"customer": "{zhang}", "subject": "x\x00", "kind": "inquiry", "channel": "phone"},  # NUL
    {"customer": "{zhang}", "subject": "x", "kind": "inquiry", "channel": "phone", "order": "{other_order}"},
])
def test_a_new_ticket_with_bad_input_is_refused(org, hotline_queue, zhang, data):
    other_order = factories.order(factories.customer("别人", owner=org.agent))
    data = {key: value.format(zhang=zhang.pk, other_order=other_order.pk) for key, value in data.items()}
    response = signed_in(org.agent).post(reverse("web:ticket_new"), data)
    assert response.status_code == 422
    assert not Ticket.objects.exists()


def test_a_customer_out_of_sight_cannot_get_a_ticket(org, zhang):
    # Agents see every customer (decision 0008); the agent's customer is out of a sales rep's sight.
    response = signed_in(org.east_rep).post(reverse("web:ticket_new"), {
        "customer": zhang.pk, "subject": "x", "kind": "inquiry", "channel": "phone"})
    assert response.status_code == 422
    assert not Ticket.objects.exists()


def test_the_customer_picker_searches_customers_one_may_see(org, zhang, east_customer):
    client = signed_in(org.agent)
    body = client.get(reverse("web:ticket_customer_picker"), {"q": "张伟"}).content.decode()
    assert "张伟" in body and f"pick={zhang.pk}" in body
    # Sales East's customer too: an agent takes calls from every customer (decision 0008)...
    body = client.get(reverse("web:ticket_customer_picker"), {"q": "陈静"}).content.decode()
    assert "陈静" in body and f"pick={east_customer.pk}" in body
    # ...while a sales rep of another team finds neither.
    rep = signed_in(org.east_rep)
    assert "张伟" not in rep.get(reverse("web:ticket_customer_picker"), {"q": "张伟"}).content.decode()
    assert "陈静" not in rep.get(reverse("web:ticket_customer_picker"), {"q": "陈静"}).content.decode()


def test_logging_a_phone_call_resolved_on_the_call(org, hotline_queue, zhang):
    response = signed_in(org.agent).post(reverse("web:ticket_phone_call"), {
        "customer": zhang.pk, "direction": "inbound", "kind": "inquiry", "summary": "询问保修期\n已告知两年",
        "resolve": "on"})
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.channel, ticket.status, ticket.subject) == ("phone", "resolved", "询问保修期")


def test_someone_who_may_not_work_tickets_cannot_open_one(org, zhang):
    response = signed_in(org.exec).post(reverse("web:ticket_new"), {
        "customer": zhang.pk, "subject": "x", "kind": "inquiry", "channel": "phone"})
    assert response.status_code in (403, 422)
    assert not Ticket.objects.exists()


# --- the team lead view -----------------------------------------------------------------------------

def test_the_lead_sees_queue_load_and_workload(org, desk, django_assert_max_num_queries):
    client = signed_in(org.lead)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("web:team_queue"))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.open_total == 3 and overview.unassigned == 1
    loads = {row.agent.username: row.open for row in overview.agents}
    assert loads["agent"] == 1 and loads["lead"] == 1
    assert [row["open"] for row in overview.by_queue] == [3]


@pytest.mark.parametrize("persona", ["agent", "other_agent", "exec"])
def test_the_team_view_is_for_those_who_assign(org, persona):
    assert signed_in(getattr(org, persona)).get(reverse("web:team_queue")).status_code == 403


def test_a_change_made_on_a_stale_page_is_refused_not_lost(org, desk):
    """王芳 and 李娜 both have the ticket open; 李娜 raises the priority first; 王芳's status change, sent with
    the version she read, is refused with 409 and the page shows the ticket as it is now."""
    ticket = desk["mine"]
    seen = ticket.version
    ticket_services.set_priority(ticket, 4, by=org.lead)
    response = signed_in(org.agent).post(reverse("web:ticket_status", args=[ticket.pk]),
                                          {"status-status": "on_hold", "status-version": seen}, headers=HTMX)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("new", 4)
    again = signed_in(org.agent).post(reverse("web:ticket_status", args=[ticket.pk]),
                                       {"status-status": "on_hold", "status-version": ticket.version}, headers=HTMX)
    assert again.status_code == 200


def test_a_role_without_tickets_has_no_inbox(org):
    marketer = factories.user("marketer", role="marketing", department=org.head)
    assert signed_in(marketer).get(INBOX).status_code == 403


def test_the_history_names_statuses_priorities_and_people(org, desk):
    ticket = desk["mine"]
    ticket_services.change_status(ticket, "on_hold", by=org.agent)
    ticket_services.set_priority(ticket, 4, by=org.agent)
    ticket_services.assign(ticket, to=org.lead, by=org.lead, reason="接手")
    body = signed_in(org.agent).get(detail_url(ticket)).content.decode()
    assert "New → On hold" in body and "Normal → Urgent" in body and "王芳 → 李娜" in body


@pytest.mark.parametrize(("name", "content", "content_type", "says"), [
    ("空.txt", b"", "text/plain", "empty"),
    ("tool.exe", b"MZ\x90\x00" * 10, "application/x-msdownload", ""),
])
def test_a_refused_file_is_explained_next_to_the_attachments(org, desk, settings, name, content, content_type, says):
    ticket = desk["mine"]
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    response = signed_in(org.agent).post(reverse("web:ticket_reply", args=[ticket.pk]),
                                          {"reply-body": "见附件", "reply-attachments": upload}, headers=HTMX)
    assert response.status_code == 422
    form = response.context["reply_form"]
    assert form.errors.get("attachments") and says in form.errors["attachments"][0]
    assert not TicketMessage.objects.filter(ticket=ticket, kind="reply").exists()


def test_a_file_over_the_limit_is_refused(org, desk, settings):
    settings.LOOPCRM_ATTACHMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("大.txt", b"x" * 2048, content_type="text/plain")
    response = signed_in(org.agent).post(reverse("web:ticket_note", args=[desk["mine"].pk]),
                                          {"note-body": "附件", "note-attachments": upload}, headers=HTMX)
    assert response.status_code == 422
    assert response.context["note_form"].errors.get("attachments")
    assert not TicketMessage.objects.filter(ticket=desk["mine"], kind="note").exists()


def test_a_message_is_shown_once(org, desk):
    client = signed_in(org.agent)
    response = client.post(reverse("web:ticket_note", args=[desk["mine"].pk]), {"note-body": "记一下"}, follow=True)
    assert response.content.decode().count("Your note was added.") == 1
    fragment = client.post(reverse("web:ticket_note", args=[desk["mine"].pk]), {"note-body": "再记一下"},
                           headers=HTMX)
    assert fragment.content.decode().count("Your note was added.") == 1
