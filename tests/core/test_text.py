import pytest

from loopcrm.core.errors import RuleViolation
from loopcrm.core.text import clean_line, clean_text, fold


def test_clean_line_normalises_to_nfc_and_single_spaces():
    decomposed = "Zoe\u0301  \t Smith"  # e + combining acute
    assert clean_line(decomposed, field="name") == "Zoé Smith"


def test_clean_line_strips_zero_width_and_bidi_controls():
    assert clean_line("张\u200b伟\u202e", field="name") == "张伟"


def test_nul_is_refused_with_the_field_named():
    with pytest.raises(RuleViolation) as caught:
        clean_text("abc\x00def", field="notes")
    assert caught.value.field == "notes"
    assert "NUL" in caught.value.message


def test_length_is_counted_in_characters_not_bytes():
    assert clean_line("𠮷" * 10, field="name", max_length=10) == "𠮷" * 10
    with pytest.raises(RuleViolation, match="At most 10 characters"):
        clean_line("𠮷" * 11, field="name", max_length=10)


def test_required_blank_is_refused():
    with pytest.raises(RuleViolation, match="required"):
        clean_line("  \u200b ", field="name", required=True)


def test_fold_maps_full_width_and_case():
    assert fold("ＡＢＣ@Example.COM") == "abc@example.com"
