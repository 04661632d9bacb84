"""Random bodies and parameters against the loyalty API: every answer is a declared 4xx or a success, never a
5xx, and whatever got through leaves the ledger exact (hypothesis, on the test database)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopcrm.loyalty import queries
from loopcrm.loyalty.models import Membership

pytestmark = pytest.mark.django_db

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "\x00", "NaN", "1e309", "-0", "1.23456", "0", "CNY", "spend", "points", "‮x", "𠮷" * 300]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
FIELDS = ["points", "idempotency_key", "reason", "name", "currency", "points_per_unit", "survey_points",
          "expiry_months", "is_active", "tiers", "rank", "threshold", "qualify_by", "version", "programme_id",
          "customer_id", "window_months", "grace_months", "points_multiplier", "priority_boost", "bogus"]
BODIES = st.dictionaries(st.sampled_from(FIELDS), ODD, max_size=6)
ALLOWED = {200, 201, 204, 400, 403, 404, 405, 409, 413, 422}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["earn", "redeem", "adjust", "evaluate-tier", "", "ledger", "statement"]),
       body=BODIES, query=st.dictionaries(st.sampled_from(["from", "to", "cursor", "limit", "sort"]),
                                          st.text(max_size=20), max_size=3))
def test_member_endpoints_never_fail(api_as, club, path, body, query):
    api = api_as("admin")
    url = f"/api/v1/loyalty/members/{club.member.pk}" + (f"/{path}" if path else "")
    if path in ("", "ledger", "statement"):
        response = api.get(url, **query)
    else:
        response = api.client.post(url, data=json.dumps(body), content_type="application/json", headers=api.headers)
    assert response.status_code in ALLOWED, (response.status_code, response.content[:300])
    assert queries.balance_matches_ledger(Membership.objects.get(pk=club.member.pk))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, target=st.sampled_from(["programmes", "programme", "tiers", "members"]))
def test_programme_endpoints_never_fail(api_as, club, body, target):
    api = api_as("admin")
    url, method = {
        "programmes": ("/api/v1/loyalty/programmes", "post"),
        "programme": (f"/api/v1/loyalty/programmes/{club.programme.pk}", "patch"),
        "tiers": (f"/api/v1/loyalty/programmes/{club.programme.pk}/tiers", "post"),
        "members": ("/api/v1/loyalty/members", "post"),
    }[target]
    response = getattr(api.client, method)(url, data=json.dumps(body), content_type="application/json",
                                           headers=api.headers)
    assert response.status_code in ALLOWED, (response.status_code, response.content[:300])
