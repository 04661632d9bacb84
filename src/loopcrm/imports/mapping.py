"""Which column of a file goes to which field: automatic matching from Chinese and English headers,
presets for the export layouts of Salesforce, HubSpot and Zoho CRM, and saved mappings.

A mapping is a list with one target per column of the file, in order: a field name, "first_name" /
"last_name" (joined into the name), "tags" (each value becomes a tag), "notes" (appended to the
notes as "Header: value") or "" (ignored). `unmapped` says where columns nobody mapped go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _

# Targets a customer column can go to, with the label shown in the mapping screen.
CUSTOMER_TARGETS: dict[str, object] = {
    "name": _("Name"),
    "first_name": _("First name (joined into the name)"),
    "last_name": _("Last name (joined into the name)"),
    "kind": _("Kind (person / organisation)"),
    "phone": _("Phone"),
    "email": _("Email"),
    "external_id": _("External id"),
    "birthday": _("Birthday"),
    "country": _("Country"),
    "province": _("Province / state"),
    "city": _("City"),
    "district": _("District"),
    "street": _("Street address"),
    "postal_code": _("Postal code"),
    "industry": _("Industry"),
    "source_channel": _("Source"),
    "is_vip": _("VIP"),
    "notes": _("Notes"),
    "tags": _("Tags"),
}
UNMAPPED_CHOICES = ("ignore", "notes", "tags")

# Header names (compared after folding: NFKC, case, spaces and punctuation removed) per target.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "customername", "customer", "contactname", "accountname", "companyname",
             "company", "organisation", "organization", "姓名", "名称", "名字", "客户名称", "客户姓名", "客户",
             "联系人", "公司名称", "公司", "单位名称", "企业名称"),
    "first_name": ("firstname", "givenname", "名"),
    "last_name": ("lastname", "surname", "familyname", "姓"),
    "kind": ("kind", "type", "customertype", "客户类型", "类型", "类别"),
    "phone": ("phone", "mobile", "mobilephone", "cellphone", "cell", "tel", "telephone", "phonenumber",
              "mobilephonenumber", "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "移动电话", "座机"),
    "email": ("email", "e-mail", "emailaddress", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址"),
    "external_id": ("externalid", "id", "recordid", "contactid", "accountid", "customerid", "customerno",
                    "customernumber", "编号", "客户编号", "客户id", "会员号", "会员编号", "外部编号"),
    "birthday": ("birthday", "birthdate", "dateofbirth", "dob", "生日", "出生日期", "出生年月日"),
    "country": ("country", "countryregion", "mailingcountry", "国家", "国家地区"),
    "province": ("province", "state", "region", "stateregion", "stateprovince", "mailingstate",
                 "mailingstateprovince", "省", "省份", "省市", "地区"),
    "city": ("city", "mailingcity", "town", "市", "城市"),
    "district": ("district", "county", "区", "区县", "县区"),
    "street": ("street", "address", "streetaddress", "mailingstreet", "地址", "详细地址", "街道", "通讯地址"),
    "postal_code": ("postalcode", "zip", "zipcode", "postcode", "mailingzip", "mailingzippostalcode",
                    "mailingpostalcode", "邮编", "邮政编码"),
    "industry": ("industry", "行业", "所属行业"),
    "source_channel": ("source", "leadsource", "originalsource", "channel", "来源", "客户来源", "渠道", "来源渠道"),
    "is_vip": ("vip", "isvip", "是否vip", "会员", "贵宾"),
    "notes": ("notes", "note", "description", "remarks", "comment", "comments", "备注", "说明", "描述"),
    "tags": ("tags", "tag", "labels", "标签"),
}

# Full layouts of the big CRMs' contact exports (header -> target), applied by exact header match.
PRESETS: dict[str, dict[str, str]] = {
    "salesforce": {
        "Contact ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Mobile Phone": "phone", "Phone": "phone", "Account Name": "", "Title": "notes",
        "Mailing Street": "street", "Mailing City": "city", "Mailing State/Province": "province",
        "Mailing Zip/Postal Code": "postal_code", "Mailing Country": "country", "Birthdate": "birthday",
        "Lead Source": "source_channel", "Description": "notes",
    },
    "hubspot": {
        "Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Mobile Phone Number": "phone", "Phone Number": "phone", "Company Name": "", "Street Address": "street",
        "City": "city", "State/Region": "province", "Postal Code": "postal_code", "Country/Region": "country",
        "Industry": "industry", "Original Source": "source_channel", "Lifecycle Stage": "tags",
    },
    "zoho": {
        "Record Id": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Mobile": "phone", "Phone": "phone", "Account Name": "", "Mailing Street": "street",
        "Mailing City": "city", "Mailing State": "province", "Mailing Zip": "postal_code",
        "Mailing Country": "country", "Date of Birth": "birthday", "Lead Source": "source_channel",
        "Description": "notes", "Tag": "tags",
    },
}
PRESET_LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "zoho": "Zoho CRM"}
# When both "Phone" and "Mobile" exist, the mobile wins the phone field (the other goes to notes).
_PREFERRED = {"phone": ("mobilephone", "mobile", "mobilephonenumber", "手机", "手机号", "手机号码")}

_FOLD_DROP = re.compile(r"[\s_\-./:：()（）#*]+")


def fold_header(header: str) -> str:
    return _FOLD_DROP.sub("", unicodedata.normalize("NFKC", header).casefold().lstrip("\ufeff"))


_LOOKUP = {fold_header(word): target for target, words in SYNONYMS.items() for word in words}


def detect_preset(headers: Sequence[str]) -> str:
    """The CRM whose export layout these headers are ("" if none fits well)."""
    best, best_hits = "", 0
    present = set(headers)
    for name, layout in PRESETS.items():
        hits = len(present & set(layout))
        if hits > best_hits:
            best, best_hits = name, hits
    return best if best_hits >= 5 else ""


def auto_mapping(headers: Sequence[str], *, preset: str = "") -> list[str]:
    """One target per column; each target except notes/tags used once (the best-fitting column wins)."""
    layout = PRESETS.get(preset or detect_preset(headers), {})
    targets: list[str] = []
    for header in headers:
        if header in layout:
            targets.append(layout[header])
        else:
            targets.append(_LOOKUP.get(fold_header(header), ""))
    used: dict[str, int] = {}
    for index, target in enumerate(targets):
        if not target or target in ("notes", "tags"):
            continue
        if target in used:
            preferred = _PREFERRED.get(target, ())
            keep_new = fold_header(headers[index]) in preferred and fold_header(headers[used[target]]) not in preferred
            loser = used[target] if keep_new else index
            targets[loser] = "notes"
            if keep_new:
                used[target] = index
        else:
            used[target] = index
    return targets


def apply_saved(headers: Sequence[str], columns: Mapping[str, str]) -> list[str]:
    """A saved mapping (header -> target) laid over these headers; headers it does not name are matched."""
    auto = auto_mapping(headers)
    return [columns[h] if h in columns else auto[i] for i, h in enumerate(headers)]


def validate_targets(targets: Sequence[str]) -> list[str]:
    """Problems with a mapping, as messages (empty when it can be used)."""
    problems = []
    unknown = sorted({t for t in targets if t and t not in CUSTOMER_TARGETS})
    if unknown:
        problems.append(str(_("Unknown target field(s): %(fields)s.")) % {"fields": ", ".join(unknown)})
    singles = [t for t in targets if t and t not in ("notes", "tags")]
    repeated = sorted({t for t in singles if singles.count(t) > 1})
    if repeated:
        problems.append(str(_("These fields are mapped from more than one column: %(fields)s."))
                        % {"fields": ", ".join(repeated)})
    if "name" not in targets and "first_name" not in targets and "last_name" not in targets:
        problems.append(str(_("No column is mapped to the name.")))
    return problems
