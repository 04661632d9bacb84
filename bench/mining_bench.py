"""Process mining at scale: ~10,000,000 events, from synthetic arrays and from the service-desk database.

    .venv/bin/python bench/mining_bench.py synthetic [--events 10000000] [--seed 1]
    .venv/bin/python bench/mining_bench.py database \
        --database-url postgres://postgres@127.0.0.1:5432/loopcrm_service_bench [--view all] [--process repair]

Goal (issue 7): mining 10M events in ≤ 20 s with peak memory ≤ 1.5 GB. Each phase is timed on its
own (load, then each computation of analytics.mining), and the peak resident memory of this process is
reported (resource.getrusage: ru_maxrss, which includes the interpreter, NumPy and Django, ~60–90 MB).
Run each mode in its own process so the peaks do not mix. `database` reads the event log through the
real loader (analytics.queries.eventlog.load: binary COPY into NumPy), with the whole history as the
period unless --start/--end say otherwise. Prints a table and, with --json, writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

from loopcrm.analytics import mining  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(events: int, seed: int) -> tuple[mining.EventLog, dict, list[mining.ExpectedStep], np.ndarray,
                                                np.ndarray, np.ndarray]:
    """A service-desk-like log: 1 case per ~10 events; a standard path of 8 steps with detours (rework, a
    skipped step, swapped steps), lasting steps with end times, agents handing over."""
    rng = np.random.default_rng(seed)
    names = ["opened", "routed", "assigned", "status:open", "step:triage", "step:diagnose", "step:repair",
             "step:call-back", "status:pending", "status:resolved", "status:closed", "status:reopened"]
    standard = np.array([0, 1, 2, 4, 3, 5, 6, 7, 9, 10], dtype=np.int32)
    cases = events // len(standard)
    # Per case: the standard path, with 20 % a detour (one activity replaced by a rework/pending/reopen).
    act = np.tile(standard, cases)
    detour = rng.random(cases) < 0.2
    where = rng.integers(3, len(standard), cases)
    replace = rng.choice(np.array([5, 8, 11, 4], dtype=np.int32), cases)
    rows = np.flatnonzero(detour) * len(standard) + where[detour]
    act[rows] = replace[detour]
    case = np.repeat(np.arange(1, cases + 1, dtype=np.int64), len(standard))
    gaps = rng.exponential(3600.0, act.size)
    gaps[np.arange(act.size) % len(standard) == 0] = 0
    opened = np.repeat(np.sort(rng.uniform(0, 2 * 365 * 86400, cases)), len(standard))
    time_ = opened + np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[::len(standard)], len(standard))
    end = np.full(act.size, np.nan)
    is_step = (act >= 4) & (act <= 7)
    end[is_step] = time_[is_step] + rng.exponential(1800.0, int(is_step.sum()))
    resource_ = np.where(act == 2, rng.integers(1, 200, act.size), 0)
    log = mining.EventLog(case=case, activity=act, time=time_, activities=names, end=end)
    targets = {"step:triage": 900.0, "step:diagnose": 3600.0, "step:repair": 14400.0, "step:call-back": 1800.0}
    expected = [mining.ExpectedStep(n) for n in ("step:triage", "step:diagnose", "step:repair")] + \
        [mining.ExpectedStep("step:call-back", mandatory=False)]
    handover = resource_ > 0
    return log, targets, expected, case[handover], resource_[handover], np.arange(1, cases + 1)


def mine_all(log, targets, expected, handover_case, handover_resource, finished) -> dict[str, float]:
    timings: dict[str, float] = {}

    def timed(name, fn):
        started = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - started, 2)
        return result

    graph = timed("dfg", lambda: mining.dfg(log))
    timed("bottlenecks", lambda: mining.bottlenecks(log, targets=targets, graph=graph))
    timed("rework", lambda: mining.rework(log, reopen=["status:reopened"]))
    timed("ping_pong", lambda: mining.ping_pong(handover_case, handover_resource))
    result = timed("variants", lambda: mining.variants(log, top=10))
    if expected:
        timed("conformance", lambda: mining.conformance(log, expected, finished=finished))
    timings["mining_total"] = round(sum(v for k, v in timings.items()), 2)
    timings["distinct_variants"] = result.distinct
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["synthetic", "database"])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("SERVICE_BENCH_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/loopcrm_service_bench"))
    parser.add_argument("--view", default="all", choices=["lifecycle", "steps", "all"])
    parser.add_argument("--process", default="")
    parser.add_argument("--start", default="")
    parser.add_argument("--end", default="")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    report: dict = {"mode": args.mode, "load_average_before": os.getloadavg()}
    started = time.perf_counter()
    if args.mode == "synthetic":
        log, targets, expected, hc, hr, finished = synthetic(args.events, args.seed)
        report["build_seconds"] = round(time.perf_counter() - started, 2)
    else:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ.setdefault("SECRET_KEY", "bench-not-secret")
        os.environ["DJANGO_SETTINGS_MODULE"] = "service_settings"
        import django

        django.setup()
        import datetime as dt

        from django.utils import timezone

        from loopcrm.analytics.queries import eventlog

        today = timezone.localdate()
        params = {"start": args.start or str(today - dt.timedelta(days=3 * 366 - 1)), "end": args.end or str(today),
                  "view": args.view, "process": args.process}
        filters = eventlog.parse_filters(params)
        loaded = eventlog.load(filters)
        report["load_seconds"] = round(time.perf_counter() - started, 2)
        report["peak_mb_after_load"] = round(peak_mb())
        log, targets, expected = loaded.log, loaded.vocabulary.targets, loaded.vocabulary.expected
        hc, hr = loaded.agents
        finished = loaded.finished
        report["filters"] = filters.as_params()
    report["events"], report["cases"] = log.n_events, log.n_cases
    report.update(mine_all(log, targets, expected, hc, hr, finished))
    report["peak_mb"] = round(peak_mb())
    report["load_average_after"] = os.getloadavg()
    for key, value in report.items():
        print(f"{key:>22}: {value}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
