"""Measure the text analysis against a labelled CSV (text, sentiment, category): accuracy and macro-F1.

    python -m loopcrm.feedback.text.evaluate tests/feedback/data/eval_zh.csv
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from loopcrm.feedback.text import analyse


@dataclass(frozen=True)
class Score:
    n: int
    accuracy: float
    macro_f1: float


def score(truth: list[str], predicted: list[str]) -> Score:
    labels = sorted(set(truth) | set(predicted))
    f1s = []
    for label in sorted(set(truth)):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    del labels
    n = len(truth)
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    return Score(n=n, accuracy=correct / n if n else 0.0, macro_f1=sum(f1s) / len(f1s) if f1s else 0.0)


def evaluate(path: Path, *, split: str = "all") -> dict[str, Score]:
    """Scores for sentiment and category; `split` "dev" (even rows, used to tune), "test" (odd rows) or "all"."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if split == "dev":
        rows = rows[0::2]
    elif split == "test":
        rows = rows[1::2]
    results = [analyse(row["text"]) for row in rows]
    return {
        "sentiment": score([row["sentiment"] for row in rows], [r.sentiment for r in results]),
        "category": score([row["category"] for row in rows], [r.category or "none" for r in results]),
    }


def errors(path: Path, kind: str = "sentiment") -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        result = analyse(row["text"])
        got = result.sentiment if kind == "sentiment" else (result.category or "none")
        if got != row[kind]:
            out.append((row["text"], row[kind], got))
    return out


if __name__ == "__main__":
    for name in sys.argv[1:]:
        for split in ("dev", "test", "all"):
            result = evaluate(Path(name), split=split)
            print(name, split, {k: (v.n, round(v.accuracy, 3), round(v.macro_f1, 3)) for k, v in result.items()})
