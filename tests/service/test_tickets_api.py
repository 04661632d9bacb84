"""The ticket API as a client uses it: open, read, change with versions, talk, page through lists."""

from __future__ import annotations

import pytest

from loopcrm.service.models import Ticket
from loopcrm.service.services import complaints
from loopcrm.service.services import tickets as services


@pytest.mark.django_db
def test_open_read_and_change_a_ticket_with_its_version(api_as, org, zhang, hotline_queue, delivery):
    api = api_as("agent")
    created = api.post("tickets", {"customer_id": zhang.pk, "subject": "洗衣机噪音大", "description": "转的时候很响",
                                   "kind": "complaint", "severity": 2, "channel": "wechat",
                                   "queue_id": hotline_queue.pk, "category_id": delivery.pk, "tags": ["噪音"],
                                   "follower_ids": [org.lead.pk]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"/api/v1/tickets/{body['id']}"
    assert (body["status"], body["severity"], body["queue"]["id"]) == ("new", 2, hotline_queue.pk)
    assert [f["id"] for f in body["followers"]] == [org.lead.pk]

    read = api.get(f"tickets/{body['id']}")
    assert read["ETag"] == '"1"'
    changed = api.patch(f"tickets/{body['id']}", {"priority": 3, "corrective_action": "更换电机"},
                        headers={"If-Match": read["ETag"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["version"] == 2 and changed["ETag"] == '"2"'
    stale = api.patch(f"tickets/{body['id']}", {"subject": "旧版本", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["current_version"] == 2
    assert Ticket.objects.get(pk=body["id"]).subject == "洗衣机噪音大"


@pytest.mark.django_db
def test_a_refused_transition_names_the_allowed_ones(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    api = api_as("agent")
    assert api.post(f"tickets/{ticket.pk}/status", {"status": "resolved"}).status_code == 200
    refused = api.post(f"tickets/{ticket.pk}/status", {"status": "pending"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["allowed"] == ["closed", "reopened"]


@pytest.mark.django_db
def test_the_conversation_and_the_event_log(api_as, zhang, open_ticket):
    ticket = open_ticket(zhang)
    api = api_as("agent")
    assert api.post(f"tickets/{ticket.pk}/messages", {"kind": "reply", "body": "请拍照", "status": "pending"}) \
        .status_code == 201
    assert api.post(f"tickets/{ticket.pk}/messages", {"kind": "customer", "body": "照片发了",
                                                      "channel": "wechat"}).status_code == 201
    assert api.post(f"tickets/{ticket.pk}/messages", {"kind": "note", "body": "等配件"}).status_code == 201
    refused = api.post(f"tickets/{ticket.pk}/messages", {"kind": "note", "body": "x", "status": "open"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "status"
    messages = api.get(f"tickets/{ticket.pk}/messages").json()["items"]
    assert [m["kind"] for m in messages] == ["customer", "reply", "customer", "note"]
    events = [e["kind"] for e in api.get(f"tickets/{ticket.pk}/events").json()["items"]]
    assert events == ["created", "routed", "reply", "status", "customer_message", "status", "note"]


@pytest.mark.django_db
def test_an_agent_logs_a_call_through_the_api(api_as, zhang):
    created = api_as("agent").post("tickets/calls", {"customer_id": zhang.pk, "summary": "问发票怎么开",
                                                     "resolve": True})
    assert created.status_code == 201, created.content
    assert (created.json()["channel"], created.json()["status"]) == ("phone", "resolved")


@pytest.mark.django_db
def test_inbox_views_and_filters(api_as, org, zhang, open_ticket, delivery):
    mine = open_ticket(zhang, subject="我的工单", assignee=org.agent)
    lead_s = open_ticket(zhang, subject="组长的", by=org.lead, assignee=org.lead)
    waiting = open_ticket(zhang, subject="没人管", category=delivery, priority=4)
    done = open_ticket(zhang, subject="已解决")
    services.change_status(done, "resolved", by=org.agent)
    api = api_as("agent")

    def ids(**params):
        response = api.get("tickets", **params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids(view="mine") == [mine.pk]
    assert set(ids(view="team")) == {mine.pk, lead_s.pk}
    assert set(ids(view="unassigned")) == {waiting.pk}
    assert ids(view="breaching") == []  # no SLA policies here
    assert set(ids()) == {mine.pk, lead_s.pk, waiting.pk, done.pk}
    assert ids(status="resolved") == [done.pk]
    assert set(ids(open="false")) == {done.pk}
    assert ids(category_id=delivery.parent_id) == [waiting.pk]
    assert ids(priority=4) == [waiting.pk]
    assert ids(q=f"#{waiting.pk}") == [waiting.pk]
    assert ids(q="没人") == [waiting.pk]
    assert set(ids(q="张伟")) == {mine.pk, lead_s.pk, waiting.pk, done.pk}
    assert ids(sort="-priority")[0] == waiting.pk
    assert api.get("tickets", sort="subject").status_code == 400


@pytest.mark.django_db
def test_keyset_pages_cover_every_ticket_once(api_as, zhang, open_ticket):
    made = {open_ticket(zhang, subject=f"工单 {i}").pk for i in range(7)}
    api = api_as("agent")
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "sort": "-priority", **({"cursor": cursor} if cursor else {})}
        page = api.get("tickets", **params).json()
        seen += [row["id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert api.get("tickets", cursor="bm90IGEgY3Vyc29y").status_code == 400


@pytest.mark.django_db
def test_configuration_endpoints(api_as, org):
    complaints.ensure_default_root_causes()
    admin = api_as("admin")
    causes = admin.get("root-causes").json()
    assert {c["branch"] for c in causes} == {"people", "process", "product", "policy", "place", "partner"}
    partner = next(c for c in causes if c["code"] == "partner")
    sub = admin.post("root-causes", {"name": "快递延误", "code": "courier-late", "parent_id": partner["id"]})
    assert sub.status_code == 201 and sub.json()["branch"] == "partner"

    queue = admin.post("queues", {"name": "投诉组", "code": "complaints", "department_id": org.service.pk,
                                  "strategy": "round_robin", "member_ids": [org.agent.pk]})
    assert queue.status_code == 201, queue.content
    changed = admin.patch(f"queues/{queue.json()['id']}", {"member_ids": [org.agent.pk, org.lead.pk]})
    assert {m["id"] for m in changed.json()["members"]} == {org.agent.pk, org.lead.pk}

    reply = admin.post("canned-replies", {"title": "致歉", "body": "非常抱歉给您带来不便",
                                          "department_id": org.service.pk})
    assert reply.status_code == 201
    assert [r["title"] for r in api_as("agent").get("canned-replies").json()] == ["致歉"]
    assert api_as("other_agent").get("canned-replies").json() == []
    assert admin.delete(f"canned-replies/{reply.json()['id']}").status_code == 204


@pytest.mark.django_db
def test_a_retried_open_with_the_same_idempotency_key_opens_one_ticket(api_as, zhang):
    api = api_as("agent")
    payload = {"customer_id": zhang.pk, "subject": "重复提交"}
    first = api.post("tickets", payload, headers={"Idempotency-Key": "open-1"})
    again = api.post("tickets", payload, headers={"Idempotency-Key": "open-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Ticket.objects.count() == 1
