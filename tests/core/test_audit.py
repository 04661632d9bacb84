import datetime as dt
from decimal import Decimal

import pytest

from loopcrm.core import audit
from loopcrm.core.models import AuditEntry
from tests import factories


@pytest.mark.django_db
def test_record_keeps_actor_object_and_json_safe_changes(org):
    customer = factories.customer("张伟")
    entry = audit.record(
        action="update", obj=customer, by=org.agent,
        changes={"total": Decimal("12.50"), "when": dt.date(2025, 3, 4), "owner": org.agent},
    )
    entry.refresh_from_db()
    assert entry.actor == org.agent
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("customers.customer", str(customer.pk), "张伟")
    assert entry.changes == {"total": "12.50", "when": "2025-03-04", "owner": org.agent.pk}


def test_diff_lists_only_changed_fields():
    assert audit.diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": [2, 3], "c": [None, 4]}


@pytest.mark.django_db
def test_record_many_writes_one_row_per_object():
    count = audit.record_many(action="import", object_type="customers.customer", object_ids=[1, 2, 3], by=None)
    assert count == 3
    assert AuditEntry.objects.filter(action="import").count() == 3
