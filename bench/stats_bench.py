"""Bench: the Check's statistics (analytics.stats.compare) on large windows, pure Python/NumPy.

Run: .venv/bin/python bench/stats_bench.py
Prints the time of compare() for skewed durations (Mann–Whitney U + Hodges–Lehmann on a 2M-pair
subsample), symmetric values (Welch t) and rates (two-proportion z), at 10k, 100k and 1M cases per window.
"""

from __future__ import annotations

import time

import numpy as np

from loopcrm.analytics.registry import Better, MetricKind, Samples
from loopcrm.analytics.stats import compare


def timed(before: Samples, after: Samples, better: Better) -> tuple[float, str, float]:
    started = time.perf_counter()
    check = compare(before, after, better)
    return (time.perf_counter() - started) * 1000, check.test, check.p_value


def main() -> None:
    rng = np.random.default_rng(2026)
    print(f"{'cases/window':>12} {'kind':<10} {'test':<17} {'ms':>9} {'p':>10}")
    for n in (10_000, 100_000, 1_000_000):
        skewed = (Samples(MetricKind.DURATION, values=rng.lognormal(4.0, 0.8, n).tolist()),
                  Samples(MetricKind.DURATION, values=rng.lognormal(3.95, 0.8, n).tolist()))
        normal = (Samples(MetricKind.SCORE, values=rng.normal(80, 10, n).tolist()),
                  Samples(MetricKind.SCORE, values=rng.normal(80.2, 10, n).tolist()))
        rates = (Samples(MetricKind.RATE, successes=int(n * 0.12), trials=n),
                 Samples(MetricKind.RATE, successes=int(n * 0.11), trials=n))
        for kind, (before, after), better in (("duration", skewed, Better.LOWER), ("score", normal, Better.HIGHER),
                                              ("rate", rates, Better.LOWER)):
            ms, test, p = timed(before, after, better)
            print(f"{n:>12,} {kind:<10} {test:<17} {ms:>9.1f} {p:>10.3g}")


if __name__ == "__main__":
    main()
