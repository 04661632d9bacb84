"""The SLA API as clients use it: policies and calendars (CRUD with clear validation errors), who may
change them, a ticket's clocks and attainment."""

from __future__ import annotations

import pytest

from loopcrm.core.models import AuditEntry
from loopcrm.service.models import BusinessCalendar, SlaPolicy
from loopcrm.service.services import sla
from tests.service.sla_support import opened, policy, sh

pytestmark = pytest.mark.django_db

HOURS = {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "18:00"]]}
SPRING_FESTIVAL = [
    {"date": "2026-02-16", "kind": "holiday", "name": "春节"},
    {"date": "2026-02-14", "kind": "workday", "name": "春节调休", "hours": [["09:00", "18:00"]]},
]


def _errors(response):
    assert response["Content-Type"] == "application/problem+json", response.content
    return {error.get("field") for error in response.json()["errors"]} | {response.json().get("detail")}


def test_a_manager_builds_a_calendar_with_holidays_and_make_up_days_then_a_policy_on_it(org, api_as):
    admin = api_as("admin")
    created = admin.post("business-calendars", {"name": "上海客服", "time_zone": "Asia/Shanghai",
                                                "weekly_hours": HOURS, "days": SPRING_FESTIVAL})
    assert created.status_code == 201, created.content
    calendar = created.json()
    assert calendar["weekly_hours"] == HOURS
    assert [(d["date"], d["kind"]) for d in calendar["days"]] == [("2026-02-14", "workday"),
                                                                  ("2026-02-16", "holiday")]
    assert created["Location"] == f"/api/v1/business-calendars/{calendar['id']}"

    made = admin.post("sla-policies", {"name": "VIP complaints", "kinds": ["complaint"], "customer_vip": True,
                                       "priorities": [3, 4], "first_response_minutes": 30,
                                       "resolution_minutes": 960, "calendar_id": calendar["id"],
                                       "breach_raise_priority": True, "customer_tiers": ["high"]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["calendar_id"], body["warning_percent"], body["position"]) == (calendar["id"], 80, 10)
    assert admin.get(f"sla-policies/{body['id']}").json()["name"] == "VIP complaints"
    assert [p["id"] for p in admin.get("sla-policies").json()["items"]] == [body["id"]]
    assert AuditEntry.objects.filter(object_type="service.slapolicy", action="create").count() == 1

    changed = admin.patch(f"sla-policies/{body['id']}", {"warning_percent": 90, "is_active": False})
    assert changed.status_code == 200 and changed.json()["warning_percent"] == 90
    patched = admin.patch(f"business-calendars/{calendar['id']}", {"days": [SPRING_FESTIVAL[0]], "name": "沪"})
    assert patched.status_code == 200 and len(patched.json()["days"]) == 1 and patched.json()["name"] == "沪"


@pytest.mark.parametrize(("payload", "field"), [
    ({"weekly_hours": {"mon": [["09:00", "08:00"]]}}, "weekly_hours.mon"),
    ({"weekly_hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "weekly_hours.mon"),
    ({"weekly_hours": {"mon": [["9:00", "12:00"]]}}, "weekly_hours.mon.0.0"),
    ({"weekly_hours": {"mon": [["09:00", "24:30"]]}}, "weekly_hours.mon"),
    ({"weekly_hours": {"funday": [["09:00", "12:00"]]}}, "weekly_hours.funday"),
    ({"weekly_hours": {}}, "weekly_hours"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"days": [{"date": "2026-02-30", "kind": "holiday"}]}, "days.0.date"),
    ({"days": [{"date": "2026-02-14", "kind": "workday"}]}, "days[0].hours"),
    ({"days": [{"date": "2026-02-16", "kind": "holiday", "hours": [["09:00", "12:00"]]}]}, "days[0].hours"),
    ({"days": [{"date": "2026-02-16", "kind": "vacation"}]}, "days.0.kind"),
    ({"days": [{"date": "2026-02-16", "kind": "holiday"}, {"date": "2026-02-16", "kind": "holiday"}]},
     "days[1].date"),
    ({"name": "x\x00y"}, "name"),
    ({"colour": "red"}, "colour"),
])
def test_calendar_input_errors_name_the_field(org, api_as, payload, field):
    body = {"name": "Desk", "weekly_hours": HOURS, **payload}
    response = api_as("admin").post("business-calendars", body)
    assert response.status_code == 422, response.content
    fields = {str(error.get("field") or ".".join(map(str, error.get("loc", [])[2:]))) for error in
              response.json()["errors"]}
    assert any(f == field or f.startswith(field) for f in fields), fields
    assert not BusinessCalendar.objects.filter(name="Desk").exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "first_response_minutes"),  # no target at all
    ({"first_response_minutes": 0}, "first_response_minutes"),
    ({"first_response_minutes": "60"}, "first_response_minutes"),
    ({"first_response_minutes": 60, "warning_percent": 0}, "warning_percent"),
    ({"first_response_minutes": 60, "priorities": [7]}, "priorities"),
    ({"first_response_minutes": 60, "kinds": ["rant"]}, "kinds"),
    ({"first_response_minutes": 60, "customer_tiers": ["gold"]}, "customer_tiers"),
    ({"first_response_minutes": 60, "calendar_id": 987654}, "calendar_id"),
    ({"first_response_minutes": 60, "breach_queue_id": 987654}, "breach_queue_id"),
    ({"first_response_minutes": 60, "calendar_id": 2**63}, "calendar_id"),
])
def test_policy_input_errors_name_the_field(org, api_as, payload, field):
    response = api_as("admin").post("sla-policies", {"name": "Bad", **payload})
    assert response.status_code == 422, response.content
    fields = {str(error.get("field") or ".".join(map(str, error.get("loc", [])[2:]))) for error in
              response.json()["errors"]}
    assert any(f.startswith(field) for f in fields), fields
    assert not SlaPolicy.objects.exists()


@pytest.mark.parametrize("persona", ["lead", "agent", "exec"])
def test_roles_that_may_only_read_the_configuration_get_403_and_nothing_changes(org, api_as, persona):
    existing = policy("Standard")
    client = api_as(persona)
    assert client.get(f"sla-policies/{existing.pk}").status_code == 200
    assert client.post("sla-policies", {"name": "Mine", "first_response_minutes": 5}).status_code == 403
    assert client.patch(f"sla-policies/{existing.pk}", {"name": "Renamed"}).status_code == 403
    assert client.delete(f"sla-policies/{existing.pk}").status_code == 403
    assert client.post("business-calendars", {"name": "Mine", "weekly_hours": HOURS}).status_code == 403
    assert client.patch(f"business-calendars/{existing.calendar_id}", {"name": "x"}).status_code == 403
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Standard"]
    assert BusinessCalendar.objects.count() == 1


def test_a_sales_rep_cannot_see_the_configuration(org, api_as):
    from loopcrm.accounts.models import Role
    from tests import factories

    sales = factories.user("sales", role=Role.SALES, department=org.sales_east)
    existing = policy()
    from tests.conftest import ApiClient

    client = ApiClient(sales)
    assert client.get(f"sla-policies/{existing.pk}").status_code == 404
    assert client.get("sla-policies").json()["items"] == []


def test_deleting_what_is_in_use_is_a_conflict(org, api_as):
    admin = api_as("admin")
    used = policy()
    opened(sh(2026, 3, 9, 10))
    assert admin.delete(f"sla-policies/{used.pk}").status_code == 409
    assert admin.delete(f"business-calendars/{used.calendar_id}").status_code == 409
    default = sla.ensure_default_calendar()
    assert admin.delete(f"business-calendars/{default.pk}").status_code == 409
    unused = policy()
    assert admin.delete(f"sla-policies/{unused.pk}").status_code == 204
    assert admin.get(f"sla-policies/{unused.pk}").status_code == 404


def test_a_second_default_calendar_takes_the_mark(org, api_as):
    admin = api_as("admin")
    old = sla.ensure_default_calendar()
    new = admin.post("business-calendars", {"name": "New default", "weekly_hours": HOURS, "is_default": True})
    assert new.status_code == 201
    old.refresh_from_db()
    assert not old.is_default
    assert admin.patch(f"business-calendars/{new.json()['id']}", {"is_default": False}).status_code == 422


def test_a_tickets_clocks_are_read_through_the_ticket_scope(org, api_as):
    policy()
    mine = opened(sh(2026, 3, 9, 10), assignee=org.agent)
    response = api_as("agent").get(f"tickets/{mine.pk}/sla")
    assert response.status_code == 200
    clocks = response.json()
    assert [c["metric"] for c in clocks] == ["first_response", "resolution"]
    assert clocks[0]["target_minutes"] == 60 and clocks[0]["remaining_minutes"] < 0  # 2026 is long past by now
    assert api_as("other_agent").get(f"tickets/{mine.pk}/sla").status_code == 404
    assert api_as("agent").get("tickets/99999999/sla").status_code == 404


def test_attainment_by_policy_and_its_parameter_errors(org, api_as):
    standard = policy("Standard")
    first = opened(sh(2026, 3, 9, 10), assignee=org.agent)
    sla.on_public_reply(first, by=org.agent, at=sh(2026, 3, 9, 10, 20))
    client = api_as("lead")
    rows = client.get("sla/attainment", group_by="policy", **{"from": "2026-03-01T00:00:00+08:00",
                                                              "to": "2026-04-01T00:00:00+08:00"}).json()
    first_rows = [row for row in rows if row["metric"] == "first_response"]
    assert first_rows == [{"key": standard.pk, "name": "Standard", "metric": "first_response", "total": 1, "met": 1,
                           "breached": 0, "open": 0, "attainment": 100.0, "avg_minutes": 20.0}]
    assert client.get("sla/attainment", group_by="region").status_code == 422
    assert client.get("sla/attainment", **{"from": "2026-04-01T00:00:00", "to": "2026-03-01T00:00:00"}
                      ).status_code == 422
    assert client.get("sla/attainment", **{"from": "yesterday"}).status_code == 422
