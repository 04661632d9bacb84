"""Writes on users, departments and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import ApiToken, Department, Role, Team, User
from loopcrm.accounts.permissions import can
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, listing

TOKEN_PREFIX = "lcrm_"  # noqa: S105 — a public marker, not a secret


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no salt is needed against guessing.
    return hashlib.sha256(raw.encode()).hexdigest()


_DEPARTMENT_CODE = re.compile(r"^[-a-zA-Z0-9_]+$")


def _department_name(name: str) -> str:
    return clean_line(name, field="name", max_length=100, required=True)


def _department_code(code: str, *, exclude_pk: int | None = None) -> str:
    code = clean_line(code, field="code", max_length=50, required=True)
    if not _DEPARTMENT_CODE.match(code):
        raise RuleViolation(_("A code uses letters, digits, '-' and '_' only."), field="code")
    taken = Department.objects.filter(code__iexact=code)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(_("A department with code %(code)s exists.") % {"code": repr(code)}, field="code")
    return code


@transaction.atomic
def create_department(*, name: str, code: str, parent: Department | None = None, by: User | None = None) -> Department:
    name, code = _department_name(name), _department_code(code)
    department = Department.objects.create(name=name, code=code, parent=parent)
    department.path = f"{parent.path if parent else '/'}{department.pk}/"
    department.save(update_fields=["path"])
    audit.record(action="create", obj=department, by=by, changes={"name": name, "parent": parent})
    return department


@transaction.atomic
def move_department(department: Department, *, parent: Department | None, by: User | None = None) -> Department:
    """Re-parent a department and every department below it."""
    if parent is not None and parent.path.startswith(department.path):
        raise RuleViolation(_("A department cannot be moved below itself."), field="parent")
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
def update_department(department: Department, *, by: User | None, changes: Mapping[str, Any]) -> Department:
    """Rename a department, change its code, or move it (with everything below it) under another parent."""
    unknown = sorted(set(changes) - {"name", "code", "parent"})
    if unknown:
        raise RuleViolation(_("These fields cannot be changed: %(fields)s.") % {"fields": listing(unknown)},
                            field=unknown[0])
    department = Department.objects.select_for_update().get(pk=department.pk)
    before = audit.snapshot(department, ["name", "code"])
    if "name" in changes:
        department.name = _department_name(changes["name"])
    if "code" in changes:
        department.code = _department_code(changes["code"], exclude_pk=department.pk)
    changed = audit.diff(before, audit.snapshot(department, ["name", "code"]))
    if changed:
        department.save(update_fields=[*changed, "updated_at"])
        audit.record(action="update", obj=department, by=by, changes=changed)
    if "parent" in changes and changes["parent"] != department.parent:
        department = move_department(department, parent=changes["parent"], by=by)
    return department


@transaction.atomic
def delete_department(department: Department, *, by: User | None) -> None:
    """Remove an empty department. One that still has people, sub-departments, teams or customers stays."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    holding = {
        "users": department.members.count(),
        "departments": department.children.count(),
        "teams": department.teams.count(),
        "customers": department.customers.count(),
    }
    left = {kind: count for kind, count in holding.items() if count}
    if left:
        counted = {
            "users": _("%(count)d users"), "departments": _("%(count)d departments"),
            "teams": _("%(count)d teams"), "customers": _("%(count)d customers"),
        }
        listed = listing(counted[kind] % {"count": count} for kind, count in left.items())
        raise Conflict(_("The department %(name)s still has %(listed)s; move them first.")
                       % {"name": repr(department.name), "listed": listed},
                       field="department_id", extra={"remaining": left})
    audit.record(action="delete", obj=department, by=by, changes={"name": department.name, "code": department.code})
    try:
        with transaction.atomic():
            department.delete()
    except ProtectedError as error:  # something newer points at it (a queue, a policy…)
        raise Conflict(_("The department %(name)s is still in use; move what refers to it first.")
                       % {"name": repr(department.name)}, field="department_id") from error


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
        raise RuleViolation(_("Unknown role %(role)s.") % {"role": repr(role)}, field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("The username %(username)s is taken.") % {"username": repr(username)}, field="username")
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


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _language(value: Any) -> str:
    """A language of settings.LANGUAGES, as it is spelt there; "" for the browser's."""
    if not isinstance(value, str):
        raise RuleViolation(_("Expected text, not %(type)s.") % {"type": type(value).__name__}, field="language")
    codes = {code.lower(): code for code, _name in settings.LANGUAGES}
    if value.strip() and value.strip().lower() not in codes:
        raise RuleViolation(_("Unknown language %(language)s; use one of: %(choices)s.")
                            % {"language": repr(value), "choices": listing(codes.values())}, field="language")
    return codes.get(value.strip().lower(), "")


def _time_zone(value: Any) -> str:
    """An IANA time zone such as Asia/Shanghai; "" for the organisation's."""
    if not isinstance(value, str):
        raise RuleViolation(_("Expected text, not %(type)s.") % {"type": type(value).__name__}, field="time_zone")
    if value.strip() and value.strip() not in _time_zones():
        raise RuleViolation(_("Unknown time zone %(zone)s; use an IANA name such as Asia/Shanghai.")
                            % {"zone": repr(value)}, field="time_zone")
    return value.strip()


@transaction.atomic
def set_preferences(user: User, *, by: User, language: str | None = None, time_zone: str | None = None) -> User:
    """Keep a user's language and time zone on their account, so they follow them to any browser.

    None leaves a preference as it is; "" clears it (the browser's language, the organisation's time zone).
    People set their own; administrators may set anyone's.
    """
    if by.pk != user.pk and not can(by, "directory", "change"):
        raise PermissionDenied(_("You may change only your own preferences."))
    fields = ["language", "time_zone"]
    current = User.objects.select_for_update().get(pk=user.pk)
    before = audit.snapshot(current, fields)
    if language is not None:
        current.language = _language(language)
    if time_zone is not None:
        current.time_zone = _time_zone(time_zone)
    changed = audit.diff(before, audit.snapshot(current, fields))
    if changed:
        current.save(update_fields=list(changed))
        audit.record(action="update", obj=current, by=by, changes=changed)
    user.language, user.time_zone = current.language, current.time_zone
    return user


@transaction.atomic
def create_token(
    *, user: User, name: str, expires_at: dt.datetime | None = None, by: User | None = None
) -> tuple[ApiToken, str]:
    """A new API token for `user`. Returns the row and the raw token, which is never stored."""
    name = clean_line(name, field="name", max_length=100, required=True)
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        if expires_at <= timezone.now():
            raise RuleViolation(_("The expiry time has already passed."), field="expires_at")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:12], token_hash=hash_token(raw), expires_at=expires_at
    )
    audit.record(action="create", obj=token, by=by or user, changes={"name": token.name})
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, by: User, at: dt.datetime | None = None) -> ApiToken:
    """Stop a token from working. Revoking a revoked token changes nothing (it keeps its first time)."""
    when = at or timezone.now()
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=when):
        audit.record(action="update", obj=token, by=by, changes={"revoked": True})
    token.refresh_from_db(fields=["revoked_at"])
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
