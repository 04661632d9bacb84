"""A PDCA cycle end to end through the API: plan → actions → Check computed (significant on constructed
tickets) → act standardise publishes a process version; errors are RFC 9457 with field names."""

from __future__ import annotations

import pytest

from loopcrm.accounts.models import Role
from loopcrm.improvement.models import Cycle
from loopcrm.service.models import ProcessVersion
from tests import factories
from tests.conftest import ApiClient
from tests.improvement import cycles_support as data


@pytest.fixture
def quality(org):
    return factories.user("zhoumin", role=Role.QUALITY_MANAGER, department=org.head, display_name="周敏")


@pytest.fixture
def api(quality):
    return ApiClient(quality)


def plan_payload(**overrides):
    windows = data.windows()
    payload = {"title": "Faster first response 首次响应提速", "metric_key": "first_response_minutes",
               "baseline_start": windows["baseline_start"].isoformat(),
               "baseline_end": windows["baseline_end"].isoformat(), "target_value": 30,
               "problem": "Customers wait an hour for the first reply.", "hypothesis": "Triage first."}
    payload.update(overrides)
    return payload


def test_a_cycle_end_to_end(org, quality, api):
    data.slow_then_fast()
    definition, pilot = data.process_with_pilot(quality)

    # Plan
    response = api.post("cycles", plan_payload(member_ids=[org.agent.pk], department_ids=[org.service.pk]))
    assert response.status_code == 201, response.json()
    cycle = response.json()
    assert cycle["phase"] == "plan" and cycle["baseline_n"] == 224 and cycle["baseline_value"] > 50
    assert cycle["member_ids"] == [org.agent.pk] and cycle["department_ids"] == [org.service.pk]
    cid = cycle["id"]
    assert api.post(f"cycles/{cid}/phase", {"phase": "do"}).status_code == 200

    # Do
    response = api.post(f"cycles/{cid}/actions", {"title": "Triage at intake 受理前分诊", "owner_id": org.lead.pk,
                                                 "due_date": data.day(-25).isoformat(),
                                                 "process_version_id": pilot.pk})
    assert response.status_code == 201, response.json()
    action = response.json()
    refused = api.post(f"cycles/{cid}/phase", {"phase": "check"})
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "actions"
    assert api.patch(f"cycles/{cid}/actions/{action['id']}", {"status": "done"}).json()["status"] == "done"
    windows = data.windows()
    assert api.patch(f"cycles/{cid}", {"after_start": windows["after_start"].isoformat(),
                                       "after_end": windows["after_end"].isoformat()}).status_code == 200
    assert api.post(f"cycles/{cid}/phase", {"phase": "check"}).json()["phase"] == "check"

    # Check
    response = api.post(f"cycles/{cid}/check")
    assert response.status_code == 201, response.json()
    check = response.json()
    assert check["test"] == "mann_whitney_u" and check["significant"] and check["improved"]
    assert check["p_value"] < 0.001 and check["effect"] < 0 and check["ci_high"] < 0
    assert check["sustained_shift"] is True
    assert "Mann–Whitney" in check["why"] and check["explanation"]
    assert api.get(f"cycles/{cid}/check").json()["id"] == check["id"]

    # Act
    assert api.post(f"cycles/{cid}/phase", {"phase": "act"}).status_code == 200
    response = api.post(f"cycles/{cid}/standardise", {"lesson_text": "Triage first halves the first response.",
                                                      "tags": ["triage"]})
    assert response.status_code == 200, response.json()
    assert response.json()["phase"] == "closed" and response.json()["decision"] == "standardise"
    current = ProcessVersion.objects.get(definition=definition, is_current=True)
    assert current.number == pilot.number + 1
    lessons = api.get("lessons", q="triage").json()["items"]
    assert [lesson["cycle_id"] for lesson in lessons] == [cid]
    history = [event["kind"] for event in api.get(f"cycles/{cid}/history").json()]
    assert history[0] == "standardised" and history[-1] == "planned"


def test_errors_name_the_field(api):
    response = api.post("cycles", plan_payload(metric_key="happiness"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "metric_key"
    response = api.post("cycles", plan_payload(baseline_start="yesterday"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "baseline_start"
    response = api.post("cycles", plan_payload(owner_id=999_999))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "owner_id"
    response = api.post("cycles", plan_payload(colour="red"))
    assert response.status_code == 422
    assert not Cycle.objects.exists()


def test_adjust_answers_the_next_cycle(api, quality):
    data.slow_then_fast()
    cid = api.post("cycles", plan_payload()).json()["id"]
    api.post(f"cycles/{cid}/phase", {"phase": "do"})
    action = api.post(f"cycles/{cid}/actions", {"title": "Script", "status": "done"}).json()
    assert action["status"] == "done"
    windows = data.windows()
    api.patch(f"cycles/{cid}", {"after_start": windows["after_start"].isoformat(),
                                "after_end": windows["after_end"].isoformat()})
    api.post(f"cycles/{cid}/phase", {"phase": "check"})
    api.post(f"cycles/{cid}/check")
    api.post(f"cycles/{cid}/phase", {"phase": "act"})
    response = api.post(f"cycles/{cid}/adjust", {"note": "Halfway there"})
    assert response.status_code == 201
    assert response.json()["previous_id"] == cid and response.json()["phase"] == "plan"


def test_list_filter_and_delete(api):
    data.slow_then_fast()
    first = api.post("cycles", plan_payload(title="One")).json()["id"]
    second = api.post("cycles", plan_payload(title="Two")).json()["id"]
    api.post(f"cycles/{second}/phase", {"phase": "do"})
    assert [c["id"] for c in api.get("cycles").json()["items"]] == [second, first]
    assert [c["id"] for c in api.get("cycles", phase="do").json()["items"]] == [second]
    assert [c["id"] for c in api.get("cycles", q="One").json()["items"]] == [first]
    assert api.delete(f"cycles/{first}").status_code == 204
    assert api.delete(f"cycles/{second}").status_code == 422  # past Plan: close it instead
    assert api.get(f"cycles/{first}").status_code == 404


def test_roles(org, api, api_as):
    data.slow_then_fast()
    cid = api.post("cycles", plan_payload()).json()["id"]
    agent = api_as("agent")
    assert agent.get(f"cycles/{cid}").status_code == 200
    assert agent.post(f"cycles/{cid}/phase", {"phase": "do"}).status_code == 403
    assert agent.post("cycles", plan_payload()).status_code == 403
    assert Cycle.objects.get(pk=cid).phase == "plan" and Cycle.objects.count() == 1
    seller = ApiClient(factories.user("seller", role=Role.SALES, department=org.sales_east))
    assert seller.get(f"cycles/{cid}").status_code == 404
    assert seller.get("cycles").json()["items"] == []


def test_lessons_crud(api):
    response = api.post("lessons", {"title": "分诊先行", "text": "把分诊放在受理之前。", "tags": ["流程"]})
    assert response.status_code == 201
    lid = response.json()["id"]
    assert api.patch(f"lessons/{lid}", {"text": "分诊放在受理之前，首次响应减半。"}).status_code == 200
    assert [row["id"] for row in api.get("lessons", q="首次响应").json()["items"]] == [lid]
    assert api.get(f"lessons/{lid}").json()["tags"] == ["流程"]
