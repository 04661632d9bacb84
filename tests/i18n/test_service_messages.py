"""Service messages speak the reader's language: the API the request's (Accept-Language), pages the user's.

The services translate when they raise, so the same rule answers 王芳 in Chinese and Tom in English.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

import loopcrm
from loopcrm.core.errors import RuleViolation
from loopcrm.core.text import clean_line
from loopcrm.customers.models import Customer
from tests import factories
from tests.customers.helpers import state

pytestmark = pytest.mark.django_db

CHINESE = {"headers": {"Accept-Language": "zh-hans"}}
CATALOGUE = Path(loopcrm.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture
def zhang_wei(org) -> Customer:
    return factories.customer("张伟", owner=org.agent, phone="+8613800138000", phone_raw="138 0013 8000")


def test_a_duplicate_is_explained_in_chinese_to_a_chinese_client(api_as, zhang_wei):
    agent = api_as("agent")
    before = state()
    response = agent.post("customers", json={"name": "另一个张伟", "phone": "13800138000"}, **CHINESE)
    assert response.status_code == 409
    problem = response.json()
    expected = f"客户 #{zhang_wei.pk} 已使用电话号码 +8613800138000。请打开该客户，或将两者合并。"
    assert problem["detail"] == expected
    assert problem["errors"][0]["message"] == expected and problem["errors"][0]["field"] == "phone"
    assert problem["existing_id"] == zhang_wei.pk  # what a program reads stays the same in every language
    assert state() == before


def test_a_bad_phone_is_explained_in_chinese(api_as):
    response = api_as("agent").post("customers", json={"name": "赵敏", "phone": "1.38001E+10"}, **CHINESE)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "phone"
    assert "'1.38001E+10' 看起来是被电子表格转换成科学计数法的电话号码" in problem["errors"][0]["message"]
    assert problem["detail"] == problem["errors"][0]["message"]
    assert not Customer.objects.exists()


def test_a_stale_version_is_explained_in_chinese(api_as, zhang_wei):
    agent = api_as("agent")
    assert agent.patch(f"customers/{zhang_wei.pk}", json={"version": 1, "city": "北京市"}).status_code == 200
    response = agent.patch(f"customers/{zhang_wei.pk}", json={"version": 1, "city": "天津市"}, **CHINESE)
    assert response.status_code == 409
    problem = response.json()
    assert problem["errors"][0]["field"] == "version" and problem["current_version"] == 2
    assert problem["detail"] == (
        f"在您读取之后，客户 #{zhang_wei.pk} 已被他人修改（您提交的版本 1，当前版本 2）。请重新加载后再修改。"
    )
    zhang_wei.refresh_from_db()
    assert zhang_wei.city == "北京市"


def test_english_is_the_default(api_as, zhang_wei):
    agent = api_as("agent")
    duplicate = agent.post("customers", json={"name": "另一个张伟", "phone": "13800138000"}).json()
    assert duplicate["detail"] == (
        f"Customer #{zhang_wei.pk} already has the phone number +8613800138000. Open that customer, or merge the two."
    )
    phone = agent.post("customers", json={"name": "赵敏", "phone": "1.38001E+10"}).json()
    assert phone["errors"][0]["message"].startswith("'1.38001E+10' looks like a phone number a spreadsheet turned")


def test_a_language_the_catalogue_lacks_falls_back_to_english(api_as, zhang_wei):
    response = api_as("agent").post("customers", json={"name": "x", "phone": "13800138000"},
                                    headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.json()["detail"].startswith(f"Customer #{zhang_wei.pk} already has the phone number")


def test_a_user_who_switched_to_chinese_sees_form_errors_in_chinese(org, client):
    client.force_login(org.agent)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.post(reverse("web:customer_create"), {
        "kind": "person", "name": "赵敏", "phone": "1.38001E+10", "email": "zhao.min@example.cn", "country": "CN",
    })
    assert response.status_code == 422
    [error] = response.context["form"].errors["phone"]
    assert error.startswith("'1.38001E+10' 看起来是被电子表格转换成科学计数法的电话号码")
    assert "看起来是被电子表格转换成科学计数法的电话号码" in response.content.decode()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("language", "message"), [
    ("en", "At most 3 characters (got 4)."),
    ("zh-hans", "最多 3 个字符（实际 4 个）。"),
])
def test_a_message_is_translated_when_it_is_raised(language, message):
    with translation.override(language), pytest.raises(RuleViolation) as caught:
        clean_line("abcd", field="name", max_length=3)
    assert caught.value.message == message


def test_the_chinese_catalogue_has_no_fuzzy_or_missing_entries():
    text = CATALOGUE.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    entries = text.split("\n\n")[1:]  # the first is the header
    untranslated = [entry for entry in entries if entry.rstrip().endswith('msgstr ""')]
    assert untranslated == []
