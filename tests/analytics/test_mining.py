"""Process mining on a hand-computed event log: every count and duration below was worked out by hand
from the log written out here (seconds), not by running the code.

Three repair tickets (steps last from start to end; other events are instants):

    case 1: opened 0 · triage 60–660 · diagnose 700–4300 · resolved 5000
    case 2: opened 0 · triage 100–400 · diagnose 500–1500 · triage 1600–1700 · diagnose 1800–2800 · resolved 3000
    case 3: opened 0 · diagnose 200–1200 · resolved 1300 · reopened 2000 · resolved 2500
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loopcrm.analytics import mining

NaN = math.nan
LOG = [  # case, activity, start, end
    (1, "opened", 0, NaN), (1, "triage", 60, 660), (1, "diagnose", 700, 4300), (1, "resolved", 5000, NaN),
    (2, "opened", 0, NaN), (2, "triage", 100, 400), (2, "diagnose", 500, 1500), (2, "triage", 1600, 1700),
    (2, "diagnose", 1800, 2800), (2, "resolved", 3000, NaN),
    (3, "opened", 0, NaN), (3, "diagnose", 200, 1200), (3, "resolved", 1300, NaN), (3, "reopened", 2000, NaN),
    (3, "resolved", 2500, NaN),
]
TARGETS = {"triage": 400, "diagnose": 1800}


def build(rows=LOG, shuffle=False) -> mining.EventLog:
    rows = list(rows)
    if shuffle:  # the log may arrive in any order: it is sorted by case, then time
        rows = rows[::-1]
    case, activity, start, end = zip(*rows, strict=True)
    return mining.EventLog.build(case, activity, start, end=end)


def stats(s: mining.Stats):
    return (s.n, s.total, s.median, s.mean, s.p90)


@pytest.mark.parametrize("shuffle", [False, True])
def test_directly_follows_graph_counts_and_durations(shuffle):
    graph = mining.dfg(build(shuffle=shuffle))
    assert (graph.cases, graph.events) == (3, 15)
    opened, triage, diagnose = graph.node("opened"), graph.node("triage"), graph.node("diagnose")
    # opened lasts until the next event: 60, 100, 200 → median 100, mean 120, p90 100 + 0.8 × 100.
    assert (opened.events, opened.cases, opened.starts, opened.ends) == (3, 3, 3, 0)
    assert stats(opened.duration) == (3, 360, 100, 120, pytest.approx(180))
    # triage: 600, 300, 100 (start → end) in two cases.
    assert (triage.events, triage.cases) == (3, 2)
    assert stats(triage.duration) == (3, 1000, 300, pytest.approx(1000 / 3), pytest.approx(540))
    # diagnose: 3600, 1000, 1000, 1000 → p90 at rank 2.7: 1000 + 0.7 × 2600.
    assert (diagnose.events, diagnose.cases) == (4, 3)
    assert stats(diagnose.duration) == (4, 6600, 1000, 1650, pytest.approx(2820))
    # resolved lasts only in case 3 (1300 → reopened at 2000); the last event of a case has no duration.
    assert (graph.node("resolved").events, graph.node("resolved").ends) == (4, 3)
    assert stats(graph.node("resolved").duration) == (1, 700, 700, 700, 700)

    # Transition time: from the end of the previous step (or the previous instant) to the next start.
    edges = {(e.source, e.target): (e.count, e.cases, e.duration.total, e.duration.median) for e in graph.edges}
    assert edges == {
        ("opened", "triage"): (2, 2, 160, 80),
        ("triage", "diagnose"): (3, 2, 240, 100),  # 700 − 660, 500 − 400, 1800 − 1700
        ("diagnose", "triage"): (1, 1, 100, 100),
        ("diagnose", "resolved"): (3, 3, 1000, 200),  # 700, 200, 100
        ("opened", "diagnose"): (1, 1, 200, 200),
        ("resolved", "reopened"): (1, 1, 700, 700),
        ("reopened", "resolved"): (1, 1, 500, 500),
    }
    assert (graph.edges[0].source, graph.edges[0].target) in {("triage", "diagnose"), ("diagnose", "resolved")}


def test_durations_without_end_times_run_to_the_next_event():
    log = mining.EventLog.build([7, 7, 7], ["a", "b", "c"], np.array(["2026-01-01T00:00", "2026-01-01T00:10",
                                                                      "2026-01-01T01:10"], dtype="datetime64[s]"))
    graph = mining.dfg(log)
    assert graph.node("a").duration.total == 600
    assert graph.edge("b", "c").duration.median == 3600
    assert graph.node("c").duration.n == 0


def test_bottlenecks_rank_where_time_goes_and_compare_with_targets():
    ranking = mining.bottlenecks(build(), targets=TARGETS)
    grand = 360 + 1000 + 6600 + 700 + 500 + (160 + 240 + 100 + 1000 + 200 + 700 + 500)  # nodes + transitions
    top = ranking[0]
    assert (top.kind, top.name, top.duration.total) == ("activity", "diagnose", 6600)
    assert top.per_case == pytest.approx(2200)  # 6600 over 3 tickets
    assert top.share == pytest.approx(6600 / grand)
    # Over the 1800 s target: only case 1's 3600 of the four diagnoses; median 1000 ÷ 1800.
    assert (top.target_seconds, top.over_target, top.over_target_share) == (1800, 1, 0.25)
    assert top.median_vs_target == pytest.approx(1000 / 1800)
    # Then 1000 s each: the diagnose → resolved wait and triage (ties by name).
    assert [(b.name, b.duration.total) for b in ranking[1:3]] == [("diagnose → resolved", 1000), ("triage", 1000)]
    triage = ranking[2]
    assert (triage.over_target, triage.over_target_share, triage.median_vs_target) == (1, pytest.approx(1 / 3), 0.75)
    assert ranking[1].target_seconds is None
    assert [b.name for b in mining.bottlenecks(build(), include_transitions=False, limit=2)] == ["diagnose", "triage"]


def test_rework_loops_and_reopenings():
    report = mining.rework(build(), reopen=["reopened"])
    by_activity = {r.activity: (r.cases, r.repeats, r.self_loops, r.share) for r in report.activities}
    assert by_activity == {
        "triage": (1, 1, 0, 0.5),  # case 2 of the two with triage
        "diagnose": (1, 1, 0, pytest.approx(1 / 3)),
        "resolved": (1, 1, 0, pytest.approx(1 / 3)),  # case 3, resolved twice
    }
    assert report.cases_with_rework == 2  # cases 2 and 3
    assert (report.reopened_cases, report.reopenings) == (1, 1)
    loop = mining.rework(mining.EventLog.build([1, 1, 1], ["a", "a", "b"], [0, 1, 2]))
    assert [(r.activity, r.self_loops) for r in loop.activities] == [("a", 1)]


def test_ping_pong_between_queues():
    # Case 1: queues 10 → 20 → 10 → 20 (two bounces: 10-20-10 and 20-10-20); case 2: 10 → 10 → 30 (none);
    # case 3: 30 → 20 → 30; case 4: 20 → 10, then case 5 starts with 20 (no bounce across cases).
    case = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5]
    queue = [10, 20, 10, 20, 10, 10, 30, 30, 20, 30, 20, 10, 20]
    pairs, cases = mining.ping_pong(np.array(case), np.array(queue))
    assert cases == 2
    assert {(p.a, p.b): (p.count, p.cases) for p in pairs} == {(10, 20): (1, 1), (20, 10): (1, 1), (30, 20): (1, 1)}
    log = mining.EventLog.build([1, 1, 1, 1], ["routed", "routed", "note", "routed"], [0, 1, 2, 3],
                                resource=[10, 20, 0, 10])
    assert mining.rework(log).ping_pong_cases == 1  # events without a resource do not break the bounce


def test_variants_with_frequencies_top_and_other():
    rows = [(c, a, t, NaN) for c, seq in [(1, "abc"), (2, "abc"), (3, "abbc"), (4, "ac"), (5, "abc"), (6, "ac")]
            for t, a in enumerate(seq)]
    result = mining.variants(build(rows), top=2)
    assert (result.total_cases, result.distinct) == (6, 3)
    assert [(v.activities, v.cases, v.share) for v in result.top] == [
        (("a", "b", "c"), 3, 0.5), (("a", "c"), 2, pytest.approx(1 / 3))]
    assert (result.other_cases, result.other_variants) == (1, 1)
    assert result.top[0].duration.median == 2  # throughput: first event to the last moment
    # Same activities in another order is another variant.
    swapped = build([(1, "a", 0, NaN), (1, "b", 1, NaN), (2, "b", 0, NaN), (2, "a", 1, NaN)])
    assert mining.variants(swapped).distinct == 2


def test_conformance_skipped_and_out_of_order_steps():
    expected = [mining.ExpectedStep("triage"), mining.ExpectedStep("diagnose"),
                mining.ExpectedStep("call-back", mandatory=False)]
    result = mining.conformance(build(), expected)
    # Cases 1 and 2 follow triage → diagnose (repeating is rework, not a deviation); case 3 skipped triage:
    # 1 deviation over 2 mandatory + 1 observed step → fitness 2/3.
    steps = {s.activity: (s.observed, s.skipped, s.out_of_order) for s in result.steps}
    assert steps == {"triage": (2, 1, 0), "diagnose": (3, 0, 0), "call-back": (0, 0, 0)}
    assert list(result.case_ids) == [1, 2, 3]
    assert list(result.case_fitness) == [1.0, 1.0, pytest.approx(2 / 3)]
    assert result.fitness == pytest.approx((1 + 1 + 2 / 3) / 3)
    assert (result.conforming, result.conforming_share) == (2, pytest.approx(2 / 3))

    swapped = build([(1, "diagnose", 0, 10), (1, "triage", 20, 30), (1, "call-back", 40, 50)])
    result = mining.conformance(swapped, expected)
    # triage came after diagnose, which is expected later: 1 deviation over 2 + 3 → 0.8.
    assert [(s.activity, s.out_of_order) for s in result.steps] == [("triage", 1), ("diagnose", 0), ("call-back", 0)]
    assert result.fitness == pytest.approx(0.8)


def test_conformance_does_not_count_steps_an_open_ticket_has_not_reached():
    expected = [mining.ExpectedStep("triage"), mining.ExpectedStep("diagnose"), mining.ExpectedStep("repair")]
    log = build([(1, "triage", 0, 10), (2, "triage", 0, 10), (3, "diagnose", 0, 10)])
    result = mining.conformance(log, expected, finished=[2])
    # Case 1 (open) is only at triage: nothing skipped. Case 2 (finished) skipped diagnose and repair.
    # Case 3 (open) reached diagnose without triage: triage skipped, repair not yet due.
    assert [s.skipped for s in result.steps] == [1, 1, 1]
    assert list(result.case_fitness) == [1.0, pytest.approx(1 - 2 / 4), pytest.approx(1 - 1 / 4)]


def test_unfinished_steps_have_no_duration_and_bad_input_is_refused():
    log = mining.EventLog.build([1, 1], ["a", "b"], [0, 50], end=[math.inf, NaN])
    assert mining.dfg(log).node("a").duration.n == 0
    assert mining.dfg(log).edge("a", "b").duration.total == 50
    with pytest.raises(mining.MiningError):
        mining.EventLog(case=np.array([1, 1]), activity=np.array([0], dtype=np.int32), time=np.array([0.0, 1.0]),
                        activities=["a"])
    with pytest.raises(mining.MiningError):
        mining.conformance(build(), [])
    empty = mining.EventLog.build([], [], [], activities=["a"])
    assert (mining.dfg(empty).cases, mining.variants(empty).distinct) == (0, 0)


def test_mine_puts_it_all_together():
    result = mining.mine(build(), targets=TARGETS, reopen=["reopened"], expected=[mining.ExpectedStep("triage")])
    assert result.bottlenecks[0].name == "diagnose"
    assert result.conformance.steps[0].skipped == 1
    assert result.variants.distinct == 3
