"""Small assertions the API stories share."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


def problem(response, status: int, field: str | None = None) -> dict:
    """Assert an RFC 9457 problem answer with `status`, naming `field` among the errors when given."""
    assert response.status_code == status, response.content.decode()[:2000]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and isinstance(body["errors"], list)
    if field is not None:
        fields = [error.get("field") for error in body["errors"]]
        assert field in fields, f"{field!r} not in {fields}: {body}"
    return body


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content.decode()[:2000]
    return response.json() if response.content else {}


@contextmanager
def count_queries():
    """with count_queries() as queries: ...; len(queries) — the queries a block ran."""
    with CaptureQueriesContext(connection) as context:
        yield context
