"""The FIFO arithmetic of loyalty.rules against a plain simulation of lots, on random histories (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loopcrm.loyalty.rules import expiring, lot_remains

# A history: ("earn", n) adds a lot; ("spend", n) takes up to n from the oldest lots; ("expire", k) expires
# what remains of the first k lots (a prefix: lots earned before a cutoff).
steps = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500)),
    st.tuples(st.just("spend"), st.integers(1, 800)),
    st.tuples(st.just("expire"), st.integers(0, 30)),
), max_size=60)


@given(steps)
def test_fifo_formulas_match_a_simulation_of_lots(history):
    lots: list[int] = []        # what is left of each lot, oldest first (the simulation)
    sizes: list[int] = []       # each lot's original size (what the ledger knows)
    consumed = 0                # everything taken so far (what the ledger knows)
    for kind, n in history:
        if kind == "earn":
            lots.append(n)
            sizes.append(n)
        elif kind == "spend":
            take = min(n, sum(lots))  # never below zero
            consumed += take
            for i, left in enumerate(lots):
                used = min(left, take)
                lots[i] -= used
                take -= used
        else:
            k = min(n, len(lots))
            lapse = expiring(sum(sizes[:k]), consumed)
            assert lapse == sum(lots[:k])  # the formula finds exactly what the lots hold
            consumed += lapse
            for i in range(k):
                lots[i] = 0
        assert lot_remains(sizes, consumed) == lots
        assert sum(lots) == sum(sizes) - consumed >= 0
