"""The customer table's indexes after customers/0003 and 0004: no index another one covers, every
lookup still served, and the bigram function giving the same pairs as before (in a different order)."""

from __future__ import annotations

import pytest
from django.db import connection

from loopcrm.customers.models import Customer

pytestmark = pytest.mark.django_db
TABLE = Customer._meta.db_table


def _indexes() -> dict[str, list[str]]:
    """Btree index name -> its columns (expressions as None), from the database (SQLite's kind: "idx")."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    return {name: spec["columns"] for name, spec in found.items() if spec["index"] and not spec["primary_key"]
            and spec["type"] in ("btree", "idx")}


def test_each_lookup_column_leads_exactly_one_plain_btree():
    # given the migrated customer table
    indexes = _indexes()
    # then owner, department, email and external id each lead one index, and one only
    for column in ("owner_id", "department_id", "email", "external_id"):
        leading = [name for name, columns in indexes.items() if columns and columns[0] == column]
        assert len(leading) == 1, (column, leading)
    assert "customer_email_idx" in indexes and "customer_external_id_idx" in indexes


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_no_prefix_twin_on_email_or_external_id_but_the_phone_keeps_its_own():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                       [TABLE, "%varchar_pattern_ops%"])
        twins = [name for (name,) in cursor.fetchall()]
    # the phone's serves search's `+86 138…` prefix match; nothing matches emails or external ids by prefix
    assert len(twins) == 1 and "phone" in twins[0]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_the_stored_bigrams_are_the_distinct_pairs_of_the_lower_cased_name():
    # given customers whose names repeat a pair, mix case, or are too short for one
    names = ["张伟明Ab", "AaAa", "张", "哈哈哈"]
    for name in names:
        Customer.objects.create(name=name)
    # when their stored column is read
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, name_bigrams FROM {TABLE} WHERE name = ANY(%s)", [names])  # noqa: S608
        stored = dict(cursor.fetchall())
    # then each holds every pair once, in the order first seen
    assert stored == {"张伟明Ab": ["张伟", "伟明", "明a", "ab"], "AaAa": ["aa"], "张": [], "哈哈哈": ["哈哈"]}
