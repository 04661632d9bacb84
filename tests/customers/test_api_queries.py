"""No N+1: the list and the detail cost a fixed number of queries however many rows and tags there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loopcrm.customers.models import Tag
from tests import factories

pytestmark = pytest.mark.django_db

# Token lookup (user and department joined), the page of customers (owner and department joined),
# and the tags of the page. The first request also stamps the token's last use.
LIST_QUERIES = 3
DETAIL_QUERIES = 3


def make_customers(org, count, start=0):
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("VIP", "新客", "投诉")]
    owners = [org.agent, org.lead]
    for i in range(start, start + count):
        customer = factories.customer(f"客户{i}", owner=owners[i % 2])
        customer.tags.set(tags[: 1 + i % 3])


def queries_for(client, path, **params):
    client.get(path, **params)  # warm: the first request stamps the token
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **params)
    assert response.status_code == 200, response.content
    return len(captured), response


@pytest.mark.parametrize("persona", ["admin", "agent", "lead"])
def test_the_list_costs_the_same_for_3_and_25_customers(api_as, org, persona):
    client = api_as(persona)
    make_customers(org, 3)
    few, response = queries_for(client, "customers")
    assert len(response.json()["items"]) == 3
    make_customers(org, 22, start=3)
    many, response = queries_for(client, "customers")
    assert len(response.json()["items"]) == 25
    assert all(item["tags"] and item["owner"] and item["department"] for item in response.json()["items"])
    assert few == many <= LIST_QUERIES


def test_filtered_and_searched_lists_stay_flat(api_as, org):
    client = api_as("agent")
    make_customers(org, 25)
    count, _response = queries_for(client, "customers", q="客户", tag="vip", city="上海市", sort="name")
    assert count <= LIST_QUERIES


def test_the_detail_is_a_fixed_number_of_queries(api_as, org, django_assert_max_num_queries):
    client = api_as("agent")
    make_customers(org, 1)
    customer = org.agent.owned_customers.get()
    count, response = queries_for(client, f"customers/{customer.pk}")
    assert len(response.json()["tags"]) >= 1
    assert count <= DETAIL_QUERIES
