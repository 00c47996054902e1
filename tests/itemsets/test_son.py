"""SON against mlxtend on real baskets; the in-memory miner and the scaled threshold in numpy."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pyarrow as pa
import pytest
from itemset_oracles import as_dict

from mining.errors import InputError
from mining.itemsets import son
from mining.itemsets._local import count_family, family_parents, mine_local
from mining.itemsets._result import split_levels
from mining.itemsets.son import _local_kernel, run_son
from mining.schemas import ITEMSETS


def _brute_force(baskets: list[list[int]], threshold: int, max_size: int | None = None):
    counts = Counter(s for b in baskets for k in range(1, len(b) + 1)
                     if max_size is None or k <= max_size for s in combinations(b, k))
    return {s: c for s, c in counts.items() if c >= threshold}


def _encoded(baskets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([len(b) for b in baskets], np.int32),
            np.array([i for b in baskets for i in b], np.int32))


def _random_baskets(rng: np.random.Generator, n: int, m: int, density: float):
    return [np.flatnonzero(rng.random(m) < density).tolist() for _ in range(n)]


@pytest.fixture(scope="module")
def groceries(basket_set):
    return basket_set("groceries")


@pytest.mark.parametrize(("min_support", "partitionings"), [(0.01, (1, 2, 7)), (0.005, (1, 7))])
def test_groceries_matches_mlxtend_whatever_the_partitions(groceries, mlxtend_answer,
                                                           min_support, partitionings):
    df, _ = groceries
    want = mlxtend_answer("groceries", min_support)
    pairs_up = sum(len(k) >= 2 for k in want)
    for partitions in partitionings:
        res = run_son(df, min_support=min_support, partitions=partitions)
        assert as_dict(res.itemsets) == want, partitions
        assert res.algorithm == "son" and res.n_baskets == 9835
        details = res.details
        if partitions == 1:  # one task at the full threshold: exact, no second pass
            assert not details["second_pass"] and len(res.passes) == 2
            assert res.passes[1]["frequent"] == pairs_up
        else:
            assert details["second_pass"] and details["tasks"] == partitions
            assert max(details["local_thresholds"]) < res.threshold
            assert res.passes[2]["candidates"] == details["candidates"] >= pairs_up
            assert res.passes[2]["frequent"] == pairs_up
            assert details["false_positives"] == details["candidates"] - pairs_up
    assert res.itemsets.schema == ITEMSETS


@pytest.mark.shared_data
def test_mushroom_matches_mlxtend(basket_set, mlxtend_answer):
    df, _ = basket_set("mushroom")
    res = run_son(df, min_support=0.4, max_size=4, partitions=3)
    want = mlxtend_answer("mushroom", 0.4, 4)
    assert as_dict(res.itemsets) == want and len(want) > 100
    assert res.details["second_pass"] and max(len(k) for k in want) == 4


@pytest.mark.connect
def test_duplicates_empty_baskets_and_the_single_task_case(spark):
    rows = [(1, ["a", "b", "a", "c"]), (2, ["b", "a", "b"]), (3, []), (4, []),
            (5, ["a", "b", "c"]), (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    want = {("a",): 3, ("b",): 3, ("c",): 3, ("a", "b"): 3, ("a", "c"): 2, ("b", "c"): 2,
            ("a", "b", "c"): 2}
    one = run_son(df, min_support=2, partitions=1)
    assert as_dict(one.itemsets) == want and one.n_baskets == 6
    assert not one.details["second_pass"] and [p["size"] for p in one.passes] == [1, 3]
    capped = run_son(df, min_support=2, max_size=1)
    assert as_dict(capped.itemsets) == {("a",): 3, ("b",): 3, ("c",): 3}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"partitions": 0}, "partitions"), ({"partitions": 2.0}, "partitions"),
    ({"partitions": True}, "partitions"), ({"max_size": 0}, "max_size"),
    ({"min_support": 1.5}, "min_support")])
def test_invalid_parameters_are_one_line_errors(spark, kwargs, match):
    df = spark.createDataFrame([(1, ["a"])], "basket long, items array<string>")
    with pytest.raises(InputError, match=match) as err:
        run_son(df, **{"min_support": 0.5, **kwargs})
    assert "\n" not in str(err.value)


def test_mine_local_matches_brute_force_on_dense_random_baskets():
    rng = np.random.default_rng(7)
    for trial in range(25):
        n, m = int(rng.integers(1, 200)), int(rng.integers(1, 11))
        baskets = _random_baskets(rng, n, m, rng.uniform(0.2, 0.9))
        threshold = int(rng.integers(1, max(2, n // 4)))
        max_size = None if trial % 2 else int(rng.integers(1, 5))
        levels = mine_local(*_encoded(baskets), m, threshold, max_size)
        got = {tuple(r): int(c) for sets, counts in levels
               for r, c in zip(sets.tolist(), counts, strict=True)}
        assert got == _brute_force(baskets, threshold, max_size), trial
        assert all([tuple(r) for r in s.tolist()] == sorted(map(tuple, s.tolist()))
                   for s, _ in levels)


def test_count_family_counts_every_member_exactly():
    rng = np.random.default_rng(3)
    baskets = _random_baskets(rng, 300, 8, 0.5)
    family = [np.array(list(combinations(range(8), k)), np.int32) for k in (2, 3, 4)]
    counts = count_family(*_encoded(baskets), family, family_parents(family), 8)
    for sets, got in zip(family, counts, strict=True):
        assert got.tolist() == [sum(set(s) <= set(b) for b in baskets) for s in sets.tolist()]
    with pytest.raises(ValueError, match="downward closed"):
        family_parents([np.array([[0, 1]], np.int32), np.array([[2, 3, 4]], np.int32)])


def test_scaled_local_thresholds_miss_no_frequent_itemset():
    # SON pass 1 on random splits of the baskets into chunks: every itemset frequent overall
    # is a local candidate of some chunk (the no-false-negative argument of run_son)
    rng = np.random.default_rng(11)
    for _ in range(10):
        baskets = [b for b in _random_baskets(rng, 400, 9, 0.35) if len(b) >= 2]
        threshold = int(rng.integers(10, 60))
        cuts = np.sort(rng.choice(np.arange(1, len(baskets)), 4, replace=False))
        kernel = _local_kernel(9, threshold, len(baskets), 9)
        union: set[tuple[int, ...]] = set()
        for chunk in np.split(np.arange(len(baskets)), cuts):
            lengths, ids = _encoded([baskets[i] for i in chunk])
            batch = pa.RecordBatch.from_pydict({"lengths": [lengths.tobytes()],
                                                "ids": [ids.tobytes()]})
            for out in kernel(iter([batch])):
                levels = split_levels(out.to_pylist()[0])
                union |= {tuple(r) for sets, _ in levels for r in sets.tolist()}
        frequent = {s for s in _brute_force(baskets, threshold) if len(s) >= 2}
        assert frequent <= union


def test_one_job_path_equals_the_passes(groceries, mlxtend_answer, monkeypatch):
    df, _ = groceries
    want = mlxtend_answer("groceries", 0.01)
    one = run_son(df, min_support=0.01)  # small: counted, encoded and mined in one job
    assert one.details["one_job"] and not one.details["second_pass"]
    assert as_dict(one.itemsets) == want and one.n_baskets == 9835
    assert [p["pass_number"] for p in one.passes] == [1, 2]
    assert one.passes[1]["frequent"] == sum(len(k) >= 2 for k in want)
    monkeypatch.setattr(son, "ONE_JOB_OCCURRENCES", 1000)  # the task stops reading: passes
    passes = run_son(df, min_support=0.01)
    assert "one_job" not in passes.details and as_dict(passes.itemsets) == want
    assert passes.passes[0]["candidates"] == one.passes[0]["candidates"]  # distinct items


@pytest.mark.connect
def test_one_job_path_on_duplicates_nulls_and_empty_input(spark):
    rows = [(1, ["a", "b", "a", None]), (2, ["b", "a"]), (3, None), (4, []), (5, ["a", "c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    res = run_son(df, min_support=2)
    assert res.details["one_job"] and res.n_baskets == 5
    assert as_dict(res.itemsets) == {("a",): 3, ("b",): 2, ("a", "b"): 2}
    with pytest.raises(InputError, match="below 2 baskets") as err:
        run_son(df, min_support=0.2)  # a count of 1 of 5 baskets
    assert "\n" not in str(err.value)
    empty = run_son(spark.createDataFrame([], "basket long, items array<string>"),
                    min_support=2)
    assert empty.n_baskets == 0 and empty.itemsets.count() == 0
