"""Shared fixtures: the personas every story is told about.

The organisation: a head office with two departments below it — Service (服务部) and Sales East
(华东销售部). Personas:
- admin: administrator, sees and changes everything;
- lead: team lead of the Service "Hotline" team;
- agent: service agent on the Hotline team (Service department);
- other_agent: service agent in Sales East, another department; since decision 0008 an agent sees
  every customer, so this persona reads the Service department's customers but changes only their own;
- east_rep: sales rep in Sales East, alone on the "East accounts" team; sales view their team's
  customers only, so this is the persona to whom the agent's customers do not exist (404). Made on
  first use, so stories that never meet him count the same users and teams as before (making him
  writes audit rows: meet him before taking a "nothing changed" snapshot);
- exec: read-only executive.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pytest
from django.test import Client
from django.utils import translation

from loopcrm.accounts import services as account_services
from loopcrm.accounts.models import Department, Role, Team, User
from tests import factories


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Chinese leaves it active in its thread."""
    translation.deactivate()
    yield
    translation.deactivate()


@dataclass
class Org:
    head: Department
    service: Department
    sales_east: Department
    hotline: Team
    admin: User
    lead: User
    agent: User
    other_agent: User
    exec: User

    @cached_property
    def east_rep(self) -> User:
        """陈刚, sales rep of Sales East on a team of his own: outside every other persona's customers."""
        rep = factories.user("east_rep", role=Role.SALES, department=self.sales_east, display_name="陈刚 Chen Gang")
        factories.team("East accounts 华东客户组", department=self.sales_east, members=[rep])
        return rep


@pytest.fixture
def org(db) -> Org:
    head = factories.department("总部 Head office", code="head")
    service = factories.department("服务部 Service", code="service", parent=head)
    sales_east = factories.department("华东销售部 Sales East", code="sales-east", parent=head)
    admin = factories.user("admin", role=Role.ADMINISTRATOR, department=head, is_superuser=True)
    lead = factories.user("lead", role=Role.TEAM_LEAD, department=service, display_name="李娜")
    agent = factories.user("agent", role=Role.AGENT, department=service, display_name="王芳")
    other_agent = factories.user("other_agent", role=Role.AGENT, department=sales_east, display_name="Tom Baker")
    executive = factories.user("exec", role=Role.EXECUTIVE, department=head)
    hotline = factories.team("Hotline 热线组", department=service, members=[lead, agent], lead=lead)
    return Org(head=head, service=service, sales_east=sales_east, hotline=hotline, admin=admin, lead=lead,
               agent=agent, other_agent=other_agent, exec=executive)


class ApiClient:
    """A real HTTP-level client for the API, signed in with a bearer token of one user."""

    def __init__(self, user: User | None, *, raw_token: str | None = None) -> None:
        self.user = user
        self.client = Client()
        if raw_token is None and user is not None:
            _token, raw_token = account_services.create_token(user=user, name="tests")
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def _call(self, method: str, path: str, json=None, headers=None, **params):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs = {"headers": {**self.headers, **(headers or {})}}
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(url, **kwargs)

    def get(self, path: str, **params):
        return self._call("get", path, **params)

    def post(self, path: str, json=None, **kw):
        return self._call("post", path, json=json if json is not None else {}, **kw)

    def patch(self, path: str, json=None, **kw):
        return self._call("patch", path, json=json if json is not None else {}, **kw)

    def put(self, path: str, json=None, **kw):
        return self._call("put", path, json=json if json is not None else {}, **kw)

    def delete(self, path: str, **kw):
        return self._call("delete", path, **kw)


@pytest.fixture
def api_as(org):
    """api_as("agent") -> an ApiClient with a token of that persona."""
    return lambda persona: ApiClient(getattr(org, persona))

