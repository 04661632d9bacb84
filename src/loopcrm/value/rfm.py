"""RFM scoring and the named RFM segments (pure NumPy; no Django).

Scores are quintiles 1–5 over the customers scored together: 5 is the most recent, the most
frequent, the biggest spender. Ties are handled deterministically: every customer of a tie takes the
score of the *first* position of the tie (ranks by the "min" method), so equal inputs always get equal
scores, whatever their order or id:

    score = 1 + floor(5 · (rank_min − 1) / n)

where rank_min is the 1-based position of the value among the n customers in ascending order of
"goodness" (recency ascending in days counts as *worse*, so recency is ranked on −days).

Segments follow the 11 names of Putler's RFM segment table (also the defaults of the `rfm` R
package, Hebbali, `rfm_segment`). Their published R/F/M ranges overlap, so LoopCRM lays them out as
one grid of the R score against the FM score = ⌈(F + M) / 2⌉ (round half up), in which each of the
25 cells has exactly one segment (`SEGMENT_GRID`). docs/value.md shows the grid and its sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHAMPIONS = "champions"
LOYAL = "loyal"
POTENTIAL_LOYALIST = "potential_loyalist"
NEW = "new"
PROMISING = "promising"
NEED_ATTENTION = "need_attention"
ABOUT_TO_SLEEP = "about_to_sleep"
AT_RISK = "at_risk"
CANT_LOSE = "cant_lose"
HIBERNATING = "hibernating"
LOST = "lost"

SEGMENTS = (CHAMPIONS, LOYAL, POTENTIAL_LOYALIST, NEW, PROMISING, NEED_ATTENTION, ABOUT_TO_SLEEP, AT_RISK,
            CANT_LOSE, HIBERNATING, LOST)

# SEGMENT_GRID[r][fm]: rows R = 5 (most recent) … 1, columns FM = 1 … 5.
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: (NEW, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS),
    4: (PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS),
    3: (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL),
    2: (HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE),
    1: (LOST, LOST, AT_RISK, AT_RISK, CANT_LOSE),
}


@dataclass(frozen=True)
class RfmScores:
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray  # of str


def quintile_scores(values, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1–5 by quintile of rank; ties share the score of their first position."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    if np.isnan(values).any():
        raise ValueError("RFM inputs must not contain NaN.")
    keyed = values if higher_is_better else -values
    from scipy.stats import rankdata  # here, not at import: scipy.stats costs every process 0.45 s to load

    rank = rankdata(keyed, method="min")
    return (1 + np.floor(5 * (rank - 1) / n)).astype(np.int8)


def fm_score(f, m) -> np.ndarray:
    """⌈(F + M) / 2⌉: the combined frequency–monetary score that picks the grid column."""
    return ((np.asarray(f, dtype=int) + np.asarray(m, dtype=int) + 1) // 2).astype(np.int8)


def segment_of(r: int, f: int, m: int, grid: dict[int, tuple[str, ...]] = SEGMENT_GRID) -> str:
    return grid[int(r)][int(fm_score(f, m)) - 1]


def segments(r, f, m, grid: dict[int, tuple[str, ...]] = SEGMENT_GRID) -> np.ndarray:
    table = np.array([grid[score] for score in (1, 2, 3, 4, 5)], dtype=object)  # row i = R score i+1
    r = np.asarray(r, dtype=int)
    fm = fm_score(f, m)
    if r.size == 0:
        return np.zeros(0, dtype=object)
    return table[r - 1, fm - 1]


def score(recency_days, frequency, monetary, grid: dict[int, tuple[str, ...]] = SEGMENT_GRID) -> RfmScores:
    """RFM scores and segments of the customers given (only buyers: frequency ≥ 1)."""
    recency_days = np.asarray(recency_days, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    if not (recency_days.shape == frequency.shape == monetary.shape):
        raise ValueError("recency, frequency and monetary must have the same length.")
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    return RfmScores(r=r, f=f, m=m, segment=segments(r, f, m, grid))
