"""API plumbing shared by every router: problem details (RFC 9457) and list envelopes."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from pydantic import ConfigDict, Field

from loopcrm.core.errors import DomainError, NotFound, PermissionDenied
from loopcrm.core.pages import log_refusal

T = TypeVar("T")

PROBLEM_CONTENT_TYPE = "application/problem+json"

MAX_ID = 2**63 - 1  # ids are 64-bit: a larger one can name no row, and is refused before any query
# Ids inside a JSON body: whole numbers only ("7" or true are refused), within 64 bits.
BodyId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
# Ids given as query parameters (always text on the wire).
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]


class StrictIn(Schema):
    """Input: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Problem(Schema):
    """An error, as RFC 9457 problem details; `errors` lists each field at fault."""

    model_config = {"extra": "allow"}

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[dict[str, Any]] = Field(default_factory=list)


class PageOut(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last.")
    limit: int


# Status codes every endpoint may answer, declared so clients (and schemathesis) expect them. 414 comes
# from the HTTP server itself when a request line passes its limit (gunicorn: 4094 bytes).
COMMON_ERRORS: dict[int, type[Problem]] = {
    400: Problem, 401: Problem, 403: Problem, 404: Problem, 413: Problem, 414: Problem, 422: Problem, 429: Problem,
    503: Problem,
}
WRITE_ERRORS: dict[int, type[Problem]] = {**COMMON_ERRORS, 409: Problem}


def problem_response(api, request: HttpRequest, *, status: int, title: str, detail: str = "",
                     errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                     extensions: dict[str, Any] | None = None) -> HttpResponse:
    # RFC 9457 extension members (e.g. existing_id of a duplicate) sit beside the standard ones.
    body = {**(extensions or {}), "type": "about:blank", "title": title, "status": status, "detail": detail,
            "errors": errors or []}
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM_CONTENT_TYPE
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def domain_error_response(api, request: HttpRequest, error: DomainError) -> HttpResponse:
    errors = [{"field": error.field, "message": error.message, **error.extra}] if error.field else []
    response = problem_response(api, request, status=error.status, title=error.title, detail=error.message,
                                errors=errors, extensions=error.extra)
    if isinstance(error, NotFound | PermissionDenied):  # an answer, not a fault: one line at INFO
        log_refusal(request, response, error)
    return response
