"""Every algorithm against mlxtend and MLlib FPGrowth: one small case in CI, the matrix `slow`.

The matrix: every algorithm x six real basket sets of different shape (sparse retail and
T10I4D100K, click streams BMS-WebView-1 and browsing, dense mushroom and chess) x two
thresholds, the same itemsets and counts as mlxtend's fpgrowth (computed once per session),
and MLlib FPGrowth's on the same baskets.
"""

from __future__ import annotations

import pytest
from itemset_oracles import as_dict

from mining.itemsets import ALGORITHMS, run_itemsets, run_son

CASES = [("retail", 0.01), ("retail", 0.005), ("t10", 0.01), ("t10", 0.005),
         ("bms1", 0.005), ("bms1", 0.002), ("browsing", 0.01), ("browsing", 0.005),
         ("mushroom", 0.4), ("mushroom", 0.3), ("chess", 0.8), ("chess", 0.75)]


def fpgrowth_itemsets(df, min_support: float) -> dict[tuple[str, ...], int]:
    """MLlib FPGrowth's frequent itemsets with their counts (items sorted)."""
    from pyspark.ml.fpm import FPGrowth

    model = FPGrowth(itemsCol="items", minSupport=min_support).fit(df)
    return {tuple(sorted(r["items"])): int(r["freq"]) for r in model.freqItemsets.collect()}


@pytest.mark.connect
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_duplicates_count_once_and_empty_baskets_count_in_n(spark, algorithm):
    rows = [(1, ["a", "b", "a", "c"]), (2, ["b", "a", "b"]), (3, []), (4, []),
            (5, ["a", "b", "c"]), (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    res = run_itemsets(df, min_support=0.5, algorithm=algorithm)
    assert res.n_baskets == 6 and res.threshold == 3 and res.algorithm == algorithm
    got = {tuple(r["items"]): (r["size"], r["support_count"], r["support"])
           for r in res.itemsets.collect()}
    assert got == {("a",): (1, 3, 0.5), ("b",): (1, 3, 0.5), ("c",): (1, 3, 0.5),
                   ("a", "b"): (2, 3, 0.5)}


@pytest.mark.parametrize("algorithm", ["apriori", "son"])
def test_support_as_a_basket_count(spark, algorithm):
    rows = [(1, ["a", "b", "c"]), (2, ["a", "b"]), (3, []), (4, []), (5, ["a", "b", "c"]),
            (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    assert as_dict(run_itemsets(df, min_support=2, algorithm=algorithm).itemsets) == {
        ("a",): 3, ("b",): 3, ("c",): 3, ("a", "b"): 3, ("a", "c"): 2, ("b", "c"): 2,
        ("a", "b", "c"): 2}


def test_auto_matches_mlxtend_and_fpgrowth_on_groceries(basket_set, mlxtend_answer):
    df, _ = basket_set("groceries")
    res = run_itemsets(df, min_support=0.01)
    got = as_dict(res.itemsets)
    assert got == mlxtend_answer("groceries", 0.01) == fpgrowth_itemsets(df, 0.01)
    assert res.algorithm == "son" and "one task" in res.reason


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "min_support"), CASES)
def test_every_algorithm_matches_mlxtend_and_fpgrowth(basket_set, mlxtend_answer, name,
                                                      min_support):
    df, _ = basket_set(name)
    want = mlxtend_answer(name, min_support)
    assert len(want) > 20, (name, min_support)
    assert fpgrowth_itemsets(df, min_support) == want, "FPGrowth"
    for algorithm in ("auto", *ALGORITHMS):
        got = as_dict(run_itemsets(df, min_support=min_support, algorithm=algorithm).itemsets)
        assert got == want, (name, min_support, algorithm)
    # SON's distributed path (auto runs these sizes in one task)
    assert as_dict(run_son(df, min_support=min_support, partitions=5).itemsets) == want
