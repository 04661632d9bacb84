"""Domain errors, raised by services and mapped once per interface (API: RFC 9457, pages: form errors)."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule said no. `field` names the input at fault, when there is one."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.extra = extra or {}


class RuleViolation(DomainError):
    status = 422
    title = "Rule violation"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    """Only for actions on records the user can see but may not change in that way."""

    status = 403
    title = "Forbidden"
