"""Fixed-window rate limits for public pages (web form, survey answers), shared by every server process."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loopcrm.core.models import RateCounter

# Old windows are swept now and then, when a new window starts; a day is longer than any window we use.
KEEP = dt.timedelta(days=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends (0 when allowed)


def hit(key: str, *, limit: int, window: int, at: dt.datetime | None = None) -> RateDecision:
    """Count one hit on `key` in the current `window`-second window; allowed while the count ≤ `limit`."""
    now = at or timezone.now()
    epoch = now.timestamp()
    start_ts = math.floor(epoch / window) * window
    window_start = dt.datetime.fromtimestamp(start_ts, tz=dt.UTC)
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window_start=window_start).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=window_start, count=1)
            except IntegrityError:  # another process opened the window first
                RateCounter.objects.filter(key=key, window_start=window_start).update(count=F("count") + 1)
            else:
                RateCounter.objects.filter(window_start__lt=now - KEEP).delete()
        count = RateCounter.objects.values_list("count", flat=True).get(key=key, window_start=window_start)
    allowed = count <= limit
    return RateDecision(allowed=allowed, count=count, limit=limit,
                        retry_after=0 if allowed else max(1, math.ceil(start_ts + window - epoch)))


def client_ip(request) -> str:
    """The client's address as the server saw it (behind a proxy, REMOTE_ADDR is set by the proxy setup)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
