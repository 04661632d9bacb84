"""Plumbing shared by the pages of every app: domain errors as 404/403, htmx targets, list filters.

Pages call services and queries and render; these helpers keep that the same in every app.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Collection, Mapping
from functools import wraps
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.handlers.exception import get_exception_response
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_resolver, get_urlconf
from django.utils.log import log_response
from django.utils.translation import gettext as _
from django.views.debug import technical_404_response

from loopcrm.core.errors import DomainError, NotFound, PermissionDenied


def domain_pages(view: Callable) -> Callable:
    """Map the services' errors that no form can show to pages: NotFound -> 404, PermissionDenied -> 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (NotFound, PermissionDenied) as error:
            return refusal_page(request, error)

    return wrapper


def refusal_page(request: HttpRequest, error: NotFound | PermissionDenied) -> HttpResponse:
    """The 404 or 403 page Django would show for the error, logged as one line at INFO.

    A record out of sight or a role that may not act is an answer, not a fault: raised as Django's
    Http404/PermissionDenied it would be logged at WARNING, a 403 with its whole traceback.
    """
    if isinstance(error, NotFound):
        status, exception = 404, Http404(error.message)
    else:
        status, exception = 403, HttpForbidden(error.message)
    exception.__cause__ = error
    if status == 404 and settings.DEBUG:
        response = technical_404_response(request, exception)
    else:
        response = get_exception_response(request, get_resolver(get_urlconf()), status, exception)
    log_refusal(request, response, error)
    return response


def log_refusal(request: HttpRequest, response: HttpResponse, error: DomainError) -> None:
    """One line at INFO for a domain refusal (Django then logs the response no more)."""
    what = type(error).__name__ + (f" on {error.field}" if error.field else "")
    log_response("%s: %s (%s)", response.reason_phrase, request.path, what, response=response, request=request,
                 level="info")


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a full page (history restores too)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or ""


def is_fragment(request: HttpRequest) -> bool:
    return htmx_target(request) is not None


# --- filtered lists ------------------------------------------------------------------------------

class InvalidFilters(Protocol):
    """What a filter schema raises for input it cannot parse (pydantic's ValidationError)."""

    def errors(self) -> list[dict[str, Any]]: ...


def query_params(request: HttpRequest, names: Collection[str]) -> dict[str, str]:
    """The non-empty query parameters among `names` (an HTML form sends empty fields as "")."""
    return {key: value for key, value in request.GET.items() if key in names and value.strip() != ""}


def end_of_day(params: dict[str, str], key: str) -> None:
    """A date given for an exclusive upper bound ("until 3 March") means up to the end of that day."""
    value = params.get(key, "")
    if len(value) == 10:
        with contextlib.suppress(ValueError):
            params[key] = (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()


def is_filtered(params: Mapping[str, str]) -> bool:
    """Whether the list is narrowed by anything but its order and page."""
    return any(key not in ("sort", "cursor") for key in params)


def bad_filters_message(error: InvalidFilters, labels: Mapping[str, str]) -> str:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item.get("loc")})
    names = ", ".join(str(labels.get(name, name)) for name in fields)
    return _("Some filters could not be understood and were not applied: %(fields)s.") % {"fields": names}


def list_problem(error: DomainError, *, not_found: str | None = None) -> str:
    """What a list says above itself when a service refused its filters (an unknown sort, a bad cursor…).

    `not_found` is what to say when a record the filters name is missing or out of sight.
    """
    if not_found is not None and isinstance(error, NotFound):
        return not_found
    return _("This page of the list cannot be shown: %(reason)s") % {"reason": error.message}


def render_list(request: HttpRequest, template: str, context: dict[str, Any], *,
                results: str = "list-results") -> HttpResponse:
    """A list page (400 when `context["problem"]` says its filters failed), or for htmx only what changes:

    the next rows ("show more", target "more-row") or the results under the filters (target `results`).
    """
    status = 400 if context.get("problem") else 200
    target = htmx_target(request)
    if target == "more-row":
        return render(request, f"{template}#rows", context, status=status)
    if target == results:
        return render(request, f"{template}#results", context, status=status)
    return render(request, template, context, status=status)
