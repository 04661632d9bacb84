"""The Django admin for people and departments: pages open, saves go through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from loopcrm.accounts import services
from loopcrm.accounts.models import ApiToken, Department
from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    client = Client()
    client.force_login(org.admin)
    return client


def test_every_accounts_admin_page_opens(admin_client, org):
    token, raw = services.create_token(user=org.agent, name="erp")
    pages = ["/admin/accounts/user/", f"/admin/accounts/user/{org.agent.pk}/change/", "/admin/accounts/user/add/",
             "/admin/accounts/department/", f"/admin/accounts/department/{org.service.pk}/change/",
             "/admin/accounts/department/add/", "/admin/accounts/team/",
             f"/admin/accounts/team/{org.hotline.pk}/change/",
             "/admin/accounts/apitoken/", f"/admin/accounts/apitoken/{token.pk}/change/"]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert token.token_hash not in response.content.decode() and raw not in response.content.decode()
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_a_department_added_in_the_admin_gets_its_tree_path_and_an_audit_row(admin_client, org):
    response = admin_client.post("/admin/accounts/department/add/",
                                 {"name": "质量部", "code": "quality", "parent": org.head.pk})
    assert response.status_code == 302, response.content.decode()[:3000]
    department = Department.objects.get(code="quality")
    assert department.path == f"{org.head.path}{department.pk}/"
    assert AuditEntry.objects.filter(object_type="accounts.department", object_id=str(department.pk)).exists()
    response = admin_client.post("/admin/accounts/department/add/", {"name": "Again", "code": "QUALITY"})
    assert response.status_code == 200 and "exists" in response.content.decode()
    response = admin_client.post(f"/admin/accounts/department/{org.head.pk}/change/",
                                 {"name": org.head.name, "code": "head", "parent": org.service.pk})
    assert response.status_code == 200 and Department.objects.get(pk=org.head.pk).parent is None


def test_teams_are_edited_on_the_user_page(admin_client, org):
    page = admin_client.get(f"/admin/accounts/user/{org.other_agent.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"teams": [org.hotline.pk], "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00",
                 "department": org.sales_east.pk, "last_login_0": "", "last_login_1": ""})
    response = admin_client.post(f"/admin/accounts/user/{org.other_agent.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(org.other_agent.teams.all()) == [org.hotline]


def test_tokens_are_revoked_from_the_admin(admin_client, org):
    token, _raw = services.create_token(user=org.agent, name="erp")
    response = admin_client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.filter(pk=token.pk).exists()  # the record stays
