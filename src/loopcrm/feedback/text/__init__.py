"""Text analysis of customer comments in Chinese and English (pure Python, no Django).

`analyse(text)` detects the language, segments (jieba for Chinese, with our user dictionary),
drops stop words, ranks keywords (TextRank over a co-occurrence window), maps keywords to topics
and topics to root-cause branches, and scores sentiment with a lexicon that knows negation,
degree adverbs and contrast ("…, but …"). Method and measured accuracy: docs/feedback.md.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from loopcrm.feedback.text import lexicon as lx

DATA = Path(__file__).resolve().parent / "data"
MAX_CHARS = 5000  # longer texts are analysed on their first 5,000 characters

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
SENTIMENT_THRESHOLD = 0.15  # |score| below this is neutral
STRONGLY_NEGATIVE = -0.6

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_EN_TOKEN = re.compile(r"[a-z]+(?:['\-][a-z]+)*|\d+")
_CLAUSE_ZH = re.compile(r"[，。！？；、,.!?;~…\s]+")
_CLAUSE_EN = re.compile(r"[.!?;,]+|\s-\s")

_jieba_lock = threading.Lock()


@dataclass(frozen=True)
class Analysis:
    """What the text says: language, tokens, keywords, topics, sentiment and the root-cause branch."""

    language: str  # "zh", "en" or "und"
    tokens: list[str]
    keywords: list[str]
    topics: list[str]
    sentiment: str
    score: float  # −1 … +1
    category: str  # a root-cause branch, or "" when no topic was found
    highlights: list[str] = field(default_factory=list)  # the words that carried the sentiment

    @property
    def strongly_negative(self) -> bool:
        return self.score <= STRONGLY_NEGATIVE


def detect_language(text: str) -> str:
    """"zh" when CJK characters are at least a fifth of the letters, "en" when Latin letters dominate."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return "und"
    if cjk and cjk * 5 >= latin:  # one Chinese character carries about as much as five Latin letters
        return "zh"
    return "en"


def _words(name: str) -> frozenset[str]:
    return frozenset(line.strip() for line in (DATA / name).read_text("utf-8").splitlines() if line.strip())


@cache
def stop_words(language: str) -> frozenset[str]:
    return _words("stopwords_zh.txt" if language == "zh" else "stopwords_en.txt")


@cache
def _tokenizer():
    """One jieba tokenizer per process, built on first use (loading its dictionary takes about a second)."""
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(DATA / "userdict.txt"))
    # Sentiment and domain words must survive segmentation as whole words.
    for word in (*lx.POSITIVE_ZH, *lx.NEGATIVE_ZH, *lx.DEGREE_ZH, *lx.NEGATIONS_ZH,
                 *(w for words in lx.TOPICS.values() for w in words if _CJK.search(w))):
        if len(word) > 1:
            tokenizer.add_word(word, freq=max(tokenizer.FREQ.get(word, 0), 2000))
    return tokenizer


def segment(text: str, language: str) -> list[str]:
    """Words of `text` in order (punctuation dropped), Chinese through jieba, English lower-cased."""
    if language == "zh":
        with _jieba_lock:  # jieba's Tokenizer is not thread-safe while it caches
            raw = _tokenizer().lcut(text, HMM=True)
        words = []
        for word in raw:
            word = word.strip()
            if not word or not (_CJK.search(word) or word.isalnum()):
                continue
            words.append(word.lower() if word.isascii() else word)
        return words
    return _EN_TOKEN.findall(text.lower().replace("’", "'"))


def _clauses(text: str, language: str) -> list[str]:
    pattern = _CLAUSE_ZH if language == "zh" else _CLAUSE_EN
    return [part for part in pattern.split(text) if part.strip()]


_NEGATION_PREFIXES = ("不是", "没有", "不太", "不够", "不", "没", "无", "未")


def _split_negations(words: list[str], positive: dict[str, float], negative: dict[str, float]) -> list[str]:
    """jieba keeps "不好", "不差" as one word: split the negation off when the rest is a sentiment word."""
    out = []
    for word in words:
        if word not in positive and word not in negative:
            for prefix in _NEGATION_PREFIXES:
                rest = word[len(prefix):]
                if word.startswith(prefix) and rest and (rest in positive or rest in negative):
                    out.extend((prefix, rest))
                    break
            else:
                out.append(word)
        else:
            out.append(word)
    return out


def _clause_score(words: list[str], language: str) -> tuple[float, list[str]]:
    """Sum of lexicon hits in one clause: a degree adverb scales the next hit, a negation flips it."""
    positive = lx.POSITIVE_ZH if language == "zh" else lx.POSITIVE_EN
    negative = lx.NEGATIVE_ZH if language == "zh" else lx.NEGATIVE_EN
    negations = lx.NEGATIONS_ZH if language == "zh" else lx.NEGATIONS_EN
    degrees = lx.DEGREE_ZH if language == "zh" else lx.DEGREE_EN
    if language == "zh":
        words = _split_negations(words, positive, negative)
    total, hits = 0.0, []
    negated, degree, window = False, 1.0, 0
    i = 0
    while i < len(words):
        word = words[i]
        phrase = None
        if language == "en":
            for size in (4, 3, 2):
                candidate = tuple(words[i:i + size])
                if len(candidate) == size and candidate in lx.PHRASES_EN:
                    phrase = candidate
                    break
        if phrase is not None:
            value = lx.PHRASES_EN[phrase] * degree
            total += -value if negated else value
            hits.append(" ".join(phrase))
            negated, degree, window = False, 1.0, 0
            i += len(phrase)
            continue
        if word in negations and word not in positive and word not in negative:
            negated, window = not negated, 3
            i += 1
            continue
        if word in degrees and word not in positive and word not in negative:
            degree *= degrees[word]
            window = max(window, 2)
            i += 1
            continue
        value = positive.get(word, 0.0) - negative.get(word, 0.0)
        if value:
            value *= degree
            if negated:
                # "not good" is bad, but "not bad" is only mildly good.
                value = -value if value > 0 else -value * 0.5
            total += value
            hits.append(word)
            negated, degree, window = False, 1.0, 0
        elif window:
            window -= 1
            if window == 0:
                negated, degree = False, 1.0
        i += 1
    if negated and not hits and language == "zh":
        total -= 0.5  # "没有…" with nothing scored: a lack, mildly negative ("没人", "没收到")
    return total, hits


def sentiment(text: str, language: str) -> tuple[str, float, list[str]]:
    """(label, score in −1…+1, the words that carried it). A clause after "but / 但是" weighs more."""
    contrast = lx.CONTRAST_ZH if language == "zh" else lx.CONTRAST_EN
    total, hits = 0.0, []
    clauses = _clauses(text, language)
    for position, clause in enumerate(clauses):
        words = segment(clause, language)
        score, clause_hits = _clause_score(words, language)
        if words and words[0] in contrast:
            score *= 1.5
            if position > 0:
                total *= 0.6  # what came before the "but" matters less
        elif any(word in contrast for word in words[1:]):
            # "东西很好，就是包装太简陋" in one clause: the part after the contrast word counts more
            cut = next(index for index, word in enumerate(words) if index and word in contrast)
            before, _ = _clause_score(words[:cut], language)
            after, _ = _clause_score(words[cut:], language)
            score = before * 0.6 + after * 1.5
        total += score
        hits.extend(clause_hits)
    if text.count("!") + text.count("！") and total:
        total *= 1.2
    score = total / (abs(total) + 2.0)  # squashed into −1…+1; ±2 raw is ±0.5
    label = POSITIVE if score >= SENTIMENT_THRESHOLD else NEGATIVE if score <= -SENTIMENT_THRESHOLD else NEUTRAL
    return label, round(score, 4), hits


def keywords(tokens: list[str], language: str, *, limit: int = 8, window: int = 3) -> list[str]:
    """TextRank (Mihalcea & Tarau 2004) over content words co-occurring within `window`."""
    stops = stop_words(language)
    content = [t for t in tokens if t not in stops and not t.isdigit() and (len(t) > 1 or language == "zh")]
    content = [t for t in content if not (language == "zh" and len(t) == 1 and t not in lx.NEGATIVE_ZH)]
    if not content:
        return []
    neighbours: dict[str, set[str]] = defaultdict(set)
    for index, word in enumerate(content):
        for other in content[index + 1:index + window]:
            if other != word:
                neighbours[word].add(other)
                neighbours[other].add(word)
    ranks = dict.fromkeys(set(content), 1.0)
    for _ in range(20):
        ranks = {word: 0.15 + 0.85 * sum(ranks[n] / len(neighbours[n]) for n in neighbours[word])
                 for word in ranks}
    order = {word: index for index, word in reversed(list(enumerate(content)))}
    return sorted(ranks, key=lambda word: (-ranks[word], order[word]))[:limit]


@cache
def _keyword_topics() -> dict[str, str]:
    mapping = {}
    for topic in reversed(lx.TOPIC_PRIORITY):
        for word in lx.TOPICS[topic]:
            mapping[word.lower()] = topic
    return mapping


def topics_of(tokens: list[str], text: str = "") -> list[str]:
    """Topics named by the tokens (and by multi-character keywords inside the text), most mentioned first."""
    mapping = _keyword_topics()
    counts: Counter[str] = Counter()
    for token in tokens:
        topic = mapping.get(token)
        if topic:
            counts[topic] += lx.TOPIC_WEIGHT.get(topic, 1.0)
    lowered = text.lower()
    if _CJK.search(text):  # jieba may have cut a domain word differently; look for it in the raw text too
        for word, topic in mapping.items():
            if len(word) > 1 and _CJK.search(word) and word in lowered and word not in tokens:
                counts[topic] += 0.5
    if not counts and any(noun in lowered.split() or (_CJK.search(noun) and noun in text)
                          for noun in lx.PRODUCT_NOUNS):
        counts["product_quality"] += 0.3
    priority = {topic: index for index, topic in enumerate(lx.TOPIC_PRIORITY)}
    return sorted(counts, key=lambda topic: (-counts[topic], priority[topic]))


def category_of(topics: list[str]) -> str:
    """The root-cause branch of the first topic, or "" when no topic was found."""
    return lx.TOPIC_BRANCH[topics[0]] if topics else ""


def analyse(text: str) -> Analysis:
    text = (text or "")[:MAX_CHARS]
    language = detect_language(text)
    if language == "und":
        return Analysis(language, [], [], [], NEUTRAL, 0.0, "")
    tokens = segment(text, language)
    label, score, hits = sentiment(text, language)
    found = topics_of(tokens, text)
    return Analysis(
        language=language, tokens=tokens, keywords=keywords(tokens, language), topics=found, sentiment=label,
        score=score, category=category_of(found), highlights=hits,
    )


def content_words(tokens: list[str], language: str) -> list[str]:
    """Tokens without stop words and one-letter noise: what word-frequency views count."""
    stops = stop_words(language)
    return [t for t in tokens if t not in stops and not t.isdigit() and (len(t) > 1)]
