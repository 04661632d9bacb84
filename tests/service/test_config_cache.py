"""The configuration opening a ticket reads is cached per process and proven current before each use:
every write to a configuration table, by any path (service, admin, queryset update, raw SQL), gives the
stamp a new token, and the next read sees the change. Opening a ticket costs a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loopcrm.accounts.models import Department
from loopcrm.service import config_stamp
from loopcrm.service.models import ConfigStamp, Queue, RoutingRule, TicketCategory
from loopcrm.service.queries.config import desk_config
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import routing
from loopcrm.service.services import tickets as ticket_services
from tests import factories
from tests.service.sla_support import policy
from tests.service.test_processes_helpers import queue, repair_steps

pytestmark = pytest.mark.django_db


def token() -> str | None:
    return ConfigStamp.objects.filter(pk=1).values_list("token", flat=True).first()


def test_every_configuration_table_has_its_trigger():
    assert config_stamp.installed(connection) == set(config_stamp.TABLES)


def test_an_unchanged_configuration_costs_one_query(org):
    routing.create_rule(by=org.admin, name="Everything to service", department=org.service)
    desk_config()
    with CaptureQueriesContext(connection) as captured:
        config = desk_config()
    assert len(captured) == 1
    assert [rule.name for rule in config.rules] == ["Everything to service"]


def test_a_rule_switched_off_behind_the_services_back_is_seen_at_once(org):
    rule = routing.create_rule(by=org.admin, name="Everything to service", department=org.service)
    assert [r.pk for r in desk_config().rules] == [rule.pk]
    before = token()
    RoutingRule.objects.filter(pk=rule.pk).update(is_active=False)  # no save(), no signal: the trigger sees it
    assert token() != before
    assert desk_config().rules == ()


@pytest.mark.parametrize("change", ["category", "department", "queue", "policy", "process"])
def test_each_kind_of_change_gives_a_new_token(org, change):
    hotline = queue("Hotline", department=org.service, members=[org.agent])
    desk_config()
    before = token()
    if change == "category":
        TicketCategory.objects.create(name="Billing", code="billing", path="/99/")
    elif change == "department":
        Department.objects.filter(pk=org.service.pk).update(name="Customer service")
    elif change == "queue":
        Queue.objects.filter(pk=hotline.pk).update(strategy=Queue.Strategy.LEAST_LOADED)
    elif change == "policy":
        policy()
    else:
        definition = process_services.create_definition(key="repair", name="Repair", ticket_kind="repair",
                                                        by=org.admin)
        process_services.publish_version(definition, steps=repair_steps(), by=org.admin)
    assert token() != before


def test_moving_the_round_robin_pointer_is_not_a_configuration_change(org):
    hotline = queue("Hotline", department=org.service, members=[org.agent, org.lead])
    before = token()
    routing.pick_assignee(hotline, at=org.admin.date_joined)
    assert token() == before


def test_opening_a_routed_ticket_under_sla_and_process_costs_a_fixed_number_of_queries(org):
    hotline = queue("Hotline", department=org.service, members=[org.agent, org.lead])
    routing.create_rule(by=org.admin, name="Phone to the hotline", channels=["phone"], queue=hotline)
    policy()
    definition = process_services.create_definition(key="repair", name="Repair", ticket_kind="repair",
                                                    by=org.admin)
    process_services.publish_version(definition, steps=repair_steps(), by=org.admin)
    customer = factories.customer("张伟")
    first = ticket_services.open_ticket(customer=customer, subject="warm", by=None, kind="repair", channel="phone",
                                        description="客户来电。")
    with CaptureQueriesContext(connection) as captured:
        ticket = ticket_services.open_ticket(customer=customer, subject="冰箱不制冷", by=None, kind="repair",
                                             channel="phone", description="客户来电：冰箱不制冷。")
    # Routed, assigned by round robin, two clocks, the process's steps, one insert of its five events.
    assert ticket.queue_id == hotline.pk
    assert {first.assignee_id, ticket.assignee_id} == {org.agent.pk, org.lead.pk}  # their turns
    assert ticket.events.count() == 5
    assert ticket.sla_clocks.count() == 2
    assert ticket.process.steps.filter(status="active").count() == 1
    assert len(captured) <= 20, "\n".join(q["sql"][:120] for q in captured.captured_queries)
