"""Erasing a customer's personal data at their request: 张伟 asks to be forgotten. Afterwards no table holds his
name, phone, email, address or words — checked by reading every text column of every model — while his
orders, tickets, scores and points still count; his phone and email are refused when someone adds him again;
and only roles that handle privacy requests may do it, through the API or the 360 page."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from loopcrm.commerce.models import Order
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.core.models import AuditEntry
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer, ErasedIdentity
from loopcrm.feedback.models import Response
from loopcrm.imports.models import ImportJob, StagedRow
from loopcrm.overview.erasure import erase_customer
from loopcrm.service.models import Attachment, InboundMail, OutboundMail, Ticket, TicketMessage
from tests import factories
from tests.conftest import ApiClient
from tests.overview.test_personal_data import history

pytestmark = pytest.mark.django_db
NOW = timezone.now()
SECRETS = ("张伟", "13800138000", "zhang.wei@example.com", "ZW-0001", "文一西路", "老朋友介绍", "张伟身份证",
           "包裹到了但是破了", "来电询问物流", "太慢了", "13900139000", "王秘书", "wang.mishu@example.com")


def holders(text: str) -> list[str]:
    """Every model field (text or JSON) holding `text`, as "label.field"."""
    forms = {text, json.dumps(text)[1:-1]}  # JSON may keep Chinese as \\u escapes
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                rows = model._base_manager.annotate(_text=Cast(field.name, models.TextField()))
                hit = any(rows.filter(_text__contains=form).exists() for form in forms)
            elif isinstance(field, models.CharField | models.TextField):
                hit = model._base_manager.filter(**{f"{field.name}__contains": text}).exists()
            else:
                continue
            if hit:
                found.append(f"{model._meta.label_lower}.{field.name}")
    return found


@pytest.fixture
def zhang(org):
    customer = customer_services.create_customer(
        by=org.admin, name="张伟", kind="organisation", phone="+86 138 0013 8000", email="zhang.wei@example.com",
        external_id="ZW-0001", province="浙江省", city="杭州市", street="文一西路 100 号", notes="老朋友介绍",
        owner=org.agent, department=org.service, tags=["老客户"])
    customer_services.add_contact(customer, by=org.admin, name="王秘书", email="wang.mishu@example.com")
    return customer


@pytest.fixture
def everywhere(org, zhang, django_capture_on_commit_callbacks):
    """张伟 in every domain: orders, touches, tickets with mail and a file, survey answers, an import, a merge."""
    history(org, zhang, 2)
    message = TicketMessage.objects.filter(ticket__customer=zhang).first()
    attachment = Attachment(message=message, filename="张伟身份证.jpg", content_type="image/jpeg", size=3,
                            sha256="0" * 64)
    attachment.file.save("张伟身份证.jpg", ContentFile(b"abc"), save=True)
    InboundMail.objects.create(message_id="<a@mail.example>", received_at=NOW, from_address="zhang.wei@example.com",
                               subject="包裹到了但是破了", size=10, outcome="ticket", ticket=message.ticket,
                               ticket_message=message)
    OutboundMail.objects.create(ticket_message=message, message_id="<b@loopcrm>", to_address="zhang.wei@example.com",
                                created_at=NOW)
    job = ImportJob(kind="customers", file_name="list.csv", format="csv", status=ImportJob.Status.DONE,
                    created_by=org.admin)
    job.file.save("list.csv", ContentFile("姓名,手机\n张伟,13800138000\n".encode()), save=True)
    StagedRow.objects.create(job=job, row=2, name="张伟", phone="+8613800138000", email="zhang.wei@example.com",
                             object_id=zhang.pk, action="create")
    duplicate = factories.customer("张伟", kind="organisation", owner=org.agent, department=org.service,
                                  phone="+8613900139000")
    customer_services.merge_customers(keep=zhang, duplicate=duplicate, by=org.admin)
    return [attachment.file.name, job.file.name]


def test_nothing_identifies_him_afterwards_and_every_count_stays(org, zhang, everywhere,
                                                                 django_capture_on_commit_callbacks):
    other = factories.customer("李娜", owner=org.agent, department=org.service, phone="+8613700137000")
    ticket = Ticket.objects.create(subject="发票", customer=other, status=Ticket.Status.OPEN, opened_at=NOW)
    TicketMessage.objects.create(ticket=ticket, kind="public", body="您好，请开发票", created_at=NOW)
    assert all(holders(secret) for secret in SECRETS), [s for s in SECRETS if not holders(s)]
    orders = list(Order.objects.filter(customer=zhang).values_list("number", "total").order_by("number"))
    scores = sorted(Response.objects.filter(customer=zhang).values_list("nps", flat=True))
    tickets = Ticket.objects.filter(customer=zhang).count()
    # When an administrator erases 张伟's personal data
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erase_customer(org.admin, zhang.pk, reason="隐私请求 PR-17")
    # Then no column of any table holds his name, phones, email, address, notes, words or file name
    assert {secret: holders(secret) for secret in SECRETS} == {secret: [] for secret in SECRETS}
    assert not [name for name in everywhere if default_storage.exists(name)]  # the attachment and the upload
    # and what the counts are made of stays
    assert list(Order.objects.filter(customer=zhang).values_list("number", "total").order_by("number")) == orders
    assert sorted(Response.objects.filter(customer=zhang).values_list("nps", flat=True)) == scores
    assert Ticket.objects.filter(customer=zhang).count() == tickets
    erased = Customer.objects.get(pk=zhang.pk)
    assert (erased.name, erased.province, erased.city, erased.erased_at) == (f"#{zhang.pk}", "浙江省", "杭州市",
                                                                              erasure.erased_at)
    assert [tag.name for tag in erased.tags.all()] == ["老客户"]
    # and another customer is untouched
    assert Customer.objects.get(pk=other.pk).phone == "+8613700137000"
    assert TicketMessage.objects.filter(ticket__customer=other, body__startswith="您好").count() == 1
    # and the erasure is on the audit trail with its reason and counts, the history keeps who changed what
    entry = AuditEntry.objects.get(action="erase", object_type="customers.customer", object_id=str(zhang.pk))
    assert entry.actor == org.admin and entry.note == "隐私请求 PR-17"
    assert entry.changes["records"]["customers"] == 2 and entry.changes["records"]["attachments"] == 1
    created = AuditEntry.objects.get(action="create", object_type="customers.customer", object_id=str(zhang.pk))
    assert created.changes["name"] == "[erased]" and created.actor == org.admin


def test_the_person_is_not_added_again(org, zhang):
    erase_customer(org.admin, zhang.pk, reason="PR-18")
    for identity, field in (({"phone": "13800138000"}, "phone"), ({"email": "Zhang.Wei@example.com"}, "email"),
                            ({"external_id": "ZW-0001"}, "external_id")):
        with pytest.raises(RuleViolation) as refused:
            customer_services.create_customer(by=org.admin, name="张伟", **identity)
        assert refused.value.field == field and "erased at their request" in refused.value.message
    assert ErasedIdentity.objects.count() == 3
    assert "13800138000" not in str(list(ErasedIdentity.objects.values_list("digest", flat=True)))
    # unless they come back by writing to us themselves: then they are served as a new customer
    from loopcrm.service.services.intake import find_or_create_sender

    sender = find_or_create_sender(email="zhang.wei@example.com", name="张伟", department=None, channel="email",
                                   at=timezone.now())
    assert sender.customer.pk != zhang.pk and sender.customer.email == "zhang.wei@example.com"
    # someone else is still welcome, and the erased record takes no edits
    customer_services.create_customer(by=org.admin, name="张伟", phone="13800138001")
    erased = Customer.objects.get(pk=zhang.pk)
    with pytest.raises(Conflict):
        customer_services.update_customer(erased, by=org.admin, version=erased.version, changes={"name": "张伟"})
    # nor is a duplicate merged into it (its empty fields would be filled from the duplicate)
    duplicate = factories.customer("张伟", kind="organisation", phone="+8613800138002")
    with pytest.raises(Conflict):
        customer_services.merge_customers(keep=erased, duplicate=duplicate, by=org.admin)


def test_who_may_erase_and_what_they_must_say(org, zhang):
    assert ApiClient(org.agent).post(f"customers/{zhang.pk}/erase", json={"reason": "PR"}).status_code == 403
    assert ApiClient(org.east_rep).post(f"customers/{zhang.pk}/erase", json={"reason": "PR"}).status_code == 404
    assert ApiClient(org.admin).post(f"customers/{zhang.pk}/erase", json={"reason": ""}).status_code == 422
    nul = ApiClient(org.admin).post(f"customers/{zhang.pk}/erase", json={"reason": "PR\x0019"})
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]  # not a database error (500)
    assert Customer.objects.get(pk=zhang.pk).name == "张伟"  # nothing happened
    done = ApiClient(org.admin).post(f"customers/{zhang.pk}/erase", json={"reason": "PR-19"})
    assert done.status_code == 200, done.content
    assert done.json()["counts"]["customers"] == 1 and done.json()["customer_id"] == zhang.pk
    assert Customer.objects.get(pk=zhang.pk).erased_at is not None


def test_the_360_page_leads_to_a_confirmed_erasure(org, zhang):
    admin = factories.signed_in(org.admin)
    page = admin.get(f"/customers/{zhang.pk}/").content.decode()
    assert f'href="/customers/{zhang.pk}/erase/"' in page
    form = admin.get(f"/customers/{zhang.pk}/erase/")
    assert form.status_code == 200 and "cannot be undone" in form.content.decode()
    unconfirmed = admin.post(f"/customers/{zhang.pk}/erase/", {"reason": "PR-20"})
    assert unconfirmed.status_code == 200 and Customer.objects.get(pk=zhang.pk).erased_at is None
    done = admin.post(f"/customers/{zhang.pk}/erase/", {"reason": "PR-20", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == f"/customers/{zhang.pk}/"
    after = admin.get(f"/customers/{zhang.pk}/").content.decode()
    assert "Personal data erased" in after and f'href="/customers/{zhang.pk}/edit/"' not in after
    agent = factories.signed_in(org.agent)
    assert agent.get(f"/customers/{zhang.pk}/erase/").status_code == 403
