"""The SLA pages: policies and calendars listed and edited by those who may, the attainment report."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.service.models import BusinessCalendar, CalendarDay, SlaPolicy
from loopcrm.service.services import sla
from tests.factories import PASSWORD
from tests.service.sla_support import opened, policy, sh

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_an_admin_creates_a_calendar_with_the_spring_festival_from_the_page(org):
    client = signed_in(org.admin)
    response = client.post(reverse("web:business_calendar_create"), {
        "name": "上海客服", "time_zone": "Asia/Shanghai", "mon": "09:00-12:00, 13:00-18:00", "tue": "9:00-18:00",
        "days": "2026-02-16 holiday 春节\n2026-02-14 workday 09:00-18:00 春节调休\n",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BusinessCalendar.objects.get(name="上海客服")
    assert calendar.weekly_hours == {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "18:00"]]}
    assert list(CalendarDay.objects.filter(calendar=calendar).values_list("date", "kind", "hours", "name")) == [
        (sh(2026, 2, 14).date(), "workday", [["09:00", "18:00"]], "春节调休"),
        (sh(2026, 2, 16).date(), "holiday", [], "春节"),
    ]
    page = client.get(reverse("web:business_calendar_list")).content.decode()
    assert "上海客服" in page and "春节调休" in page
    edit = client.get(reverse("web:business_calendar_edit", args=[calendar.pk])).content.decode()
    assert "2026-02-14 workday 09:00-18:00 春节调休" in edit


@pytest.mark.parametrize(("data", "message"), [
    ({"mon": "09:00-08:00"}, "must end after it starts"),
    ({"mon": "nine to five"}, "09:00-12:00"),
    ({"mon": "09:00-18:00", "days": "2026-02-30 holiday"}, "YYYY-MM-DD"),
    ({"mon": "09:00-18:00", "days": "2026-02-14 workday"}, "needs its working hours"),
    ({"mon": "09:00-18:00", "time_zone": "Mars/Olympus"}, "Unknown time zone"),
])
def test_calendar_form_errors_are_shown_and_nothing_is_saved(org, data, message):
    response = signed_in(org.admin).post(reverse("web:business_calendar_create"),
                                         {"name": "Desk", "time_zone": "Asia/Shanghai", **data})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.filter(name="Desk").exists()


def test_an_admin_creates_and_edits_a_policy_from_the_page(org):
    client = signed_in(org.admin)
    response = client.post(reverse("web:sla_policy_create"), {
        "name": "VIP", "priorities": ["3", "4"], "kinds": ["complaint"], "customer_vip": "true",
        "first_response_minutes": "30", "resolution_minutes": "480", "warning_percent": "75",
        "breach_notify_lead": "on", "is_active": "on", "include_subcategories": "on",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    made = SlaPolicy.objects.get(name="VIP")
    assert (made.priorities, made.kinds, made.customer_vip, made.warning_percent) == ([3, 4], ["complaint"], True, 75)
    form = client.get(reverse("web:sla_policy_edit", args=[made.pk]))
    assert form.status_code == 200 and 'value="30"' in form.content.decode()
    response = client.post(reverse("web:sla_policy_edit", args=[made.pk]), {
        "name": "VIP", "warning_percent": "75", "is_active": "on", "customer_vip": "unknown"})
    assert response.status_code == 422 and "Set at least one target" in response.content.decode()
    assert "VIP" in client.get(reverse("web:sla_policy_list")).content.decode()


def test_an_agent_sees_the_policies_but_may_not_change_them(org):
    existing = policy("Standard")
    client = signed_in(org.agent)
    page = client.get(reverse("web:sla_policy_list"))
    assert page.status_code == 200 and "Standard" in page.content.decode()
    assert reverse("web:sla_policy_create") not in page.content.decode()
    assert client.get(reverse("web:sla_policy_create")).status_code == 403
    assert client.post(reverse("web:sla_policy_edit", args=[existing.pk]), {"name": "Mine"}).status_code == 403
    assert client.get(reverse("web:business_calendar_edit", args=[existing.calendar_id])).status_code == 403
    assert SlaPolicy.objects.get().name == "Standard"


def test_the_attainment_report_per_agent(org):
    policy("Standard")
    ticket = opened(sh(2026, 3, 9, 10), assignee=org.agent)
    sla.on_public_reply(ticket, by=org.agent, at=sh(2026, 3, 9, 10, 20))
    client = signed_in(org.lead)
    response = client.get(reverse("web:sla_attainment"), {"group_by": "agent", "start": "2026-03-01",
                                                          "end": "2026-03-31"})
    page = response.content.decode()
    assert response.status_code == 200 and "王芳" in page and "100.0 %" in page
    bad = client.get(reverse("web:sla_attainment"), {"start": "2026-03-31", "end": "2026-03-01"})
    assert bad.status_code == 400
