"""A customer's copy of their personal data: 张伟 asks what the company holds about him, and an administrator
downloads it — every domain's records, the duplicate merged into him, nothing of the system's secrets —
through the API or the 360 page. Roles that may not handle privacy requests get 403 (or 404 where they cannot
see him), the export is audited, and it costs the same queries for a short or a long history."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from loopcrm.accounts.models import Role
from loopcrm.core.models import AuditEntry
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Tag
from loopcrm.feedback.models import Answer, Invitation, Question, Response, Survey, SurveyVersion
from loopcrm.loyalty import services as loyalty
from loopcrm.overview.personal_data import personal_data
from loopcrm.service.models import Ticket, TicketMessage
from loopcrm.value.models import CustomerValue
from tests import factories
from tests.commerce.util import count_queries, ok
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture
def zhang(org):
    customer = factories.customer("张伟", owner=org.agent, department=org.service, phone="+8613800138000",
                                  email="zhang.wei@example.com")
    customer.tags.add(Tag.objects.create(name="老客户"))
    return customer


def history(org, customer, n: int) -> None:
    """`n` of everything: orders, touches, tickets with a message, answered surveys."""
    tea = factories.product("龙井", price="120.00")
    for i in range(n):
        factories.order(customer, lines=[(tea, i + 1)], placed_at=NOW - dt.timedelta(days=i + 1))
        factories.interaction(customer, user=org.agent, body=f"来电询问物流 {i}")
        ticket = Ticket.objects.create(subject=f"包裹破损 {i}", customer=customer, department=org.service,
                                       status=Ticket.Status.OPEN, opened_at=NOW - dt.timedelta(hours=i + 1))
        TicketMessage.objects.create(ticket=ticket, kind="public", body=f"您好，包裹到了但是破了 {i}",
                                     created_at=NOW - dt.timedelta(hours=i + 1))
        survey = Survey.objects.create(name=f"NPS {i}", kind="nps")
        version = SurveyVersion.objects.create(survey=survey, number=1, title_en="t", title_zh="t", published_at=NOW)
        question = Question.objects.create(version=version, position=1, kind="rating", metric="nps",
                                           text_en="Recommend?", text_zh="推荐吗？", scale_min=0, scale_max=10)
        invitation = Invitation.objects.create(survey=survey, version=version, customer=customer, trigger="manual",
                                               status="answered", send_after=NOW, created_at=NOW,
                                               token_hash=f"{customer.pk:032x}{i:032x}", token_nonce="secret-nonce")
        response = Response.objects.create(invitation=invitation, survey=survey, version=version, customer=customer,
                                           is_complete=True, started_at=NOW, answered_at=NOW, nps=3)
        Answer.objects.create(response=response, question=question, number=3, text=f"太慢了 {i}")


def test_the_document_holds_every_domain_and_no_secret(org, zhang):
    # Given 张伟 with a history in every domain, a duplicate merged into him, loyalty points and a value row
    history(org, zhang, 2)
    customer_services.record_consent(zhang, by=org.admin, channel="sms", purpose="marketing", status="granted",
                                     method="phone")
    duplicate = factories.customer("张伟", owner=org.agent, department=org.service, phone="+8613900139000")
    customer_services.merge_customers(keep=zhang, duplicate=duplicate, by=org.admin)
    programme = loyalty.create_programme(by=None, name="会员计划", currency="CNY", points_per_unit="1",
                                         tiers=[{"name": "银卡", "rank": 0, "qualify_by": "spend", "threshold": 0}])
    membership = loyalty.enrol(zhang, programme, by=None)
    loyalty.adjust_points(membership, points=50, reason="生日礼", by=org.admin)
    CustomerValue.objects.create(customer=zhang, tier="high", stage="active", computed_at=NOW)
    # When the administrator downloads his personal data through the API
    response = ApiClient(org.admin).get(f"customers/{zhang.pk}/personal-data")
    # Then every section is there, with his own words
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"] == f'attachment; filename="customer-{zhang.pk}-personal-data.json"'
    text = response.content.decode()
    assert "张伟" in text  # not \u escapes
    document = json.loads(text)
    assert document["format"] == "loopcrm-personal-data/1" and document["exported_by"] == "admin"
    assert document["customer"]["phone"] == "+8613800138000" and document["customer"]["tags"] == ["老客户"]
    assert [row["phone"] for row in document["merged_records"]] == ["+8613900139000"]
    assert [(c["purpose"], c["status"]) for c in document["consents"]] == [("marketing", "granted")]
    assert [[line["quantity"] for line in order["lines"]] for order in document["orders"]] == [[2], [1]]
    assert {row["body"] for row in document["interactions"]} == {"来电询问物流 0", "来电询问物流 1"}
    assert sorted(m["body"] for t in document["tickets"] for m in t["messages"]) == ["您好，包裹到了但是破了 0",
                                                                                   "您好，包裹到了但是破了 1"]
    answers = sorted(a["text"] for r in document["survey_responses"] for a in r["answers"])
    assert answers == ["太慢了 0", "太慢了 1"]
    assert [(e["amount"], e["reason"]) for e in document["loyalty"][0]["points"]] == [(50, "生日礼")]
    assert document["value"]["tier"] == "high"
    assert {"merge"} <= {entry["action"] for entry in document["audit"]}
    # and nothing of the system's secrets: survey links' token hashes and nonces
    assert "token_hash" not in text and "secret-nonce" not in text and f"{zhang.pk:032x}{0:032x}" not in text
    # and the export itself is on the audit trail
    assert AuditEntry.objects.filter(action="export", object_type="customers.customer", object_id=str(zhang.pk),
                                     actor=org.admin, note="personal data").count() == 1


def test_who_may_ask(org, zhang):
    ok(ApiClient(org.admin).get(f"customers/{zhang.pk}/personal-data"))
    # an agent sees 张伟 but does not answer privacy requests; a sales rep of another team cannot see him
    denied = ApiClient(org.agent).get(f"customers/{zhang.pk}/personal-data")
    assert denied.status_code == 403 and "personal-data requests" in denied.json()["detail"]
    assert ApiClient(org.east_rep).get(f"customers/{zhang.pk}/personal-data").status_code == 404
    assert ApiClient(org.admin).get("customers/999999999/personal-data").status_code == 404
    assert ApiClient(None).get(f"customers/{zhang.pk}/personal-data").status_code == 401
    assert AuditEntry.objects.filter(action="export", object_id=str(zhang.pk)).count() == 1


def test_the_360_page_offers_the_download_to_those_who_may(org, zhang):
    admin = factories.signed_in(org.admin)
    page = admin.get(f"/customers/{zhang.pk}/").content.decode()
    assert f'href="/customers/{zhang.pk}/personal-data/"' in page
    download = admin.get(f"/customers/{zhang.pk}/personal-data/")
    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert json.loads(download.content)["customer"]["name"] == "张伟"
    agent = factories.signed_in(org.agent)
    assert "personal-data" not in agent.get(f"/customers/{zhang.pk}/").content.decode()
    assert agent.get(f"/customers/{zhang.pk}/personal-data/").status_code == 403
    # a manager handles the requests of their own department only: Sales East's sees 张伟 without the button
    manager = factories.user("east_manager", role=Role.MANAGER, department=org.sales_east)
    page = factories.signed_in(manager).get(f"/customers/{zhang.pk}/")
    assert page.status_code == 200 and "personal-data" not in page.content.decode()


def test_a_long_history_costs_the_same_queries(org, zhang):
    other = factories.customer("李娜", owner=org.agent, department=org.service)
    history(org, zhang, 1)
    history(org, other, 4)
    with count_queries() as short:
        personal_data(org.admin, zhang.pk)
    with count_queries() as long:
        document = personal_data(org.admin, other.pk)
    assert len(document["tickets"]) == 4
    assert len(long.captured_queries) == len(short.captured_queries)
