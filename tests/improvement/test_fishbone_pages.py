"""The fishbone page: filters re-draw it through htmx, the drawing and the counts table, pinning to an open
cycle, and the 5-whys editor on a pin; roles that may only look see no forms; others are refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.improvement.models import FishbonePin, WhyNote
from tests import factories
from tests.factories import signed_in
from tests.improvement.diagram_support import cause, complaint, cycle

SEPT = {"start": "2026-09-01", "end": "2026-09-30"}



@pytest.fixture
def data(org):
    waiting = cause("等待太久", "process", code="waiting")
    complaint("2026-09-02", waiting, department=org.service)
    complaint("2026-09-03", waiting, department=org.sales_east)
    complaint("2026-08-03", waiting, department=org.service)
    return {"waiting": waiting}



def test_the_page_draws_the_fishbone_and_the_counts(qm, data):
    response = signed_in(qm).get(reverse("web:fishbone"), SEPT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'class="fishbone"' in html
    assert 'id="fishbone-counts"' in html and "等待太久" in html
    assert "format=svg" in html and "format=png" in html  # exports carry the filters
    assert "start=2026-09-01" in html


def test_filters_answer_an_htmx_fragment(org, qm, data):
    response = signed_in(qm).get(reverse("web:fishbone"), {**SEPT, "department_id": org.service.pk},
                                  headers={"HX-Request": "true", "HX-Target": "fishbone-result"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="fishbone-result">') and "<html" not in html
    assert response.context["fishbone"].total == 1


def test_a_bad_filter_is_shown_on_its_field(qm, data):
    response = signed_in(qm).get(reverse("web:fishbone"), {"start": "2026-09-30", "end": "2026-09-01"})
    assert response.status_code == 422
    assert response.context["form"].errors["start"]


def test_pin_to_an_open_cycle_then_write_whys(qm, data):
    client = signed_in(qm)
    plan = cycle(qm)
    cycle(qm, title="已关闭", phase="closed")
    page = client.get(reverse("web:fishbone"), SEPT).content.decode()
    assert plan.title in page and "已关闭" not in page  # only open cycles are offered
    response = client.post(reverse("web:fishbone_pin") + "?start=2026-09-01&end=2026-09-30",
                           {"cycle_id": plan.pk})
    pin = FishbonePin.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:fishbone_pin_detail", args=[pin.pk])
    assert pin.snapshot["total"] == 2 and pin.created_by == qm
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and 'id="why-form"' in detail.content.decode()
    # a why through htmx answers the 5-whys fragment
    response = client.post(reverse("web:fishbone_why", args=[pin.pk]),
                           {"chain": "process|waiting", "position": 1, "text": "高峰期排队"},
                           headers={"HX-Request": "true", "HX-Target": "whys"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="whys"') and "高峰期排队" in html
    # a gap in the chain is refused on the field
    response = client.post(reverse("web:fishbone_why", args=[pin.pk]),
                           {"chain": "process|waiting", "position": 3, "text": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and response.context["why_form"].errors["position"]
    note = WhyNote.objects.get()
    response = client.post(reverse("web:fishbone_why_delete", args=[pin.pk, note.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and not WhyNote.objects.exists()


def test_roles_that_may_only_look(org, qm, data):
    pin = FishbonePin.objects.create(cycle=cycle(qm), effect="E", period_start="2026-09-01",
                                     period_end="2026-09-30", snapshot={"branches": [], "total": 0, "effect": "E"},
                                     created_at="2026-10-01T00:00Z")
    client = signed_in(org.exec)
    page = client.get(reverse("web:fishbone"), SEPT).content.decode()
    assert "<svg" in page and 'id="pin-form"' not in page
    assert 'id="why-form"' not in client.get(reverse("web:fishbone_pin_detail", args=[pin.pk])).content.decode()
    assert client.post(reverse("web:fishbone_pin"), {"cycle_id": pin.cycle_id}).status_code == 403
    assert client.post(reverse("web:fishbone_why", args=[pin.pk]),
                       {"chain": "process|", "position": 1, "text": "x"}).status_code == 403
    assert FishbonePin.objects.count() == 1 and not WhyNote.objects.exists()


def test_others_are_refused_and_strangers_sent_to_sign_in(org, data):
    seller = factories.user("seller", role="sales", department=org.sales_east)
    assert signed_in(seller).get(reverse("web:fishbone")).status_code == 403
    assert signed_in(org.admin).get(reverse("web:fishbone_pin_detail", args=[999999])).status_code == 404
    response = Client().get(reverse("web:fishbone"))
    assert response.status_code == 302 and "login" in response["Location"]
