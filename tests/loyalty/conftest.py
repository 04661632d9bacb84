"""The loyalty programme the stories use: 会员计划 with 银卡 Silver (entry), 金卡 Gold and 钻石 Diamond.

Gold needs 5,000 CNY spent in 12 months, Diamond 20,000 points earned in 12 months; 1 point per
yuan, 20 points per survey, points expire after 12 months, Gold earns ×1.5 and Diamond ×2.
Members: 张伟 (a customer of the agent, Service department) and Tom (Sales East; in the agent's sight
since decision 0008, out of the sales rep's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from loopcrm.customers.models import Customer
from loopcrm.loyalty import services
from loopcrm.loyalty.models import Membership, MembershipTier, Programme
from tests import factories

TIERS = [
    {"name": "银卡 Silver", "rank": 0, "qualify_by": "spend", "threshold": 0},
    {"name": "金卡 Gold", "rank": 1, "qualify_by": "spend", "threshold": "5000", "points_multiplier": "1.5",
     "grace_months": 3, "priority_boost": 10},
    {"name": "钻石 Diamond", "rank": 2, "qualify_by": "points", "threshold": "20000", "points_multiplier": "2",
     "grace_months": 3, "priority_boost": 30, "dedicated_agent": True},
]


@dataclass
class Club:
    programme: Programme
    silver: MembershipTier
    gold: MembershipTier
    diamond: MembershipTier
    zhang: Customer
    tom: Customer
    member: Membership  # 张伟's membership
    tom_member: Membership


def make_programme(name: str = "会员计划 Members", **values) -> Programme:
    defaults = {"currency": "CNY", "points_per_unit": "1", "survey_points": 20, "expiry_months": 12}
    return services.create_programme(by=None, name=name, tiers=TIERS, **{**defaults, **values})


@pytest.fixture
def long_ago():
    return timezone.now() - dt.timedelta(days=3 * 365)


@pytest.fixture
def club(org, long_ago) -> Club:
    programme = make_programme()
    tiers = {t.rank: t for t in programme.tiers.all()}
    zhang = factories.customer("张伟", owner=org.agent)
    tom = factories.customer("Tom Baker", owner=org.other_agent)
    member = services.enrol(zhang, programme, by=org.admin, at=long_ago)
    tom_member = services.enrol(tom, programme, by=org.admin, at=long_ago)
    return Club(programme=programme, silver=tiers[0], gold=tiers[1], diamond=tiers[2], zhang=zhang, tom=tom,
                member=member, tom_member=tom_member)
