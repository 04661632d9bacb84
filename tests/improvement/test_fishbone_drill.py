"""The complaints behind a count of the fishbone: a cause brings its sub-causes, a branch all its causes,
the period and scope are the fishbone's, the user's ticket scope holds; through the API and the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import ApiClient
from tests.factories import signed_in
from tests.improvement.diagram_support import cause, complaint

SEPT = {"start": "2026-09-01", "end": "2026-09-30"}



@pytest.fixture
def data(org):
    waiting = cause("等待太久", "process", code="waiting")
    courier = cause("快递延误", "partner", code="courier")
    late_van = cause("车辆晚到", "partner", parent=courier, code="late-van")
    rude = cause("态度差", "people", code="rude")
    tickets = {
        "waiting_sep2": complaint("2026-09-02", waiting, department=org.service, subject="等了一小时"),
        "waiting_sep3": complaint("2026-09-03", waiting, department=org.sales_east, subject="Waited too long"),
        "late_van": complaint("2026-09-04", late_van, department=org.service, subject="车没来"),
        "courier": complaint("2026-09-05", courier, department=org.service, subject="Parcel late"),
        "unclassified": complaint("2026-09-06", None, department=org.service, subject="Not yet analysed"),
        "august": complaint("2026-08-04", waiting, department=org.service, subject="August"),
        "inquiry": complaint("2026-09-07", rude, department=org.service, kind="inquiry", subject="Not a complaint"),
    }
    return {"waiting": waiting, "courier": courier, "late_van": late_van, "rude": rude, "tickets": tickets}


def ids(body) -> list[int]:
    return [row["id"] for row in body["rows"]]


def test_a_cause_lists_its_complaints_and_those_of_its_sub_causes_newest_first(qm, data):
    api = ApiClient(qm)
    tickets = data["tickets"]
    body = api.get("fishbone/complaints", cause_id=data["courier"].pk, **SEPT).json()
    assert body["label"] == "快递延误" and body["total"] == 2
    assert ids(body) == [tickets["courier"].pk, tickets["late_van"].pk]
    assert body["rows"][1]["root_cause"] == "车辆晚到" and body["rows"][1]["customer"]

    only_sub = api.get("fishbone/complaints", cause_id=data["late_van"].pk, **SEPT).json()
    assert ids(only_sub) == [tickets["late_van"].pk]


def test_branch_period_unclassified_and_limit(qm, data):
    api = ApiClient(qm)
    tickets = data["tickets"]
    partner = api.get("fishbone/complaints", branch="partner", **SEPT).json()
    assert partner["total"] == 2 and set(ids(partner)) == {tickets["courier"].pk, tickets["late_van"].pk}
    # The August complaint is outside the period; the inquiry is not a complaint.
    waiting = api.get("fishbone/complaints", cause_id=data["waiting"].pk, **SEPT).json()
    assert ids(waiting) == [tickets["waiting_sep3"].pk, tickets["waiting_sep2"].pk]
    assert api.get("fishbone/complaints", branch="people", **SEPT).json()["total"] == 0
    unclassified = api.get("fishbone/complaints", unclassified="true", **SEPT).json()
    assert ids(unclassified) == [tickets["unclassified"].pk]
    first = api.get("fishbone/complaints", cause_id=data["waiting"].pk, limit=1, **SEPT).json()
    assert first["total"] == 2 and ids(first) == [tickets["waiting_sep3"].pk]


def test_the_counts_agree_with_the_fishbone(qm, data):
    api = ApiClient(qm)
    fishbone = api.get("fishbone", **SEPT).json()
    for branch in fishbone["branches"]:
        drilled = api.get("fishbone/complaints", branch=branch["branch"], **SEPT).json()
        assert drilled["total"] == branch["count"], branch["branch"]
    assert api.get("fishbone/complaints", unclassified="true", **SEPT).json()["total"] == fishbone["unclassified"]


def test_the_department_filter_and_the_agents_own_scope(org, qm, data):
    scoped = ApiClient(qm).get("fishbone/complaints", cause_id=data["waiting"].pk, department_id=org.sales_east.pk,
                               **SEPT).json()
    assert ids(scoped) == [data["tickets"]["waiting_sep3"].pk]
    # An agent of the Service department sees only that department's complaints behind the same cause.
    agent = ApiClient(org.agent).get("fishbone/complaints", cause_id=data["waiting"].pk, **SEPT).json()
    assert ids(agent) == [data["tickets"]["waiting_sep2"].pk]


@pytest.mark.parametrize("params, status, field", [
    ({}, 422, "cause_id"),
    ({"branch": "partner", "unclassified": "true"}, 422, "cause_id"),
    ({"branch": "weather"}, 422, "branch"),
    ({"cause_id": 999_999}, 404, "cause_id"),
    ({"cause_id": "abc"}, 422, "cause_id"),
    ({"branch": "partner", "start": "2026-09-30", "end": "2026-09-01"}, 422, "start"),
])
def test_bad_selections_name_the_field(qm, data, params, status, field):
    response = ApiClient(qm).get("fishbone/complaints", **params)
    assert response.status_code == status, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_roles_that_may_not_see_the_engine_are_refused(org, data):
    from tests import factories

    seller = factories.user("seller", role="sales", department=org.sales_east)
    assert ApiClient(seller).get("fishbone/complaints", branch="partner", **SEPT).status_code == 403
    client = Client()
    client.force_login(seller)
    assert client.get(reverse("web:fishbone_complaints"), {"branch": "partner", **SEPT}).status_code == 403



def test_the_fishbone_page_links_each_count_to_its_complaints(qm, data):
    html = signed_in(qm).get(reverse("web:fishbone"), SEPT).content.decode()
    url = reverse("web:fishbone_complaints")
    assert f'hx-get="{url}?start=2026-09-01&amp;end=2026-09-30&amp;cause_id={data["courier"].pk}"' in html
    assert f"{url}?start=2026-09-01&amp;end=2026-09-30&amp;branch=partner" in html
    assert "unclassified=on" in html and 'id="fishbone-drill"' in html


def test_the_drill_answers_a_fragment_to_htmx_and_a_page_otherwise(qm, data):
    client = signed_in(qm)
    url = reverse("web:fishbone_complaints")
    params = {"cause_id": data["courier"].pk, **SEPT}
    fragment = client.get(url, params, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section class="card" id="fishbone-drill-result"') and "<html" not in html
    assert reverse("web:ticket_detail", args=[data["tickets"]["late_van"].pk]) in html and "车没来" in html
    page = client.get(url, params)
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert 'href="/improvement/fishbone/?start=2026-09-01&amp;end=2026-09-30"' in page.content.decode()


def test_a_bad_drill_shows_the_reason(qm, data):
    response = signed_in(qm).get(reverse("web:fishbone_complaints"), {"branch": "weather", **SEPT},
                                  headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "weather" in response.content.decode()


def test_a_drill_without_a_choice_says_what_is_missing(qm, data):
    response = signed_in(qm).get(reverse("web:fishbone_complaints"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Choose one branch, one cause or the unclassified complaints." in response.content.decode()
