"""Retention rules: personal data kept no longer than its purpose needs. An administrator turns a category's rule
on with a period; applying it (nightly, or now) overwrites what identifies people in the records of that
category older than the period, passes by customers under a legal hold, keeps every count, and is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from loopcrm.accounts.models import Role
from loopcrm.core.errors import Conflict, PermissionDenied, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers import holds
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer, ErasedIdentity
from loopcrm.feedback.models import SurveyKind
from loopcrm.imports.models import ImportJob, StagedRow
from loopcrm.interactions.models import Interaction
from loopcrm.overview import retention
from loopcrm.overview.models import RetentionRule
from loopcrm.service.models import Attachment, Ticket, TicketMessage
from tests import factories
from tests.feedback.conftest import answered, make_survey

pytestmark = pytest.mark.django_db
NOW = timezone.now()
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=10)


def turn_on(org, category: str, days: int = 365) -> None:
    retention.update_rule(org.admin, category, keep_days=days, is_active=True)


@pytest.fixture
def people(org):
    """Three customers: 老王 (old records), 小李 (recent records), 张伟 (old records, under a legal hold)."""
    made = {name: factories.customer(name, department=org.service, phone=phone)
            for name, phone in (("老王", "13800000001"), ("小李", "13800000002"), ("张伟", "13800000003"))}
    holds.place_legal_hold(org.admin, made["张伟"].pk, reason="诉讼 2026-0173")
    return made


def test_every_category_has_a_rule_off_until_turned_on(org):
    rules = retention.rules(org.admin)
    assert [rule.category for rule in rules] == RetentionRule.Category.values
    assert not any(rule.is_active for rule in rules)
    assert retention.apply_rules(org.admin).counts == {}


def test_only_administrators_see_and_set_the_rules(org):
    manager = factories.user("manager_service", role=Role.MANAGER, department=org.service)
    for user in (org.agent, org.lead, manager, org.exec):
        with pytest.raises(PermissionDenied):
            retention.rules(user)
        with pytest.raises(PermissionDenied):
            retention.update_rule(user, "interactions", keep_days=365, is_active=True)


@pytest.mark.parametrize("category, days, field", [
    ("interactions", 29, "keep_days"), ("interactions", 10**7, "keep_days"), ("everything", 365, "category")])
def test_a_rule_needs_a_known_category_and_a_sensible_period(org, category, days, field):
    with pytest.raises(RuleViolation) as error:
        retention.update_rule(org.admin, category, keep_days=days, is_active=True)
    assert error.value.field == field


def test_a_change_of_rule_is_audited(org):
    turn_on(org, "interactions", 400)
    entry = AuditEntry.objects.get(object_type="overview.retentionrule", action="update")
    assert entry.changes == {"keep_days": [3 * 365, 400], "is_active": [False, True]} and entry.actor == org.admin


def test_old_interactions_lose_their_words_but_not_their_count(org, people):
    for name, at in (("老王", OLD), ("小李", RECENT), ("张伟", OLD)):
        factories.interaction(people[name], subject=f"{name}来电", body="投诉物流", occurred_at=at)
    turn_on(org, "interactions")
    assert retention.preview(org.admin).counts == {"interactions": {"interactions": 1}}
    assert Interaction.objects.filter(body="投诉物流").count() == 3  # a preview changes nothing
    applied = retention.apply_rules(org.admin)
    assert applied.counts == {"interactions": {"interactions": 1}}
    words = dict(Interaction.objects.values_list("customer__name", "subject"))
    assert words == {"老王": "", "小李": "小李来电", "张伟": "张伟来电"}  # the held customer's stay
    assert Interaction.objects.count() == 3
    entry = AuditEntry.objects.get(object_type="overview.retentionrule", object_id="interactions", action="erase")
    assert entry.changes["records"] == {"interactions": 1}
    assert retention.apply_rules(org.admin).counts == {"interactions": {"interactions": 0}}  # nothing twice


def test_closed_tickets_lose_their_conversation_and_files(org, people, django_capture_on_commit_callbacks):
    tickets = {}
    for name, closed in (("老王", OLD), ("小李", RECENT), ("张伟", OLD)):
        ticket = Ticket.objects.create(subject=f"{name}的包裹破了", description="地址：文一西路", customer=people[name],
                                       status=Ticket.Status.CLOSED, opened_at=closed - dt.timedelta(days=3),
                                       resolved_at=closed, closed_at=closed)
        message = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.REPLY, body="请提供照片",
                                               author=org.agent, created_at=closed)
        attachment = Attachment(message=message, filename="photo.jpg", content_type="image/jpeg", size=3,
                                sha256="0" * 64)
        attachment.file.save("photo.jpg", ContentFile(b"abc"), save=True)
        tickets[name] = ticket
    still_open = Ticket.objects.create(subject="老王的旧问题", customer=people["老王"], status=Ticket.Status.OPEN,
                                       opened_at=OLD)
    stored = Attachment.objects.get(message__ticket=tickets["老王"]).file.name
    turn_on(org, "closed_tickets")
    with django_capture_on_commit_callbacks(execute=True):
        applied = retention.apply_rules(org.admin)
    assert applied.counts["closed_tickets"]["tickets"] == 1 and applied.counts["closed_tickets"]["attachments"] == 1
    subjects = dict(Ticket.objects.values_list("pk", "subject"))
    assert subjects[tickets["老王"].pk] == "—" and subjects[tickets["小李"].pk] == "小李的包裹破了"
    assert subjects[tickets["张伟"].pk] == "张伟的包裹破了" and subjects[still_open.pk] == "老王的旧问题"
    assert TicketMessage.objects.get(ticket=tickets["老王"]).body == "—"
    assert not default_storage.exists(stored)
    assert Ticket.objects.count() == 4  # every ticket still counts


def test_old_survey_words_are_cleared_and_scores_stay(org, people, settings):
    settings.LOOPCRM_SURVEY_FATIGUE_DAYS = 0
    survey = make_survey(org.admin, SurveyKind.NPS)
    old = answered(survey, people["老王"], 3, agent=org.agent, department=org.service, at=OLD, comment="太慢了")
    recent = answered(survey, people["小李"], 9, agent=org.agent, department=org.service, at=RECENT, comment="很好")
    held = answered(survey, people["张伟"], 5, agent=org.agent, department=org.service, at=OLD, comment="一般")
    turn_on(org, "survey_words")
    retention.apply_rules(org.admin)
    for response, comment in ((old, ""), (recent, "很好"), (held, "一般")):
        response.refresh_from_db()
        assert response.comment == comment
    old.refresh_from_db()
    assert old.nps == 3  # the score stays


def test_finished_imports_lose_their_file_and_staged_rows(org, django_capture_on_commit_callbacks):
    jobs = {}
    for name, finished in (("old", OLD), ("recent", RECENT)):
        job = ImportJob(kind="customers", file_name=f"{name}.csv", format="csv", status=ImportJob.Status.DONE,
                        created_by=org.admin, finished_at=finished)
        job.file.save(f"{name}.csv", ContentFile("姓名,手机\n张伟,13800138000\n".encode()), save=True)
        StagedRow.objects.create(job=job, row=2, name="张伟", phone="+8613800138000")
        jobs[name] = job
    stored = jobs["old"].file.name
    turn_on(org, "import_files", 90)
    with django_capture_on_commit_callbacks(execute=True):
        retention.apply_rules(org.admin)
    for job in jobs.values():
        job.refresh_from_db()
    assert not jobs["old"].file and not default_storage.exists(stored)
    assert not StagedRow.objects.filter(job=jobs["old"]).exists()
    assert jobs["recent"].file and StagedRow.objects.filter(job=jobs["recent"]).exists()
    # The old import can no longer be undone, and says why; the recent one still can
    from loopcrm.imports import services as import_services

    with pytest.raises(Conflict, match="can no longer be undone"):
        import_services.rollback_job(jobs["old"], by=org.admin)
    assert import_services.rollback_job(jobs["recent"], by=org.admin).status == "rolled_back"


def test_inactive_customers_are_erased_but_may_come_back(org, people):
    factories.order(people["小李"], placed_at=RECENT)
    Customer.objects.filter(pk__in=[c.pk for c in people.values()]).update(updated_at=OLD)
    turn_on(org, "inactive_customers", 365)
    assert retention.preview(org.admin).counts == {"inactive_customers": {"customers": 1}}
    retention.apply_rules(org.admin)
    erased = {c.name: c.erased_at is not None for c in Customer.objects.all()}
    assert erased == {f"#{people['老王'].pk}": True, "小李": False, "张伟": False}
    assert not ErasedIdentity.objects.exists()  # not a person's request: they may come back
    again = customer_services.create_customer(by=org.admin, name="老王", phone="13800000001")
    assert again.pk != people["老王"].pk


def test_the_nightly_job_applies_the_rules_as_the_system(org, people):
    from loopcrm.scheduling import jobs

    assert any(job.target == "loopcrm.overview.retention.apply_retention" for job in jobs())
    factories.interaction(people["老王"], subject="老王来电", occurred_at=OLD)
    turn_on(org, "interactions")
    retention.apply_retention()
    assert Interaction.objects.get(customer=people["老王"]).subject == ""
    entry = AuditEntry.objects.get(object_type="overview.retentionrule", action="erase")
    assert entry.actor is None
    rule = RetentionRule.objects.get(category="interactions")
    assert rule.last_applied_at is not None and rule.last_count == 1


def test_the_api_lists_sets_previews_and_applies(org, people, api_as):
    admin, agent = api_as("admin"), api_as("agent")
    factories.interaction(people["老王"], subject="老王来电", occurred_at=OLD)
    assert agent.get("retention/rules").status_code == 403
    listed = admin.get("retention/rules").json()
    assert len(listed) == 5 and not any(rule["is_active"] for rule in listed)
    assert admin.put("retention/rules/interactions", {"keep_days": 10, "is_active": True}).status_code == 422
    assert admin.put("retention/rules/nothing", {"keep_days": 365, "is_active": True}).status_code == 422
    saved = admin.put("retention/rules/interactions", {"keep_days": 365, "is_active": True})
    assert saved.status_code == 200 and saved.json()["is_active"] is True
    assert admin.get("retention/preview").json()["counts"] == {"interactions": {"interactions": 1}}
    applied = admin.post("retention/apply")
    assert applied.status_code == 200 and applied.json()["counts"] == {"interactions": {"interactions": 1}}
    assert agent.post("retention/apply").status_code == 403


def test_the_page_sets_a_rule_and_applies_after_a_confirmation(org, people):
    factories.interaction(people["老王"], subject="老王来电", occurred_at=OLD)
    client = factories.signed_in(org.admin)
    page = reverse("web:retention_rules")
    text = client.get(page).content.decode()
    assert text.count('<tr data-category=') == 5
    for days in ("5", "many"):  # too short, not a number: said on the page, nothing saved
        refused = client.post(page, {"category": "interactions", "keep_days": days, "is_active": "1"})
        assert refused.status_code == 200 and 'role="alert"' in refused.content.decode()
        assert not RetentionRule.objects.get(category="interactions").is_active
    response = client.post(page, {"category": "interactions", "keep_days": "365", "is_active": "1"})
    assert response.status_code == 302 and RetentionRule.objects.get(category="interactions").is_active
    refused = client.post(page, {"apply": "1"})
    assert refused.status_code == 200 and "Tick the box" in refused.content.decode()
    assert Interaction.objects.get().subject == "老王来电"
    response = client.post(page, {"apply": "1", "confirm": "1"}, follow=True)
    assert "1 records overwritten" in response.content.decode()
    assert Interaction.objects.get().subject == ""
    assert factories.signed_in(org.agent).get(page).status_code == 403
