"""Phones and emails as people type them, turned into the one form we store and compare by.

Phones are stored as E.164 (`+8613800138000`) beside the number as it was entered. Decisions:

- Input is NFKC-normalised first, so full-width digits and signs (`１３８…`, `＋８６`) work, and
  zero-width or bidi control characters are dropped.
- A number without a country code is read in the customer's country (default
  `settings.LOOPCRM_DEFAULT_PHONE_REGION`, "CN"); `+86 …`, `0086 …` and `86 1xx…` all work.
- Mainland mobiles take a precompiled fast path built from phonenumbers' own metadata (same
  verdicts, a fraction of the cost); everything else goes through phonenumbers and must be a
  *valid* number (not merely "possible") for its country.
- Landlines need their area code (`010-12345678`). Extensions (`ext. 123`, `x123`, `#123`,
  `转123`, `分机123`, and the Chinese habit `010-12345678-123`) are accepted: E.164 has no place
  for them, so the stored number is the line and the extension stays in the number as entered.
- **Short service numbers (95588, 10086, 12345, 110…) are refused.** They reach a bank's or a
  carrier's hotline or an emergency service, never the customer, and have no E.164 form; in
  practice they are typing or import mistakes. Organisations with a national hotline use their
  400/800 number, which is a full number and is accepted.
- Foreign numbers need `+` and their country code unless the customer's country is set to theirs.
- Numbers mangled by spreadsheets (`1.38001E+10`) are refused with a message that says so: the
  digits are lost and cannot be guessed.

Emails are NFKC-normalised (full-width `＠` and `．`, the ideographic `。` as a dot), trimmed,
lower-cased and validated. A `+tag` is kept (it is part of the address). Internationalised domain
names are accepted and stored in Unicode; a domain label that mixes scripts the way homoglyph
spoofs do (Latin with Cyrillic or Greek, for example `pаypal.com` with a Cyrillic `а`) is refused.

Every error is a `RuleViolation` naming the value (shortened) and saying what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from phonenumbers import NumberParseException, PhoneNumberType, shortnumberinfo

from loopcrm.core.errors import RuleViolation

PHONE_RAW_MAX = 64  # Customer.phone_raw
EMAIL_MAX = 254  # RFC 5321 path limit, and Customer.email
EMAIL_LOCAL_MAX = 64

# Zero-width and bidirectional controls (as core.text): invisible, and used to spoof.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _shown(value: str, limit: int = 60) -> str:
    """The value quoted for an error message, shortened so a huge input never fills a response."""
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


# ---------------------------------------------------------------------------------------------
# Phones

_CN_MOBILE_DESC = phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile
# Mainland mobile, after separators are removed: optional +86 / 0086 / 86 / trunk 0, then 11 digits.
_CN_MOBILE_CANDIDATE = re.compile(r"(?:\+86|0086|86|0)?(1[3-9]\d{9})")
_CN_MOBILE_NATIONAL = re.compile(_CN_MOBILE_DESC.national_number_pattern)
_SEPARATORS = re.compile(r"[\s\-.()/]")
# Extension markers people write, mapped to one phonenumbers understands.
_EXTENSION_WORDS = re.compile(r"\s*(?:转|分机|分機|内线|ext\.?|extension|x|#|;ext=)\s*(?=\d)", re.IGNORECASE)
_PHONE_SHAPE = re.compile(r"\+?[\d\s\-.()/]+(?: ext\. \d{1,10})?")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_TRAILING_EXTENSION = re.compile(r"(.*\d)[-\s]+(\d{1,6})")


@dataclass(frozen=True)
class Phone:
    """A phone number as we store it: E.164 for comparing and dialling, and the text as entered."""

    e164: str
    raw: str
    extension: str = ""
    kind: str = "unknown"  # "mobile", "fixed_line", "toll_free", … (phonenumbers' type, lower-case)
    region: str = ""


def _default_region(region: str | None) -> str:
    region = (region or settings.LOOPCRM_DEFAULT_PHONE_REGION or "CN").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        region = "CN"
    return region


def _type_name(number: phonenumbers.PhoneNumber) -> str:
    kind = phonenumbers.number_type(number)
    for name in dir(PhoneNumberType):
        if not name.startswith("_") and getattr(PhoneNumberType, name) == kind:
            return name.lower()
    return "unknown"


def parse_phone(raw: str | None, *, region: str | None = None, field: str = "phone") -> Phone | None:
    """Parse one phone number as typed; None for a blank input. Raises RuleViolation on anything else."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise RuleViolation(_("A phone number must be text, not %(type)s.") % {"type": type(raw).__name__},
                            field=field)
    if "\x00" in raw:
        raise RuleViolation(_("A phone number may not contain NUL characters."), field=field)
    # "As entered" minus invisible controls: the shape people typed, nothing they could not see.
    original = _INVISIBLE.sub("", raw).strip()
    if not original:
        return None
    if len(original) > PHONE_RAW_MAX:
        raise RuleViolation(
            _("%(value)s is too long for a phone number (at most %(limit)d characters).")
            % {"value": _shown(original), "limit": PHONE_RAW_MAX},
            field=field,
        )
    text = unicodedata.normalize("NFKC", original).strip()
    region = _default_region(region)

    compact = _SEPARATORS.sub("", text)
    if region == "CN" or compact.startswith(("+86", "0086")):
        match = _CN_MOBILE_CANDIDATE.fullmatch(compact)
        if match and _CN_MOBILE_NATIONAL.fullmatch(match.group(1)):
            # The fast path (PERFORMANCE.md): same verdict as phonenumbers, ~4x cheaper.
            return Phone(e164="+86" + match.group(1), raw=original, kind="mobile", region="CN")

    if _SCIENTIFIC.fullmatch(compact):
        raise RuleViolation(
            _("%(value)s looks like a phone number a spreadsheet turned into scientific notation; "
              "its digits are lost. Format the column as text and export it again.") % {"value": _shown(original)},
            field=field,
        )
    text = _EXTENSION_WORDS.sub(" ext. ", text).strip()
    if not _PHONE_SHAPE.fullmatch(text) or not any(ch.isdigit() for ch in text):
        raise RuleViolation(
            _("%(value)s is not a phone number: use digits with an optional leading + and country code, "
              "spaces or dashes, and an optional extension (e.g. +86 138 0013 8000, 010-12345678 ext. 123).")
            % {"value": _shown(original)},
            field=field,
        )
    number = _parse_valid(text, region)
    if number is None:
        # "010-12345678-123": the last group is an extension when the rest is a valid line.
        match = _TRAILING_EXTENSION.fullmatch(text)
        if match and " ext. " not in text:
            number = _parse_valid(f"{match.group(1)} ext. {match.group(2)}", region)
    if number is None:
        raise RuleViolation(_why_invalid(original, text, region), field=field)
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        raw=original,
        extension=number.extension or "",
        kind=_type_name(number),
        region=phonenumbers.region_code_for_number(number) or "",
    )


def _parse_valid(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _why_invalid(original: str, text: str, region: str) -> str:
    """A specific reason, so the person typing knows what to fix."""
    shown = {"value": _shown(original)}
    digits = re.sub(r"\D", "", text.split(" ext. ")[0])
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            return _("%(value)s starts with an unknown country code.") % shown
        if error.error_type == NumberParseException.TOO_SHORT_NSN:
            return _("%(value)s is too short to be a phone number.") % shown
        if error.error_type == NumberParseException.TOO_LONG:
            return _("%(value)s is too long to be a phone number.") % shown
        return _("%(value)s is not a phone number.") % shown
    if not text.startswith("+") and shortnumberinfo.is_valid_short_number_for_region(number, region):
        if shortnumberinfo.is_emergency_number(digits, region):
            return _(
                "%(value)s is an emergency number, which never reaches the customer and has no international "
                "form; enter the customer's own mobile or landline (organisations: their 400/800 number)."
            ) % shown
        return _(
            "%(value)s is a short service number (a hotline such as a bank's or a carrier's), which never reaches "
            "the customer and has no international form; enter the customer's own mobile or landline "
            "(organisations: their 400/800 number)."
        ) % shown
    national = str(number.national_number)
    if number.country_code == 86 and len(national) in (7, 8) and not text.startswith("+"):
        return _("%(value)s needs its area code, like 010-12345678 or 021-61234567.") % shown
    if number.country_code == 86 and national.startswith("1") and len(national) != 11:
        return _("%(value)s is not a valid mainland mobile number: mobiles have 11 digits starting with 1.") % shown
    if number.country_code == 86 and national.startswith("1") and national[1] != "0":
        return _(
            "%(value)s is not a mainland mobile number in use: no network assigns numbers starting %(prefix)s."
        ) % {**shown, "prefix": national[:3]}
    where = phonenumbers.region_code_for_country_code(number.country_code)
    if text.startswith("+") or text.startswith("00"):
        return _("%(value)s is not a valid phone number for country code +%(code)s (%(region)s).") % {
            **shown, "code": number.country_code, "region": where,
        }
    return _(
        "%(value)s is not a valid phone number in %(region)s; for a number abroad, start with + and the country "
        "code (e.g. +1 650 253 0000)."
    ) % {**shown, "region": region}


# The two shapes most mainland mobiles arrive in, already clean as typed (ASCII digits, no
# invisible or surrounding characters): `13800138000` and `+86 138 0013 8000` (or `+8613800138000`).
# They give what parse_phone's fast path gives, without its NFKC and separator passes ([0-9], not
# \d: full-width digits must go through NFKC).
_PLAIN_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PLAIN_CN_INTERNATIONAL = re.compile(r"\+86 ?(1[3-9][0-9]) ?([0-9]{4}) ?([0-9]{4})")


def normalise_phone(raw: str | None, *, region: str | None = None, field: str = "phone") -> tuple[str, str]:
    """(E.164, the number as entered); ("", "") for a blank input. Raises RuleViolation."""
    if type(raw) is str and len(raw) <= 17:
        if _PLAIN_CN_MOBILE.fullmatch(raw):
            if _CN_MOBILE_NATIONAL.fullmatch(raw) and _default_region(region) == "CN":
                return "+86" + raw, raw
        else:
            match = _PLAIN_CN_INTERNATIONAL.fullmatch(raw)
            if match:
                national = "".join(match.groups())
                if _CN_MOBILE_NATIONAL.fullmatch(national):
                    return "+86" + national, raw
    phone = parse_phone(raw, region=region, field=field)
    if phone is None:
        return "", ""
    return phone.e164, phone.raw


# ---------------------------------------------------------------------------------------------
# Emails

_EMAIL_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\ufe52": "."})
# RFC 5322 dot-atom characters, plus letters, marks and digits of any script (RFC 6531 addresses).
_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_LABEL_ASCII = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Scripts that may share one label (Unicode's "highly restrictive" profile): Latin with the CJK
# scripts of Chinese, Japanese and Korean. Anything else mixed with Latin is how homoglyphs spoof.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name (enough to spot mixed-script labels)."""
    name = unicodedata.name(char, "")
    if name.startswith(("CJK ", "IDEOGRAPHIC")):
        return "HAN"
    if name.startswith("HALFWIDTH KATAKANA"):
        return "KATAKANA"
    return name.split(" ", 1)[0]


def _mixed_scripts(label: str) -> bool:
    scripts = {_script(ch) for ch in label if unicodedata.category(ch).startswith("L")}
    if len(scripts) <= 1:
        return False
    return not any(scripts <= allowed for allowed in _ALLOWED_MIXES)


def _local_part_ok(local: str) -> bool:
    for atom in local.split("."):
        if not atom:
            return False  # leading, trailing or doubled dot
        for ch in atom:
            if _LOCAL_ATOM.fullmatch(ch):
                continue
            if ord(ch) > 127 and unicodedata.category(ch)[0] in "LMN":
                continue
            return False
    return True


# The common case, checked in one regex: an ASCII address whose labels are plain and whose last
# label starts with a letter. Anything else takes the full path below, which gives the same answer
# for these (a test compares both on generated addresses); imports clean ~70 % of rows' emails here.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def normalise_email(raw: str | None, *, field: str = "email") -> str:
    """The address we store and compare by: NFKC, trimmed, lower-case, validated; "" for a blank input."""
    if type(raw) is str and raw.isascii():
        value = raw.strip().lower()
        if (len(value) <= EMAIL_MAX and _PLAIN_EMAIL.fullmatch(value) and value.index("@") <= EMAIL_LOCAL_MAX
                and len(value) - value.index("@") - 1 <= 253 and not value.startswith("mailto:")):
            return value
    return _normalise_email_fully(raw, field=field)


def _normalise_email_fully(raw: str | None, *, field: str = "email") -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise RuleViolation(_("An email address must be text, not %(type)s.") % {"type": type(raw).__name__},
                            field=field)
    if "\x00" in raw:
        raise RuleViolation(_("An email address may not contain NUL characters."), field=field)
    value = unicodedata.normalize("NFKC", _INVISIBLE.sub("", raw)).translate(_EMAIL_DOTS).strip()
    if not value:
        return ""
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:"):].strip()
    value = value.lower()
    shown = _shown(raw.strip())
    if len(value) > EMAIL_MAX:
        raise RuleViolation(_("%(value)s is too long for an email address (at most %(limit)d characters).")
                            % {"value": shown, "limit": EMAIL_MAX}, field=field)
    if any(ch.isspace() for ch in value):
        raise _not_an_email(shown, _("it contains a space"), field)
    if value.count("@") != 1:
        raise _not_an_email(shown, _("it has no @") if "@" not in value else _("it has more than one @"), field)
    local, domain = value.split("@")
    if not local:
        raise _not_an_email(shown, _("nothing before the @"), field)
    if len(local) > EMAIL_LOCAL_MAX:
        raise _not_an_email(
            shown, _("the part before the @ is over %(limit)d characters") % {"limit": EMAIL_LOCAL_MAX}, field
        )
    if not _local_part_ok(local):
        raise _not_an_email(
            shown, _("the part before the @ has a character that is not allowed or a misplaced dot"), field
        )
    _check_domain(domain, shown, field)
    return value


def _not_an_email(shown: str, reason: str, field: str) -> RuleViolation:
    return RuleViolation(
        _("%(value)s is not a valid email address: %(reason)s.") % {"value": shown, "reason": reason}, field=field
    )


def _check_domain(domain: str, shown: str, field: str) -> None:
    if not domain:
        raise _not_an_email(shown, _("nothing after the @"), field)
    if domain.startswith("["):
        raise RuleViolation(_("%(value)s: addresses at an IP literal are not accepted; use a domain name.")
                            % {"value": shown}, field=field)
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise _not_an_email(shown, _("the domain needs a dot and no empty parts (like example.com)"), field)
    ascii_labels = []
    for label in labels:
        if label.isascii():
            ascii_label = label
        else:
            if not all(unicodedata.category(ch)[0] in "LMN" or ch == "-" for ch in label):
                raise _not_an_email(shown, _("the domain has a character that is not allowed"), field)
            if _mixed_scripts(label):
                raise RuleViolation(
                    _("%(value)s: the domain mixes alphabets in %(label)s (for example Latin with Cyrillic), "
                      "which is how look-alike domains impersonate real ones. Check the address.")
                    % {"value": shown, "label": repr(label)},
                    field=field,
                )
            try:
                ascii_label = label.encode("idna").decode("ascii")
            except UnicodeError as error:
                raise _not_an_email(
                    shown, _("the domain %(domain)s is not a valid international domain name")
                    % {"domain": repr(domain)}, field,
                ) from error
        if not _LABEL_ASCII.fullmatch(ascii_label):
            raise _not_an_email(
                shown, _("the domain part %(label)s is not allowed (letters, digits and inner hyphens, "
                         "at most 63 characters)") % {"label": repr(label)}, field,
            )
        ascii_labels.append(ascii_label)
    if ascii_labels[-1].isdigit():
        raise _not_an_email(shown, _("the domain ends in a number"), field)
    if len(".".join(ascii_labels)) > 253:
        raise _not_an_email(shown, _("the domain is too long"), field)
