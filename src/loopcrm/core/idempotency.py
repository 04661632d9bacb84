"""Idempotency-Key for API POSTs (shared/RELIABILITY.md): a retried request never acts twice.

- first request with a key: processed; its response is stored;
- the same key and the same body again: the stored response, byte-identical, with
  `Idempotent-Replayed: true`;
- the same key with another body or path: 422;
- the same key while the first is still being processed: 409.
Keys are scoped to the credential that sent them and kept for 24 hours. A 5xx is not stored,
so the client may retry it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from loopcrm.core.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=24)
# A request that has been "in flight" longer than this died without answering; its key is freed.
STALE_AFTER = dt.timedelta(minutes=5)
REPLAYED_HEADERS = ("Location", "ETag", "Content-Language")


def _problem(status: int, title: str, detail: str) -> HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "errors": [{"field": HEADER, "message": detail}]}
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def _credential(request: HttpRequest) -> str | None:
    source = request.headers.get("Authorization") or request.COOKIES.get("sessionid")
    return hashlib.sha256(source.encode()).hexdigest() if source else None


def purge_expired(*, now: dt.datetime | None = None) -> int:
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=(now or timezone.now()) - KEEP_FOR).delete()
    return deleted


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        credential = _credential(request)
        if credential is None:  # unauthenticated: let the API answer 401 as usual
            return self.get_response(request)
        if not key or len(key) > 255 or not key.isprintable():
            return _problem(400, "Bad request", "Idempotency-Key must be 1 to 255 printable characters.")
        try:
            body_hash = hashlib.sha256(request.body).hexdigest()
        except RequestDataTooBig:
            return _problem(413, "Request too large", "The request body is over the documented limit.")
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    credential=credential, key=key, method=request.method, path=request.path, body_hash=body_hash,
                    created_at=now,
                )
        except IntegrityError:
            return self._answer_repeat(request, credential, key, body_hash, now)
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotentRequest.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            IdempotentRequest.objects.filter(pk=record.pk).delete()
            return response
        IdempotentRequest.objects.filter(pk=record.pk).update(
            status=response.status_code, content_type=response.get("Content-Type", ""),
            response_body=response.content, completed_at=timezone.now(),
            response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
        )
        return response

    def _answer_repeat(self, request, credential: str, key: str, body_hash: str, now) -> HttpResponse:
        record = IdempotentRequest.objects.filter(credential=credential, key=key).first()
        if record is None:  # purged in between: treat as new
            return self(request)
        if record.completed_at is None:
            if now - record.created_at > STALE_AFTER:
                IdempotentRequest.objects.filter(pk=record.pk, completed_at=None).delete()
                return self(request)
            response = _problem(409, "Conflict", "A request with this Idempotency-Key is still being processed.")
            response["Retry-After"] = "1"
            return response
        if record.body_hash != body_hash or record.path != request.path:
            return _problem(422, "Rule violation",
                            "This Idempotency-Key was used with a different request; use a new key.")
        response = HttpResponse(bytes(record.response_body or b""), status=record.status,
                                content_type=record.content_type or None)
        for name, value in record.response_headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response
