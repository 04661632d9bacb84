"""Reads stay flat: the list, the detail and the conversation cost the same for 3 rows or 30."""

from __future__ import annotations

import pytest

from loopcrm.service.queries import tickets as queries
from loopcrm.service.services import tickets as services
from loopcrm.service.services.attachments import Upload


def _busy_ticket(org, customer, open_ticket):
    ticket = open_ticket(customer, tags=["加急", "冰箱"], followers=[org.lead])
    services.add_reply(ticket, body="已收到", by=org.agent, attachments=[Upload("a.txt", "text/plain", b"a")])
    services.add_note(ticket, body="备注", by=org.lead, attachments=[Upload("b.txt", "text/plain", b"b")])
    services.record_customer_message(ticket, body="谢谢")
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_the_ticket_list_costs_the_same_however_many_rows(api_as, org, zhang, open_ticket, count,
                                                          django_assert_max_num_queries):
    for _ in range(count):
        open_ticket(zhang, tags=["加急"])
    api = api_as("agent")
    with django_assert_max_num_queries(8):  # auth (token), page, tags
        response = api.get("tickets", limit=50)
    assert len(response.json()["items"]) == count


@pytest.mark.django_db
@pytest.mark.parametrize("replies", [1, 15])
def test_the_detail_bundle_and_the_conversation_do_not_grow_with_messages(api_as, org, zhang, open_ticket, replies,
                                                                          django_assert_max_num_queries):
    ticket = _busy_ticket(org, zhang, open_ticket)
    for i in range(replies):
        services.add_reply(ticket, body=f"回复 {i}", by=org.agent)
    with django_assert_max_num_queries(7):  # ticket, tags, messages, attachments, events, stamp, people's names
        detail = queries.ticket_detail(org.agent, ticket.pk)
        assert {detail.names[m.author_id] for m in detail.messages if m.author_id} == {"王芳", "李娜"}
        assert {detail.names[e.actor_id] for e in detail.events if e.actor_id} == {"王芳", "李娜"}
    assert len(detail.attachments) == 2 and detail.may_change
    api = api_as("agent")
    for path in ("", "/messages", "/events"):
        with django_assert_max_num_queries(9):
            assert api.get(f"tickets/{ticket.pk}{path}").status_code == 200


@pytest.mark.django_db
def test_open_tickets_of_a_customer_for_the_360(org, zhang, open_ticket, django_assert_max_num_queries):
    first, second = open_ticket(zhang), open_ticket(zhang)
    services.change_status(first, "resolved", by=org.agent)
    with django_assert_max_num_queries(1):
        rows = queries.open_tickets_of(zhang, org.agent)
        [(row.assignee, row.queue, row.category) for row in rows]
    assert rows == [second]
    assert queries.open_tickets_of(zhang, org.other_agent) == []


@pytest.mark.django_db
def test_open_tickets_of_with_fields_reads_only_those_columns(org, zhang, open_ticket, django_assert_num_queries):
    # given Zhang's two tickets, one resolved
    first, second = open_ticket(zhang, subject="<b>冰箱</b>"), open_ticket(zhang)
    services.change_status(first, "pending", by=org.agent)
    services.change_status(second, "resolved", by=org.agent)
    # when the ticket page's sidebar asks for number, subject and status only
    with django_assert_num_queries(1) as captured:
        rows = queries.open_tickets_of(zhang, org.agent, fields=("id", "subject", "status"))
        shown = [(row.pk, row.subject, row.get_status_display()) for row in rows]
    # then the same tickets come back, with those columns read and nothing joined for the select
    assert shown == [(first.pk, "<b>冰箱</b>", "Pending customer")]
    select = captured.captured_queries[0]["sql"].split(" FROM ")[0]
    assert '"service_ticket"."subject"' in select and '"service_ticket"."description"' not in select
    assert "customers_customer" not in select
    assert queries.open_tickets_of(zhang, org.other_agent, fields=("id",)) == []


@pytest.mark.django_db
def test_the_detail_reads_each_messages_files_in_one_plain_query(org, zhang, open_ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    ticket = _busy_ticket(org, zhang, open_ticket)
    services.add_reply(ticket, body="两个文件", by=org.agent,
                       attachments=[Upload("c.txt", "text/plain", b"c"), Upload("d.txt", "text/plain", b"d")])
    with CaptureQueriesContext(connection) as captured:
        detail = queries.ticket_detail(org.agent, ticket.pk)
    reads = [q["sql"] for q in captured if "service_attachment" in q["sql"]]
    assert len(reads) == 1 and "JOIN" not in reads[0]
    # each message's files are the ones its manager gives, in the same order, and nothing more is read for them
    with CaptureQueriesContext(connection) as captured:
        listed = {m.pk: [f.filename for f in m.attachment_list] for m in detail.messages}
    assert len(captured) == 0
    assert listed == {m.pk: [f.filename for f in m.attachments.order_by("id")] for m in detail.messages}
    assert [f.filename for f in detail.attachments] == ["a.txt", "b.txt", "c.txt", "d.txt"]
    bare = queries.ticket_detail(org.agent, open_ticket(zhang).pk)
    assert bare.attachments == [] and all(m.attachment_list == [] for m in bare.messages)
