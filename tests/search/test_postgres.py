"""On PostgreSQL the searches must be served by the indexes of customers/0002_search_indexes.

The plans are read with EXPLAIN on a table of a few thousand rows, analysed, with sequential scans
discouraged for the test transaction: the question is whether an index CAN serve the condition
(icontains, for one, emits UPPER(col) LIKE …, which none can). At scale the bench measures it.
"""

from __future__ import annotations

import random

import pytest
from django.db import connection

from loopcrm.customers import search
from loopcrm.customers.models import Customer
from loopcrm.customers.search import search_customers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


@pytest.fixture
def many_customers():
    rng = random.Random(7)
    rows = []
    for n in range(3000):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        rows.append(Customer(name=name, phone=f"+86{rng.choice(('138', '139', '186'))}{n:08d}",
                             email=f"user{n}@example.com"))
    Customer.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")


@pytest.fixture
def plan(many_customers, monkeypatch):
    """EXPLAIN of the search condition itself (for LIKE patterns: as the planner sees it past the probe)."""
    monkeypatch.setattr(search, "PROBE_LIMIT", 0)
    return _plan


def _plan(term: str) -> str:
    queryset = search_customers(Customer.objects.all(), term)
    assert "UPPER(" not in str(queryset.query)
    return queryset.explain()


def test_the_database_classifies_chinese_characters():
    # With LC_CTYPE=C pg_trgm sees no characters in Chinese text and its index holds nothing.
    with connection.cursor() as cursor:
        cursor.execute("SELECT show_trgm('张伟明') <> '{}', current_setting('lc_ctype')")
        has_trigrams, ctype = cursor.fetchone()
    assert has_trigrams, f"LC_CTYPE is {ctype}; create the database with a UTF-8 LC_CTYPE (e.g. C.UTF-8)"


def test_the_bigram_function():
    with connection.cursor() as cursor:
        cursor.execute("SELECT loopcrm_bigrams('张伟明Ab'), loopcrm_bigrams('张'), loopcrm_bigrams('')")
        bigrams, one, empty = cursor.fetchone()
    assert sorted(bigrams) == sorted(["张伟", "伟明", "明a", "ab"])
    assert one == [] and empty == []


def test_two_chinese_characters_use_the_bigram_index(plan):
    assert "customer_name_bigram_idx" in plan("张伟")
    # Containment alone: with an ILIKE beside it the planner expects one row (see search.py).
    assert "ILIKE" not in str(search_customers(Customer.objects.all(), "张伟").query)


def test_three_characters_use_the_trigram_index(plan):
    assert "customer_name_trgm_idx" in plan("张伟明")


def test_one_character_uses_the_initial_index(plan):
    assert "customer_initial_idx" in plan("欧")


def test_a_phone_fragment_uses_the_phone_trigram_index(plan):
    text = plan("0013 8000")
    assert "customer_phone_trgm_idx" in text


def test_an_international_phone_prefix_uses_an_index_on_phone(plan):
    text = plan("+86 138 0000")
    assert "customer_phone_trgm_idx" in text or "customer_phone_idx" in text


def test_an_email_fragment_uses_the_email_trigram_index(plan):
    assert "customer_email_trgm_idx" in plan("user12@exa")


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_a_rare_term_is_read_through_its_index_first(many_customers):
    # LIKE '%…%' estimates are a guess; the ids come from the GIN index, so no plan walks the table.
    queryset = search_customers(Customer.objects.order_by("-id"), "user123")
    assert "= ANY(" in str(queryset.query) and "ILIKE" not in str(queryset.query)
    expected = {f"user{n}@example.com" for n in range(3000) if "user123" in f"user{n}@"}
    assert set(queryset.values_list("email", flat=True)) == expected
    # The planner settings forced for the probe do not leak into the rest of the transaction.
    assert setting("enable_seqscan") == "off"  # the fixture's own, still in force
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = on")
    search_customers(Customer.objects.all(), "user77")
    assert setting("enable_seqscan") == "on" and setting("enable_indexscan") == "on"


def test_more_matches_than_the_probe_reads_are_found_by_scanning(many_customers, monkeypatch):
    monkeypatch.setattr(search, "PROBE_LIMIT", 5)
    queryset = search_customers(Customer.objects.order_by("-id"), "user1")
    assert "|| '') ILIKE" in str(queryset.query)  # no index: the planner walks the sort order
    expected = {f"user{n}@example.com" for n in range(3000) if "user1" in f"user{n}@"}
    assert set(queryset.values_list("email", flat=True)) == expected


def test_a_common_term_is_recognised_on_a_sample_and_scanned(many_customers, monkeypatch):
    monkeypatch.setattr(search, "COMMON_IN_SAMPLE", 0)
    queryset = search_customers(Customer.objects.all(), "+86 138")
    assert "|| '') LIKE" in str(queryset.query) and "= ANY(" not in str(queryset.query)
    assert queryset.count() == Customer.objects.filter(phone__startswith="+86138").count() > 0


def test_two_characters_and_one_need_no_probe(many_customers):
    for term in ("张伟", "张"):
        assert "= ANY(" not in str(search_customers(Customer.objects.all(), term).query)
