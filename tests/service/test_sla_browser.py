"""In a real browser: an administrator sets up the Shanghai desk's calendar (Spring Festival and its 调休
Saturday), an SLA policy on it, and reads the attainment report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loopcrm.service.models import BusinessCalendar, CalendarDay, SlaPolicy
from tests import factories
from tests.web.test_browser import chromium, open_page, shot  # noqa: F401 — fixtures

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_an_admin_sets_up_a_calendar_and_a_policy_then_reads_attainment(org, live_server, open_page):  # noqa: F811
    page = open_page()
    page.goto(f"{live_server.url}/login/?next=/service/calendars/new/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", factories.PASSWORD)
    page.click("form[action^='/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/service/calendars/new/$"))
    page.fill("#id_name", "上海客服")
    page.fill("#id_time_zone", "Asia/Shanghai")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"#id_{day}", "09:00-12:00, 13:00-18:00")
    page.fill("#id_days", "2026-02-16 holiday 春节\n2026-02-14 workday 09:00-18:00 春节调休")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r"/service/calendars/$"))
    expect(page.get_by_text("春节调休")).to_be_visible()
    shot(page, "sla-01-calendars")
    calendar = BusinessCalendar.objects.get(name="上海客服")
    assert CalendarDay.objects.filter(calendar=calendar).count() == 2

    # A mistake in the hours is shown next to Wednesday, and nothing is saved.
    page.goto(f"{live_server.url}/service/calendars/{calendar.pk}/edit/")
    page.fill("#id_wed", "18:00-09:00")
    page.click("form.card button[type=submit]")
    expect(page.locator(".field.has-error")).to_contain_text("end after it starts")
    assert BusinessCalendar.objects.get(pk=calendar.pk).weekly_hours["wed"] == [["09:00", "12:00"], ["13:00", "18:00"]]

    page.goto(f"{live_server.url}/service/sla-policies/new/")
    page.fill("#id_name", "投诉 Complaints")
    page.check("input[name=kinds][value=complaint]")
    page.fill("#id_first_response_minutes", "120")
    page.fill("#id_resolution_minutes", "1440")
    page.select_option("#id_calendar", str(calendar.pk))
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r"/service/sla-policies/$"))
    expect(page.get_by_role("link", name="投诉 Complaints")).to_be_visible()
    shot(page, "sla-02-policies")
    policy = SlaPolicy.objects.get(name="投诉 Complaints")
    assert (policy.kinds, policy.first_response_minutes, policy.calendar_id) == (["complaint"], 120, calendar.pk)

    page.get_by_role("link", name="SLA attainment").click()
    page.wait_for_url(re.compile(r"/service/sla-attainment/"))
    expect(page.get_by_text("No SLA targets started in this period")).to_be_visible()
