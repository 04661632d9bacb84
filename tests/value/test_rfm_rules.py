"""RFM scores on a hand-computed table; tier, VIP and lifecycle rules; cross-sell rules (pure, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from loopcrm.value import crosssell, rfm, rules


def test_rfm_scores_on_a_hand_computed_table():
    # Ten customers. Recency in days, orders, spend.
    recency = [5, 10, 10, 40, 60, 90, 120, 200, 300, 360]
    frequency = [9, 6, 1, 4, 4, 2, 1, 7, 1, 1]
    monetary = [900, 500, 50, 300, 320, 100, 20, 700, 30, 10]
    scores = rfm.score(recency, frequency, monetary)
    # Recency: most recent best. Ranks (ascending goodness, ties min): 360→1, 300→2, 200→3, 120→4, 90→5, 60→6,
    # 40→7, the two 10s→8, 5→10. score = 1 + floor(5·(rank−1)/10).
    assert scores.r.tolist() == [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]
    # Frequency: the four 1s share rank 1 → score 1; 2→rank 5 → 3; the two 4s rank 6 → 3; 6→8 → 4; 7→9 → 5; 9→10 → 5.
    assert scores.f.tolist() == [5, 4, 1, 3, 3, 3, 1, 5, 1, 1]
    # Monetary: 10→1, 20→2, 30→3, 50→4, 100→5, 300→6, 320→7, 500→8, 700→9, 900→10.
    assert scores.m.tolist() == [5, 4, 2, 3, 4, 3, 1, 5, 2, 1]
    # FM = ⌈(F+M)/2⌉ → 5, 4, 2, 3, 4, 3, 1, 5, 2, 1; segment from the R × FM grid.
    assert scores.segment.tolist() == [
        "champions", "champions", "potential_loyalist", "potential_loyalist", "loyal", "need_attention",
        "hibernating", "cant_lose", "lost", "lost"]


def test_ties_get_the_same_score_whatever_their_order():
    values = [3, 1, 3, 3, 2]
    forward = rfm.quintile_scores(values)
    backward = rfm.quintile_scores(values[::-1])[::-1]
    assert forward.tolist() == backward.tolist() == [3, 1, 3, 3, 2]


def test_every_grid_cell_has_exactly_one_named_segment():
    seen = {rfm.segment_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert seen == set(rfm.SEGMENTS)


def test_rfm_refuses_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        rfm.quintile_scores([1.0, float("nan")])
    with pytest.raises(ValueError, match="same length"):
        rfm.score([1, 2], [1], [1, 2])
    assert rfm.score([], [], []).segment.size == 0


def test_tiers_by_share_keep_ties_together():
    basis = [100, 90, 90, 50, 40, 30, 20, 10, 5, 0]
    tiers = rules.tiers(basis, rules.TierRule(method="share", high=0.2, medium=0.3))
    # Top 20 % of 10 = 2 positions: 100 (1) and both 90s (rank 2) — the tie goes up together.
    assert tiers.tolist() == ["high", "high", "high", "medium", "medium", "low", "low", "low", "low", "low"]


def test_tiers_by_threshold():
    tiers = rules.tiers([5000, 999.99, 1000, 0], rules.TierRule(method="threshold", high=5000, medium=1000))
    assert tiers.tolist() == ["high", "low", "medium", "low"]


def test_vip_suggestion_is_the_top_share_with_some_value():
    vip = rules.vip_suggestions([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.2)
    assert not vip.any()
    assert rules.vip_suggestions([10, 50, 30, 0, 1], 0.4).tolist() == [False, True, True, False, False]


@pytest.mark.parametrize("bad", [
    {"basis": "mood"}, {"method": "guess"}, {"high": 0.8, "medium": 0.5}, {"high": -0.1},
    {"method": "threshold", "high": 10, "medium": 20}, {"vip_share": 2},
])
def test_tier_rules_refuse_nonsense(bad):
    with pytest.raises(ValueError):
        rules.TierRule(**bad)


def test_lifecycle_stages():
    rule = rules.LifecycleRule(new_days=90, at_risk_days=180, churned_days=365, won_back_days=180,
                               at_risk_p_alive=0.5, churned_p_alive=0.2)
    nan = float("nan")
    stages = rules.lifecycle_stages(
        has_orders=[False, True, True, True, True, True, True],
        first_age_days=[nan, 30, 400, 400, 400, 900, 400],
        recency_days=[nan, 30, 20, 200, 400, 60, 20],
        previous_gap_days=[nan, nan, 50, 10, 10, 500, 10],
        p_alive=[nan, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1],
        rule=rule,
    )
    assert stages.tolist() == ["prospect", "new", "active", "at_risk", "churned", "won_back", "churned"]


def test_lifecycle_p_alive_alone_flags_risk():
    stages = rules.lifecycle_stages(has_orders=[True], first_age_days=[400], recency_days=[30],
                                    previous_gap_days=[20], p_alive=[0.3], rule=rules.LifecycleRule())
    assert stages.tolist() == ["at_risk"]


def test_lifecycle_rules_refuse_nonsense():
    with pytest.raises(ValueError):
        rules.LifecycleRule(at_risk_days=400, churned_days=300)
    with pytest.raises(ValueError):
        rules.LifecycleRule(at_risk_p_alive=0.1, churned_p_alive=0.3)


def test_association_rules_support_confidence_lift():
    # Orders: {1,2}, {1,2}, {1,3}, {2}, {3,4}
    baskets = [1, 1, 2, 2, 3, 3, 4, 5, 5]
    products = [1, 2, 1, 2, 1, 3, 2, 3, 4]
    found = crosssell.association_rules(baskets, products, min_pair_count=2, min_lift=0)
    pairs = {(int(a), int(b)): (s, c, lf) for a, b, s, c, lf in
             zip(found.antecedent, found.consequent, found.support, found.confidence, found.lift, strict=True)}
    # n(1)=3, n(2)=3, n(1∧2)=2, N=5: support 0.4, confidence(1→2)=2/3, lift=(2/3)/(3/5)=10/9.
    assert set(pairs) == {(1, 2), (2, 1)}
    support, confidence, lift = pairs[(1, 2)]
    assert support == pytest.approx(0.4)
    assert confidence == pytest.approx(2 / 3)
    assert lift == pytest.approx(10 / 9)


def test_recommendations_skip_what_the_customer_owns_and_fill_with_popular():
    baskets = [1, 1, 2, 2, 3, 3, 4, 4, 5]
    products = [1, 2, 1, 2, 1, 3, 1, 3, 4]
    found = crosssell.association_rules(baskets, products, min_pair_count=2, min_lift=0)
    assert crosssell.recommend({1}, found, k=3) == [2, 3, 4]
    assert crosssell.recommend({1, 2}, found, k=1) == [3]
    assert crosssell.recommend(set(), found, k=2) == [1, 2]


def test_hit_rate_on_a_time_split():
    # Everyone who bought 1 later buys 2: the rule finds it, popularity (3 is most popular) does not.
    train_c = [1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8]
    train_b = [1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8]
    train_p = [1, 2, 1, 2, 1, 2, 1, 3, 4, 3, 5, 3, 3]
    evaluation = crosssell.hit_rate_at_k(train_c, train_b, train_p, [4], [2], k=1)
    assert evaluation.customers == 1 and evaluation.hits == 1 and evaluation.hit_rate == 1.0
    assert np.isclose(evaluation.popular_hit_rate, 0.0)
