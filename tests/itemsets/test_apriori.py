"""A-Priori against mlxtend's fpgrowth on real baskets, and its invariants on small inputs."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from itemset_oracles import as_dict

from mining.errors import InputError
from mining.itemsets._candidates import candidates
from mining.itemsets._pairs import pair_items
from mining.itemsets._support import count_threshold
from mining.itemsets.apriori import frequent_itemsets, run_apriori
from mining.schemas import ITEMSETS


@pytest.fixture(scope="module")
def groceries(basket_set):
    return basket_set("groceries")


@pytest.mark.parametrize("min_support", [0.01, 0.005])
def test_groceries_matches_mlxtend(groceries, mlxtend_answer, min_support):
    df, baskets = groceries
    res = run_apriori(df, min_support=min_support)
    want = mlxtend_answer("groceries", min_support)
    assert res.n_baskets == len(baskets) == 9835
    assert res.itemsets.schema == ITEMSETS
    assert as_dict(res.itemsets) == want
    assert [p["frequent"] for p in res.passes] == [
        sum(len(k) == size for k in want) for size in range(1, len(res.passes) + 1)]
    assert res.algorithm == "apriori" and res.threshold == count_threshold(min_support, 9835)


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "min_support", "max_size"),
                         [("retail", 0.01, None), ("bms1", 0.005, None),
                          pytest.param("mushroom", 0.4, 4, marks=pytest.mark.slow)])
def test_shared_sets_match_mlxtend(basket_set, mlxtend_answer, name, min_support, max_size):
    df, _ = basket_set(name)
    got = as_dict(frequent_itemsets(df, min_support=min_support, max_size=max_size))
    want = mlxtend_answer(name, min_support, max_size)
    assert got == want, name
    assert len(want) > 20


def test_partition_invariance(spark, groceries):
    df, _ = groceries
    before = spark.conf.get("spark.sql.shuffle.partitions")
    results = []
    try:
        for n in (1, 2, 7):
            spark.conf.set("spark.sql.shuffle.partitions", str(n))
            results.append(as_dict(frequent_itemsets(df.repartition(n), min_support=0.01)))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    assert results[0] == results[1] == results[2]


def test_triangular_and_triples_agree(groceries):
    df, _ = groceries
    tri = run_apriori(df, min_support=0.005, max_size=3, pair_counting="triangular")
    tpl = run_apriori(df, min_support=0.005, max_size=3, pair_counting="triples")
    assert "by triangular in" in tri.reason and "by triples in" in tpl.reason
    assert as_dict(tri.itemsets) == as_dict(tpl.itemsets)
    assert tri.passes[1]["memory_bytes"] == 4 * 120 * 119 // 2


def test_max_size_and_book_example(spark):
    # MMDS Example 6.1-like baskets: a set is frequent from 3 baskets of 6
    rows = [(i, b) for i, b in enumerate(
        [["x", "y", "z"], ["x", "y", "z"], ["x", "y", "z", "w"], ["x", "y"], ["w"], []])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    full = as_dict(frequent_itemsets(df, min_support=3))
    assert full[("x", "y", "z")] == 3 and full[("x", "y")] == 4
    capped = as_dict(frequent_itemsets(df, min_support=3, max_size=2))
    assert capped == {k: v for k, v in full.items() if len(k) <= 2}
    assert as_dict(frequent_itemsets(df, min_support=3, max_size=1)) == {
        k: v for k, v in full.items() if len(k) == 1}


@pytest.mark.parametrize("bad", [0, -0.1, 1, 1.0, 2.5, float("nan"), float("inf"), True, "0.1"])
def test_min_support_validation(spark, bad):
    df = spark.createDataFrame([(1, ["a"])], "basket long, items array<string>")
    with pytest.raises(InputError, match="min_support") as err:
        run_apriori(df, min_support=bad)
    assert "\n" not in str(err.value)


def test_threshold_below_two_baskets_is_an_error(spark):
    df = spark.createDataFrame([(i, ["a"]) for i in range(10)], "basket long, items array<string>")
    with pytest.raises(InputError, match="below 2 baskets"):
        run_apriori(df, min_support=0.1)  # 1 basket of 10


def test_threshold_matches_mlxtend_comparison():
    assert count_threshold(0.01, 9835) == 99
    assert count_threshold(0.1, 30) == 3  # 0.1 * 30 = 3.0000000000000004, 3 / 30 >= 0.1
    assert count_threshold(5, 9835) == 5
    assert count_threshold(2.0, 10) == 2


def test_candidates_are_the_join_and_prune_of_the_book():
    # L2 of MMDS-style ids: {0,1} {0,2} {0,3} {1,2} {1,3} {2,4}
    frequent = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 4]], np.int32)
    want = sorted(c for c in combinations(range(5), 3)
                  if all(s in set(map(tuple, frequent.tolist())) for s in combinations(c, 2)))
    assert [tuple(r) for r in candidates(frequent).tolist()] == want == [(0, 1, 2), (0, 1, 3)]
    assert candidates(np.array([[0, 1, 2]], np.int32)).shape == (0, 4)


def test_triangular_index_round_trip():
    m = 7
    pairs = list(combinations(range(m), 2))
    keys = np.array([i * (2 * m - i - 1) // 2 + (j - i - 1) for i, j in pairs])
    assert keys.tolist() == list(range(m * (m - 1) // 2))  # dense, in lexicographic order
    assert [tuple(p) for p in pair_items(keys, m).tolist()] == pairs
