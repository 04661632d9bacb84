"""Fixtures shared by the improvement engine's tests."""

from __future__ import annotations

import pytest

from tests.improvement.diagram_support import quality_manager


@pytest.fixture
def qm(org):
    """A quality manager at the head office (sees every department's complaints)."""
    return quality_manager(org.head)
