"""An old customer list must not bring back a person whose personal data was erased: their rows are reported
and left out, by phone, by email (any case) or by external id, and no report line repeats the erased value."""

from __future__ import annotations

import io

import pytest

from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer
from loopcrm.imports import services
from loopcrm.overview.erasure import erase_customer

pytestmark = pytest.mark.django_db

OLD_LIST = "姓名,手机,邮箱,会员号\n张伟,13800138000,,\n王芳,13900139000,,\n张伟,,ZHANG.WEI@example.com,\n伟,,,ZW-0001\n"


def test_an_erased_person_is_not_imported_again(org, run):
    zhang = customer_services.create_customer(by=org.admin, name="张伟", phone="13800138000",
                                              email="zhang.wei@example.com", external_id="ZW-0001")
    erase_customer(org.admin, zhang.pk, reason="PR-21")
    job = services.create_job(by=org.admin, file=io.BytesIO(OLD_LIST.encode()), file_name="old.csv", dry_run=False)
    job = run(job)
    assert (job.status, job.created, job.valid, job.invalid) == ("done", 1, 1, 3)
    assert set(Customer.objects.exclude(pk=zhang.pk).values_list("name", flat=True)) == {"王芳"}
    report = list(job.errors.order_by("row").values_list("row", "column", "value", "reason"))
    assert report == [(2, "手机", "", "not_allowed"), (4, "邮箱", "", "not_allowed"), (5, "会员号", "", "not_allowed")]
    assert all("erased at their request" in message for message in job.errors.values_list("message", flat=True))


def test_nothing_is_read_while_nobody_was_erased(org, run, django_assert_max_num_queries):
    from loopcrm.imports.suppression import refuse_erased_rows

    job = services.create_job(by=org.admin, file=io.BytesIO(OLD_LIST.encode()), file_name="old.csv")
    with django_assert_max_num_queries(1):
        assert refuse_erased_rows(job, header_of=str) == 0
