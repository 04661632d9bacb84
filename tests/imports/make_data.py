"""Writes the import test files in tests/data/imports/ (run: python tests/imports/make_data.py).

Every file is small and deterministic; the tests read the committed outputs. Each one stands for a
kind of file people really upload: Excel's CSV in GBK, UTF-8 with a BOM, Excel "Unicode text"
(UTF-16, tabs), a workbook with several sheets, the exports of Salesforce, HubSpot and Zoho, a
file with one row per kind of bad input, duplicates, and broken CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "imports"

HEADER = ["姓名", "手机", "邮箱", "省份", "城市", "生日", "来源", "会员号"]
GOOD = [
    ["张伟", "13800138000", "zhang.wei@example.com", "广东", "深圳", "1985-03-04", "微信", "M0001"],
    ["李娜", "+86 139 0013 9000", "LI.NA@Example.COM ", "北京", "北京", "1990/7/15", "门店", "M0002"],
    ["王芳", "0086-137-0013-7000", "wangfang@example.cn", "上海", "上海", "1978年12月1日", "网站", "M0003"],
    ["𠮷田 陈", "１３６００１３６０００", "chen＠example.com", "浙江", "杭州", "", "", "M0004"],
    ["Tom Baker", "+44 20 7946 0958", "tom@example.co.uk", "", "London", "1970-01-01", "Referral", "M0005"],
]


def write_text(name: str, rows: list[list[str]], *, encoding: str, delimiter: str = ",") -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    (OUT / name).write_bytes(buffer.getvalue().encode(encoding))


def write_xlsx() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["这个工作表不是数据"])
    sheet = workbook.create_sheet("客户")
    sheet.append(["客户名称", "手机号码", "Email", "出生日期", "备注", "标签"])
    sheet.append(["赵敏", 13500135000, "zhaomin@example.com", dt.datetime(1988, 5, 6), "老客户", "VIP,华南"])
    sheet.append(["钱多多", "135 0013 5001", "qian@example.com", "45292", "第一行\n第二行", ""])  # a serial as text
    # an 11-digit phone that Excel shows as 1.35E+10 but keeps whole
    sheet.append(["孙俪", 1.35001e10, "sunli@example.com", None, "", ""])
    sheet.append([None, None, None, None, None, None])  # a blank row
    sheet.append(["周杰", "13500135003", "zhoujie@example.com", 32000.0, "", ""])  # a serial stored as a number
    workbook.save(OUT / "customers.xlsx")


def many_rows(count: int) -> list[list[str]]:
    """`count` customers; every 50th has a bad phone, every 40th repeats the phone of the row 7 above."""
    rows = [["姓名", "手机", "邮箱", "城市"]]
    for i in range(1, count + 1):
        phone = f"139{i:08d}"
        if i % 40 == 0:
            phone = f"139{i - 7:08d}"
        if i % 50 == 0:
            phone = "12345"
        rows.append([f"客户{i:04d}", phone, f"c{i}@example.com", "上海"])
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = [HEADER, *GOOD]
    write_text("customers_utf8.csv", rows, encoding="utf-8")
    write_text("customers_utf8_bom.csv", rows, encoding="utf-8-sig")
    # GBK cannot hold 𠮷: a real GBK export has no such name, so that row is left out (GB18030 can).
    write_text("customers_gbk.csv", [r for r in rows if "𠮷" not in r[0]], encoding="gbk")
    write_text("customers_gb18030.csv", rows, encoding="gb18030")
    write_text("customers_utf16.txt", rows, encoding="utf-16", delimiter="\t")
    write_text("customers.tsv", rows, encoding="utf-8", delimiter="\t")
    write_text("customers_semicolon.csv", rows, encoding="utf-8", delimiter=";")
    write_xlsx()
    write_text("customers_300.csv", many_rows(300), encoding="utf-8")
    # For the browser story: a GBK export whose phone column has a header nobody matches automatically.
    write_text("browser_gbk.csv", [
        ["客户姓名", "移动号码", "邮箱", "城市"],
        ["张伟", "13800138000", "zhangwei@example.com", "深圳"],
        ["李娜", "139 0013 9000", "lina#example.com", "北京"],
        ["王芳", "+86 137 0013 7000", "wangfang@example.com", "上海"],
    ], encoding="gbk")
    write_text("bad_rows.csv", [
        ["Name", "Mobile", "Email", "Birthday", "Source", "Kind"],
        ["好人", "13800138001", "good@example.com", "1980-01-01", "Website", "person"],
        ["坏电话", "12345", "a@example.com", "", "", ""],
        ["坏邮箱", "13800138002", "not-an-email", "", "", ""],
        ["坏来源", "13800138003", "", "", "电视购物", ""],
        ["未来生日", "13800138004", "", "2999-01-01", "", ""],
        ["坏日期", "13800138005", "", "2021-02-30", "", ""],
        ["", "13800138006", "noname@example.com", "", "", ""],
        ["坏类型", "13800138007", "", "", "", "robot"],
        ["科学计数", "1.38001E+10", "", "", "", ""],
        ["模糊日期", "13800138008", "", "03/04/2025", "", ""],
    ], encoding="utf-8")
    write_text("duplicates.csv", [
        ["Name", "Phone", "Email", "External ID", "City"],
        ["First A", "13900000001", "a@example.com", "X-1", "Shanghai"],
        ["Again A by phone", "+86 139 0000 0001", "a2@example.com", "X-2", ""],
        ["Again A by email", "13900000003", "A@EXAMPLE.COM", "X-3", ""],
        ["Again X-1", "13900000004", "d@example.com", "X-1", ""],
        ["Existing by phone", "13911112222", "e@example.com", "X-5", "Hangzhou"],
        ["Existing by email", "13900000006", "known@example.com", "X-6", "Suzhou"],
        ["Existing by external id", "13900000007", "g@example.com", "EXT-9", "Nanjing"],
        ["New", "13900000008", "h@example.com", "X-8", "Wuhan"],
    ], encoding="utf-8")
    write_text("salesforce.csv", [
        ["Contact ID", "First Name", "Last Name", "Account Name", "Title", "Email", "Phone", "Mobile Phone",
         "Mailing Street", "Mailing City", "Mailing State/Province", "Mailing Zip/Postal Code", "Mailing Country",
         "Birthdate", "Lead Source"],
        ["0035g00000A1", "Wei", "Zhang", "Acme", "Buyer", "wei@acme.example", "010-62345678", "13812345678",
         "1 Main St", "Beijing", "Beijing", "100000", "China", "1980-02-03", "Website"],
        ["0035g00000A2", "伟", "王", "Acme", "", "wang@acme.example", "", "13812345679", "", "上海", "上海", "",
         "中国", "", "Referral"],
    ], encoding="utf-8")
    write_text("hubspot.csv", [
        ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Company Name",
         "Street Address", "City", "State/Region", "Postal Code", "Country/Region", "Industry", "Lifecycle Stage"],
        ["101", "Ana", "Li", "ana@hub.example", "", "+86 138 1111 2222", "Hub", "", "Shenzhen", "Guangdong",
         "518000", "China", "Retail", "customer"],
    ], encoding="utf-8")
    write_text("zoho.csv", [
        ["Record Id", "First Name", "Last Name", "Email", "Phone", "Mobile", "Account Name", "Mailing Street",
         "Mailing City", "Mailing State", "Mailing Zip", "Mailing Country", "Date of Birth", "Lead Source", "Tag"],
        ["zcrm_1", "Jun", "Chen", "jun@zoho.example", "", "13822223333", "Z", "", "Chengdu", "Sichuan", "",
         "China", "1991-09-09", "Advertising", "Gold"],
    ], encoding="utf-8")
    (OUT / "quoted_newlines.csv").write_bytes(
        "姓名,手机,备注\r\n\"刘洋\",13700137001,\"第一行\r\n第二行, 有逗号\"\r\n"
        "马丽,13700137002,\"说 \"\"你好\"\"\"\r\n"
        .encode())
    (OUT / "broken_quotes.csv").write_bytes("姓名,手机\r\n张三,13700137003\r\n\"李四,13700137004\r\n".encode())
    (OUT / "ragged.csv").write_bytes("姓名,手机\r\n张三,13700137005\r\n李四,13700137006,多余\r\n".encode())
    (OUT / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (OUT / "empty.csv").write_bytes(b"")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
