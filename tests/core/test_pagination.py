"""Keyset pagination walks every row exactly once, in order, whatever is inserted meanwhile."""

import pytest

from loopcrm.core.errors import DomainError
from loopcrm.core.pagination import decode_cursor, encode_cursor, paginate
from loopcrm.customers.models import Customer
from tests import factories

ALLOWED = ("-id", "id", "name", "-name")


@pytest.fixture
def customers(db):
    names = ["王芳", "李娜", "张伟", "Alice", "bob", "张伟", "Zoë", "刘洋"]
    return [factories.customer(name) for name in names]


def walk(sort, limit):
    seen, cursor = [], None
    while True:
        page = paginate(Customer.objects.all(), sort=sort, allowed=ALLOWED, cursor=cursor, limit=limit)
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", ALLOWED)
@pytest.mark.parametrize("limit", [1, 3, 8, 50])
def test_walk_visits_each_row_once_in_order(customers, sort, limit):
    seen = walk(sort, limit)
    expected = list(Customer.objects.order_by(sort, "-id" if sort.startswith("-") else "id")) if "name" in sort else (
        list(Customer.objects.order_by(sort))
    )
    assert [c.pk for c in seen] == [c.pk for c in expected]


def test_rows_added_before_the_cursor_do_not_shift_the_next_page(customers):
    first = paginate(Customer.objects.all(), sort="id", allowed=ALLOWED, limit=4)
    factories.customer("新来的")
    rest = walk_from(first.next_cursor)
    assert [c.pk for c in first.items + rest] == sorted(c.pk for c in Customer.objects.all())


def walk_from(cursor):
    items = []
    while cursor:
        page = paginate(Customer.objects.all(), sort="id", allowed=ALLOWED, cursor=cursor, limit=3)
        items.extend(page.items)
        cursor = page.next_cursor
    return items


def test_limit_is_capped(customers, settings):
    settings.LOOPCRM_API_MAX_PAGE_SIZE = 5
    page = paginate(Customer.objects.all(), sort="id", allowed=ALLOWED, limit=1_000_000)
    assert page.limit == 5 and len(page.items) == 5


def test_unknown_sort_is_a_400_naming_the_field(customers):
    with pytest.raises(DomainError) as caught:
        paginate(Customer.objects.all(), sort="password", allowed=ALLOWED)
    assert caught.value.status == 400 and caught.value.field == "sort"


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJ9", encode_cursor("name", "x", 1)])
def test_bad_or_foreign_cursor_is_a_400(cursor):
    with pytest.raises(DomainError) as caught:
        decode_cursor(cursor or "@@", "id")
    assert caught.value.status == 400 and caught.value.field == "cursor"
