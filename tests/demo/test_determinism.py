"""The same seed and reference day give the same rows; the demo refuses a database that holds data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from loopcrm.accounts.models import Department
from loopcrm.demo import demo_loaded, load_demo
from loopcrm.demo.fingerprint import fingerprint
from tests import factories

TODAY = dt.date(2026, 3, 15)


class _Rollback(Exception):
    pass


def _fingerprint_of_a_load(**options) -> str:
    """Load into the (empty) test database, fingerprint, and roll the load back."""
    try:
        with transaction.atomic():
            assert load_demo(progress=lambda message: None, today=TODAY, **options) is not None
            result = fingerprint()
            raise _Rollback
    except _Rollback:
        return result


@pytest.mark.django_db
def test_the_same_seed_and_day_give_identical_data_and_another_seed_does_not():
    first = _fingerprint_of_a_load(customers=25, seed=11)
    assert not demo_loaded()
    assert _fingerprint_of_a_load(customers=25, seed=11) == first
    assert _fingerprint_of_a_load(customers=25, seed=12) != first


@pytest.mark.django_db
def test_the_demo_refuses_a_database_with_customers_and_writes_nothing():
    factories.customer("张伟")
    messages: list[str] = []
    assert load_demo(customers=20, seed=1, progress=messages.append, today=TODAY) is None
    assert messages == ["Demo data not loaded: the database already holds customers. "
                        "The demo loads only into an empty database."]
    assert not Department.objects.exists()


@pytest.mark.django_db
def test_a_load_of_one_customer_works():
    assert load_demo(customers=1, seed=1, progress=lambda message: None, today=TODAY).counts[
        "customers.customer"] == 1
