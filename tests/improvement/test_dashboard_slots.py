"""The quality dashboard (analytics) shows the improvement app's open signals through its slot."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.improvement.test_charts_pages import chart, signed_in, zhao  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db


def test_the_quality_dashboard_lists_open_signals_and_cycles(zhao, chart):  # noqa: F811
    page = signed_in(zhao).get(reverse("web:quality_dashboard")).content.decode()
    assert reverse("web:control_chart_detail", args=[chart.pk]) in page
    assert "No open signal" not in page
