"""PCY, multistage and multihash (MMDS §6.3) against mlxtend, and their bucket statistics."""

from __future__ import annotations

import numpy as np
import pytest
from itemset_oracles import as_dict

from mining.errors import InputError
from mining.itemsets._buckets import item_keys, pair_buckets
from mining.itemsets._tallies import SLICE, decode_counts, encode_counts
from mining.itemsets.pcy import run_multihash, run_multistage, run_pcy
from mining.schemas import ITEMSET_PASSES, ITEMSETS

RUNS = {"pcy": run_pcy, "multistage": run_multistage, "multihash": run_multihash}


@pytest.fixture(scope="module")
def groceries(basket_set):
    return basket_set("groceries")


def _pair_pass(res):
    """The pass record that counted the pairs (the last of size 2)."""
    return [p for p in res.passes if p["size"] == 2][-1]


# 0.005 and the shared sets for every algorithm: tests/itemsets/test_matrix.py (slow)
@pytest.mark.parametrize("min_support", [0.01])
@pytest.mark.parametrize("name", list(RUNS))
def test_groceries_matches_mlxtend(groceries, mlxtend_answer, name, min_support):
    df, baskets = groceries
    res = RUNS[name](df, min_support=min_support)
    want = mlxtend_answer("groceries", min_support)
    assert res.itemsets.schema == ITEMSETS
    assert as_dict(res.itemsets) == want
    assert res.algorithm == name and res.n_baskets == len(baskets) and name in res.reason
    assert all(set(p) == set(ITEMSET_PASSES.fieldNames()) for p in res.passes)
    first, counted = res.passes[0], _pair_pass(res)
    m = first["frequent"]
    frequent_pairs = sum(len(k) == 2 for k in want)
    # default B (2 x pair occurrences): the bitmap leaves far fewer than A-Priori's m(m-1)/2
    assert frequent_pairs <= counted["candidates"] < m * (m - 1) // 4
    assert counted["frequent"] == frequent_pairs and counted["memory_bytes"] == \
        12 * counted["candidates"]
    assert first["buckets"] >= 2 * 130_000 and first["bitmap_bytes"] >= first["buckets"] // 8
    assert first["memory_bytes"] == 4 * first["buckets"]
    assert 0 < first["frequent_buckets_fraction"] < 0.01
    if name == "multistage":  # the rehash pass only narrows the first table's candidates
        rehash = res.passes[1]
        assert rehash["size"] == 2 and rehash["frequent"] == counted["candidates"]
        assert rehash["candidates"] >= rehash["frequent"] and rehash["buckets"] > 0
    assert [p["pass_number"] for p in res.passes] == list(range(1, len(res.passes) + 1))


@pytest.mark.slow
@pytest.mark.shared_data
def test_retail_matches_mlxtend(basket_set, mlxtend_answer):
    df, _ = basket_set("retail")
    res = run_multihash(df, min_support=0.01, tables=3)
    assert as_dict(res.itemsets) == mlxtend_answer("retail", 0.01, None)
    assert res.passes[0]["buckets"] == 2**23 // 3 * 3  # capped by the 32 MiB budget


@pytest.mark.parametrize(("name", "buckets", "tables"),
                         [("pcy", 1, 1), ("multistage", 7, 1), ("multihash", 7, 2)])
def test_tiny_tables_are_still_exact(groceries, mlxtend_answer, name, buckets, tables):
    df, _ = groceries
    kwargs = {"tables": tables} if name == "multihash" else {}
    res = RUNS[name](df, min_support=0.01, max_size=2, buckets=buckets, **kwargs)
    want = {k: v for k, v in mlxtend_answer("groceries", 0.01).items() if len(k) <= 2}
    assert as_dict(res.itemsets) == want
    first = res.passes[0]
    m = first["frequent"]
    assert first["buckets"] == buckets // tables * tables
    # nearly every bucket is frequent: the filter removes (almost) nothing
    assert first["frequent_buckets_fraction"] >= 0.5
    assert _pair_pass(res)["candidates"] >= m * (m - 1) // 4
    if buckets == 1:
        assert first["frequent_buckets_fraction"] == 1.0
        assert _pair_pass(res)["candidates"] == m * (m - 1) // 2
    if name == "multistage":
        assert res.passes[1]["buckets"] == 6  # B - ceil(B / 32): memory left by bitmap 1


@pytest.mark.slow  # CI runs the 1/2/7-partition check for A-Priori and SON
def test_partition_invariance(spark, groceries):
    df, _ = groceries
    before = spark.conf.get("spark.sql.shuffle.partitions")
    results = []
    try:
        for n in (1, 2, 7):
            spark.conf.set("spark.sql.shuffle.partitions", str(n))
            res = run_pcy(df.repartition(n), min_support=0.005, max_size=2)
            stats = [(p["candidates"], p["frequent"], p["buckets"],
                      p["frequent_buckets_fraction"]) for p in res.passes]
            results.append((as_dict(res.itemsets), stats))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    assert results[0] == results[1] == results[2]


def test_buckets_default_to_two_per_pair_occurrence(spark):
    rows = [(1, ["a", "b", "a", "c"]), (2, ["b", "a", "b"]), (3, []), (4, []),
            (5, ["a", "b", "c"]), (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    res = run_pcy(df, min_support=0.5)
    assert res.passes[0]["candidates"] == 3 and res.passes[0]["buckets"] == 14  # 2 x 7 pairs


def test_counts_below_two_and_max_size_one(spark):
    rows = [(i, b) for i, b in enumerate(
        [["x", "y", "z"], ["x", "y", "z"], ["x", "y", "z", "w"], ["x", "y"], ["w"], [], ["v"]])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    full = as_dict(run_pcy(df, min_support=3, buckets=5).itemsets)
    assert full == {("x",): 4, ("y",): 4, ("z",): 3, ("x", "y"): 4, ("x", "z"): 3,
                    ("y", "z"): 3, ("x", "y", "z"): 3}
    single = run_multihash(df, min_support=3, max_size=1, tables=3)
    assert as_dict(single.itemsets) == {k: v for k, v in full.items() if len(k) == 1}
    # no pair pass: no buckets; distinct items v and w (count < 2) still counted
    assert single.passes[0]["buckets"] is None and single.passes[0]["candidates"] == 5
    assert len(single.passes) == 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"buckets": 0}, "buckets"), ({"buckets": -3}, "buckets"), ({"buckets": 2.5}, "buckets"),
    ({"buckets": True}, "buckets"), ({"buckets": "8"}, "buckets"), ({"buckets": 2**40}, "buckets"),
    ({"tables": 0}, "tables"), ({"tables": 1.5}, "tables"), ({"tables": False}, "tables"),
    ({"tables": 4, "buckets": 3}, "at least tables"), ({"max_size": 0}, "max_size"),
    ({"max_size": 2.0}, "max_size"), ({"min_support": 1}, "min_support"),
    ({"min_support": float("nan")}, "min_support")])
def test_invalid_parameters(spark, kwargs, match):
    df = spark.createDataFrame([(1, ["a"])], "basket long, items array<string>")
    args = {"min_support": 0.5, **kwargs}
    with pytest.raises(InputError, match=match) as err:
        run_multihash(df, **args)
    assert "\n" not in str(err.value)
    if "tables" not in kwargs:
        for run in (run_pcy, run_multistage):
            with pytest.raises(InputError, match=match):
                run(df, **args)


def test_pair_hash_is_order_free_and_tables_independent():
    rng = np.random.default_rng(7)
    hashes = rng.integers(-2**63, 2**63 - 1, 2000, dtype=np.int64)
    a, b = item_keys(hashes[:1000], 0), item_keys(hashes[1000:], 0)
    assert np.array_equal(pair_buckets(a, b, 97), pair_buckets(b, a, 97))
    buckets = pair_buckets(a, b, 10)
    assert buckets.min() >= 0 and buckets.max() < 10 and len(np.unique(buckets)) == 10
    other = pair_buckets(item_keys(hashes[:1000], 1), item_keys(hashes[1000:], 1), 10)
    assert (buckets == other).mean() < 0.2  # independent tables agree ~1 time in 10


def test_count_blobs_round_trip():
    dense = np.arange(SLICE, dtype=np.int32) % 3
    sparse = np.zeros(SLICE, np.int32)
    sparse[[5, 70_000]] = [2, 9]
    for chunk in (dense, sparse):
        total = np.zeros(SLICE, np.int64)
        decode_counts(encode_counts(chunk), SLICE, total)
        assert np.array_equal(total, chunk)
    assert len(encode_counts(sparse)) == 16
