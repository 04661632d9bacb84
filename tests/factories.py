"""Builders for test data, through the services where a rule applies. Faker in zh_CN and en_US."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.test import Client
from django.utils import timezone
from faker import Faker

from loopcrm.accounts import services as account_services
from loopcrm.accounts.models import Department, Role, Team, User
from loopcrm.commerce.models import Order, OrderLine, Product, ProductCategory
from loopcrm.customers.models import Customer
from loopcrm.interactions.models import Interaction

fake_zh = Faker("zh_CN")
fake_en = Faker("en_US")
Faker.seed(20261123)
_seq = itertools.count(1)

PASSWORD = "Correct-Horse-42!"


def department(name: str = "", *, code: str = "", parent: Department | None = None) -> Department:
    n = next(_seq)
    return account_services.create_department(name=name or f"Dept {n}", code=code or f"dept-{n}", parent=parent)


def user(
    username: str = "",
    *,
    role: str = Role.AGENT,
    department: Department | None = None,
    teams: list[Team] | None = None,
    **extra,
) -> User:
    return account_services.create_user(
        username=username or f"user{next(_seq)}", password=PASSWORD, role=role, department=department, teams=teams,
        check_password=False, **extra,
    )


def team(name: str = "", *, department: Department, members: list[User] = (), lead: User | None = None) -> Team:
    team = Team.objects.create(name=name or f"Team {next(_seq)}", department=department, lead=lead)
    team.members.set(members)
    return team


def customer(name: str = "", *, owner: User | None = None, department: Department | None = None, **fields) -> Customer:
    """A customer row written directly (for fixtures); tests of creation go through the service."""
    n = next(_seq)
    values = {
        "name": name or fake_zh.name(),
        "phone": f"+86138{n:08d}",
        "phone_raw": f"138{n:08d}",
        "email": f"customer{n}@example.com",
        "owner": owner,
        "department": department if department is not None else getattr(owner, "department", None),
        "province": "上海市",
        "city": "上海市",
    }
    values.update(fields)
    return Customer.objects.create(**values)


def product(name: str = "", *, price: str = "99.00", category: ProductCategory | None = None) -> Product:
    n = next(_seq)
    return Product.objects.create(
        sku=f"SKU-{n:05d}", name=name or f"Product {n}", price=Decimal(price), category=category
    )


def order(customer: Customer, *, lines: list[tuple[Product, int]] = (), placed_at: dt.datetime | None = None,
          status: str = Order.Status.DELIVERED) -> Order:
    n = next(_seq)
    order = Order.objects.create(
        number=f"SO{n:08d}", customer=customer, status=status, placed_at=placed_at or timezone.now(), total=0,
    )
    total = Decimal("0")
    for item, quantity in lines:
        amount = item.price * quantity
        OrderLine.objects.create(order=order, product=item, description=item.name, quantity=quantity,
                                 unit_price=item.price, amount=amount)
        total += amount
    order.total = total
    order.save(update_fields=["total"])
    return order


def interaction(customer: Customer, *, user: User | None = None, **fields) -> Interaction:
    values = {"channel": "phone", "subject": "Call", "occurred_at": timezone.now(), "user": user}
    values.update(fields)
    return Interaction.objects.create(customer=customer, **values)


def signed_in(user) -> Client:
    """A test client with `user` signed in (no password round trip)."""
    client = Client()
    client.force_login(user)
    return client
