"""Association rules and maximal/closed itemsets against mlxtend and brute force (MMDS §6.1)."""

from __future__ import annotations

import functools
import gzip
import math
import operator
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules as mlxtend_rules
from mlxtend.frequent_patterns import fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from mining.errors import InputError
from mining.itemsets import rules as rules_module
from mining.itemsets.closed import closed_itemsets, maximal_itemsets
from mining.itemsets.rules import MAX_RULE_ITEMSET_SIZE, association_rules
from mining.schemas import ITEMSETS, RULES

METRICS = ("antecedent_support", "consequent_support", "support", "confidence", "lift",
           "interest", "leverage", "conviction")
MLXTEND_METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift",
                   "leverage", "conviction"]
REL = 1e-12

Key = tuple[tuple[str, ...], tuple[str, ...]]


# --- oracles (plain Python and mlxtend) ---------------------------------------------------------

def read_baskets(path: Path) -> list[set[str]]:
    """One basket per line, comma- or space-separated (retail.dat), duplicates collapsed."""
    opener = gzip.open if path.suffix == ".gz" else open
    sep = "," if ".csv" in path.name else None
    with opener(path, "rt") as fh:
        return [set(line.rstrip("\n").split(sep)) - {""} for line in fh]


def frequent(baskets: list[set[str]], min_support: float) -> pd.DataFrame:
    """mlxtend fpgrowth, on the items that can be frequent (infrequent ones cannot be in any)."""
    n = len(baskets)
    counts = Counter(i for b in baskets for i in b)
    keep = {i for i, c in counts.items() if c >= 0.5 * min_support * n}
    kept = [sorted(b & keep) for b in baskets]  # every basket stays: N is unchanged
    enc = TransactionEncoder().fit(kept)
    onehot = pd.DataFrame(enc.transform(kept), columns=enc.columns_)
    return fpgrowth(onehot, min_support=min_support, use_colnames=True)


def itemset_rows(freq: pd.DataFrame, n: int) -> list[tuple[list[str], int, int, float]]:
    return [(sorted(s), len(s), round(sup * n), float(sup))
            for s, sup in zip(freq["itemsets"], freq["support"], strict=True)]


def oracle_rules(freq: pd.DataFrame, n: int, min_confidence: float) -> dict[Key, dict]:
    df = mlxtend_rules(freq, num_itemsets=n, metric="confidence", min_threshold=min_confidence,
                       return_metrics=MLXTEND_METRICS)
    out = {}
    for row in df.to_dict("records"):
        key = (tuple(sorted(row["antecedents"])), tuple(sorted(row["consequents"])))
        out[key] = {m: float(row[m.replace("_", " ")]) for m in METRICS if m != "interest"}
        out[key]["interest"] = row["confidence"] - row["consequent support"]
        out[key]["support_count"] = round(row["support"] * n)
    return out


def brute_force_closed_maximal(baskets: list[set[str]], sets: Iterable[frozenset[str]],
                               min_count: float) -> tuple[set[frozenset], set[frozenset]]:
    """From the baskets, not the table: X is closed iff no outside item is in every basket
    holding X, maximal iff no outside item joins X in at least min_count baskets. Baskets
    holding an item are the bits of a Python int (tid-sets), so counts are popcounts."""
    tids: dict[str, int] = {}
    for pos, basket in enumerate(baskets):
        for item in basket:
            tids[item] = tids.get(item, 0) | (1 << pos)
    closed, maximal = set(), set()
    for x in sets:
        holding = functools.reduce(operator.and_, (tids[i] for i in x))
        extra = [(holding & t).bit_count() for i, t in tids.items() if i not in x]
        if holding.bit_count() not in extra:
            closed.add(x)
        if not any(c >= min_count for c in extra):
            maximal.add(x)
    return closed, maximal


# --- Spark helpers ------------------------------------------------------------------------------

def itemset_frame(spark, rows):
    return spark.createDataFrame(rows, ITEMSETS)


def collect_rules(df) -> dict[Key, dict]:
    return {(tuple(r["antecedent"]), tuple(r["consequent"])): r.asDict() for r in df.collect()}


def assert_rules_equal(got: dict[Key, dict], want: dict[Key, dict]) -> None:
    assert set(got) == set(want), (sorted(set(got) - set(want))[:5],
                                   sorted(set(want) - set(got))[:5])
    for key, w in want.items():
        g = got[key]
        assert g["support_count"] == w["support_count"], key
        for m in METRICS:
            # interest and leverage are differences that can cancel to ~1e-6 of their terms;
            # relative to the terms subtracted they are held to the same 1e-12 (confidence is
            # the ratio of exact counts here, of rounded fractions in mlxtend: a last-bit gap).
            scale = {"interest": max(w["confidence"], w["consequent_support"]),
                     "leverage": w["support"] + w["antecedent_support"] * w["consequent_support"],
                     }.get(m, 0.0)
            assert math.isclose(g[m], w[m], rel_tol=REL, abs_tol=REL * scale), (key, m, g[m], w[m])


# --- fixtures: oracles computed once per module -------------------------------------------------

@pytest.fixture(scope="module")
def groceries(bundled_data) -> list[set[str]]:
    return read_baskets(bundled_data / "baskets" / "groceries.csv")


@pytest.fixture(scope="module", params=[0.01, 0.005], ids=lambda s: f"support={s}")
def grocery_case(request, spark, groceries):
    n = len(groceries)
    freq = frequent(groceries, request.param)
    df = itemset_frame(spark, itemset_rows(freq, n)).cache()
    yield request.param, freq, df, n
    df.unpersist()


HAND_BASKETS = [{"a", "b", "c"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {"d"}, {"d"}]
HAND_ROWS = [  # every itemset in at least 2 of the 6 baskets
    (["a"], 1, 4, 4 / 6), (["b"], 1, 3, 3 / 6), (["c"], 1, 2, 2 / 6), (["d"], 1, 2, 2 / 6),
    (["a", "b"], 2, 3, 3 / 6), (["a", "c"], 2, 2, 2 / 6), (["b", "c"], 2, 2, 2 / 6),
    (["a", "b", "c"], 3, 2, 2 / 6),
]


# --- association rules --------------------------------------------------------------------------

@pytest.fixture(params=["numpy", "spark plan"])
def rule_path(request, monkeypatch):
    """Both ways to the rules: small tables in numpy, the Spark plan (every table as big)."""
    if request.param == "spark plan":
        monkeypatch.setattr(rules_module, "LOCAL_ITEMSETS", 0)
    return request.param


def test_numpy_and_spark_plan_give_the_same_bits(spark, groceries, monkeypatch):
    n = len(groceries)
    df = itemset_frame(spark, itemset_rows(frequent(groceries, 0.01), n)).cache()
    small = collect_rules(association_rules(df, n_baskets=n))
    monkeypatch.setattr(rules_module, "LOCAL_ITEMSETS", 0)
    planned = collect_rules(association_rules(df, n_baskets=n))
    assert len(small) > 200 and small == planned  # every metric equal, +inf included
    df.unpersist()


@pytest.mark.parametrize("min_confidence", [0.0, 0.3])
def test_rules_match_mlxtend_on_groceries(grocery_case, min_confidence):
    _, freq, df, n = grocery_case
    got = association_rules(df, n_baskets=n, min_confidence=min_confidence)
    assert got.schema == RULES
    assert_rules_equal(collect_rules(got), oracle_rules(freq, n, min_confidence))


def test_rule_filters_match_filtered_oracle(spark, groceries):
    n = len(groceries)
    freq = frequent(groceries, 0.005)
    oracle = oracle_rules(freq, n, 0.0)
    # Count ratios can sit exactly on a threshold, where one rounding decides: leave those out.
    near = {k for k, v in oracle.items()
            if abs(v["lift"] - 1.5) < 1e-9 or abs(v["confidence"] - 0.1) < 1e-9}
    want = {k for k, v in oracle.items()
            if v["lift"] >= 1.5 and v["confidence"] >= 0.1 and len(k[1]) <= 1}
    got = association_rules(itemset_frame(spark, itemset_rows(freq, n)), n_baskets=n,
                            min_confidence=0.1, min_lift=1.5, max_consequent_size=1)
    assert want - near and collect_rules(got).keys() - near == want - near


@pytest.mark.shared_data
def test_rules_match_mlxtend_on_retail(spark, shared_data):
    baskets = read_baskets(shared_data / "baskets" / "retail.dat.gz")
    n = len(baskets)
    freq = frequent(baskets, 0.01)
    got = association_rules(itemset_frame(spark, itemset_rows(freq, n)), n_baskets=n)
    assert_rules_equal(collect_rules(got), oracle_rules(freq, n, 0.0))


@pytest.mark.connect
def test_hand_example_rules_and_summaries(spark, rule_path):
    df = itemset_frame(spark, HAND_ROWS)
    rules = collect_rules(association_rules(df, n_baskets=6, min_confidence=0.5))
    c_ab = rules[(("c",), ("a", "b"))]  # c is in 2 baskets, both holding a and b
    assert c_ab["confidence"] == 1.0 and c_ab["conviction"] == math.inf
    assert rules[(("a", "b"), ("c",))]["confidence"] == pytest.approx(2 / 3, rel=REL)
    assert all(k[0] and k[1] and not set(k[0]) & set(k[1]) for k in rules)
    assert (("a",), ("d",)) not in rules  # {a, d} is not frequent
    closed = {tuple(r["items"]) for r in closed_itemsets(df).collect()}
    maximal = {tuple(r["items"]) for r in maximal_itemsets(df).collect()}
    assert closed == {("a",), ("d",), ("a", "b"), ("a", "b", "c")}
    assert maximal == {("d",), ("a", "b", "c")}


def test_conviction_is_infinite_under_ansi_mode(spark, rule_path):
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        rows = association_rules(itemset_frame(spark, HAND_ROWS), n_baskets=6).collect()
    finally:
        spark.conf.set("spark.sql.ansi.enabled", before)
    certain = [r for r in rows if r["confidence"] == 1.0]
    assert len(certain) == 6  # c->a, c->b, c->ab, b->a, ac->b, bc->a
    assert all(r["conviction"] == math.inf for r in certain)
    assert all(math.isfinite(r["conviction"]) for r in rows if r["confidence"] < 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_baskets": 0}, "n_baskets"),
        ({"n_baskets": 6, "min_confidence": 1.5}, "min_confidence"),
        ({"n_baskets": 6, "min_confidence": -0.1}, "min_confidence"),
        ({"n_baskets": 6, "min_lift": -1.0}, "min_lift"),
        ({"n_baskets": 6, "max_consequent_size": 0}, "max_consequent_size"),
    ],
)
def test_bad_arguments_are_one_line_input_errors(spark, kwargs, message):
    with pytest.raises(InputError, match=message) as info:
        association_rules(itemset_frame(spark, HAND_ROWS), **kwargs)
    assert "\n" not in str(info.value)


def test_bad_tables_are_refused(spark, rule_path):
    items = [f"i{j:02d}" for j in range(MAX_RULE_ITEMSET_SIZE + 1)]
    huge = itemset_frame(spark, [(items, len(items), 5, 0.5)])
    with pytest.raises(InputError, match="rules are enumerated for at most"):
        association_rules(huge, n_baskets=10)
    wrong_size = itemset_frame(spark, [(["a", "b"], 3, 5, 0.5)])
    with pytest.raises(InputError, match="size that is not"):
        association_rules(wrong_size, n_baskets=10)
    with pytest.raises(InputError, match="lacks column"):
        association_rules(wrong_size.drop("support_count"), n_baskets=10)
    with pytest.raises(InputError, match="lacks column"):
        closed_itemsets(wrong_size.drop("support"))


# --- maximal and closed itemsets ----------------------------------------------------------------

def test_closed_and_maximal_match_brute_force(spark, groceries):
    n, min_support = len(groceries), 0.005  # 1,001 itemsets, 708 maximal
    freq = frequent(groceries, min_support)
    df = itemset_frame(spark, itemset_rows(freq, n))
    sets = [frozenset(s) for s in freq["itemsets"]]
    want_closed, want_maximal = brute_force_closed_maximal(groceries, sets, min_support * n)
    got_closed, got_maximal = closed_itemsets(df), maximal_itemsets(df)
    assert got_closed.schema == ITEMSETS and got_maximal.schema == ITEMSETS
    assert {frozenset(r["items"]) for r in got_closed.collect()} == want_closed
    assert {frozenset(r["items"]) for r in got_maximal.collect()} == want_maximal
    assert want_maximal < want_closed <= set(sets)  # groceries: every frequent set is closed


@pytest.mark.shared_data
def test_closed_and_maximal_match_brute_force_on_dense_mushroom(spark, shared_data):
    baskets = read_baskets(shared_data / "baskets" / "mushroom.dat")
    n, min_support = len(baskets), 0.4  # 565 itemsets, 140 closed, 41 maximal
    freq = frequent(baskets, min_support)
    df = itemset_frame(spark, itemset_rows(freq, n))
    sets = [frozenset(s) for s in freq["itemsets"]]
    want_closed, want_maximal = brute_force_closed_maximal(baskets, sets, min_support * n)
    assert {frozenset(r["items"]) for r in closed_itemsets(df).collect()} == want_closed
    assert {frozenset(r["items"]) for r in maximal_itemsets(df).collect()} == want_maximal
    assert want_maximal < want_closed < set(sets)  # dense: many sets share a superset's support
