"""Fixtures of the page tests: signed-in browsers (Django's test client) for each persona."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def browser_as(org):
    """browser_as("agent") -> a Django test client signed in as that persona."""

    def make(persona: str, **headers) -> Client:
        client = Client(**headers)
        client.force_login(getattr(org, persona))
        return client

    return make


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict:
    """Headers of an htmx request whose answer is swapped into the element with this id."""
    return {**HTMX, "HTTP_HX_TARGET": target}
