"""API shapes for the directory (users, departments) and personal API tokens."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from loopcrm.accounts.models import Role
from loopcrm.core.api import BodyId, QueryId, StrictIn


class Ref(Schema):
    id: int
    name: str


# --- users ----------------------------------------------------------------------------------

class UserOut(Schema):
    id: int
    username: str
    name: str = Field(description="Display name, else full name, else username.")
    display_name: str
    email: str
    role: Role
    department: Ref | None
    teams: list[Ref]
    is_active: bool
    is_available: bool

    @staticmethod
    def resolve_name(user) -> str:
        return str(user)

    @staticmethod
    def resolve_teams(user) -> list:
        return list(user.teams.all())


class MeOut(UserOut):
    language: str
    time_zone: str
    is_superuser: bool
    scopes: dict[str, dict[str, str]] = Field(
        description="What you may reach, per object type and action: none, own, team, department or all."
    )


USER_SORTS = ("username", "-username", "id", "-id")


class UserFilter(Schema):
    role: Role | None = None
    department_id: QueryId | None = None
    q: str | None = Field(None, max_length=100, description="Part of the username, name or email.")
    is_active: bool | None = None
    sort: str = Field("username", description="One of: " + ", ".join(USER_SORTS) + ".")
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")


# --- departments ----------------------------------------------------------------------------

class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    parent_id: int | None
    depth: int = Field(description="0 for a top-level department.")
    member_count: int

    @staticmethod
    def resolve_depth(department) -> int:
        return max(department.path.count("/") - 2, 0)

    @staticmethod
    def resolve_member_count(department) -> int:
        count = getattr(department, "member_count", None)
        return count if count is not None else department.members.count()


class DepartmentIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    parent_id: BodyId | None = None


class DepartmentPatch(StrictIn):
    name: str | None = Field(None, min_length=1, max_length=100)
    code: str | None = Field(None, min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    parent_id: BodyId | None = Field(None, description="null moves the department to the top level.")


class PageParams(Schema):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1, description="Page size; at most 200.")


# --- API tokens -----------------------------------------------------------------------------

class TokenIn(StrictIn):
    name: str = Field(min_length=1, max_length=100, description="What the token is for, e.g. the integration.")
    expires_at: dt.datetime | None = Field(None, description="When it stops working; never if omitted.")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself. Shown this once: it is stored only as a hash.")
