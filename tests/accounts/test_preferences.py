"""People keep their language and time zone on their account: set by themselves, or by an administrator."""

from __future__ import annotations

import pytest

from loopcrm.accounts.models import User
from loopcrm.accounts.services import set_preferences
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def audit_rows(user: User) -> list[dict]:
    return list(AuditEntry.objects.filter(object_type="accounts.user", object_id=str(user.pk), action="update")
                .values_list("changes", flat=True))


def test_an_agent_keeps_chinese_and_shanghai_time(org):
    set_preferences(org.agent, by=org.agent, language="zh-Hans", time_zone="Asia/Shanghai")
    org.agent.refresh_from_db()
    assert (org.agent.language, org.agent.time_zone) == ("zh-hans", "Asia/Shanghai")  # spelt as in LANGUAGES
    assert audit_rows(org.agent) == [{"language": ["", "zh-hans"], "time_zone": ["", "Asia/Shanghai"]}]


def test_none_leaves_a_preference_and_blank_clears_it(org):
    set_preferences(org.agent, by=org.agent, language="zh-hans", time_zone="Europe/London")
    set_preferences(org.agent, by=org.agent, time_zone="")
    org.agent.refresh_from_db()
    assert (org.agent.language, org.agent.time_zone) == ("zh-hans", "")


def test_choosing_the_same_again_changes_nothing(org):
    set_preferences(org.agent, by=org.agent, language="en")
    set_preferences(org.agent, by=org.agent, language="en")
    assert len(audit_rows(org.agent)) == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"language": "de"}, "language"),
    ({"language": "klingon"}, "language"),
    ({"language": 7}, "language"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ({"language": "zh-hans", "time_zone": "Beijing"}, "time_zone"),
])
def test_what_we_do_not_offer_is_refused_and_nothing_changes(org, changes, field):
    with pytest.raises(RuleViolation) as caught:
        set_preferences(org.agent, by=org.agent, **changes)
    assert caught.value.field == field
    org.agent.refresh_from_db()
    assert (org.agent.language, org.agent.time_zone) == ("", "") and audit_rows(org.agent) == []


def test_only_an_administrator_sets_someone_elses(org):
    with pytest.raises(PermissionDenied):
        set_preferences(org.agent, by=org.lead, language="zh-hans")
    org.agent.refresh_from_db()
    assert org.agent.language == "" and audit_rows(org.agent) == []

    set_preferences(org.agent, by=org.admin, language="zh-hans")
    org.agent.refresh_from_db()
    assert org.agent.language == "zh-hans"
    [entry] = AuditEntry.objects.filter(object_type="accounts.user", object_id=str(org.agent.pk), action="update")
    assert entry.actor == org.admin
