"""Pure parts of the customer import: the COPY text of a staged row, and which rows repeat an earlier one."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.customers.models import Customer, SourceChannel
from loopcrm.imports import engine


def _escaped(job_id: int, row: int, values: dict) -> str:
    return "\t".join(engine._copy_field(value) for value in engine._staged_tuple(job_id, row, values))


@pytest.mark.parametrize("values", [
    {"name": "王芳", "phone": "+8613800138000", "phone_raw": "13800138000", "province": "广东"},
    {"name": "Li Lei", "birthday": dt.date(1980, 2, 29), "is_vip": True, "kind": Customer.Kind.ORGANISATION,
     "source_channel": SourceChannel.WECHAT, "country": "HK", "tags": "VIP\x1f华南"},
    {"name": "tab\there", "notes": "line one\nline two"},
    {"name": "back\\slash", "street": "C:\\road"},
    {"name": "carriage\rreturn", "birthday": dt.date(2001, 1, 1)},
    {"name": "only a backslash \\N", "birthday": None},
])
def test_a_staged_row_as_copy_text_is_the_escaped_text_of_each_value(values):
    # Given a cleaned row, plain or holding what COPY must escape (tab, newline, CR, backslash)
    # When it is written as a line of COPY text
    line = engine._copy_line(7, 42, values)
    # Then it is the same text as escaping every staged value one by one
    assert line == _escaped(7, 42, values)
    assert line.count("\t") == len(engine.STAGE_COLUMNS) - 1


def test_repeats_are_taken_identity_by_identity_and_a_row_set_aside_no_longer_counts():
    # Given rows sharing values: 2 repeats 1's external id, 3 has 2's phone, 5 and 6 repeat 4's email,
    # 6 also has 1's phone
    sharing = {
        "external_id": [(11, 1, "M1"), (12, 2, "M1")],
        "phone": [(12, 2, "+8613800000002"), (13, 3, "+8613800000002"), (11, 1, "+8613800000001"),
                  (16, 6, "+8613800000001")],
        "email": [(16, 6, "a@example.com"), (14, 4, "a@example.com"), (15, 5, "a@example.com")],
    }
    # When the repeats are picked
    repeats = engine._repeats(sharing)
    # Then row 2 repeats row 1's external id; row 3 is kept (the row it shared a phone with is set aside);
    # row 6 repeats row 1's phone, so only row 5 is left to repeat row 4's email
    assert repeats == {
        "external_id": [(12, 2, "M1", 1)],
        "phone": [(16, 6, "+8613800000001", 1)],
        "email": [(15, 5, "a@example.com", 4)],
    }


@pytest.mark.django_db
def test_reserved_ids_are_a_run_or_else_each_id_taken():
    from django.db import connection

    # Given the customer id sequence as it is
    first = list(engine.reserve_ids(3))
    # Then three ids in one run come back
    assert len(first) == 3 and first == list(range(first[0], first[0] + 3))
    if connection.vendor != "postgresql":
        return
    # When the sequence does not give a run (here: it steps by 2, as it may when ids are shared out)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('customers_customer', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 2")
    stepped = list(engine.reserve_ids(3))
    # Then each id taken is given, none twice and none before the last run
    assert stepped == [stepped[0], stepped[0] + 2, stepped[0] + 4] and stepped[0] > first[-1]
