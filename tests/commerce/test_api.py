"""The commerce API over HTTP, with real bearer tokens: products, categories, orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loopcrm.accounts import services as account_services
from loopcrm.commerce import services
from loopcrm.commerce.models import Order, OrderLine, Product
from loopcrm.core.models import AuditEntry
from tests.commerce.util import count_queries, ok, problem

pytestmark = pytest.mark.django_db


def state() -> tuple:
    return (Order.objects.count(), OrderLine.objects.count(), Product.objects.count(), AuditEntry.objects.count(),
            sorted(Order.objects.values_list("id", "status", "version", "total")))


# --- products and categories ----------------------------------------------------------------

def test_an_administrator_builds_the_catalogue_and_everyone_reads_it(api_as, shop):
    admin, agent = api_as("admin"), api_as("agent")
    category = ok(admin.post("product-categories", {"name": "茶叶 Tea", "code": "tea"}), 201)
    product = ok(admin.post("products", {"sku": "TEA-LJ", "name": "龙井 Longjing", "price": "128.00",
                                         "category_id": category["id"]}), 201)
    assert product["price"] == "128.00" and product["category"]["code"] == "tea"
    listed = ok(agent.get("products", q="龙井"))
    assert [item["sku"] for item in listed["items"]] == ["TEA-LJ"]
    assert ok(agent.get(f"products/{product['id']}"))["name"] == "龙井 Longjing"
    assert ok(agent.get(f"product-categories/{category['id']}"))["code"] == "tea"
    assert "tea" in [item["code"] for item in ok(agent.get("product-categories"))["items"]]
    changed = ok(admin.patch(f"products/{product['id']}", {"price": "99.50", "is_active": False}))
    assert (changed["price"], changed["is_active"]) == ("99.50", False)
    assert [item["sku"] for item in ok(agent.get("products", is_active="false"))["items"]] == ["TEA-LJ"]


def test_an_agent_may_not_change_the_catalogue(api_as, shop):
    agent, executive = api_as("agent"), api_as("exec")
    before = state()
    problem(agent.post("products", {"sku": "X1", "name": "X", "price": "1.00"}), 403)
    problem(agent.patch(f"products/{shop.mug.pk}", {"price": "0.01"}), 403)
    problem(executive.post("product-categories", {"name": "X", "code": "x"}), 403)
    assert state() == before


def test_a_taken_sku_answers_409_naming_the_field(api_as, shop):
    admin = api_as("admin")
    before = state()
    body = problem(admin.post("products", {"sku": shop.mug.sku, "name": "Dup", "price": "1.00"}), 409, "sku")
    assert body["errors"][0]["existing_id"] == shop.mug.pk
    assert state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": True}, "price"),
        ({"currency": "rmb"}, "currency"),
        ({"sku": "A\x00B"}, "sku"),
        ({"name": "x" * 201}, "name"),
        ({"colour": "red"}, "colour"),
        ({"category_id": "1"}, "category_id"),
        ({"category_id": 10**20}, "category_id"),
    ],
)
def test_bad_product_input_is_422_naming_the_field(api_as, payload, field, shop):
    admin = api_as("admin")
    before = state()
    problem(admin.post("products", {"sku": "NEW-1", "name": "New", "price": "1.00", **payload}), 422, field)
    assert state() == before


def test_unknown_products_and_categories_are_404(api_as, shop):
    problem(api_as("agent").get("products/987654"), 404)
    problem(api_as("agent").get("products/99999999999999999999999"), 404)
    problem(api_as("agent").get("product-categories/987654"), 404)


# --- orders ---------------------------------------------------------------------------------

def test_an_agent_records_an_order_and_reads_it_back_with_its_lines(api_as, shop):
    agent = api_as("agent")
    created = ok(agent.post("orders", {
        "customer_id": shop.zhang.pk, "channel": "phone", "notes": "送货前电话联系",
        "lines": [{"product_id": shop.mug.pk, "quantity": 3}, {"sku": shop.teapot.sku, "unit_price": "250.00"}],
    }), 201)
    assert created["total"] == "309.97" and created["currency"] == "CNY" and created["status"] == "pending"
    assert created["customer"] == {"id": shop.zhang.pk, "name": "张伟"}
    assert [(line["quantity"], line["unit_price"], line["amount"]) for line in created["lines"]] == [
        (3, "19.99", "59.97"), (1, "250.00", "250.00"),
    ]
    assert created["lines"][0]["product"]["sku"] == shop.mug.sku
    detail = ok(agent.get(f"orders/{created['id']}"))
    assert detail == created
    audit = AuditEntry.objects.filter(object_type="commerce.order", object_id=str(created["id"]), action="create")
    assert audit.exists()


def test_an_order_moves_through_its_lifecycle_over_the_api(api_as, shop):
    agent = api_as("agent")
    order = ok(agent.post("orders", {"customer_id": shop.zhang.pk, "lines": [{"product_id": shop.mug.pk}]}), 201)
    for version, status in enumerate(["paid", "shipped", "delivered"], start=1):
        order = ok(agent.post(f"orders/{order['id']}/status", {"status": status, "version": version}))
        assert order["status"] == status and order["version"] == version + 1
    assert order["delivered_at"] is not None
    body = problem(agent.post(f"orders/{order['id']}/status", {"status": "cancelled", "version": 4}), 422, "status")
    assert "delivered" in body["detail"]


def test_a_stale_version_answers_409_with_the_current_one(api_as, shop):
    agent, lead = api_as("agent"), api_as("lead")
    order = ok(agent.post("orders", {"customer_id": shop.zhang.pk, "lines": [{"product_id": shop.mug.pk}]}), 201)
    ok(agent.post(f"orders/{order['id']}/status", {"status": "paid", "version": 1}))
    before = state()
    body = problem(lead.post(f"orders/{order['id']}/status", {"status": "cancelled", "version": 1}), 409, "version")
    assert body["errors"][0]["current_version"] == 2
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_id": "abc"}, "customer_id"),
        ({"customer_id": "1"}, "customer_id"),
        ({"lines": []}, "lines"),
        ({"lines": "mug"}, "lines"),
        ({"lines": [{"product_id": 1, "quantity": -1}]}, "lines.0.quantity"),
        ({"lines": [{"product_id": 1, "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"product_id": 1, "quantity": "2"}]}, "lines.0.quantity"),
        ({"lines": [{"product_id": 1, "quantity": 1.5}]}, "lines.0.quantity"),
        ({"lines": [{"product_id": 1, "discount": "5%"}]}, "lines.0.discount"),
        ({"lines": [{"product_id": 1, "unit_price": "-3.00"}]}, "lines.0.unit_price"),
        ({"lines": [{"product_id": 1, "unit_price": "1e400"}]}, "lines.0.unit_price"),
        ({"lines": [{"product_id": 987654}]}, "lines.0.product_id"),
        ({"lines": [{"sku": "NO-SUCH"}]}, "lines.0.sku"),
        ({"lines": [{"sku": "MUG\x00"}]}, "lines.0.sku"),
        ({"notes": "before\x00after"}, "notes"),
        ({"number": "SO\x001"}, "number"),
        ({"placed_at": "2099-01-01T00:00:00+08:00"}, "placed_at"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"status": "lost"}, "status"),
        ({"currency": "usd"}, "currency"),
        ({"coupon": "FREE"}, "coupon"),
        ({"customer_id": 10**20}, "customer_id"),
    ],
)
def test_bad_order_input_is_a_clear_problem_and_writes_nothing(api_as, shop, change, field):
    payload = {"customer_id": shop.zhang.pk, "lines": [{"product_id": shop.mug.pk, "quantity": 1}], **change}
    for line in payload["lines"] if isinstance(payload["lines"], list) else ():
        if line.get("product_id") == 1:
            line["product_id"] = shop.mug.pk
    agent = api_as("agent")
    before = state()
    body = problem(agent.post("orders", payload), 422, field)
    assert body["detail"]
    assert state() == before


def test_a_body_that_is_not_json_is_refused(api_as, shop):
    agent = api_as("agent")
    before = state()
    response = agent.client.post("/api/v1/orders", data="{not json", content_type="application/json",
                                 headers=agent.headers)
    assert response.status_code in (400, 422) and response["Content-Type"] == "application/problem+json"
    assert state() == before


def test_orders_of_unknown_or_invisible_customers_are_404(api_as, shop):
    agent, rep = api_as("agent"), api_as("east_rep")
    before = state()
    problem(agent.post("orders", {"customer_id": 987654, "lines": [{"product_id": shop.mug.pk}]}), 404)
    problem(rep.post("orders", {"customer_id": shop.zhang.pk, "lines": [{"product_id": shop.mug.pk}]}), 404)
    # Acme East is another department's: the agent sees it (decision 0008) but may not record its orders.
    problem(agent.post("orders", {"customer_id": shop.acme.pk, "lines": [{"product_id": shop.mug.pk}]}), 403)
    problem(agent.get("orders/99999999999999999999999"), 404)
    problem(agent.post("orders/99999999999999999999999/status", {"status": "paid", "version": 1}), 404)
    assert state() == before


def test_the_order_list_filters_and_pages_with_a_cursor(api_as, org, shop):
    now = timezone.now()
    for days in range(7):
        services.create_order(by=org.admin, customer=shop.zhang, placed_at=now - dt.timedelta(days=days),
                              number=f"ZW-{days:03d}", channel="phone" if days % 2 else "wechat",
                              lines=[{"product_id": shop.mug.pk}])
    services.create_order(by=org.admin, customer=shop.li, number="LL-001", lines=[{"product_id": shop.teapot.pk}],
                          status="paid")
    services.create_order(by=org.admin, customer=shop.acme, number="AC-001", lines=[{"product_id": shop.mug.pk}])
    agent = api_as("agent")

    numbers, cursor = [], None
    while True:
        page = ok(agent.get("orders", limit=3, **({"cursor": cursor} if cursor else {})))
        numbers += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Acme is another department's, and an agent sees every customer's orders (decision 0008).
    assert len(numbers) == len(set(numbers)) == 9 and "AC-001" in numbers
    assert numbers[0] in {"ZW-000", "LL-001", "AC-001"}

    def listed(**params):
        return [item["number"] for item in ok(agent.get("orders", **params))["items"]]

    assert set(listed(customer_id=shop.li.pk)) == {"LL-001"}
    assert set(listed(status="paid")) == {"LL-001"}
    assert set(listed(channel="phone")) == {"ZW-001", "ZW-003", "ZW-005"}
    assert set(listed(q="zw-00")) == {f"ZW-{d:03d}" for d in range(7)}
    window = {"placed_from": (now - dt.timedelta(days=3, hours=1)).isoformat(),
              "placed_to": (now - dt.timedelta(days=1, hours=1)).isoformat()}
    assert set(listed(**window)) == {"ZW-002", "ZW-003"}
    assert listed(sort="placed_at", customer_id=shop.zhang.pk)[0] == "ZW-006"
    assert ok(agent.get("orders", limit=1_000_000))["limit"] == 200
    problem(agent.get("orders", sort="total"), 400, "sort")
    problem(agent.get("orders", cursor="garbage"), 400, "cursor")
    problem(agent.get("orders", status="lost"), 422, "status")
    problem(agent.get("orders", customer_id=10**20), 422, "customer_id")
    problem(agent.get("orders", placed_from="not-a-date"), 422, "placed_from")


def test_the_order_list_costs_the_same_queries_for_3_orders_or_30(api_as, org, shop):
    agent = api_as("agent")
    ok(agent.get("orders"))  # the token's first use is recorded once; measure after it

    def add(n):
        for _ in range(n):
            services.create_order(by=org.admin, customer=shop.zhang,
                                  lines=[{"product_id": shop.mug.pk}, {"product_id": shop.teapot.pk}])

    add(3)
    with count_queries() as few:
        assert len(ok(agent.get("orders", limit=50))["items"]) == 3
    add(27)
    with count_queries() as many:
        assert len(ok(agent.get("orders", limit=50))["items"]) == 30
    assert len(few) == len(many) <= 4, [q["sql"] for q in many]


def test_order_detail_costs_a_fixed_number_of_queries(api_as, org, shop):
    agent = api_as("agent")
    lines = [{"product_id": shop.mug.pk}, {"product_id": shop.teapot.pk}]
    small = services.create_order(by=org.admin, customer=shop.zhang, lines=lines)
    large = services.create_order(by=org.admin, customer=shop.zhang, lines=lines * 20)
    ok(agent.get(f"orders/{small.pk}"))
    with count_queries() as few:
        ok(agent.get(f"orders/{small.pk}"))
    with count_queries() as many:
        assert len(ok(agent.get(f"orders/{large.pk}"))["lines"]) == 40
    assert len(few) == len(many) <= 5


def test_a_deactivated_users_token_is_refused(org, shop):
    from tests.conftest import ApiClient

    client = ApiClient(org.agent)
    ok(client.get("orders"))
    account_services.deactivate_user(org.agent, by=org.admin)
    before = state()
    problem(client.get("orders"), 401)
    problem(client.post("orders", {"customer_id": shop.zhang.pk, "lines": [{"product_id": shop.mug.pk}]}), 401)
    assert state() == before


def test_money_is_exact_over_the_api(api_as, shop):
    created = ok(api_as("admin").post("orders", {"customer_id": shop.zhang.pk, "lines": [
        {"description": "Wrap", "unit_price": "0.10"}, {"description": "Card", "unit_price": 0.2},
    ]}), 201)
    assert created["total"] == "0.30"
    assert Order.objects.get(pk=created["id"]).total == Decimal("0.30")


def test_a_nul_in_a_search_term_is_a_422_not_a_database_error(api_as, shop):
    agent = api_as("agent")
    problem(agent.get("orders", q="SO\x00"), 422, "q")
    problem(agent.get("products", q="杯\x00"), 422, "q")
    problem(agent.get("orders", cursor="\x00"), 422, "cursor")  # not base64url: refused by the schema


@pytest.mark.parametrize("value", ["garbage", 12, None, {"x": 1}, [1], {"t": "2025-13-45"}])
def test_a_forged_cursor_is_a_400(api_as, shop, value):
    from loopcrm.core.pagination import encode_cursor

    problem(api_as("agent").get("orders", cursor=encode_cursor("-placed_at", value, 1)), 400, "cursor")
