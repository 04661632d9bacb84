"""Fishbone counts on hand-built complaints: per branch, cause and sub-cause, this period against the one
before it, a monthly series per branch, any scope; only complaints the user may see."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.improvement.queries.fishbone import FishboneScope, fishbone
from loopcrm.service.models import Ticket
from tests import factories
from tests.improvement.diagram_support import category, cause, complaint

SEPT = {"start": dt.date(2026, 9, 1), "end": dt.date(2026, 9, 30)}  # previous: Aug 2 – Aug 31


@pytest.fixture
def causes(db):
    waiting = cause("等待太久 Waiting", "process", code="waiting")
    transfers = cause("转接多次 Transfers", "process", code="transfers")
    attitude = cause("态度差 Attitude", "people", code="attitude")
    impatient = cause("不耐烦 Impatient", "people", parent=attitude, code="impatient")
    courier = cause("快递延误 Courier late", "partner", code="courier")
    return {"waiting": waiting, "transfers": transfers, "attitude": attitude, "impatient": impatient,
            "courier": courier}



def branch(data, key):
    return next(item for item in data.branches if item.branch == key)


def test_counts_per_branch_cause_and_sub_cause_against_the_previous_period(org, qm, causes):
    # Given complaints in September (this period) and August (the previous one)
    for day in ("2026-09-02", "2026-09-10", "2026-09-29"):
        complaint(day, causes["waiting"])
    complaint("2026-09-15", causes["transfers"])
    complaint("2026-08-20", causes["waiting"])
    complaint("2026-08-21", causes["waiting"])
    complaint("2026-08-22", causes["waiting"])
    complaint("2026-08-23", causes["waiting"])
    complaint("2026-09-05", causes["attitude"])
    complaint("2026-09-06", causes["impatient"])
    complaint("2026-09-07", causes["impatient"])
    complaint("2026-08-10", causes["courier"])
    complaint("2026-09-08")  # no root cause yet
    complaint("2026-09-09", causes["waiting"], kind=Ticket.Kind.INQUIRY)  # not a complaint
    complaint("2026-10-01", causes["waiting"])  # after the period
    complaint("2026-08-01", causes["waiting"])  # before the previous period
    # When the quality manager reads September's fishbone
    data = fishbone(qm, FishboneScope(), **SEPT)
    # Then
    assert (data.previous_start, data.previous_end) == (dt.date(2026, 8, 2), dt.date(2026, 8, 31))
    assert [item.branch for item in data.branches] == ["people", "process", "product", "policy", "place", "partner"]
    process = branch(data, "process")
    assert (process.count, process.previous, process.change, process.direction) == (4, 4, 0, "flat")
    assert [(c.code, c.count, c.previous, c.direction) for c in process.causes] == [
        ("waiting", 3, 4, "down"), ("transfers", 1, 0, "up")]
    people = branch(data, "people")
    assert (people.count, people.previous, people.direction) == (3, 0, "up")
    attitude = people.causes[0]
    assert (attitude.code, attitude.count) == ("attitude", 3)  # its own complaint and the sub-cause's two
    assert [(s.code, s.count) for s in attitude.sub_causes] == [("impatient", 2)]
    partner = branch(data, "partner")
    assert (partner.count, partner.previous, partner.direction) == (0, 1, "down")
    assert data.unclassified == 1 and data.previous_unclassified == 0
    assert data.total == 8 and data.previous_total == 5
    assert process.share == pytest.approx(4 / 7, abs=1e-4)


def test_a_monthly_series_per_branch(org, qm, causes):
    complaint("2026-07-15", causes["waiting"])
    complaint("2026-08-15", causes["waiting"])
    complaint("2026-08-16", causes["transfers"])
    complaint("2026-09-15", causes["impatient"])
    data = fishbone(qm, FishboneScope(), **SEPT, months=3)
    assert data.months == [dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1)]
    assert branch(data, "process").monthly == [1, 2, 0]
    assert branch(data, "people").monthly == [0, 0, 1]


def test_a_month_boundary_is_the_users_time_zone(org, qm, causes):
    # 2026-08-31 17:00 UTC is already September 1st in Shanghai
    complaint("2026-08-31", causes["waiting"], opened_at=dt.datetime(2026, 8, 31, 17, tzinfo=dt.UTC))
    data = fishbone(qm, FishboneScope(), **SEPT, months=2)
    assert branch(data, "process").count == 1 and branch(data, "process").previous == 0
    assert branch(data, "process").monthly == [0, 1]


def test_scope_by_department_category_channel_and_region(org, qm, causes):
    delivery = category("配送 Delivery")
    late = category("延误 Late", parent=delivery)
    shanghai = factories.customer("上海客户", province="上海")
    complaint("2026-09-03", causes["courier"], department=org.service, category=late, channel="wechat",
              customer=shanghai)
    complaint("2026-09-04", causes["courier"], department=org.sales_east, category=delivery, channel="phone")
    complaint("2026-09-05", causes["waiting"], department=org.service, channel="phone")

    def count(**scope):
        return fishbone(qm, FishboneScope(**scope), **SEPT).total

    assert count() == 3
    assert count(department_id=org.service.pk) == 2
    assert count(department_id=org.head.pk) == 3  # a department and those below it
    assert count(category_id=delivery.pk) == 2  # a category and those below it
    assert count(category_id=late.pk) == 1
    assert count(channel="wechat") == 1
    assert count(region="上海") == 1
    data = fishbone(qm, FishboneScope(department_id=org.service.pk, channel="phone"), **SEPT)
    assert data.total == 1 and data.filters == {"department_id": org.service.pk, "channel": "phone"}
    assert "服务部 Service" in data.effect


def test_only_complaints_the_user_may_see_are_counted(org, causes):
    complaint("2026-09-03", causes["courier"], department=org.service)
    complaint("2026-09-04", causes["courier"], department=org.sales_east)
    # An agent sees their department's tickets; the executive sees all.
    assert fishbone(org.agent, FishboneScope(), **SEPT).total == 1
    assert fishbone(org.exec, FishboneScope(), **SEPT).total == 2


def test_bad_input_names_the_field(org, qm):
    with pytest.raises(RuleViolation) as error:
        fishbone(qm, FishboneScope(), start=dt.date(2026, 9, 30), end=dt.date(2026, 9, 1))
    assert error.value.field == "start"
    with pytest.raises(RuleViolation) as error:
        fishbone(qm, FishboneScope(), start=dt.date(2020, 1, 1), end=dt.date(2026, 9, 1))
    assert error.value.field == "end"
    with pytest.raises(RuleViolation) as error:
        fishbone(qm, FishboneScope(channel="pigeon"), **SEPT)
    assert error.value.field == "channel"
    with pytest.raises(RuleViolation) as error:
        fishbone(qm, FishboneScope(department_id=999_999), **SEPT)
    assert error.value.field == "department_id"
    with pytest.raises(RuleViolation) as error:
        fishbone(qm, FishboneScope(category_id=999_999), **SEPT)
    assert error.value.field == "category_id"


def test_a_role_without_the_improvement_engine_is_refused(org):
    seller = factories.user("seller", role="sales", department=org.sales_east)
    with pytest.raises(PermissionDenied):
        fishbone(seller, FishboneScope(), **SEPT)


def test_counting_takes_a_fixed_number_of_queries(org, qm, causes, django_assert_max_num_queries):
    for day in range(1, 29):
        complaint(f"2026-09-{day:02d}", causes["impatient" if day % 2 else "waiting"])
    with django_assert_max_num_queries(4):
        fishbone(qm, FishboneScope(), **SEPT)
