"""Writes on users, departments and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from loopcrm.accounts.models import ApiToken, Department, Role, Team, User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation

TOKEN_PREFIX = "lcrm_"  # noqa: S105 — a public marker, not a secret


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no salt is needed against guessing.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_department(*, name: str, code: str, parent: Department | None = None, by: User | None = None) -> Department:
    if Department.objects.filter(code=code).exists():
        raise Conflict(f"A department with code {code!r} exists.", field="code")
    department = Department.objects.create(name=name, code=code, parent=parent)
    department.path = f"{parent.path if parent else '/'}{department.pk}/"
    department.save(update_fields=["path"])
    audit.record(action="create", obj=department, by=by, changes={"name": name, "parent": parent})
    return department


@transaction.atomic
def move_department(department: Department, *, parent: Department | None, by: User | None = None) -> Department:
    """Re-parent a department and every department below it."""
    if parent is not None and parent.path.startswith(department.path):
        raise RuleViolation("A department cannot be moved below itself.", field="parent")
    old_path = department.path
    new_path = f"{parent.path if parent else '/'}{department.pk}/"
    for child in Department.objects.select_for_update().filter(path__startswith=old_path):
        child.path = new_path + child.path[len(old_path):]
        child.save(update_fields=["path"])
    department.refresh_from_db()
    department.parent = parent
    department.save(update_fields=["parent", "updated_at"])
    audit.record(action="update", obj=department, by=by, changes={"parent": parent})
    return department


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str | None,
    role: str = Role.AGENT,
    department: Department | None = None,
    email: str = "",
    display_name: str = "",
    is_superuser: bool = False,
    teams: list[Team] | None = None,
    by: User | None = None,
    check_password: bool = True,
) -> User:
    if role not in Role.values:
        raise RuleViolation(f"Unknown role {role!r}.", field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken.", field="username")
    user = User(
        username=username, email=email, role=role, department=department, display_name=display_name,
        is_superuser=is_superuser, is_staff=is_superuser or role == Role.ADMINISTRATOR,
    )
    if password is None:
        user.set_unusable_password()
    else:
        if check_password:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise RuleViolation(" ".join(error.messages), field="password") from error
        user.set_password(password)
    user.save()
    if teams:
        user.teams.set(teams)
    audit.record(action="create", obj=user, by=by, changes={"role": role, "department": department})
    return user


@transaction.atomic
def deactivate_user(user: User, *, by: User | None = None) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(action="update", obj=user, by=by, changes={"is_active": [True, False]})
    return user


def create_token(
    *, user: User, name: str, expires_at: dt.datetime | None = None, by: User | None = None
) -> tuple[ApiToken, str]:
    """A new API token for `user`. Returns the row and the raw token, which is never stored."""
    if not name.strip():
        raise RuleViolation("A token needs a name.", field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=raw[:12], token_hash=hash_token(raw), expires_at=expires_at
    )
    audit.record(action="create", obj=token, by=by or user, changes={"name": token.name})
    return token, raw


def revoke_token(token: ApiToken, *, by: User, at: dt.datetime | None = None) -> ApiToken:
    token.revoked_at = at or timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(action="update", obj=token, by=by, changes={"revoked": True})
    return token


def authenticate_token(raw: str, *, at: dt.datetime | None = None) -> User | None:
    """The active user behind a raw token, or None. Marks the token used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = at or timezone.now()
    token = ApiToken.objects.select_related("user", "user__department").filter(token_hash=hash_token(raw)).first()
    if token is None or not token.is_active_at(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        # A conditional update: no lock, no lost write, and no write per request under load.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
