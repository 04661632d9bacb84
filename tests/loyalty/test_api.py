"""The loyalty API as clients use it: programmes, enrolment, the ledger, statements; scope and permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopcrm.loyalty.models import Membership, PointsEntry, Programme
from tests import factories

pytestmark = pytest.mark.django_db


def snapshot():
    return (list(PointsEntry.objects.order_by("id").values_list("id", "amount")),
            list(Membership.objects.order_by("id").values_list("id", "balance", "tier_id")))


def test_marketing_creates_a_programme_with_tiers(api_as, org):
    marketer = factories.user("marketer", role="marketing", department=org.head)
    from tests.conftest import ApiClient
    api = ApiClient(marketer)
    response = api.post("loyalty/programmes", json={
        "name": "星享会 Star Club", "currency": "CNY", "points_per_unit": "2", "expiry_months": 24,
        "tiers": [{"name": "Member", "rank": 0}, {"name": "VIP", "rank": 1, "threshold": "8000",
                                                   "points_multiplier": "1.25", "dedicated_agent": True}],
    })
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [t["name"] for t in body["tiers"]] == ["Member", "VIP"] and body["points_per_unit"] == "2.0000"
    assert response["Location"] == f"/api/v1/loyalty/programmes/{body['id']}"
    listed = api.get("loyalty/programmes").json()
    assert [p["name"] for p in listed["items"]] == ["星享会 Star Club"]


def test_programme_edits_need_the_version_read(api_as, club):
    api = api_as("admin")
    url = f"loyalty/programmes/{club.programme.pk}"
    assert api.patch(url, json={"version": 1, "survey_points": 30}).status_code == 200
    stale = api.patch(url, json={"version": 1, "survey_points": 40})
    assert stale.status_code == 409
    assert Programme.objects.get(pk=club.programme.pk).survey_points == 30


def test_a_programme_with_members_cannot_be_deleted(api_as, club):
    response = api_as("admin").delete(f"loyalty/programmes/{club.programme.pk}")
    assert response.status_code == 409
    assert Programme.objects.filter(pk=club.programme.pk).exists()


def test_tiers_are_added_changed_and_removed(api_as, club):
    api = api_as("admin")
    base = f"loyalty/programmes/{club.programme.pk}/tiers"
    created = api.post(base, json={"name": "黑金 Black", "rank": 3, "threshold": "100000"})
    assert created.status_code == 201
    tier_id = created.json()["id"]
    assert api.patch(f"{base}/{tier_id}", json={"priority_boost": 50}).json()["priority_boost"] == 50
    assert api.delete(f"{base}/{tier_id}").status_code == 204
    assert api.delete(f"{base}/{club.silver.pk}").status_code == 409  # members hold it


def test_earn_redeem_adjust_and_the_ledger(api_as, club):
    api = api_as("admin")
    base = f"loyalty/members/{club.member.pk}"
    earned = api.post(f"{base}/earn", json={"points": 500, "idempotency_key": "gift-1", "reason": "生日礼 Birthday"})
    assert earned.status_code == 201 and earned.json()["balance_after"] == 500
    replay = api.post(f"{base}/earn", json={"points": 500, "idempotency_key": "gift-1", "reason": "生日礼 Birthday"})
    assert replay.status_code == 200 and replay.json()["id"] == earned.json()["id"]
    assert api.post(f"{base}/redeem", json={"points": 120}).status_code == 201
    assert api.post(f"{base}/adjust", json={"points": -30, "reason": "Correction"}).status_code == 201
    member = api.get(base).json()
    assert member["balance"] == 350 and member["tier"]["name"] == "银卡 Silver"
    page = api.get(f"{base}/ledger", limit=2).json()
    assert [e["amount"] for e in page["items"]] == [-30, -120] and page["next_cursor"]
    rest = api.get(f"{base}/ledger", limit=2, cursor=page["next_cursor"]).json()
    assert [e["amount"] for e in rest["items"]] == [500] and rest["next_cursor"] is None


def test_the_idempotency_key_header_replays_a_redemption(api_as, club, org):
    api = api_as("admin")
    base = f"loyalty/members/{club.member.pk}"
    api.post(f"{base}/earn", json={"points": 100, "idempotency_key": "k"})
    first = api.post(f"{base}/redeem", json={"points": 40}, headers={"Idempotency-Key": "till-9-0001"})
    second = api.post(f"{base}/redeem", json={"points": 40}, headers={"Idempotency-Key": "till-9-0001"})
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert Membership.objects.get(pk=club.member.pk).balance == 60


def test_overdrawing_answers_422_and_changes_nothing(api_as, club):
    api = api_as("admin")
    before = snapshot()
    response = api.post(f"loyalty/members/{club.member.pk}/redeem", json={"points": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "points"
    assert snapshot() == before


@pytest.mark.parametrize(("path", "body", "field"), [
    ("earn", {"points": 10}, "idempotency_key"),
    ("earn", {"points": 0, "idempotency_key": "k"}, "points"),
    ("earn", {"points": "10", "idempotency_key": "k"}, "points"),
    ("earn", {"points": 10.5, "idempotency_key": "k"}, "points"),
    ("earn", {"points": 10, "idempotency_key": ""}, "idempotency_key"),
    ("earn", {"points": 10, "idempotency_key": "a\u0000b"}, "idempotency_key"),
    ("earn", {"points": 10, "idempotency_key": "k", "reason": "x" * 201}, "reason"),
    ("earn", {"points": 10, "idempotency_key": "k", "bonus": 1}, "bonus"),
    ("earn", {"points": 2**40, "idempotency_key": "k"}, "points"),
    ("redeem", {"points": -5}, "points"),
    ("redeem", {"points": True}, "points"),
    ("adjust", {"points": 5}, "reason"),
    ("adjust", {"points": 0, "reason": "nothing"}, "points"),
    ("adjust", {"points": 5, "reason": "   "}, "reason"),
])
def test_bad_input_is_named_and_changes_nothing(api_as, club, path, body, field):
    before = snapshot()
    response = api_as("admin").post(f"loyalty/members/{club.member.pk}/{path}", json=body)
    assert response.status_code == 422, response.json()
    assert field in {e["field"] for e in response.json()["errors"]}
    assert snapshot() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "", "tiers": []}, "name"),
    ({"name": "X", "currency": "cny"}, "currency"),
    ({"name": "X", "points_per_unit": "-1"}, "points_per_unit"),
    ({"name": "X", "points_per_unit": "NaN"}, "points_per_unit"),
    ({"name": "X", "expiry_months": 1000}, "expiry_months"),
    ({"name": "X", "tiers": [{"name": "A", "rank": 0, "threshold": "5"}]}, "tiers.0.threshold"),
    ({"name": "X", "tiers": [{"name": "A", "rank": 1, "qualify_by": "visits"}]}, "tiers.0.qualify_by"),
])
def test_bad_programmes_are_refused(api_as, org, body, field):
    response = api_as("admin").post("loyalty/programmes", json=body)
    assert response.status_code == 422, response.json()
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Programme.objects.exists()


def test_enrol_through_the_api(api_as, club, org):
    api = api_as("admin")
    newcomer = factories.customer("陈静", owner=org.agent)
    response = api.post("loyalty/members", json={"programme_id": club.programme.pk, "customer_id": newcomer.pk})
    assert response.status_code == 201 and response.json()["tier"]["rank"] == 0
    again = api.post("loyalty/members", json={"programme_id": club.programme.pk, "customer_id": newcomer.pk})
    assert again.status_code == 409 and again.json()["existing_id"] == response.json()["id"]
    missing = api.post("loyalty/members", json={"programme_id": club.programme.pk, "customer_id": 2**62})
    assert missing.status_code == 404


def test_a_statement_for_a_period(api_as, club, org):
    now = timezone.now()
    api = api_as("admin")
    from loopcrm.loyalty import services
    services.earn_points(club.member, points=300, idempotency_key="a", by=None, at=now - dt.timedelta(days=40))
    services.redeem_points(club.member, points=50, by=None, at=now - dt.timedelta(days=5))
    params = {"from": (now - dt.timedelta(days=30)).isoformat(), "to": now.isoformat()}
    body = api.get(f"loyalty/members/{club.member.pk}/statement", **params).json()
    assert (body["opening"], body["closing"]) == (300, 250)
    assert [e["amount"] for e in body["entries"]] == [-50]
    backwards = api.get(f"loyalty/members/{club.member.pk}/statement",
                        **{"from": params["to"], "to": params["from"]})
    assert backwards.status_code == 422
    assert api.get(f"loyalty/members/{club.member.pk}/statement", **{"from": "yesterday"}).status_code == 422


# --- scope and permissions -------------------------------------------------------------------------

def test_the_list_shows_only_members_whose_customers_one_may_see(api_as, club):
    # An agent sees every customer, Tom of Sales East too (decision 0008); a sales rep only their team's.
    seen = api_as("agent").get("loyalty/members").json()
    assert {m["id"] for m in seen["items"]} == {club.member.pk, club.tom_member.pk}
    assert api_as("east_rep").get("loyalty/members").json()["items"] == []
    everyone = api_as("admin").get("loyalty/members", programme_id=club.programme.pk).json()
    assert {m["id"] for m in everyone["items"]} == {club.member.pk, club.tom_member.pk}
    assert api_as("admin").get("loyalty/members", sort="customer").status_code == 400


@pytest.mark.parametrize("path", ["", "/ledger", "/statement?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"])
def test_a_member_out_of_scope_is_missing(api_as, club, path):
    response = api_as("east_rep").get(f"/api/v1/loyalty/members/{club.tom_member.pk}{path}")
    assert response.status_code == 404


@pytest.mark.parametrize(("persona", "member", "status"), [
    ("agent", "member", 403),        # sees 张伟 but may not move points
    ("agent", "tom_member", 403),    # another department's customer: seen (decision 0008), not moved
    ("other_agent", "member", 403),
    ("east_rep", "member", 404),     # 张伟 is out of a sales rep's sight
    ("lead", "member", 403),
    ("exec", "tom_member", 403),
    ("admin", "member", 201),
])
@pytest.mark.parametrize("action", ["earn", "redeem", "adjust"])
def test_permission_matrix_for_movements(api_as, club, persona, member, status, action):
    from loopcrm.loyalty import services
    services.earn_points(getattr(club, member), points=50, idempotency_key="seed", by=None)
    client = api_as(persona)
    before = snapshot()
    body = {"earn": {"points": 5, "idempotency_key": "p"}, "redeem": {"points": 5},
            "adjust": {"points": 5, "reason": "r"}}[action]
    response = client.post(f"loyalty/members/{getattr(club, member).pk}/{action}", json=body)
    assert response.status_code == status, response.json()
    if status != 201:
        assert snapshot() == before


def test_read_only_roles_cannot_create_programmes_or_enrol(api_as, club, org):
    before = (Programme.objects.count(), snapshot())
    assert api_as("agent").post("loyalty/programmes", json={"name": "Mine"}).status_code == 403
    assert api_as("exec").post("loyalty/members", json={"programme_id": club.programme.pk,
                                                         "customer_id": club.zhang.pk}).status_code == 403
    assert api_as("lead").patch(f"loyalty/programmes/{club.programme.pk}",
                                json={"version": 1, "name": "X"}).status_code == 403
    assert (Programme.objects.count(), snapshot()) == before


def test_ids_beyond_64_bits_are_missing_not_errors(api_as, club):
    assert api_as("admin").get(f"/api/v1/loyalty/members/{2**70}").status_code in (404, 422)
    assert api_as("admin").get(f"/api/v1/loyalty/programmes/{2**64}").status_code in (404, 422)


def test_anonymous_is_refused(club):
    from tests.conftest import ApiClient
    assert ApiClient(None).get("loyalty/members").status_code == 401


def test_lists_cost_the_same_whatever_their_length(api_as, club, org, django_assert_max_num_queries):
    from loopcrm.loyalty import services
    api = api_as("agent")
    for n in range(40):
        services.earn_points(club.member, points=5, idempotency_key=f"q{n}", by=None)
        member = services.enrol(factories.customer(f"客户{n}", owner=org.agent), club.programme, by=None)
        services.earn_points(member, points=5, idempotency_key=f"m{n}", by=None)
    # token auth, then the page: no query per row. 42: Tom of Sales East is in an agent's sight too (0008).
    with django_assert_max_num_queries(8):
        assert len(api.get("loyalty/members", limit=50).json()["items"]) == 42
    with django_assert_max_num_queries(8):
        assert len(api.get(f"loyalty/members/{club.member.pk}/ledger", limit=50).json()["items"]) == 40
    with django_assert_max_num_queries(8):
        assert len(api.get("loyalty/programmes").json()["items"]) == 1


def test_evaluate_a_tier_by_hand(api_as, club, org):
    factories.order(club.zhang, lines=[(factories.product(price="6000"), 1)])
    assert api_as("agent").post(f"loyalty/members/{club.member.pk}/evaluate-tier").status_code == 403
    response = api_as("admin").post(f"loyalty/members/{club.member.pk}/evaluate-tier")
    assert response.status_code == 200 and response.json()["tier"]["name"] == "金卡 Gold"
