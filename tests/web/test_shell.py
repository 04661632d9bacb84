"""The shell: who gets in, where they land, the language they read, and the pages for errors."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

PAGES = [
    ("web:home", ()),
    ("web:customer_list", ()),
    ("web:customer_create", ()),
    ("web:customer_detail", (1,)),
    ("web:customer_edit", (1,)),
    ("web:customer_timeline", (1,)),
    ("web:interaction_list", ()),
    ("web:order_list", ()),
    ("web:order_detail", (1,)),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_every_page_sends_an_anonymous_visitor_to_sign_in(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_sign_in_page_is_styled_and_signs_in(org):
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"loopcrm.css" in page.content and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post(reverse("login"), {"username": "agent", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_wrong_password_shows_an_error_on_the_sign_in_page(org):
    response = Client().post(reverse("login"), {"username": "agent", "password": "nope"})
    assert response.status_code == 200
    assert b"alert-error" in response.content


def test_sign_out_is_post_only(browser_as):
    client = browser_as("agent")
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("web:home")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("web:home")).status_code == 302


def test_start_page_shows_counts_within_the_users_scope(org, browser_as):
    factories.customer("服务部客户", owner=org.agent, is_vip=True)
    factories.customer("华东客户", owner=org.other_agent)
    # An agent counts every customer, Sales East's too (decision 0008)...
    response = browser_as("agent").get(reverse("web:home"))
    assert response.status_code == 200
    assert response.context["customer_count"] == (2, False)
    assert response.context["vip_count"] == (1, False)
    # "My customers" lists only her own.
    assert "服务部客户".encode() in response.content and "华东客户".encode() not in response.content
    # ...a sales rep only their team's.
    factories.customer("陈刚的客户", owner=org.east_rep)
    response = browser_as("east_rep").get(reverse("web:home"))
    assert response.context["customer_count"] == (1, False)
    assert response.context["vip_count"] == (0, False)
    assert "陈刚的客户".encode() in response.content and "服务部客户".encode() not in response.content


def test_shell_has_navigation_language_switch_and_csrf_header_for_htmx(browser_as):
    response = browser_as("agent").get(reverse("web:customer_list"))
    html = response.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "django_htmx/htmx-2.min.js" in html  # htmx from the django-htmx package, no CDN
    assert 'aria-current="page"' in html and reverse("web:order_list") in html
    assert 'action="/i18n/setlang/"' in html and 'value="zh-hans"' in html
    assert "//cdn" not in html and "https://" not in html


def test_language_switch_turns_the_interface_chinese(browser_as):
    client = browser_as("agent")
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": reverse("web:customer_list")})
    assert response.status_code == 302 and response["Location"] == reverse("web:customer_list")
    page = client.get(reverse("web:customer_list")).content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "新建客户" in page and "客户" in page and "退出登录" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "New customer" in client.get(reverse("web:customer_list")).content.decode()


def test_browser_language_is_the_default(org):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.force_login(org.agent)
    assert "新建客户" in client.get(reverse("web:customer_list")).content.decode()


def test_unknown_page_uses_our_404_template(browser_as, settings):
    settings.DEBUG = False
    response = browser_as("agent").get("/no-such-page/")
    assert response.status_code == 404
    assert b"error-code" in response.content and b"404" in response.content


def test_500_template_renders_without_a_request():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "500" in html and "loopcrm.css" in html


def test_state_changes_need_the_csrf_token_that_htmx_sends_as_a_header(org):
    customer = factories.customer("来电客户", owner=org.agent)
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.agent)
    page = client.get(reverse("web:customer_detail", args=[customer.pk]))
    token = page.context["csrf_token"]
    url = reverse("web:interaction_create", args=[customer.pk])
    data = {"channel": "phone", "direction": "inbound", "subject": "测试"}
    assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    assert customer.interactions.count() == 0
    response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="log-form", HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 200
    assert customer.interactions.count() == 1
