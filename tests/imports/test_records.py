"""Imports of products, orders with lines, interactions and contact persons: through each app's own
service, validated first (nothing written), reported row by row, resumable, undoable."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from loopcrm.commerce.models import Order, Product
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.imports import services
from loopcrm.imports.models import ImportJob
from loopcrm.interactions.models import Interaction
from tests import factories

pytestmark = pytest.mark.django_db


def _job(org, kind: str, text: str, *, by: str = "admin", encoding: str = "utf-8", **options) -> ImportJob:
    data = text.encode(encoding)
    return services.create_job(by=getattr(org, by), file=io.BytesIO(data), file_name=f"{kind}.csv", kind=kind,
                               **options)


def _run(job: ImportJob, **kw) -> ImportJob:
    return services.run_job(job, by=job.created_by, **kw)


def _import(job: ImportJob, by, **kw) -> ImportJob:
    job = _run(job)
    job = services.commit_job(job, by=by)
    return _run(job, **kw)


def _report(job: ImportJob) -> list[tuple]:
    return list(job.errors.order_by("row", "id").values_list("row", "column", "value", "reason"))


PRODUCTS = (
    "货号,商品名称,单价,币种\n"
    "K-1,智能水壶,299.00,CNY\n"
    "K-2,空气炸锅,\"1,299.50\",\n"
    "K-3,坏价格,abc,\n"
    "K-1,重复的水壶,10,\n"
    "OLD-1,老商品新价,59.90,\n"
)


def test_products_are_mapped_from_chinese_headers_validated_and_matched_by_sku(org):
    Product.objects.create(sku="OLD-1", name="老商品", price=Decimal("49.90"))
    job = _job(org, "products", PRODUCTS)
    assert job.mapping["targets"] == ["sku", "name", "price", "currency"]
    job = _run(job)
    # The dry run writes nothing and reports each bad row with the file's own column header.
    assert (job.status, job.rows, job.valid, job.invalid, job.matched) == ("validated", 5, 3, 2, 1)
    assert [(row, column, reason) for row, column, _value, reason in _report(job)] == [
        (4, "单价", "bad_value"), (5, "货号", "duplicate_in_file")]
    assert Product.objects.count() == 1
    job = services.commit_job(job, by=org.admin)
    job = _run(job)
    assert (job.status, job.created, job.skipped) == ("done", 2, 1)
    assert Product.objects.get(sku="K-2").price == Decimal("1299.50")
    assert Product.objects.get(sku="OLD-1").price == Decimal("49.90")  # skipped: it exists


def test_existing_products_can_be_updated_and_the_update_undone(org):
    Product.objects.create(sku="OLD-1", name="老商品", price=Decimal("49.90"))
    job = _import(_job(org, "products", PRODUCTS, on_duplicate="update"), org.admin)
    assert (job.created, job.updated) == (2, 1)
    assert Product.objects.get(sku="OLD-1").price == Decimal("59.90")
    job = services.rollback_job(job, by=org.admin)
    assert job.status == "rolled_back"
    assert list(Product.objects.values_list("sku", "price")) == [("OLD-1", Decimal("49.90"))]


def test_products_cannot_be_merged_and_need_the_product_permission(org):
    with pytest.raises(RuleViolation) as error:
        _job(org, "products", PRODUCTS, on_duplicate="merge")
    assert error.value.field == "on_duplicate"
    with pytest.raises(PermissionDenied):
        _job(org, "products", PRODUCTS, by="agent")


ORDERS = (
    "订单号,客户编号,下单时间,商品编码,数量,单价\n"
    "A-1,C-1,2025-03-01 10:00,K-1,2,\n"
    "A-1,C-1,2025-03-01 10:00,K-2,1,100.00\n"
    "A-2,C-1,2025-03-05,K-1,1,\n"
    "A-3,C-1,2025-03-06,K-1,1,\n"
    "A-3,C-1,2025-03-06,NOPE,1,\n"
    "A-4,C-404,2025-03-07,K-1,1,\n"
    "A-1,C-1,2025-03-09,K-1,1,\n"
)


@pytest.fixture
def catalogue(org):
    factories.customer("王芳", owner=org.admin, external_id="C-1")
    Product.objects.create(sku="K-1", name="智能水壶", price=Decimal("299.00"))
    Product.objects.create(sku="K-2", name="滤芯", price=Decimal("39.00"))


def test_orders_with_lines_are_grouped_by_number_and_a_bad_line_sets_the_whole_order_aside(org, catalogue):
    job = _run(_job(org, "orders", ORDERS))
    assert (job.rows, job.valid, job.invalid) == (7, 3, 4)
    report = _report(job)
    # The unknown SKU is reported on its own line, and the order it belongs to is set aside whole.
    assert (6, "商品编码", "NOPE", "bad_value") in report
    assert (5, "订单号", "A-3", "bad_row") in report
    assert (7, "客户编号", "C-404", "unknown_category") in report
    # An order number seen earlier in the file, not on adjacent lines, is a duplicate.
    assert (8, "订单号", "A-1", "duplicate_in_file") in report
    assert Order.objects.count() == 0
    job = _run(services.commit_job(job, by=org.admin))
    assert (job.status, job.created) == ("done", 2)
    first = Order.objects.get(number="A-1")
    assert first.lines.count() == 2 and first.total == Decimal("698.00")  # 2 × 299 + 1 × 100


def test_an_order_import_killed_between_batches_resumes_without_duplicates(org, catalogue):
    job = _run(_job(org, "orders", ORDERS))
    job = services.commit_job(job, by=org.admin)

    class Killed(BaseException):  # not an Exception: like kill -9, nothing marks the job failed
        pass

    def crash_after_first_batch(current):
        raise Killed

    with pytest.raises(Killed):
        _run(job, size=1, progress=crash_after_first_batch)
    job.refresh_from_db()
    assert job.status == "importing" and job.created == 1 and Order.objects.count() == 1
    job = _run(job, size=1)
    assert (job.status, job.created) == ("done", 2)
    assert sorted(Order.objects.values_list("number", flat=True)) == ["A-1", "A-2"]
    job = services.rollback_job(job, by=org.admin)
    assert Order.objects.count() == 0


INTERACTIONS = (
    "客户手机,渠道,主题,内容,时间\n"
    "13800138000,电话,咨询退货,客户来电询问退货流程,2025-05-01 09:30\n"
    "13800138000,wechat,售后回访,,2025-05-02\n"
    "13800138000,飞鸽传书,不明渠道,,2025-05-03\n"
    "13800138000,电话,来自未来,,2999-01-01\n"
    "13800138000,电话,坏日期,,2025-02-30\n"
)


def test_interactions_take_channel_labels_in_chinese_and_the_service_rejects_the_future(org):
    customer = factories.customer("李娜", owner=org.admin, phone="+8613800138000")
    job = _run(_job(org, "interactions", INTERACTIONS))
    assert (job.valid, job.invalid) == (2, 3)
    assert [(row, column, reason) for row, column, _v, reason in _report(job)] == [
        (4, "渠道", "unknown_category"), (5, "时间", "bad_value"), (6, "时间", "bad_date")]
    job = _run(services.commit_job(job, by=org.admin))
    assert job.created == 2
    touches = Interaction.objects.filter(customer=customer).order_by("occurred_at")
    assert [(t.channel, t.subject) for t in touches] == [("phone", "咨询退货"), ("wechat", "售后回访")]


def test_contact_persons_belong_to_organisations_only(org):
    company = factories.customer("华光科技", owner=org.admin, kind=Customer.Kind.ORGANISATION, external_id="ORG-1")
    factories.customer("个人客户", owner=org.admin, external_id="P-1")
    text = "公司编号,联系人,职务,手机\nORG-1,赵强,采购经理,13900139000\nP-1,钱多,,\n"
    job = _run(_job(org, "contacts", text))
    assert (job.valid, job.invalid) == (1, 1)
    [(row, column, _value, reason)] = _report(job)
    assert (row, column, reason) == (3, "公司编号", "bad_value")
    job = _run(services.commit_job(job, by=org.admin))
    assert list(ContactPerson.objects.values_list("organisation_id", "name", "title")) == [
        (company.pk, "赵强", "采购经理")]


def test_a_mapping_without_the_customer_column_is_incomplete(org):
    job = _job(org, "interactions", "渠道,主题\n电话,咨询\n")
    job = _run(job)
    assert job.status == "validating" and "customer" in job.message
    assert Interaction.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_upload_page_takes_an_orders_file_and_maps_it_with_order_fields(org, catalogue, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    settings.MEDIA_ROOT = str(tmp_path)
    client = Client()
    client.login(username=org.admin.username, password=factories.PASSWORD)
    upload = SimpleUploadedFile("orders.csv", ORDERS.encode("gb18030"), content_type="text/csv")
    response = client.post(reverse("web:import_new"), {"file": upload, "kind": "orders", "on_duplicate": "skip",
                                                       "unmapped": "ignore"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.kind == "orders" and job.encoding == "gb18030"
    page = client.get(reverse("web:import_detail", args=[job.pk])).content.decode()
    assert "Line: SKU" in page and "Order number" in page  # the order fields, not the customer ones
    job.refresh_from_db()
    assert (job.valid, job.invalid) == (3, 4)  # validated by the task (immediate in tests)


def test_tickets_are_opened_through_the_service_desk_with_routing_and_sla(org):
    from loopcrm.service.models import Ticket, TicketCategory

    customer = factories.customer("刘洋", owner=org.admin, phone="+8613700137000")
    TicketCategory.objects.create(name="配送 Delivery", code="delivery")
    text = ("客户手机,标题,问题描述,类型,渠道,优先级,分类,标签\n"
            "13700137000,快递三天未到,订单还没收到,complaint,电话,3,delivery,物流;催单\n"
            "13700137000,发票抬头,,inquiry,email,,,\n"
            "13700137000,,没有标题,inquiry,,,,\n"
            "13700137000,分类不存在,,inquiry,,,nope,\n")
    job = _run(_job(org, "tickets", text))
    assert job.mapping["targets"] == ["customer_phone", "subject", "description", "kind", "channel", "priority",
                                      "category", "tags"]
    assert (job.valid, job.invalid) == (2, 2)
    assert [(row, column, reason) for row, column, _v, reason in _report(job)] == [
        (4, "标题", "bad_value"), (5, "分类", "unknown_category")]
    assert Ticket.objects.count() == 0  # the dry run opened nothing
    job = _run(services.commit_job(job, by=org.admin))
    assert job.created == 2
    complaint = Ticket.objects.get(subject="快递三天未到")
    assert (complaint.kind, complaint.channel, complaint.priority, complaint.category.code) == (
        "complaint", "phone", 3, "delivery")
    assert sorted(complaint.tags.values_list("name", flat=True)) == ["催单", "物流"]
    assert complaint.customer_id == customer.pk and complaint.events.exists()
    job = services.rollback_job(job, by=org.admin)
    assert Ticket.objects.count() == 0


def test_tickets_are_opened_in_batches_and_a_refused_one_is_reported_alone(org):
    """The desk's batch opening writes a file's tickets a batch at a time; if the desk refuses one (its category
    closed after the validation), the others still open and that row gets its own line."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loopcrm.service.models import Ticket, TicketCategory

    factories.customer("刘洋", owner=org.admin, phone="+8613700137000")
    delivery = TicketCategory.objects.create(name="配送 Delivery", code="delivery")
    TicketCategory.objects.create(name="发票 Invoice", code="invoice")
    rows = [f"13700137000,第{n}张工单,{'invoice' if n % 2 else 'delivery'}\n" for n in range(1, 41)]
    job = _run(_job(org, "tickets", "客户手机,标题,分类\n" + "".join(rows)))
    assert (job.valid, job.invalid) == (40, 0)
    with CaptureQueriesContext(connection) as batch:
        opened = _run(services.commit_job(job, by=org.admin))
    assert opened.created == 40 and Ticket.objects.count() == 40
    assert len(batch.captured_queries) < 40 * 4  # one by one costs ~15 queries a ticket

    job = _run(_job(org, "tickets", "客户手机,标题,分类\n" + "".join(rows[:3])))
    delivery.is_active = False
    delivery.save(update_fields=["is_active"])  # closed between the validation and the import
    job = _run(services.commit_job(job, by=org.admin))
    assert (job.created, job.skipped) == (2, 1)
    assert [(row, column, reason) for row, column, _v, reason in _report(job)] == [(3, "分类", "not_allowed")]
    assert Ticket.objects.filter(subject="第2张工单").count() == 1  # only the first file's
