"""An agent types part of a name, a phone or an email into the customer search box.

These run on SQLite and on PostgreSQL (DATABASE_URL=postgres://…): the same answers from both.
"""

from __future__ import annotations

import pytest

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Customer
from loopcrm.customers.search import normalise_term, phone_patterns, search_customers
from tests import factories

pytestmark = pytest.mark.django_db

PEOPLE = {
    "张伟": ("+8613800138000", "zhangwei@example.com"),
    "张伟明": ("+8613912345678", "weiming.zhang@qq.com"),
    "李张华": ("+8615011112222", ""),
    "王芳": ("+8618611112222", "wangfang88@163.com"),
    "欧阳娜娜": ("+8613700009999", "nana@example.com"),
    "Wang Fang": ("+14155550123", "w.fang@Example.org"),
    "王Fang混合": ("", ""),
    "Müller GmbH": ("+4930123456", "info@mueller.de"),
    "50% 折扣店": ("+861065521234", ""),
    "500 Club": ("", ""),
    "a_b 公司": ("", "a_b@example.com"),
    "axb 公司": ("", "axb@example.com"),
    "C:\\temp 工作室": ("", ""),
    "𠮷野家": ("", ""),
}


@pytest.fixture
def people() -> dict[str, Customer]:
    return {
        name: factories.customer(name, phone=phone, phone_raw=phone, email=email)
        for name, (phone, email) in PEOPLE.items()
    }


def found(term: str, queryset=None) -> set[str]:
    return set(search_customers(queryset if queryset is not None else Customer.objects.all(), term)
               .values_list("name", flat=True))


# -- Chinese names ---------------------------------------------------------------------------------

def test_two_chinese_characters_find_every_name_that_holds_them(people):
    assert found("张伟") == {"张伟", "张伟明"}
    assert found("伟明") == {"张伟明"}
    assert found("阳娜") == {"欧阳娜娜"}
    assert found("娜娜") == {"欧阳娜娜"}


def test_three_or_more_characters(people):
    assert found("张伟明") == {"张伟明"}
    assert found("欧阳娜娜") == {"欧阳娜娜"}
    assert found("张伟明天") == set()


def test_one_character_is_a_surname_prefix_not_a_substring(people):
    assert found("张") == {"张伟", "张伟明"}  # not 李张华
    assert found("欧") == {"欧阳娜娜"}
    assert found("华") == set()


def test_characters_outside_the_basic_plane(people):
    assert found("𠮷野") == {"𠮷野家"}
    assert found("𠮷") == {"𠮷野家"}


def test_a_name_fragment_that_crosses_scripts(people):
    assert found("王Fang") == {"王Fang混合"}
    assert found("g混") == {"王Fang混合"}
    assert found("ng混合") == {"王Fang混合"}


# -- Latin names -----------------------------------------------------------------------------------

def test_latin_names_ignore_case(people):
    assert found("wang fang") == {"Wang Fang"}
    assert found("FANG") == {"Wang Fang", "王Fang混合", "王芳"}  # 王芳 by her email, wangfang88@
    assert found("fa") == {"Wang Fang", "王Fang混合"}
    assert found("w") == {"Wang Fang"}


def test_full_width_and_extra_spaces_are_normalised(people):
    assert found("ｗａｎｇ　　ｆａｎｇ") == {"Wang Fang"}
    assert found("  张伟明\t") == {"张伟明"}
    assert normalise_term("张\x00伟\u200b") == "张伟"
    assert found("张\x00伟") == {"张伟", "张伟明"}


# -- Phones ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["138 0013", "138-0013-8000", "13800138000", "+86 138 0013 8000",
                                  "0086 138 0013 8000", "(138) 0013.8000", "１３８００１３８"])
def test_phone_fragments_as_people_type_them(people, term):
    assert found(term) == {"张伟"}


def test_the_last_four_digits(people):
    assert found("8000") == {"张伟"}
    assert found("5678") == {"张伟明"}


def test_a_landline_with_its_trunk_prefix(people):
    assert found("010-6552 1234") == {"50% 折扣店"}
    assert found("6552") == {"50% 折扣店"}


def test_a_fragment_that_starts_with_00(people):
    assert found("0013 8000") == {"张伟"}


def test_a_foreign_number(people):
    assert found("+1 415 555") == {"Wang Fang"}
    assert found("+86 415") == set()


def test_digits_match_names_too(people):
    assert found("500") == {"500 Club"}


# -- Emails ----------------------------------------------------------------------------------------

def test_email_fragments(people):
    assert found("zhangwei@") == {"张伟"}
    assert found("@163.com") == {"王芳"}
    assert found("ZhangWei@Example.COM") == {"张伟"}
    assert found("@example.com") == {"张伟", "欧阳娜娜", "a_b 公司", "axb 公司"}
    assert found("w.fang@example.org") == {"Wang Fang"}


def test_a_latin_word_matches_emails_as_well(people):
    assert found("mueller") == {"Müller GmbH"}
    assert found("weiming") == {"张伟明"}


# -- Characters that mean something to LIKE --------------------------------------------------------

def test_percent_and_underscore_are_literal(people):
    assert found("50%") == {"50% 折扣店"}
    assert found("%") == set()
    assert found("a_b") == {"a_b 公司"}
    assert found("_") == set()
    assert found("%%") == set()


def test_backslash_is_literal(people):
    assert found("C:\\temp") == {"C:\\temp 工作室"}
    assert found(":\\") == {"C:\\temp 工作室"}


def test_sql_looking_terms_are_just_text(people):
    assert found("' OR 1=1 --") == set()


# -- Edges -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["", "   ", None, "\u200b"])
def test_an_empty_term_filters_nothing(people, term):
    assert found(term) == set(PEOPLE)


def test_a_term_over_the_limit_is_refused(people):
    with pytest.raises(RuleViolation) as error:
        found("张" * 101)
    assert error.value.field == "q"


def test_search_narrows_a_queryset_and_keeps_its_filters_and_order(people):
    only_vips = Customer.objects.filter(name__in=["张伟明", "王芳"])
    assert found("张伟", only_vips) == {"张伟明"}
    page = list(search_customers(Customer.objects.order_by("-id"), "张伟")[:1])
    assert [c.name for c in page] == ["张伟明"]


def test_phone_patterns_read_the_term():
    assert phone_patterns("138 0013") == (["1380013"], [])
    assert phone_patterns("+86 138") == ([], ["+86138"])
    assert phone_patterns("0086-138") == (["0086138"], ["+86138"])
    assert phone_patterns("010-6552", region="CN") == (["0106552"], ["+86106552"])
    assert phone_patterns("张伟") == ([], [])
    assert phone_patterns("--") == ([], [])


def test_a_renamed_customer_is_found_by_the_new_name_only(people):
    # On PostgreSQL the bigrams are a stored generated column: the database must keep them current.
    Customer.objects.filter(pk=people["王芳"].pk).update(name="赵丽颖")
    assert found("王芳") == set()
    assert found("丽颖") == {"赵丽颖"}
    customer = people["张伟"]
    customer.name = "孙悟空"
    customer.save()
    assert found("悟空") == {"孙悟空"}
    assert found("张伟") == {"张伟明"}
