"""The inbox rows built in Python (`inbox_rows`) are the markup the row template gave, value for value.

REFERENCE is the per-row template the tag replaced (kept beside this test, not in the app): the same tickets are
rendered through both, in English and in Chinese, with a VIP, a category, a queue, an unassigned
ticket, SLA clocks and a subject full of markup characters, and compared after folding whitespace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from loopcrm.service.services import sla_config
from tests import factories
from tests.service.test_processes_helpers import category

pytestmark = pytest.mark.django_db

REFERENCE = (Path(__file__).parent / "inbox_row_reference.html").read_text(encoding="utf-8")


def folded(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))).strip()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rows_tag_gives_the_markup_of_the_row_template(org, hotline_queue, open_ticket, language):
    calendar = sla_config.create_calendar(
        by=None, name="24x7", time_zone="Asia/Shanghai",
        weekly_hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    sla_config.create_policy(by=None, name="Standard <标准> & co", calendar=calendar, first_response_minutes=60,
                             resolution_minutes=480)
    vip = factories.customer("王总 <VIP> & \"Co\"", is_vip=True, owner=org.agent)
    plain = factories.customer("张伟", owner=org.agent)
    late = category("延迟 <送达>")
    open_ticket(vip, subject="<b>冰箱</b> & \"不制冷\"", assignee=org.agent, category=late, kind="complaint")
    open_ticket(plain, subject="Invoice copy", queue=None, by=org.agent)
    open_ticket(plain, subject="退货", priority=4)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(org.lead)

    response = client.get(reverse("web:ticket_inbox") + "?view=all")

    items = response.context["page"].items
    assert len(items) == 3 and any(getattr(ticket, "sla_clock", None) for ticket in items)
    with translation.override(language):
        expected = Template(REFERENCE).render(Context({"page": response.context["page"]}))
        built = Template("{% load workbench %}{% inbox_rows page.items %}").render(
            Context({"page": response.context["page"]}))
    assert folded(built) == folded(expected)
    assert "&lt;b&gt;冰箱&lt;/b&gt;" in built and "<b>" not in built
