"""GET /healthz: is the process up and the database reachable?"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        return JsonResponse({"status": "error", "database": "unreachable", "reason": reason}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
