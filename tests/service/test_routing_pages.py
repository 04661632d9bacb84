"""Routing-rule pages: the table, adding and editing a rule, moving it, and who may do what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.service.models import RoutingRule
from loopcrm.service.services import routing
from tests import factories
from tests.factories import signed_in
from tests.service.test_processes_helpers import queue

pytestmark = pytest.mark.django_db



@pytest.fixture
def general(org):
    return queue("General 综合", department=org.service, members=[org.agent])


def test_an_admin_adds_edits_moves_and_deletes_rules(org, general):
    admin = signed_in(org.admin)
    answer = admin.post(reverse("web:routing_rule_create"), {
        "name": "Refunds 退款", "is_active": "on", "kinds": ["complaint", "return"], "include_subcategories": "on",
        "channels": ["email"], "priorities": ["3"], "customer_vip": "unknown", "keywords": "refund，退款",
        "provinces": "江苏省, 上海市", "queue": general.pk, "set_priority": "4",
    })
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rule = RoutingRule.objects.get()
    assert (rule.kinds, rule.priorities, rule.keywords, rule.provinces, rule.set_priority, rule.customer_vip) == \
        (["complaint", "return"], [3], ["refund", "退款"], ["江苏省", "上海市"], 4, None)

    page = admin.get(reverse("web:routing_rule_list")).content.decode()
    assert "Refunds 退款" in page and "“退款”" in page and "queue General 综合" in page

    edit = admin.get(reverse("web:routing_rule_edit", args=[rule.pk])).content.decode()
    assert 'value="refund, 退款"' in edit
    other = routing.create_rule(by=org.admin, name="Catch all", queue=general)
    moved = admin.post(reverse("web:routing_rule_move", args=[other.pk]), {"direction": "up"})
    assert moved.status_code == 302
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Catch all", "Refunds 退款"]

    assert admin.post(reverse("web:routing_rule_delete", args=[rule.pk])).status_code == 302
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Catch all"]


def test_a_rule_that_does_nothing_is_shown_back_with_the_reason(org):
    answer = signed_in(org.admin).post(reverse("web:routing_rule_create"), {"name": "Idle", "customer_vip": "true"})
    assert answer.status_code == 422
    assert "A rule must do something" in answer.content.decode()
    assert not RoutingRule.objects.exists()


def test_the_table_reads_in_few_queries(org, general, django_assert_max_num_queries):
    for n in range(12):
        routing.create_rule(by=org.admin, name=f"Rule {n}", queue=general, department=org.service,
                            customer_tag=None, keywords=["x"])
    admin = signed_in(org.admin)
    with django_assert_max_num_queries(8):
        assert admin.get(reverse("web:routing_rule_list")).status_code == 200


@pytest.mark.parametrize(("persona", "list_status", "edit_status"), [
    ("admin", 200, 200), ("lead", 200, 403), ("agent", 200, 403), ("exec", 200, 403), ("sales", 404, 404),
])
def test_who_may_see_and_change_the_table(org, general, persona, list_status, edit_status):
    rule = routing.create_rule(by=org.admin, name="a", queue=general)
    user = factories.user("sales2", role="sales", department=org.sales_east) if persona == "sales" \
        else getattr(org, persona)
    client = signed_in(user)
    assert client.get(reverse("web:routing_rule_list")).status_code == list_status
    assert client.get(reverse("web:routing_rule_edit", args=[rule.pk])).status_code == edit_status
    assert client.get(reverse("web:routing_rule_create")).status_code == edit_status
    if edit_status != 200:
        assert client.post(reverse("web:routing_rule_delete", args=[rule.pk])).status_code == edit_status
        assert client.post(reverse("web:routing_rule_create"), {"name": "b", "queue": general.pk}).status_code \
            == edit_status
        assert list(RoutingRule.objects.values_list("name", flat=True)) == ["a"]
