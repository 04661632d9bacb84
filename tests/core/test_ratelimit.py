"""Public pages are rate-limited per key and window, with the count kept in the database."""

import datetime as dt

from loopcrm.core import ratelimit
from loopcrm.core.models import RateCounter

T0 = dt.datetime(2026, 11, 23, 10, 0, 5, tzinfo=dt.UTC)


def test_hits_over_the_limit_are_refused_until_the_window_ends(db):
    decisions = [ratelimit.hit("form:1.2.3.4", limit=3, window=60, at=T0) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == 55
    assert ratelimit.hit("form:1.2.3.4", limit=3, window=60, at=T0 + dt.timedelta(seconds=56)).allowed
    assert ratelimit.hit("form:5.6.7.8", limit=3, window=60, at=T0).allowed  # keys are separate


def test_old_windows_are_swept(db):
    ratelimit.hit("old", limit=1, window=60, at=T0 - dt.timedelta(days=2))
    ratelimit.hit("new", limit=1, window=60, at=T0)

    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]
