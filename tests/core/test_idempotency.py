"""Idempotency-Key: a retried POST never creates twice (shared/RELIABILITY.md)."""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from loopcrm.core.models import AuditEntry, IdempotentRequest
from loopcrm.customers.models import Customer
from tests.conftest import ApiClient

BODY = {"name": "陈静", "phone": "13900139000"}


@pytest.fixture
def admin_api(org):
    return ApiClient(org.admin)


def test_a_retried_create_is_replayed_byte_identical_and_creates_once(admin_api):
    first = admin_api.post("customers", BODY, headers={"Idempotency-Key": "create-1"})
    audit_rows = AuditEntry.objects.count()
    again = admin_api.post("customers", BODY, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="陈静").count() == 1
    assert AuditEntry.objects.count() == audit_rows


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(admin_api):
    admin_api.post("customers", BODY, headers={"Idempotency-Key": "k"})
    other = admin_api.post("customers", {"name": "刘洋"}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Customer.objects.filter(name="刘洋").exists()


def test_a_key_still_in_flight_answers_409(admin_api):
    # The first request's row exists but has no response yet: it is still being processed.
    first = admin_api.post("customers", BODY, headers={"Idempotency-Key": "slow"})
    IdempotentRequest.objects.filter(key="slow").update(completed_at=None, created_at=timezone.now())
    again = admin_api.post("customers", BODY, headers={"Idempotency-Key": "slow"})
    assert first.status_code == 201
    assert again.status_code == 409 and again["Retry-After"] == "1"


def test_keys_are_scoped_to_the_credential(org, admin_api):
    admin_api.post("customers", BODY, headers={"Idempotency-Key": "shared"})
    other = ApiClient(org.admin)  # another token of the same user is another client
    response = other.post("customers", {"name": "周杰", "phone": "13700137000"}, headers={"Idempotency-Key": "shared"})
    assert response.status_code == 201


def test_errors_are_replayed_too_but_server_errors_are_not_stored(admin_api):
    bad = admin_api.post("customers", {"name": "x", "phone": "not a phone"}, headers={"Idempotency-Key": "bad"})
    again = admin_api.post("customers", {"name": "x", "phone": "not a phone"}, headers={"Idempotency-Key": "bad"})
    assert bad.status_code == 422 and again.content == bad.content


def test_without_a_key_nothing_is_stored(admin_api):
    admin_api.post("customers", BODY)
    assert not IdempotentRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_exactly_once(org):
    """Eight threads send the same keyed request at once: one creates, the others replay or wait (409)."""
    api = ApiClient(org.admin)
    statuses = []

    def send():
        try:
            statuses.append(api.post("customers", BODY, headers={"Idempotency-Key": "race"}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert Customer.objects.filter(name="陈静").count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
