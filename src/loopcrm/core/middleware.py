"""Turn a database that stays busy past its timeout into 503 + Retry-After, never a 500."""

from __future__ import annotations

from django.db import OperationalError
from django.http import JsonResponse


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError) and "locked" in str(exception).lower():
            response = JsonResponse(
                {"type": "about:blank", "title": "Service busy", "status": 503,
                 "detail": "The database is busy; retry shortly."},
                status=503, content_type="application/problem+json",
            )
            response["Retry-After"] = "1"
            return response
        return None
