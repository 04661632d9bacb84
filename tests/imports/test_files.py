"""Stories of files as people really upload them: every encoding and format, read and imported right."""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.customers.models import Customer
from loopcrm.imports.reading import FileProblem, inspect, iter_rows
from loopcrm.imports.values import parse_bool, parse_date, parse_decimal
from tests.imports.conftest import DATA

pytestmark = pytest.mark.django_db

EXPECTED = {
    "张伟": ("+8613800138000", "zhang.wei@example.com", dt.date(1985, 3, 4), "wechat", "M0001"),
    "李娜": ("+8613900139000", "li.na@example.com", dt.date(1990, 7, 15), "store", "M0002"),
    "王芳": ("+8613700137000", "wangfang@example.cn", dt.date(1978, 12, 1), "website", "M0003"),
    "𠮷田 陈": ("+8613600136000", "chen@example.com", None, "", "M0004"),
    "Tom Baker": ("+442079460958", "tom@example.co.uk", dt.date(1970, 1, 1), "referral", "M0005"),
}


@pytest.mark.parametrize(("name", "fmt", "encoding"), [
    ("customers_utf8.csv", "csv", "utf-8"),
    ("customers_utf8_bom.csv", "csv", "utf-8-sig"),
    ("customers_gbk.csv", "csv", "gb18030"),
    ("customers_gb18030.csv", "csv", "gb18030"),
    ("customers_utf16.txt", "tsv", "utf-16"),
    ("customers.tsv", "tsv", "utf-8"),
    ("customers_semicolon.csv", "csv", "utf-8"),
])
def test_every_encoding_and_delimiter_imports_the_same_customers(upload, run, name, fmt, encoding):
    # Given a customer list saved by Excel, WPS or a script in one of the encodings people send
    job = upload(name, dry_run=False)
    # Then the encoding and format are detected and the Chinese headers mapped
    assert (job.format, job.encoding) == (fmt, encoding)
    assert job.headers[0] == "姓名"  # no BOM left on the first header
    assert job.mapping["targets"] == ["name", "phone", "email", "province", "city", "birthday", "source_channel",
                                      "external_id"]
    # When it is imported
    job = run(job)
    # Then every row is a customer, exactly as written (GBK cannot hold 𠮷, so that file has one row less)
    expected = {k: v for k, v in EXPECTED.items() if name != "customers_gbk.csv" or "𠮷" not in k}
    assert (job.status, job.rows, job.valid, job.invalid, job.created) == ("done", len(expected), len(expected), 0,
                                                                            len(expected))
    got = {c.name: (c.phone, c.email, c.birthday, c.source_channel, c.external_id) for c in Customer.objects.all()}
    assert got == expected
    assert Customer.objects.get(name="李娜").phone_raw == "+86 139 0013 9000"


def test_encoding_can_be_overridden_and_a_wrong_one_is_refused_not_imported_as_mojibake(upload, run, org):
    from loopcrm.core.errors import RuleViolation
    from loopcrm.imports import services

    # A GBK file declared as UTF-8 is refused at once, naming the encoding
    with pytest.raises(RuleViolation, match="does not read as utf-8"):
        upload("customers_gbk.csv", encoding="utf-8")
    assert Customer.objects.count() == 0
    # Declared as Latin-1 it reads, but the headers are garbage: the person sees it in the mapping screen and
    # sets the right encoding, which maps the columns again
    job = upload("customers_gbk.csv", encoding="latin-1")
    assert "name" not in job.mapping["targets"]
    job = services.set_mapping(job, by=org.admin, encoding="gb18030")
    assert job.headers[:2] == ["姓名", "手机"]
    assert job.mapping["targets"][:2] == ["name", "phone"]


def test_xlsx_sheet_choice_numbers_and_dates(upload, run):
    # Given a workbook whose first sheet is an explanation and whose data is on sheet 客户
    job = upload("customers.xlsx", sheet="客户", dry_run=False)
    assert job.format == "xlsx"
    assert job.headers == ["客户名称", "手机号码", "Email", "出生日期", "备注", "标签"]
    job = run(job)
    assert (job.status, job.rows, job.created) == ("done", 4, 4)
    zhao = Customer.objects.get(name="赵敏")
    assert (zhao.phone, zhao.birthday, zhao.notes) == ("+8613500135000", dt.date(1988, 5, 6), "老客户")
    assert sorted(zhao.tags.values_list("name", flat=True)) == ["VIP", "华南"]
    qian = Customer.objects.get(name="钱多多")
    assert qian.birthday == dt.date(2024, 1, 1)  # serial 45292 stored as text
    assert qian.notes == "第一行\n第二行"
    assert Customer.objects.get(name="周杰").birthday == dt.date(1987, 8, 11)  # serial 32000 stored as a number


def test_the_first_sheet_is_read_by_default(upload):
    job = upload("customers.xlsx")
    assert job.sheet == "说明"
    assert job.headers == ["这个工作表不是数据"]


def test_quoted_newlines_and_doubled_quotes(upload, run):
    job = run(upload("quoted_newlines.csv", dry_run=False))
    assert job.created == 2
    assert Customer.objects.get(name="刘洋").notes == "第一行\r\n第二行, 有逗号"
    assert Customer.objects.get(name="马丽").notes == '说 "你好"'


@pytest.mark.parametrize(("name", "preset", "names"), [
    ("salesforce.csv", "salesforce", {"Wei Zhang", "王伟"}),
    ("hubspot.csv", "hubspot", {"Ana Li"}),
    ("zoho.csv", "zoho", {"Jun Chen"}),
])
def test_exports_of_other_crms_map_themselves(upload, run, name, preset, names):
    job = upload(name, dry_run=False)
    assert job.mapping["preset"] == preset
    job = run(job)
    assert job.invalid == 0
    assert set(Customer.objects.values_list("name", flat=True)) == names


def test_salesforce_keeps_the_mobile_as_phone_and_the_landline_in_notes(upload, run):
    run(upload("salesforce.csv", dry_run=False))
    wei = Customer.objects.get(name="Wei Zhang")
    assert (wei.phone, wei.external_id, wei.city, wei.country, wei.source_channel) == (
        "+8613812345678", "0035g00000A1", "Beijing", "CN", "website")
    assert wei.notes == "Title: Buyer\nPhone: 010-62345678"


# --- broken files: a structural error with its row, before anything is written ---

def test_unbalanced_quote_is_reported_with_its_row(upload, run):
    job = run(upload("broken_quotes.csv", dry_run=False))
    assert job.status == "failed"
    assert Customer.objects.count() == 0
    line = job.errors.get()
    assert (line.row, line.reason) == (3, "bad_row")
    assert "quotes" in line.message


def test_ragged_row_is_set_aside(upload, run):
    job = run(upload("ragged.csv", dry_run=False))
    assert (job.created, job.invalid) == (1, 1)
    line = job.errors.get()
    assert (line.row, line.reason, line.message) == (
        3, "bad_row", "This row has 3 cells but the header has 2 columns (a stray delimiter?).")


@pytest.mark.parametrize(("name", "message"), [
    ("binary.csv", "not text in any encoding"),
    ("empty.csv", "empty"),
])
def test_binary_and_empty_files_are_refused_at_upload(upload, name, message):
    from loopcrm.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as caught:
        upload(name)
    assert message in caught.value.message
    assert caught.value.field == "file"


def test_reading_streams_rows_with_spreadsheet_numbers():
    info = inspect(DATA / "quoted_newlines.csv")
    assert [n for n, _cells in iter_rows(DATA / "quoted_newlines.csv", info)] == [1, 2, 3]
    with pytest.raises(FileProblem):
        list(iter_rows(DATA / "broken_quotes.csv", inspect(DATA / "broken_quotes.csv")))


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-04", dt.date(2025, 3, 4)), ("2025/3/4", dt.date(2025, 3, 4)),
    ("２０２５－０３－０４", dt.date(2025, 3, 4)),
    ("2025年3月4日", dt.date(2025, 3, 4)), ("20250304", dt.date(2025, 3, 4)), ("45292", dt.date(2024, 1, 1)),
    ("61", dt.date(1900, 3, 1)), ("59", dt.date(1900, 2, 28)), ("25/12/2024", dt.date(2024, 12, 25)),
    ("2024-01-02 10:30", dt.date(2024, 1, 2)), ("", None),
])
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["03/04/2025", "60", "2025-02-30", "yesterday"])
def test_bad_dates(text):
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        parse_date(text)


def test_numbers_and_yes_no():
    from decimal import Decimal

    assert parse_decimal("1,234.50") == Decimal("1234.50")
    assert parse_decimal("１，２３４") == Decimal("1234")
    assert parse_decimal("¥ 99") == Decimal("99")
    for bad in ("1,23", "NaN", "1e309x", "abc"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    assert parse_bool("是") is True and parse_bool("否") is False and parse_bool("Yes") is True
