"""The public survey's rate limit: a fixed window per client address, counted in the database
(`core.ratelimit`) so that every app server process shares it."""

from __future__ import annotations

from django.conf import settings

from loopcrm.core.ratelimit import RateDecision, client_ip, hit


def survey_limits() -> tuple[int, int]:
    """(requests per address per window, window seconds) of the public survey page and endpoint:
    LOOPCRM_SURVEY_RATE_LIMIT, default 60 per 5 minutes."""
    limit, window = getattr(settings, "LOOPCRM_SURVEY_RATE_LIMIT", (60, 300))
    return int(limit), int(window)


def survey_hit(request) -> RateDecision:
    """Count one request to the public survey from this client; `.allowed` is False past the limit."""
    limit, window = survey_limits()
    return hit(f"survey:{client_ip(request)}", limit=limit, window=window)
