"""Control-chart computation for three years of daily points (goal: ≤ 50 ms per chart, all rules).

    .venv/bin/python bench/spc_bench.py [--days 1096] [--repeat 200] [--json bench/results/spc.json]

Pure computation (loopcrm.analytics.spc, no database): for each chart type, a seeded series of
`--days` daily points — a steady baseline of 180 days, then a drift and a shift so the rules have
something to find — is charted with phase I limits from the baseline (with the out-of-control
revision), phase II monitoring of every point, and the run rules: Western Electric 1–4 and Nelson
1–8 (two passes, as a chart can use either). For xmr and xbar_s the capability against a one-sided
spec limit is included. Prints p50/p95/max wall-clock milliseconds per chart type over `--repeat`
runs, and the median CPU time of the process (less sensitive to a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from loopcrm.analytics import spc

GOAL_MS = 50.0
BASELINE_DAYS = 180


def series(chart: spc.ChartType, days: int, seed: int = 7) -> list[spc.Observation]:
    rng = random.Random(seed)
    out: list[spc.Observation] = []
    for day in range(days):
        drift = 0.0 if day < BASELINE_DAYS else (day - BASELINE_DAYS) / days  # slow drift after the baseline
        shift = 1.0 if day > days - 60 else 0.0  # and a shift in the last two months
        if day % 97 == 0 and day:
            out.append(spc.Observation(None, 0.0))  # the odd empty day
            continue
        if chart is spc.ChartType.P:
            n = rng.randint(150, 450)
            p = min(0.95, 0.08 * (1 + drift + 0.5 * shift))
            defectives = sum(1 for _ in range(n) if rng.random() < p)
            out.append(spc.Observation(defectives / n, n))
        elif chart is spc.ChartType.U:
            units = rng.randint(200, 600)
            rate = 0.02 * (1 + drift + 0.5 * shift)
            count = _poisson(rng, rate * units)
            out.append(spc.Observation(count / units, units))
        elif chart is spc.ChartType.C:
            out.append(spc.Observation(_poisson(rng, 40 * (1 + drift + 0.3 * shift))))
        elif chart is spc.ChartType.XMR:
            out.append(spc.Observation(rng.gauss(60 * (1 + 0.2 * drift + 0.2 * shift), 6)))
        else:
            n = rng.randint(5, 120)
            values = [rng.lognormvariate(math.log(60 * (1 + 0.2 * drift + 0.2 * shift)), 0.5) for _ in range(n)]
            out.append(spc.Observation(statistics.fmean(values), n, statistics.stdev(values)))
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    # Normal approximation is plenty for a benchmark's input (lam ≥ 4 here).
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def one_chart(chart: spc.ChartType, obs: list[spc.Observation]) -> int:
    """What a chart page and the nightly evaluation do: phase I, phase II with both rule sets, capability."""
    limits = spc.phase_one(chart, obs, baseline=(0, BASELINE_DAYS), exclude_out_of_control=True)
    we = spc.control_chart(chart, obs, limits=limits, baseline=(0, BASELINE_DAYS),
                           rule_set=spc.RuleSet.WESTERN_ELECTRIC)
    nelson = spc.run_rules([p.z for p in we.points], spc.RuleSet.NELSON)
    if chart in (spc.ChartType.XMR, spc.ChartType.XBAR_S):
        spc.chart_capability(we, obs, usl=90.0)
    return len(we.signals) + len(nelson)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3 * 365 + 1)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    print(f"SPC bench: {args.days} daily points per chart, {args.repeat} runs, Python {platform.python_version()}")
    header = ("chart", "p50 ms", "p95 ms", "max ms", "CPU p50", "signals")
    print(f"{header[0]:8}" + "".join(f" {h:>8}" for h in header[1:]) + f"  goal p95 ≤ {GOAL_MS:.0f} ms")
    for chart in spc.ChartType:
        obs = series(chart, args.days)
        signals = one_chart(chart, obs)  # warm-up
        timings, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            one_chart(chart, obs)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        timings.sort()
        cpu.sort()
        cpu_p50 = cpu[len(cpu) // 2]
        p50 = timings[len(timings) // 2]
        p95 = timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)]
        results[str(chart)] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "max_ms": round(timings[-1], 2),
                               "cpu_p50_ms": round(cpu_p50, 2), "signals": signals, "met": p95 <= GOAL_MS}
        verdict = "met" if p95 <= GOAL_MS else "MISSED"
        print(f"{chart!s:8} {p50:8.2f} {p95:8.2f} {timings[-1]:8.2f} {cpu_p50:8.2f} {signals:8d}  {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"days": args.days, "repeat": args.repeat, "charts": results}, indent=2))


if __name__ == "__main__":
    main()
