"""Story: the demo's loyalty programme is loaded after customers and orders; its ledger adds up."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db.models import Count, Min, Sum

from loopcrm.demo import load_demo
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.loyalty import queries, services
from loopcrm.loyalty.models import Membership, PointsEntry, Programme, TierChange

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)


def test_the_demo_programme_has_members_whose_ledgers_add_up():
    messages: list[str] = []
    load_demo(customers=150, seed=3, progress=messages.append, today=TODAY)  # loads the programme too
    calendar = DemoCalendar.ending(TODAY, zoneinfo.ZoneInfo("Asia/Shanghai"))

    programme = Programme.objects.get()
    assert [t.name for t in programme.tiers.order_by("rank")] == ["银卡 Silver", "金卡 Gold", "钻石 Diamond"]
    members = Membership.objects.filter(programme=programme)
    assert members.count() > 50
    kinds = dict(PointsEntry.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    assert kinds.get("earn", 0) > 100 and kinds.get("redeem", 0) > 0 and kinds.get("expire", 0) > 0
    assert TierChange.objects.filter(kind="upgrade").exists()
    assert PointsEntry.objects.aggregate(low=Min("balance_after"))["low"] >= 0
    # Every cached balance equals its ledger, and each running balance follows from the one before.
    sums = dict(PointsEntry.objects.values("membership_id").annotate(t=Sum("amount")).values_list("membership_id", "t"))
    for member in members:
        assert member.balance == sums.get(member.pk, 0)
    for member in members[:20]:
        running = 0
        for amount, after in member.entries.order_by("created_at", "id").values_list("amount", "balance_after"):
            running += amount
            assert after == running
    # Nothing is left to expire as of the demo's last month start, and the services agree with the loader.
    last_month = calendar.at(TODAY.replace(day=1))
    assert services.expire_points(at=last_month).points == 0
    assert any("Loyalty:" in message for message in messages)
    assert queries.membership_of(members.first().customer_id) is not None
