"""Process mining through the API (/api/v1/process-mining/…) and the process map page, on the story of
tests/analytics/test_mining_eventlog.py (two repair tickets; B's diagnose took twice its target)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.analytics.test_mining_eventlog import WINDOW, build_story

pytestmark = pytest.mark.django_db


def test_dfg_endpoint(org, api_as):
    build_story(org)
    response = api_as("exec").get("process-mining/dfg", **WINDOW)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["cases"], body["filters"]["start"]) == (2, "2026-11-01")
    nodes = {n["activity"]: n for n in body["nodes"]}
    assert nodes["step:diagnose"]["name"] == "Diagnose 诊断"
    assert nodes["step:diagnose"]["target"] == 3600
    assert nodes["step:diagnose"]["duration"]["median"] == 82.5 * 60
    assert nodes["opened"]["starts"] == 2
    edges = {(e["source"], e["target"]): e for e in body["edges"]}
    assert edges[("step:repair", "status:resolved")]["count"] == 1  # A; B went on to its call-back
    assert edges[("opened", "routed")]["cases"] == 2


def test_bottlenecks_rework_variants_and_conformance_endpoints(org, api_as):
    build_story(org)
    client = api_as("lead")
    ranking = client.get("process-mining/bottlenecks", **WINDOW, process="repair", view="steps").json()
    assert ranking["items"][0]["name"] == "Repair 维修"  # 3 h 15 + 1 h
    diagnose = next(i for i in ranking["items"] if i["source"] == "step:diagnose" and i["kind"] == "activity")
    assert (diagnose["over_target"], diagnose["over_target_share"], diagnose["median_vs_target"]) == (1, 0.5, 1.375)

    rework = client.get("process-mining/rework", **WINDOW).json()
    assert (rework["reopened_cases"], rework["reopenings"]) == (1, 1)
    assert rework["agent_ping_pong"] == [{"a": org.agent.pk, "b": org.lead.pk, "count": 1, "cases": 1}]
    assert rework["agent_ping_pong_cases"] == 1

    variants = client.get("process-mining/variants", **WINDOW, view="steps", top="1").json()
    assert (variants["cases"], variants["distinct"], variants["other_cases"]) == (2, 2, 1)
    assert variants["top"][0]["cases"] == 1

    conformance = client.get("process-mining/conformance", **WINDOW, process="repair").json()
    assert (conformance["version"], conformance["cases"], conformance["fitness"]) == (1, 2, 1.0)
    assert [s["skipped"] for s in conformance["steps"]] == [0, 0, 0]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("process-mining/dfg", {"start": "yesterday"}, "start"),
    ("process-mining/dfg", {"kind": "gossip"}, "kind"),
    ("process-mining/variants", {"top": "0"}, "top"),
    ("process-mining/bottlenecks", {"top": "many"}, "top"),
    ("process-mining/conformance", {}, "process"),
    ("process-mining/rework", {"process": "nope"}, "process"),
])
def test_bad_input_is_a_422_naming_the_field(org, api_as, path, params, field):
    response = api_as("exec").get(path, **params)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert field in str(body)


def test_roles_without_improvement_view_are_refused(org, api_as):
    from loopcrm.accounts.models import Role
    from loopcrm.accounts.permissions import can

    blocked = [role for role in Role.values if not can(factories.user(f"u-{role}", role=role, department=org.head),
                                                       "improvement", "view")]
    for role in blocked:
        user = factories.user(f"blocked-{role}", role=role, department=org.head)
        from tests.conftest import ApiClient

        assert ApiClient(user).get("process-mining/dfg").status_code in (403, 404)
    assert api_as("agent").get("process-mining/dfg").status_code == 200


def test_process_map_page(org, client):
    build_story(org)
    client.force_login(org.exec)
    url = reverse("web:process_map")
    page = client.get(url, {**WINDOW, "process": "repair"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="process-map"' in html
    assert 'data-activity="step:diagnose" data-grade="warn"' in html  # median 82.5 min vs 60: amber up to 90
    assert 'class="pm-node pm-hot" data-activity="step:repair"' in html  # the step with the most time
    assert "Diagnose 诊断" in html and 'id="mining-conformance"' in html and 'id="mining-variants"' in html
    assert "王芳 → 李娜 → 王芳" in html  # agent ping-pong

    fragment = client.get(url, {**WINDOW, "view": "steps"}, headers={"HX-Request": "true",
                                                                     "HX-Target": "mining-results"})
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content and b'id="process-map"' in fragment.content

    bad = client.get(url, {"start": "nope"})
    assert bad.status_code == 400
    assert b'data-field="start"' in bad.content


def test_process_map_page_needs_a_login_and_the_role(org, client):
    url = reverse("web:process_map")
    assert client.get(url).status_code == 302
