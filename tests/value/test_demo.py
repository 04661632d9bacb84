"""The demo's value step: a recompute as of the demo's now and starter segments that compile and count."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.demo import load_demo
from loopcrm.value import queries
from loopcrm.value.models import CustomerValue, Segment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 1)


def test_demo_value_recomputes_and_saves_segments():
    messages: list[str] = []
    load_demo(customers=120, seed=5, progress=messages.append, today=TODAY)  # recomputes value too
    assert CustomerValue.objects.count() >= 120
    assert CustomerValue.objects.exclude(tier="").exists()
    assert set(CustomerValue.objects.values_list("stage", flat=True)) >= {"active", "churned"}
    assert Segment.objects.count() == 3
    for segment in Segment.objects.all():
        queries.segment_count(segment)  # every starter rule compiles and runs
    assert any("Customer value" in message for message in messages)
