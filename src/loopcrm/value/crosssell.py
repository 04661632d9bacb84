"""Item-to-item cross-sell rules from co-purchases, next-best products, and their offline evaluation (pure).

A basket is the set of distinct products of one order (or of one customer, `by="customer"`). For two
products i → j over N baskets:

    support(i→j)    = n(i ∧ j) / N
    confidence(i→j) = n(i ∧ j) / n(i)
    lift(i→j)       = confidence(i→j) / (n(j) / N)

A customer's next-best products are those with the highest confidence from anything they bought
(the best rule counts; lift, then popularity, then the product id break ties), never one they
already have; popular products fill the list when rules run out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Rules:
    antecedent: np.ndarray
    consequent: np.ndarray
    pair_count: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    popularity: dict[int, int]  # product id -> baskets containing it
    baskets: int


def association_rules(basket_ids, product_ids, *, min_pair_count: int = 2, min_lift: float = 1.0,
                      top_per_product: int = 20) -> Rules:
    """Rules i → j from (basket, product) pairs, keeping the `top_per_product` best by confidence per i."""
    basket_ids = np.asarray(basket_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    empty = np.zeros(0)
    if basket_ids.size == 0:
        return Rules(empty.astype(np.int64), empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty,
                     {}, 0)
    baskets, b_index = np.unique(basket_ids, return_inverse=True)
    products, p_index = np.unique(product_ids, return_inverse=True)
    matrix = sparse.csr_matrix((np.ones(b_index.size, dtype=np.int64), (b_index, p_index)),
                               shape=(baskets.size, products.size))
    matrix.data[:] = 1  # duplicates summed by the constructor: presence only
    matrix.sum_duplicates()
    matrix.data[:] = 1
    n = baskets.size
    item_count = np.asarray(matrix.sum(axis=0)).ravel()
    co = (matrix.T @ matrix).tocoo()
    keep = (co.row != co.col) & (co.data >= min_pair_count)
    i, j, pair = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    confidence = pair / item_count[i]
    lift = confidence / (item_count[j] / n)
    good = lift > min_lift
    i, j, pair, confidence, lift = i[good], j[good], pair[good], confidence[good], lift[good]
    # Best first per antecedent: confidence, lift, consequent popularity, consequent id.
    order = np.lexsort((products[j], -item_count[j], -lift, -confidence, i))
    i, j, pair, confidence, lift = i[order], j[order], pair[order], confidence[order], lift[order]
    if i.size:
        starts = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
        rank_in_group = np.arange(i.size) - np.repeat(starts, np.diff(np.r_[starts, i.size]))
        top = rank_in_group < top_per_product
        i, j, pair, confidence, lift = i[top], j[top], pair[top], confidence[top], lift[top]
    popularity = {int(p): int(c) for p, c in zip(products, item_count, strict=True)}
    return Rules(antecedent=products[i], consequent=products[j], pair_count=pair, support=pair / n,
                 confidence=confidence, lift=lift, popularity=popularity, baskets=n)


def recommend(owned: set[int], rules: Rules, *, k: int = 5, fill_popular: bool = True,
              exclude: set[int] | None = None) -> list[int]:
    """The `k` next-best products for a customer who owns `owned`."""
    skip = set(owned) | (exclude or set())
    best: dict[int, tuple[float, float]] = {}
    if owned and rules.antecedent.size:
        mask = np.isin(rules.antecedent, np.fromiter(owned, dtype=np.int64))
        for consequent, confidence, lift in zip(rules.consequent[mask], rules.confidence[mask], rules.lift[mask],
                                                strict=True):
            c = int(consequent)
            if c in skip:
                continue
            key = (float(confidence), float(lift))
            if c not in best or key > best[c]:
                best[c] = key
    ranked = sorted(best, key=lambda c: (-best[c][0], -best[c][1], -rules.popularity.get(c, 0), c))[:k]
    if fill_popular and len(ranked) < k:
        taken = set(ranked) | skip
        for product, _count in sorted(rules.popularity.items(), key=lambda item: (-item[1], item[0])):
            if len(ranked) >= k:
                break
            if product not in taken:
                ranked.append(product)
    return ranked


@dataclass(frozen=True)
class Evaluation:
    customers: int
    hits: int
    hit_rate: float
    popular_hit_rate: float


def hit_rate_at_k(train_customers, train_baskets, train_products, test_customers, test_products, *, k: int = 5,
                  by: str = "order", min_pair_count: int = 2) -> Evaluation:
    """Hit rate @k on a time split: rules and histories from the training orders; a customer scores a hit
    when one of their k recommendations is among the products they bought in the test period (new to them).

    Customers with no training purchase, or whose test purchases are all repeats, are not counted.
    The same measure for "the k most popular products not yet owned" is returned as the baseline.
    """
    train_customers = np.asarray(train_customers, dtype=np.int64)
    train_products = np.asarray(train_products, dtype=np.int64)
    baskets = train_customers if by == "customer" else np.asarray(train_baskets, dtype=np.int64)
    rules = association_rules(baskets, train_products, min_pair_count=min_pair_count)
    empty = Rules(rules.antecedent[:0], rules.consequent[:0], rules.pair_count[:0], rules.support[:0],
                  rules.confidence[:0], rules.lift[:0], rules.popularity, rules.baskets)
    owned: dict[int, set[int]] = {}
    for customer, product in zip(train_customers.tolist(), train_products.tolist(), strict=True):
        owned.setdefault(customer, set()).add(product)
    bought: dict[int, set[int]] = {}
    for customer, product in zip(np.asarray(test_customers).tolist(), np.asarray(test_products).tolist(),
                                 strict=True):
        if customer in owned and product not in owned[customer]:
            bought.setdefault(customer, set()).add(product)
    hits = popular_hits = 0
    for customer, new in bought.items():
        hits += bool(set(recommend(owned[customer], rules, k=k)) & new)
        popular_hits += bool(set(recommend(owned[customer], empty, k=k)) & new)
    n = len(bought)
    return Evaluation(customers=n, hits=hits, hit_rate=hits / n if n else 0.0,
                      popular_hit_rate=popular_hits / n if n else 0.0)
