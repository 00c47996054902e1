"""A-Priori against mlxtend's fpgrowth on real baskets, and its invariants on small inputs."""

from __future__ import annotations

import gzip
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from mining.errors import InputError
from mining.io.readers import read_baskets
from mining.itemsets._candidates import candidates
from mining.itemsets._pairs import pair_items
from mining.itemsets._support import count_threshold
from mining.itemsets.apriori import frequent_itemsets, run_apriori
from mining.schemas import ITEMSETS

Itemsets = dict[tuple[str, ...], int]

# name -> (path under the data root, delimiter, max_size); the shared sets need ../shared/data
SHARED = {
    "retail": ("baskets/retail.dat.gz", None, None),
    "mushroom": ("baskets/mushroom.dat", None, 4),  # dense: mlxtend needs the size limit
    "bms1": ("baskets/BMS-WebView-1.dat", None, None),
}


def parse_baskets(path: Path, delimiter: str | None) -> list[list[str]]:
    """Baskets read by plain Python (the oracle's own parse, blank lines are empty baskets)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return [sorted({f.strip() for f in line.split(delimiter) if f.strip()}) for line in lines]


def mlxtend_itemsets(baskets: list[list[str]], min_support: float,
                     max_size: int | None) -> Itemsets:
    """mlxtend fpgrowth's itemsets with their support counts.

    Items below the threshold are removed first: no itemset holding one can be frequent
    (support is monotone), N stays the number of baskets, and mlxtend's encoder then builds
    70 columns for retail instead of 16,470 (seconds instead of most of a minute).
    """
    n = len(baskets)
    counts = Counter(item for basket in baskets for item in basket)
    keep = {item for item, c in counts.items() if c / n >= min_support}
    baskets = [[item for item in basket if item in keep] for basket in baskets]
    enc = TransactionEncoder()
    frame = pd.DataFrame(enc.fit(baskets).transform(baskets), columns=enc.columns_)
    found = fpgrowth(frame, min_support=min_support, use_colnames=True, max_len=max_size)
    return {tuple(sorted(s)): round(sup * n) for s, sup in
            zip(found["itemsets"], found["support"])}


def as_dict(itemsets) -> Itemsets:
    rows = itemsets.collect()
    assert all(r["size"] == len(r["items"]) for r in rows)
    return {tuple(r["items"]): r["support_count"] for r in rows}


@pytest.fixture(scope="module")
def oracle_cache() -> dict[tuple[str, float], Itemsets]:
    return {}


@pytest.fixture(scope="module")
def groceries(spark, bundled_data):
    path = bundled_data / "baskets" / "groceries.csv"
    df = read_baskets(spark, path, layout="lines", delimiter=",").data.cache()
    yield df, parse_baskets(path, ",")
    df.unpersist()


@pytest.mark.parametrize("min_support", [0.01, 0.005])
def test_groceries_matches_mlxtend(groceries, min_support):
    df, baskets = groceries
    res = run_apriori(df, min_support=min_support)
    want = mlxtend_itemsets(baskets, min_support, None)
    assert res.n_baskets == len(baskets) == 9835
    assert res.itemsets.schema == ITEMSETS
    assert as_dict(res.itemsets) == want
    assert [p["frequent"] for p in res.passes] == [
        sum(len(k) == size for k in want) for size in range(1, len(res.passes) + 1)]
    assert res.algorithm == "apriori" and res.threshold == count_threshold(min_support, 9835)


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "min_support"),
                         [("retail", 0.01), ("mushroom", 0.4), ("bms1", 0.005)])
def test_shared_sets_match_mlxtend(spark, shared_data, name, min_support):
    rel, delimiter, max_size = SHARED[name]
    path = shared_data / rel
    baskets = parse_baskets(path, delimiter)
    df = read_baskets(spark, path, layout="lines").data.cache()  # the reader runs once
    got = as_dict(frequent_itemsets(df, min_support=min_support, max_size=max_size))
    df.unpersist()
    want = mlxtend_itemsets(baskets, min_support, max_size)
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


@pytest.mark.connect
def test_duplicates_count_once_and_empty_baskets_count_in_n(spark):
    rows = [(1, ["a", "b", "a", "c"]), (2, ["b", "a", "b"]), (3, []), (4, []),
            (5, ["a", "b", "c"]), (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    res = run_apriori(df, min_support=0.5)
    assert res.n_baskets == 6 and res.threshold == 3
    got = {tuple(r["items"]): (r["size"], r["support_count"], r["support"])
           for r in res.itemsets.collect()}
    assert got == {("a",): (1, 3, 0.5), ("b",): (1, 3, 0.5), ("c",): (1, 3, 0.5),
                   ("a", "b"): (2, 3, 0.5)}
    assert as_dict(frequent_itemsets(df, min_support=2)) == {
        ("a",): 3, ("b",): 3, ("c",): 3, ("a", "b"): 3, ("a", "c"): 2, ("b", "c"): 2,
        ("a", "b", "c"): 2}


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
