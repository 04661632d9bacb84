"""Throughput of the pure business-time arithmetic (loopcrm.service.businesstime), no database.

    .venv/bin/python bench/service_sla_businesstime.py [--n 100000] [--seed 1]

Calendars: Shanghai 09:00–12:00 + 13:00–18:00 on weekdays with China's 2025–2026 holidays and 调休
make-up days (the demo desk), and New York with the same hours (DST). Starts are random instants in
2025–2026; durations are SLA-like (15 minutes to 3 working days). Reports operations per second,
warm (the per-day interval cache filled, as in a running server) and cold (a new calendar per 1,000
operations).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from loopcrm.service.businesstime import Calendar, add_business_time, business_time_between

HOURS = [("09:00", "12:00"), ("13:00", "18:00")]


def china_calendar(zone: str) -> Calendar:
    # The demo's list, without importing Django (loopcrm.demo.sla imports the models).
    holidays, workdays = set(), {}
    spans = [((2025, 1, 1), 1), ((2025, 1, 28), 8), ((2025, 4, 4), 3), ((2025, 5, 1), 5), ((2025, 5, 31), 3),
             ((2025, 10, 1), 8), ((2026, 1, 1), 3), ((2026, 2, 15), 9), ((2026, 4, 4), 3), ((2026, 5, 1), 5),
             ((2026, 6, 19), 3), ((2026, 9, 25), 3), ((2026, 10, 1), 7)]
    for first, length in spans:
        for n in range(length):
            holidays.add(dt.date(*first) + dt.timedelta(days=n))
    for day in [(2025, 1, 26), (2025, 2, 8), (2025, 4, 27), (2025, 9, 28), (2025, 10, 11), (2026, 1, 4),
                (2026, 2, 14), (2026, 2, 28), (2026, 5, 9), (2026, 9, 20), (2026, 10, 10)]:
        workdays[dt.date(*day)] = HOURS
    return Calendar(zone, {day: HOURS for day in range(5)}, holidays=holidays, workdays=workdays)


def cases(n: int, seed: int) -> list[tuple[dt.datetime, dt.timedelta]]:
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return [(base + dt.timedelta(seconds=rng.randrange(0, 700 * 86400)),
             dt.timedelta(minutes=rng.choice([15, 30, 60, 120, 240, 480, 960, 1620]))) for _ in range(n)]


def rate(label: str, n: int, run) -> float:
    """Operations per second, median of 5 runs, by the wall clock and by CPU time (the fairer number when
    other processes share the cores)."""
    wall, cpu = [], []
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(n / (time.perf_counter() - started))
        cpu.append(n / max(time.process_time() - started_cpu, 1e-9))
    median = statistics.median(wall)
    print(f"{label:<58} {median:>10,.0f} /s wall  {statistics.median(cpu):>10,.0f} /s CPU  "
          f"(wall min {min(wall):,.0f}, max {max(wall):,.0f})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    work = cases(args.n, args.seed)
    ends = {}
    print(f"Python {sys.version.split()[0]}, {args.n:,} operations per run")
    for zone in ("Asia/Shanghai", "America/New_York"):
        calendar = china_calendar(zone)
        for start, duration in work[:2000]:
            add_business_time(start, duration, calendar)  # fill the per-day cache
        ends[zone] = [add_business_time(start, duration, calendar) for start, duration in work]
        rate(f"add_business_time, warm cache, {zone}", args.n,
             lambda calendar=calendar: [add_business_time(s, d, calendar) for s, d in work])
        pairs = list(zip([s for s, _ in work], ends[zone], strict=True))
        rate(f"business_time_between, warm cache, {zone}", args.n,
             lambda calendar=calendar, pairs=pairs: [business_time_between(a, b, calendar) for a, b in pairs])
        pauses = [[(a + (b - a) / 4, a + (b - a) / 2)] for a, b in pairs]
        rate(f"business_time_between with one pause, {zone}", args.n,
             lambda calendar=calendar, pairs=pairs, pauses=pauses: [
                 business_time_between(a, b, calendar, p) for (a, b), p in zip(pairs, pauses, strict=True)])

        def cold(zone=zone) -> None:
            for offset in range(0, args.n, 1000):
                calendar = china_calendar(zone)
                for start, duration in work[offset:offset + 1000]:
                    add_business_time(start, duration, calendar)

        rate(f"add_business_time, new calendar per 1,000, {zone}", args.n, cold)


if __name__ == "__main__":
    main()
