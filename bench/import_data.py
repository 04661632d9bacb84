"""The bench file: N customer rows as a Chinese CRM export would hold them, with bad rows and duplicates.

    python bench/import_data.py 1000000 /tmp/customers_1m.csv

About 1 % of rows are bad (a phone that is too short, an email without @, a birthday in the future,
a name missing — in turn) and 2 % repeat the phone of an earlier row. Deterministic (seeded).
"""

from __future__ import annotations

import csv
import random
import sys

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红玉兰飞鹏辉建华晶婷雪琳欣怡子涵浩宇"
PLACES = [("广东", "深圳"), ("广东", "广州"), ("北京", "北京"), ("上海", "上海"), ("浙江", "杭州"), ("江苏", "南京"),
          ("四川", "成都"), ("湖北", "武汉"), ("山东", "济南"), ("福建", "厦门")]
SOURCES = ["微信", "网站", "门店", "转介绍", "广告", "", "", "电话"]
PREFIXES = ["138", "139", "137", "136", "135", "150", "151", "158", "186", "187", "188", "177", "199"]
HEADER = ["姓名", "手机", "邮箱", "省份", "城市", "区县", "地址", "生日", "来源", "会员号"]


def rows(count: int, seed: int = 7):
    rng = random.Random(seed)
    phones: list[str] = []
    for i in range(1, count + 1):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = f"{rng.choice(PREFIXES)}{i:08d}"
        spaced = rng.random() < 0.1
        shown = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}" if spaced else phone
        email = f"u{i}@example.com" if rng.random() < 0.7 else ""
        province, city = rng.choice(PLACES)
        birthday = ""
        if rng.random() < 0.5:
            birthday = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        member = f"M{i:08d}"
        if i % 50 == 0 and phones:  # 2 %: the phone of an earlier row (and a fresh member number)
            shown = rng.choice(phones[-1000:])
        elif i % 100 == 1:  # 1 %: one bad value
            kind = (i // 100) % 4
            if kind == 0:
                shown = "12345"
            elif kind == 1:
                email = "not-an-email"
            elif kind == 2:
                birthday = "2999-01-01"
            else:
                name = ""
        else:
            phones.append(shown)
        yield [name, shown, email, province, city, "", f"{city}路{i % 997}号", birthday, rng.choice(SOURCES), member]


def write(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count))


if __name__ == "__main__":
    write(sys.argv[2], int(sys.argv[1]))
