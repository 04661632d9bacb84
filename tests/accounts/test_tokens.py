"""Personal API tokens: shown once, kept only as a hash, dead once revoked or expired."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from loopcrm.accounts import services
from loopcrm.accounts.models import ApiToken
from loopcrm.core.models import AuditEntry
from tests.commerce.util import ok, problem
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

PERSONAS = ["admin", "lead", "agent", "other_agent", "exec"]


def tokens() -> list[tuple]:
    return sorted(ApiToken.objects.values_list("id", "user_id", "name", "revoked_at", "token_hash"))


def test_a_new_token_is_shown_once_and_stored_only_as_a_hash(api_as, org):
    agent = api_as("agent")
    created = ok(agent.post("tokens", {"name": "ERP 同步", "expires_at": (timezone.now() + dt.timedelta(days=30))
                                       .isoformat()}), 201)
    raw = created["token"]
    assert raw.startswith("lcrm_") and len(raw) > 40 and created["prefix"] == raw[:12]
    row = ApiToken.objects.get(pk=created["id"])
    assert row.token_hash == services.hash_token(raw) and raw not in row.token_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        assert not any(raw in str(value) for record in cursor.fetchall() for value in record)
    assert raw not in str(list(AuditEntry.objects.values_list("changes", "note", "object_repr")))
    listed = ok(agent.get("tokens"))["items"]
    assert created["id"] in [t["id"] for t in listed]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    # The new token works on its own.
    assert ok(ApiClient(None, raw_token=raw).get("users/me"))["username"] == "agent"


def test_using_a_token_marks_when_it_was_last_used(org):
    token, raw = services.create_token(user=org.agent, name="script")
    assert token.last_used_at is None
    ok(ApiClient(None, raw_token=raw).get("users/me"))
    token.refresh_from_db()
    assert abs(token.last_used_at - timezone.now()) < dt.timedelta(seconds=5)


def test_a_revoked_token_answers_401_and_revoking_again_changes_nothing(api_as, org):
    agent = api_as("agent")
    created = ok(agent.post("tokens", {"name": "temporary"}), 201)
    victim = ApiClient(None, raw_token=created["token"])
    ok(victim.get("users/me"))
    assert agent.delete(f"tokens/{created['id']}").status_code == 204
    problem(victim.get("users/me"), 401)
    first = ApiToken.objects.get(pk=created["id"]).revoked_at
    audit_rows = AuditEntry.objects.count()
    assert agent.delete(f"tokens/{created['id']}").status_code == 204
    assert ApiToken.objects.get(pk=created["id"]).revoked_at == first and AuditEntry.objects.count() == audit_rows


def test_an_expired_token_answers_401(org):
    token, raw = services.create_token(user=org.agent, name="short-lived",
                                       expires_at=timezone.now() + dt.timedelta(minutes=1))
    client = ApiClient(None, raw_token=raw)
    ok(client.get("users/me"))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("users/me")
    problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("raw", ["", "nonsense", "lcrm_" + "x" * 43, "Basic abc", "lcrm_\x00"])
def test_garbage_tokens_answer_401(db, raw):
    problem(ApiClient(None, raw_token=raw or "lcrm_").get("users/me"), 401)


def test_no_token_at_all_answers_401(db):
    problem(ApiClient(None).get("orders"), 401)


def test_a_deactivated_users_token_answers_401(org):
    client = ApiClient(org.agent)
    ok(client.get("users/me"))
    services.deactivate_user(org.agent, by=org.admin)
    before = tokens()
    problem(client.get("users/me"), 401)
    problem(client.post("tokens", {"name": "sneaky"}), 401)
    assert tokens() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "ok", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "ok", "expires_at": "soon"}, "expires_at"),
        ({"name": "ok", "scopes": ["all"]}, "scopes"),
        ({"name": 42}, "name"),
    ],
)
def test_bad_token_requests_are_refused_and_create_nothing(api_as, payload, field):
    agent = api_as("agent")
    before = tokens()
    problem(agent.post("tokens", payload), 422, field)
    assert tokens() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_manages_only_their_own_tokens(api_as, org, persona):
    client = api_as(persona)
    others_token, others_raw = services.create_token(user=org.lead if persona != "lead" else org.agent, name="theirs")
    mine = ok(client.post("tokens", {"name": "mine"}), 201)
    listed = {t["id"] for t in ok(client.get("tokens"))["items"]}
    assert mine["id"] in listed and others_token.pk not in listed
    before = tokens()
    problem(client.delete(f"tokens/{others_token.pk}"), 404)
    problem(client.delete("tokens/99999999999999999999999"), 404)
    assert tokens() == before
    ok(ApiClient(None, raw_token=others_raw).get("users/me"))  # still alive
