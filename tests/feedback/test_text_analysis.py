"""Text analysis (pure): language, segmentation, negation and degree, topics, and the labelled evaluation.

The floors sit slightly below the measured values on the held-out half (odd rows, never used to tune
the lexicons); docs/feedback.md reports the numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loopcrm.feedback import text
from loopcrm.feedback.text.evaluate import evaluate, score

DATA = Path(__file__).parent / "data"


def test_language_detection():
    assert text.detect_language("送货太慢了") == "zh"
    assert text.detect_language("The courier was late") == "en"
    assert text.detect_language("海尔 fridge 冰箱很好") == "zh"
    assert text.detect_language("!!! 123") == "und"


def test_chinese_segmentation_keeps_domain_words():
    tokens = text.segment("安装师傅乱收费，还说是辅材费", "zh")
    assert "安装师傅" in tokens and "乱收费" in tokens and "辅材费" in tokens


def test_jieba_is_loaded_once():
    first = text._tokenizer()
    assert text._tokenizer() is first


@pytest.mark.parametrize("comment, label", [
    ("客服态度很好", "positive"),
    ("客服态度不好", "negative"),
    ("质量不差", "positive"),
    ("非常满意", "positive"),
    ("送货太慢了，非常失望", "negative"),
    ("The agent was helpful", "positive"),
    ("The agent was not helpful", "negative"),
    ("not bad at all", "positive"),
    ("Good product but the delivery was terribly late and the box was damaged", "negative"),
    ("请问保修期多久", "neutral"),
])
def test_sentiment_with_negation_degree_and_contrast(comment, label):
    assert text.analyse(comment).sentiment == label


def test_degree_adverbs_strengthen():
    assert text.analyse("非常差").score < text.analyse("差").score < 0
    assert text.analyse("very good").score > text.analyse("good").score > 0


def test_topics_and_root_cause_branch():
    result = text.analyse("快递员把冰箱摔坏了，物流太差")
    assert result.topics[0] == "delivery" and result.category == "partner"
    assert text.analyse("The agent was rude").category == "people"
    assert text.analyse("退款半个月还没到账").category == "process"
    assert text.analyse("价格太贵").category == "policy"


def test_keywords_exclude_stop_words():
    result = text.analyse("我们的冰箱噪音很大，冰箱晚上嗡嗡响")
    assert "冰箱" in result.keywords and "我们" not in result.keywords


def test_strongly_negative_flag():
    assert text.analyse("客服态度恶劣，还骂人，太过分了，再也不会来了").strongly_negative
    assert not text.analyse("还行").strongly_negative


def test_long_and_empty_texts():
    assert text.analyse("").language == "und"
    assert len(text.analyse("好" * 20_000).tokens) <= text.MAX_CHARS


def test_macro_f1_by_hand():
    result = score(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    # a: precision 1, recall .5, F1 .667; b: precision .667, recall 1, F1 .8 -> macro .733
    assert result.accuracy == 0.75 and result.macro_f1 == pytest.approx(0.7333, abs=1e-3)


@pytest.mark.parametrize("name, split, sentiment_floor, category_floor", [
    ("eval_zh.csv", "test", 0.82, 0.85),
    ("eval_en.csv", "test", 0.80, 0.77),
    ("eval_zh.csv", "all", 0.85, 0.85),
    ("eval_en.csv", "all", 0.87, 0.80),
])
def test_accuracy_on_the_labelled_set_stays_above_its_floor(name, split, sentiment_floor, category_floor):
    result = evaluate(DATA / name, split=split)
    assert result["sentiment"].n >= 100
    assert result["sentiment"].accuracy >= sentiment_floor
    assert result["category"].accuracy >= category_floor


def test_the_labelled_sets_have_at_least_200_comments_each():
    for name in ("eval_zh.csv", "eval_en.csv"):
        lines = (DATA / name).read_text("utf-8").strip().splitlines()
        assert len(lines) - 1 >= 200
