"""Switching language on a page is remembered on the account, so it follows the user to another browser."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")


def test_a_switch_is_saved_and_follows_the_user_to_another_browser(org, browser_as):
    laptop = browser_as("agent")
    response = laptop.post(SWITCH, {"language": "zh-hans", "next": reverse("web:customer_list")})
    assert response.status_code == 302 and response["Location"] == reverse("web:customer_list")
    assert response.cookies["django_language"].value == "zh-hans"  # this browser, as before
    org.agent.refresh_from_db()
    assert org.agent.language == "zh-hans"  # and the account

    phone = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")  # another browser that asks for English
    phone.force_login(org.agent)
    page = phone.get(reverse("web:customer_list")).content.decode()
    assert '<html lang="zh-Hans">' in page and "新建客户" in page


def test_switching_back_is_saved_too(org, browser_as):
    client = browser_as("agent")
    client.post(SWITCH, {"language": "zh-hans", "next": "/"})
    client.post(SWITCH, {"language": "en", "next": "/"})
    org.agent.refresh_from_db()
    assert org.agent.language == "en"
    updates = AuditEntry.objects.filter(object_type="accounts.user", object_id=str(org.agent.pk), action="update")
    assert [entry.changes for entry in updates.order_by("pk")] == [{"language": ["", "zh-hans"]},
                                                                   {"language": ["zh-hans", "en"]}]


@pytest.mark.parametrize("data", [{"language": "xx-unknown"}, {"language": "de"}, {}])
def test_a_language_we_do_not_offer_is_ignored(org, browser_as, data):
    response = browser_as("agent").post(SWITCH, {**data, "next": "/"})
    assert response.status_code == 302
    org.agent.refresh_from_db()
    assert org.agent.language == ""
    assert not AuditEntry.objects.filter(object_type="accounts.user", action="update").exists()


def test_signed_out_the_switch_only_sets_the_browser(org):
    client = Client()
    response = client.post(SWITCH, {"language": "zh-hans", "next": reverse("login")})
    assert response.status_code == 302 and response.cookies["django_language"].value == "zh-hans"
    assert "登录" in client.get(reverse("login")).content.decode()
    assert not AuditEntry.objects.filter(object_type="accounts.user", action="update").exists()


def test_the_switch_needs_the_csrf_token(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.agent)
    assert client.post(SWITCH, {"language": "zh-hans", "next": "/"}).status_code == 403
    org.agent.refresh_from_db()
    assert org.agent.language == ""
