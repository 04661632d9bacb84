"""Phones and emails as people type them (shared/RELIABILITY.md, bad input items 3 and 4)."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.normalise import normalise_email, normalise_phone, parse_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("86 138-0013-8000", "+8613800138000"),
        ("(+86) 138.0013.8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits
        ("＋８６　１３８　００１３　８０００", "+8613800138000"),  # full-width plus and ideographic spaces
        ("138\u200b0013\u200d8000", "+8613800138000"),  # zero-width characters pasted from a chat
        ("010-12345678", "+861012345678"),  # Beijing landline with its area code
        ("(021) 6123 4567", "+862161234567"),
        ("0755-8765 4321", "+8675587654321"),
        ("+86 (0)10 12345678", "+861012345678"),
        ("400-800-1234", "+864008001234"),  # a national hotline is a full number
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+852 2123 4567", "+85221234567"),
        ("00 44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_stored_in_e164_beside_the_number_as_entered(raw, e164):
    assert normalise_phone(raw) == (e164, raw.replace("\u200b", "").replace("\u200d", "").strip())


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("010-12345678 ext. 123", "123"),
        ("010-12345678 x123", "123"),
        ("010 12345678#123", "123"),
        ("010-12345678转123", "123"),
        ("0755-8765 4321 分机 88", "88"),
        ("010-12345678-123", "123"),  # the Chinese way of writing an extension
    ],
)
def test_an_extension_stays_in_the_number_as_entered_and_the_line_is_stored(raw, extension):
    phone = parse_phone(raw)
    assert phone.extension == extension
    assert phone.e164 in {"+861012345678", "+8675587654321"}
    assert phone.raw == raw


def test_a_number_without_country_code_is_read_in_the_given_region():
    assert normalise_phone("(650) 253-0000", region="US") == ("+16502530000", "(650) 253-0000")
    assert normalise_phone("+86 138 0013 8000", region="US")[0] == "+8613800138000"


def test_blank_phone_is_empty_not_an_error():
    assert normalise_phone("") == ("", "")
    assert normalise_phone("   ") == ("", "")
    assert normalise_phone(None) == ("", "")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("95588", "short service number"),  # a bank's hotline: decided to refuse, see normalise.py
        ("10086", "short service number"),
        ("110", "emergency number"),
        ("12345678", "needs its area code"),
        ("138 0013 800", "mobiles have 11 digits"),
        ("1380013800012", "mobiles have 11 digits"),
        ("15453244221", "no network assigns numbers starting 154"),
        ("+86 123 4567 8901", "no network assigns numbers starting 123"),
        ("+86 21 1234", "not a valid phone number for country code +86"),
        ("6502530000", "start with + and the country code"),  # a US number without +1
        ("+999 1234", "unknown country code"),
        ("1.38001E+10", "scientific notation"),  # Excel damage: the digits are gone
        ("call 13800138000", "is not a phone number"),
        ("abc", "is not a phone number"),
        ("一三八", "is not a phone number"),
        ("+", "is not a phone number"),
        ("1" * 65, "too long"),
        ("138\x000138000", "NUL"),
    ],
)
def test_bad_phones_get_a_clear_error_naming_the_value(raw, says):
    with pytest.raises(RuleViolation) as caught:
        normalise_phone(raw, field="phone")
    assert says in caught.value.message
    assert caught.value.field == "phone"
    if "NUL" not in says and len(raw) < 60:
        assert repr(raw) in caught.value.message  # the person sees which value is wrong


def test_a_huge_value_is_shortened_in_the_message():
    with pytest.raises(RuleViolation) as caught:
        normalise_phone("9" * 10_000)
    assert len(caught.value.message) < 200


def test_the_mobile_fast_path_agrees_with_phonenumbers():
    """PERFORMANCE.md: a precompiled path for mainland mobiles, with no disagreement on a realistic mix."""
    rng = random.Random(20261123)
    samples = [f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}" for _ in range(20_000)]
    samples += [f"{p}{rng.randrange(10**7):07d}" for p in range(1300, 2000) for _ in range(3)]
    disagreements = []
    for number in samples:
        expected = None
        try:
            parsed = phonenumbers.parse(number, "CN")
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        try:
            got = normalise_phone(number)[0]
        except RuleViolation:
            got = None
        if got != expected:
            disagreements.append((number, expected, got))
    assert disagreements == []


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Zhang.Wei@Example.COM", "zhang.wei@example.com"),
        ("  zhang.wei@example.com \n", "zhang.wei@example.com"),
        ("zhang+crm@example.com", "zhang+crm@example.com"),  # the +tag is part of the address
        ("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhang@example.com"),  # full-width (NFKC)
        ("zhang@example。com", "zhang@example.com"),  # the ideographic full stop an IME types
        ("zhang\u200b@example.com", "zhang@example.com"),
        ("mailto:zhang@example.com", "zhang@example.com"),
        ("user@例子.中国", "user@例子.中国"),  # IDN domain, stored in Unicode
        ("张三@公司.中国", "张三@公司.中国"),  # an internationalised address (RFC 6531)
        ("info@bücher.de", "info@bücher.de"),
        ("пример@пример.рф", "пример@пример.рф"),  # one script throughout is fine
        ("a@qq邮箱.com", "a@qq邮箱.com"),  # Latin with Han is an allowed mix
        ("", ""),
        (None, ""),
    ],
)
def test_emails_are_normalised(raw, stored):
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("zhang.example.com", "has no @"),
        ("a@@example.com", "more than one @"),
        ("@example.com", "nothing before the @"),
        ("zhang@", "nothing after the @"),
        ("zhang@localhost", "needs a dot"),
        ("zhang@example..com", "needs a dot and no empty parts"),
        ("zhang wei@example.com", "contains a space"),
        ("zhang..wei@example.com", "misplaced dot"),
        (".zhang@example.com", "misplaced dot"),
        ("zh<ang@example.com", "not allowed"),
        ("zhang@[10.0.0.1]", "IP literal"),
        ("zhang@-example.com", "is not allowed"),
        ("zhang@example.123", "ends in a number"),
        ("zhang@ex😀mple.com", "not allowed"),
        ("zhang@exаmple.com", "mixes alphabets"),  # Cyrillic а: a homoglyph domain
        ("zhang@pаypal.com", "mixes alphabets"),
        ("a" * 65 + "@example.com", "over 64 characters"),
        ("a@" + "b" * 250 + ".com", "too long"),
        ("zhang\x00@example.com", "NUL"),
    ],
)
def test_bad_emails_get_a_clear_error(raw, says):
    with pytest.raises(RuleViolation) as caught:
        normalise_email(raw, field="email")
    assert says in caught.value.message
    assert caught.value.field == "email"


def test_non_text_input_is_refused_not_crashed():
    with pytest.raises(RuleViolation):
        normalise_email(12345)
    with pytest.raises(RuleViolation):
        normalise_phone(13800138000)


E164 = re.compile(r"\+[1-9]\d{6,14}")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_valid_e164_phone_or_a_rule_violation(text):
    try:
        e164, raw = normalise_phone(text)
    except RuleViolation as error:
        assert error.field == "phone" and error.message
        return
    assert e164 == "" or E164.fullmatch(e164)
    assert len(raw) <= 64 and "\x00" not in raw
    assert e164 == "" or normalise_phone(e164)[0] == e164  # the stored form reads back as itself


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.emails().map(lambda e: f"  {e.upper()} ")))
def test_any_text_is_a_normalised_email_or_a_rule_violation(text):
    try:
        email = normalise_email(text)
    except RuleViolation as error:
        assert error.field == "email" and error.message
        return
    assert email == "" or (email.count("@") == 1 and email == email.lower() and email.strip() == email)
    assert normalise_email(email) == email  # idempotent: stored values compare equal when typed again


_ATOM_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"


@settings(max_examples=400, deadline=None)
@given(
    local=st.lists(st.text(alphabet=_ATOM_CHARS, min_size=0, max_size=12), min_size=1, max_size=3),
    labels=st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=0, max_size=10),
                    min_size=1, max_size=4),
    padding=st.sampled_from(["", " ", "\t", " MAILTO:"]),
)
def test_the_plain_email_fast_path_agrees_with_the_full_rules(local, labels, padding):
    from loopcrm.customers import normalise

    raw = padding + ".".join(local) + "@" + ".".join(labels)

    def outcome(function):
        try:
            return function(raw)
        except RuleViolation as error:
            return ("refused", error.message)
    assert outcome(normalise.normalise_email) == outcome(normalise._normalise_email_fully)


@pytest.mark.parametrize("raw", ["Zhang.Wei+crm@Example.COM", " u2@example.com ", "a@b.cn", "x@163.com", "9@9.com.cn",
                                 "first.last@sub.domain.example.org", "o'neil@example.ie", "x@1.2", "x@a.b1"])
def test_common_addresses_take_the_fast_path_with_the_same_result(raw):
    from loopcrm.customers import normalise

    try:
        expected = normalise._normalise_email_fully(raw)
    except RuleViolation:
        with pytest.raises(RuleViolation):
            normalise.normalise_email(raw)
    else:
        assert normalise.normalise_email(raw) == expected


_PHONE_CHARS = "0123456789１３８+ -()\u200b\t"


def _phone_outcome(function, raw, region):
    try:
        return function(raw, region=region)
    except RuleViolation as error:
        return ("refused", error.message)


def _slow_phone(raw, *, region):
    from loopcrm.customers.normalise import parse_phone

    phone = parse_phone(raw, region=region)
    return ("", "") if phone is None else (phone.e164, phone.raw)


@settings(max_examples=600, deadline=None)
@given(
    national=st.from_regex(r"1[0-9]{10}", fullmatch=True),
    shape=st.sampled_from(["{n}", "+86 {a} {b} {c}", "+86{n}", "+86 {n}", "+86{a} {b}{c}", " {n}", "{n} ",
                           "0086{n}", "86{n}", "+86  {a} {b} {c}", "+１86{n}", "{a}-{b}-{c}"]),
    region=st.sampled_from(["CN", "US", None, "cn", "HK"]),
)
def test_the_plain_mobile_shapes_agree_with_the_full_rules(national, shape, region):
    """`13800138000` and `+86 138 0013 8000` skip parse_phone; what they give must be what it gives."""
    raw = shape.format(n=national, a=national[:3], b=national[3:7], c=national[7:])
    assert _phone_outcome(normalise_phone, raw, region) == _phone_outcome(_slow_phone, raw, region)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(alphabet=_PHONE_CHARS, max_size=20), region=st.sampled_from(["CN", "US", None]))
def test_any_phone_text_gives_the_same_answer_with_and_without_the_plain_shapes(raw, region):
    assert _phone_outcome(normalise_phone, raw, region) == _phone_outcome(_slow_phone, raw, region)


@settings(max_examples=600, deadline=None)
@given(value=st.text(alphabet=st.sampled_from(list("张伟 ab\u00a0\u3000\t\n\u200b\ufeffé\u0301Å\u212b\x00x1-")),
                     max_size=12),
       limit=st.sampled_from([3, 8, 200]))
def test_clean_lines_skip_the_full_cleaning_with_the_same_result(value, limit):
    """customers.services._line returns plain lines as they are: the same as core.text.clean_line."""
    from loopcrm.core.text import clean_line
    from loopcrm.customers.services import _line

    def outcome(function):
        try:
            return function()
        except RuleViolation as error:
            return ("refused", error.message, error.field)

    for required in (False, True):
        fast = outcome(lambda required=required: _line(value, "street", limit, required=required))
        full = outcome(lambda required=required: clean_line(value, field="street", max_length=limit,
                                                            required=required))
        assert fast == full
