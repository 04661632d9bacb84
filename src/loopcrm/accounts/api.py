"""REST endpoints for the directory and personal API tokens (thin): load through queries, call one service."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts import queries, services
from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import DEFAULT_SCOPES, can, scope_for
from loopcrm.accounts.schemas import (
    USER_SORTS,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    MeOut,
    PageParams,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    UserFilter,
    UserOut,
)
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import NotFound, PermissionDenied
from loopcrm.core.pagination import Page, paginate
from loopcrm.core.text import clean_line

router = Router()

ADMIN_ERRORS = {**WRITE_ERRORS, 403: Problem}


def _page(page: Page) -> dict:
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


def _require_directory_admin(user: User) -> None:
    if not can(user, "directory", "change"):
        raise PermissionDenied(_("Only administrators may change departments."))


# --- users ----------------------------------------------------------------------------------

@router.get("/users", response={200: PageOut[UserOut], **COMMON_ERRORS}, url_name="users", summary="List users")
def list_users(request, filters: Query[UserFilter]):
    users = queries.users_for(request.user).prefetch_related("teams")
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.department_id is not None:
        users = users.filter(department_id=filters.department_id)
    if filters.is_active is not None:
        users = users.filter(is_active=filters.is_active)
    if term := clean_line(filters.q, field="q", max_length=100):
        users = users.filter(Q(username__icontains=term) | Q(display_name__icontains=term) | Q(email__icontains=term)
                             | Q(first_name__icontains=term) | Q(last_name__icontains=term))
    return _page(paginate(users, sort=filters.sort, allowed=USER_SORTS, cursor=filters.cursor, limit=filters.limit))


@router.get("/users/me", response={200: MeOut, **COMMON_ERRORS}, url_name="me", summary="Who you are signed in as")
def me(request):
    user = queries.users_for(request.user).prefetch_related("teams").filter(pk=request.user.pk).first()
    if user is None:
        raise NotFound(_("No such user."))
    object_types = sorted({kind for table in DEFAULT_SCOPES.values() for kind in table})
    actions = {kind: sorted({a for table in DEFAULT_SCOPES.values() for a in table.get(kind, {})})
               for kind in object_types}
    user.scopes = {kind: {action: scope_for(user, kind, action).name.lower() for action in actions[kind]}
                   for kind in object_types}
    return user


@router.get("/users/{user_id}", response={200: UserOut, **COMMON_ERRORS}, url_name="user", summary="One user")
def get_user(request, user_id: int):
    user = queries.users_for(request.user).prefetch_related("teams").filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."), field="user_id")
    return user


# --- departments ----------------------------------------------------------------------------

def _departments(viewer: User):
    return queries.departments_for(viewer).annotate(member_count=Count("members"))


def _department(viewer: User, department_id: int):
    department = _departments(viewer).filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("No such department."), field="department_id")
    return department


def _parent(viewer: User, parent_id: int | None):
    return None if parent_id is None else _department(viewer, parent_id)


@router.get("/departments", response={200: PageOut[DepartmentOut], **COMMON_ERRORS}, url_name="departments",
            summary="List departments", description="In tree order: each department right after its parent.")
def list_departments(request, params: Query[PageParams]):
    return _page(paginate(_departments(request.user), sort="path", allowed=("path",), cursor=params.cursor,
                          limit=params.limit))


@router.post("/departments", response={201: DepartmentOut, **ADMIN_ERRORS}, url_name="create_department",
             summary="Create a department (administrators)")
def create_department(request, payload: DepartmentIn):
    _require_directory_admin(request.user)
    department = services.create_department(name=payload.name, code=payload.code,
                                            parent=_parent(request.user, payload.parent_id), by=request.user)
    return Status(201, _department(request.user, department.pk))


@router.get("/departments/{department_id}", response={200: DepartmentOut, **COMMON_ERRORS}, url_name="department",
            summary="One department")
def get_department(request, department_id: int):
    return _department(request.user, department_id)


@router.patch("/departments/{department_id}", response={200: DepartmentOut, **ADMIN_ERRORS},
              url_name="update_department", summary="Rename or move a department (administrators)")
def update_department(request, department_id: int, payload: DepartmentPatch):
    department = _department(request.user, department_id)
    _require_directory_admin(request.user)
    changes = payload.model_dump(exclude_unset=True)
    if "parent_id" in changes:
        changes["parent"] = _parent(request.user, changes.pop("parent_id"))
    services.update_department(department, by=request.user, changes=changes)
    return _department(request.user, department_id)


@router.delete("/departments/{department_id}", response={204: None, **ADMIN_ERRORS}, url_name="delete_department",
               summary="Delete an empty department (administrators)",
               description="Refused (409) while it has users, sub-departments, teams or customers.")
def delete_department(request, department_id: int):
    department = _department(request.user, department_id)
    _require_directory_admin(request.user)
    services.delete_department(department, by=request.user)
    return Status(204, None)


# --- my API tokens --------------------------------------------------------------------------

@router.get("/tokens", response={200: PageOut[TokenOut], **COMMON_ERRORS}, url_name="tokens",
            summary="Your API tokens", description="Newest first; the tokens themselves are never shown again.")
def list_tokens(request, params: Query[PageParams]):
    return _page(paginate(queries.tokens_of(request.user), sort="-id", allowed=("-id",), cursor=params.cursor,
                          limit=params.limit))


@router.post("/tokens", response={201: TokenCreatedOut, **WRITE_ERRORS}, url_name="create_token",
             summary="Create an API token for yourself", description="The answer holds the token, this once only.")
def create_token(request, payload: TokenIn):
    token, raw = services.create_token(user=request.user, name=payload.name, expires_at=payload.expires_at,
                                       by=request.user)
    token.token = raw
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None, **COMMON_ERRORS}, url_name="revoke_token",
               summary="Revoke one of your API tokens")
def revoke_token(request, token_id: int):
    token = queries.tokens_of(request.user).filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("You have no such token."), field="token_id")
    services.revoke_token(token, by=request.user)
    return Status(204, None)
