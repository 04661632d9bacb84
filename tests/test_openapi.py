"""The API contract is pinned: any change to the OpenAPI schema shows up here as a diff to review.

After an intended change, regenerate with: LOOPCRM_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_openapi.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


@pytest.fixture
def schema(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.mark.django_db
def test_openapi_schema_matches_the_snapshot(schema):
    rendered = json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("LOOPCRM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with LOOPCRM_UPDATE_SNAPSHOTS=1"
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == json.loads(rendered)


@pytest.mark.django_db
def test_every_operation_declares_its_error_responses(schema):
    """Clients (and schemathesis) must know which errors each endpoint can answer."""
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation.get("responses", {}))
            if operation.get("security") == [] or path.endswith("/version"):
                continue
            needed = {"401", "422"} | ({"404"} if "{" in path else set())
            if method in {"post", "put", "patch"}:
                needed |= {"400"}
            if not needed <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(needed - codes)}")
    assert not missing, "undeclared error responses:\n" + "\n".join(missing)


@pytest.mark.django_db
def test_docs_page_serves_swagger_locally(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html
