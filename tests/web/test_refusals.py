"""A page or endpoint that refuses (out of sight: 404; not your role: 403) logs one line at INFO, no traceback.

Refusals are answers, not faults: the log keeps WARNING and ERROR for what someone should look at.
"""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory
from django.urls import reverse

from loopcrm.core.errors import NotFound
from loopcrm.core.pages import domain_pages
from tests import factories

pytestmark = pytest.mark.django_db


def request_log(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_read_only_role_on_an_edit_page_is_one_info_line(org, browser_as, caplog, settings):
    settings.DEBUG = False
    customer = factories.customer("张伟", owner=org.agent)
    path = reverse("web:customer_edit", args=[customer.pk])
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = browser_as("exec").get(path)
    assert response.status_code == 403 and b"error-code" in response.content  # our 403 page, as before
    [record] = request_log(caplog)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == f"Forbidden: {path} (PermissionDenied on customer_id)"
    assert record.status_code == 403


def test_a_customer_out_of_sight_is_one_info_line(org, browser_as, caplog, settings):
    settings.DEBUG = False
    hidden = factories.customer("看不见", owner=org.other_agent)  # out of a sales rep's (team) sight
    path = reverse("web:customer_detail", args=[hidden.pk])
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = browser_as("east_rep").get(path)
    assert response.status_code == 404 and b"error-code" in response.content
    [record] = request_log(caplog)
    assert (record.levelno, record.exc_info) == (logging.INFO, None)
    assert record.getMessage() == f"Not Found: {path} (NotFound on customer_id)"


def test_a_role_that_may_not_create_is_refused_the_same_way(org, browser_as, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = browser_as("exec").get(reverse("web:customer_create"))
    assert response.status_code == 403
    [record] = request_log(caplog)
    assert (record.levelno, record.exc_info) == (logging.INFO, None)


def test_in_debug_a_missing_record_still_shows_djangos_technical_page(org, browser_as, settings):
    settings.DEBUG = True
    response = browser_as("agent").get(reverse("web:customer_detail", args=[999_999]))
    assert response.status_code == 404 and b"No customer #999999." in response.content


def test_the_api_logs_its_refusals_as_one_info_line(org, api_as, caplog):
    hidden = factories.customer("看不见", owner=org.other_agent)  # out of a sales rep's (team) sight
    rep = api_as("east_rep")
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert rep.get(f"customers/{hidden.pk}").status_code == 404
    [record] = request_log(caplog)
    assert (record.levelno, record.exc_info) == (logging.INFO, None)
    assert record.getMessage() == f"Not Found: /api/v1/customers/{hidden.pk} (NotFound on customer_id)"


def test_other_refusals_are_logged_as_before(org, api_as, caplog):
    agent = api_as("agent")
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert agent.post("customers", json={"name": "赵敏", "phone": "1.38001E+10"}).status_code == 422
    [record] = request_log(caplog)
    assert record.levelno == logging.WARNING


def test_real_errors_are_not_swallowed():
    @domain_pages
    def broken(request):
        raise RuntimeError("a bug")

    @domain_pages
    def refuses(request):
        raise NotFound("No such thing.")

    request = RequestFactory().get("/somewhere/")
    with pytest.raises(RuntimeError):
        broken(request)
    assert refuses(request).status_code == 404
