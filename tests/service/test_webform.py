"""The public request form: no login, a ticket for the customer, and quiet defences against bots and floods."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from loopcrm.core.models import RateCounter
from loopcrm.customers.models import Customer
from loopcrm.service.models import Ticket


@pytest.fixture
def form_settings(settings):
    settings.LOOPCRM_WEBFORM_MIN_SECONDS = 0
    settings.LOOPCRM_WEBFORM_LIMIT = 3
    return settings


def started_stamp(client: Client) -> str:
    page = client.get("/support/")
    assert page.status_code == 200
    return re.search(r'name="started" value="([^"]+)"', page.content.decode()).group(1)


def request_data(client: Client, **overrides) -> dict:
    data = {"name": "刘洋", "email": "Liu.Yang@Example.com", "phone": "138 0013 8000", "subject": "发票抬头错误",
            "message": "上周的订单发票抬头写错了，请重开。", "order_reference": "", "website": "",
            "started": started_stamp(client)}
    data.update(overrides)
    return data


def test_a_visitor_sends_a_request_and_gets_a_ticket_number(db, org, form_settings):
    client = Client()

    response = client.post("/support/", request_data(client))

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "web_form" and ticket.subject == "发票抬头错误"
    assert ticket.customer.email == "liu.yang@example.com" and ticket.customer.phone == "+8613800138000"
    receipt = client.get(response["Location"])
    assert f"#{ticket.pk}" in receipt.content.decode()
    assert "刘洋" not in receipt.content.decode()  # the receipt reveals nothing but the number


def test_a_request_from_a_known_address_goes_to_that_customer(db, org, form_settings):
    known = Customer.objects.create(name="刘洋", email="liu.yang@example.com", owner=org.agent,
                                    department=org.service)
    client = Client()

    client.post("/support/", request_data(client))

    assert Ticket.objects.get().customer == known and Customer.objects.count() == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-email", "not-an-email"),
    ("name", "", "This field is required"),
    ("message", "", "This field is required"),
    ("phone", "12", "12"),
])
def test_bad_input_shows_the_field_error_and_stores_nothing(db, org, form_settings, field, value, message):
    client = Client()

    response = client.post("/support/", request_data(client, **{field: value}))

    assert response.status_code == 422
    error = re.search(rf'<ul class="field-error" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    assert error and message in error.group(1)
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_a_filled_honeypot_looks_like_success_and_stores_nothing(db, org, form_settings):
    client = Client()

    response = client.post("/support/", request_data(client, website="http://spam.example"))

    assert response.status_code == 302 and response["Location"].endswith("/support/received/-/")
    assert not Ticket.objects.exists()


def test_a_form_sent_back_too_fast_or_with_a_forged_stamp_stores_nothing(db, org, form_settings):
    form_settings.LOOPCRM_WEBFORM_MIN_SECONDS = 60
    client = Client()

    client.post("/support/", request_data(client))
    client.post("/support/", request_data(client, started="forged"))

    assert not Ticket.objects.exists()


def test_a_flood_from_one_address_is_refused_with_retry_after(db, org, form_settings):
    client = Client()
    for _ in range(3):
        assert client.post("/support/", request_data(client, subject="咨询")).status_code == 302

    refused = client.post("/support/", request_data(client, subject="咨询"))

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Ticket.objects.count() == 3
    assert RateCounter.objects.get().count == 4


def test_the_form_needs_its_csrf_token(db, org, form_settings):
    client = Client(enforce_csrf_checks=True)
    data = request_data(client)

    assert client.post("/support/", data).status_code == 403
    assert not Ticket.objects.exists()


def test_a_forged_receipt_is_not_found(db, org):
    assert Client().get("/support/received/forged/").status_code == 404
