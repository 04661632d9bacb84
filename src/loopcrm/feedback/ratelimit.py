"""A small fixed-window rate limiter on Django's cache (shared by every app server when the cache is)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def survey_limits() -> tuple[int, int]:
    """(requests per address per window, window seconds) of the public survey page and endpoint:
    LOOPCRM_SURVEY_RATE_LIMIT, default 60 per 5 minutes."""
    limit, window = getattr(settings, "LOOPCRM_SURVEY_RATE_LIMIT", (60, 300))
    return int(limit), int(window)


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one hit on `key`; False once more than `limit` hits fall in the current `window` seconds."""
    bucket = f"loopcrm:rl:{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, timeout=window + 1):
        return True
    try:
        hits = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        return True
    return hits <= limit


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
