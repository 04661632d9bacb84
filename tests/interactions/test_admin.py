"""The Django admin shows the timeline read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_interaction_admin_is_read_only(org):
    client = Client()
    client.force_login(org.admin)
    touch = factories.interaction(factories.customer("张伟", owner=org.agent), user=org.agent, subject="回访")
    assert client.get("/admin/interactions/interaction/").status_code == 200
    page = client.get(f"/admin/interactions/interaction/{touch.pk}/change/")
    assert page.status_code == 200 and "回访" in page.content.decode()
    assert client.get("/admin/interactions/interaction/add/").status_code == 403
    assert client.post(f"/admin/interactions/interaction/{touch.pk}/change/", {"subject": "x"}).status_code == 403
