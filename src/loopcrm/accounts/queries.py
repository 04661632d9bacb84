"""Reads of the directory: users and departments."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loopcrm.accounts.models import ApiToken, Department, User
from loopcrm.accounts.permissions import can
from loopcrm.core.errors import NotFound


def users_for(viewer: User) -> QuerySet[User]:
    if not can(viewer, "directory", "view"):
        return User.objects.none()
    return User.objects.select_related("department")


def get_user_for(viewer: User, user_id: int) -> User:
    user = users_for(viewer).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."), field="user_id")
    return user


def departments_for(viewer: User) -> QuerySet[Department]:
    if not can(viewer, "directory", "view"):
        return Department.objects.none()
    return Department.objects.all()


def get_department_for(viewer: User, department_id: int) -> Department:
    department = departments_for(viewer).filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("No such department."), field="department_id")
    return department


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
