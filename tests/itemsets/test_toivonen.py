"""Toivonen's algorithm against mlxtend, its sample's partition invariance, and forced failures."""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import pytest
from itemset_oracles import as_dict

from mining.errors import ConvergenceError, InputError
from mining.itemsets.toivonen import default_fraction, in_sample, run_toivonen

# 60 baskets, threshold 12: {a, b} and {a, b, c} are frequent at exactly 12 baskets, so a 20%
# sample at lowering 1.0 misses them about half the time; d is infrequent
CRAFTED = ([["a", "b", "c"]] * 12 + [["a", "c"]] * 20 + [["b", "c"]] * 20 + [["d"]] * 8)
CRAFTED_ANSWER = {("a",): 32, ("b",): 32, ("c",): 52, ("a", "b"): 12, ("a", "c"): 32,
                  ("b", "c"): 32, ("a", "b", "c"): 12}


def _subsets(basket: list[str]) -> list[tuple[str, ...]]:
    items = sorted(set(basket))
    return [s for k in range(1, len(items) + 1) for s in combinations(items, k)]


def _round_fails(sample: list[list[str]], threshold: int, lowering: float) -> bool:
    """Brute force: does a frequent set lie in the border of the family built from a sample?

    The family: every frequent item plus the sample's sets of size >= 2 at the lowered
    count ``ceil(lowering t n_s / N)`` (the documented rule).
    """
    full = Counter(s for b in CRAFTED for s in _subsets(b))
    items = {s[0] for s, c in full.items() if len(s) == 1 and c >= threshold}
    bar = max(1, math.ceil(lowering * threshold * len(sample) / len(CRAFTED)))
    seen = Counter(s for b in sample for s in _subsets([i for i in b if i in items]))
    family = {(i,) for i in items} | {s for s, c in seen.items() if len(s) >= 2 and c >= bar}
    border = [s for k in range(2, len(items) + 1) for s in combinations(sorted(items), k)
              if s not in family and all(t in family for t in combinations(s, k - 1))]
    return any(full[s] >= threshold for s in border)


@pytest.fixture(scope="module")
def crafted(spark):
    return spark.createDataFrame(list(enumerate(CRAFTED)), "basket long, items array<string>")


@pytest.fixture(scope="module")
def groceries_one_task(basket_set):
    df, _ = basket_set("groceries")
    return run_toivonen(df.repartition(1), min_support=0.01, seed=5)


def test_groceries_matches_mlxtend(groceries_one_task, mlxtend_answer):
    res = groceries_one_task
    assert as_dict(res.itemsets) == mlxtend_answer("groceries", 0.01)
    assert res.algorithm == "toivonen" and res.n_baskets == 9835 and res.rounds >= 1
    last = res.details["rounds"][-1]
    assert not last["failed"] and last["seed"] == 5 + res.rounds - 1
    assert res.details["sample_fraction"] == default_fraction(99, 0.8)
    assert last["sample_threshold"] < res.threshold and last["negative_border"] > 0


def test_same_seed_same_sample_and_result_whatever_the_partitions(basket_set,
                                                                  groceries_one_task):
    df, _ = basket_set("groceries")
    ids = [{r["basket"] for r in frame.filter(in_sample(5, 0.3)).select("basket").collect()}
           for frame in (df.repartition(1), df.repartition(3))]
    assert ids[0] == ids[1] and 2500 < len(ids[0]) < 3400
    res = run_toivonen(df.repartition(3), min_support=0.01, seed=5)
    assert res.details == groceries_one_task.details
    assert as_dict(res.itemsets) == as_dict(groceries_one_task.itemsets)


def test_a_failed_round_is_retried_with_the_next_seed(crafted):
    # find, by brute force over the samples the hash draws, a seed whose round fails and
    # whose successor passes
    seeds = range(40)
    rows = crafted.select("basket", *[in_sample(s, 0.2).alias(f"s{s}") for s in seeds]).collect()
    samples = {s: [r["basket"] for r in rows if r[f"s{s}"]] for s in seeds}
    fails = {s: _round_fails([CRAFTED[i] for i in samples[s]], 12, 1.0) for s in seeds}
    seed = next(s for s in seeds[:-1] if fails[s] and not fails[s + 1])
    res = run_toivonen(crafted, min_support=12, sample_fraction=0.2, lowering=1.0, seed=seed)
    assert as_dict(res.itemsets) == CRAFTED_ANSWER
    assert res.rounds == 2 and [r["seed"] for r in res.details["rounds"]] == [seed, seed + 1]
    first, second = res.details["rounds"]
    assert first["failed"] and first["border_frequent"] >= 1 and not second["failed"]
    assert [r["sample_baskets"] for r in (first, second)] == [len(samples[seed]),
                                                             len(samples[seed + 1])]
    assert len(res.passes) == 1 + 2 * 2  # items, then a sample pass and a full pass per round
    with pytest.raises(ConvergenceError, match="all 1 rounds") as err:
        run_toivonen(crafted, min_support=12, sample_fraction=0.2, lowering=1.0, seed=seed,
                     max_rounds=1)
    assert "\n" not in str(err.value) and err.value.n_iter == 1


@pytest.mark.connect
def test_whole_data_as_the_sample_passes_at_once(spark):
    rows = [(1, ["a", "b", "a", "c"]), (2, ["b", "a", "b"]), (3, []), (4, []),
            (5, ["a", "b", "c"]), (6, ["c"])]
    df = spark.createDataFrame(rows, "basket long, items array<string>")
    res = run_toivonen(df, min_support=2, sample_fraction=1.0)
    assert as_dict(res.itemsets) == {
        ("a",): 3, ("b",): 3, ("c",): 3, ("a", "b"): 3, ("a", "c"): 2, ("b", "c"): 2,
        ("a", "b", "c"): 2}
    assert res.rounds == 1 and res.details["rounds"][0]["sample_baskets"] == 6


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sample_fraction": 0}, "sample_fraction"), ({"sample_fraction": 1.5}, "sample_fraction"),
    ({"sample_fraction": float("nan")}, "sample_fraction"),
    ({"sample_fraction": True}, "sample_fraction"), ({"lowering": 0.0}, "lowering"),
    ({"lowering": 1.2}, "lowering"), ({"lowering": "0.8"}, "lowering"),
    ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"), ({"max_rounds": 0}, "max_rounds"),
    ({"max_rounds": 2.0}, "max_rounds"), ({"max_size": -1}, "max_size")])
def test_invalid_parameters_are_one_line_errors(spark, kwargs, match):
    df = spark.createDataFrame([(1, ["a"])], "basket long, items array<string>")
    with pytest.raises(InputError, match=match) as err:
        run_toivonen(df, **{"min_support": 0.5, **kwargs})
    assert "\n" not in str(err.value)


def test_default_fraction_follows_the_threshold():
    assert default_fraction(99, 0.8) == pytest.approx(9 / (0.04 * 99 + 9))
    assert default_fraction(100_000, 0.8) < 0.003 and default_fraction(10, 1.0) == 1.0
