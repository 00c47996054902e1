"""find_similar against brute-force exact Jaccard on real corpora, and its guarantees.

The oracle (tests/similar_oracles.py) shingles in plain Python and computes every pair's
Jaccard similarity with a scipy ``A Aᵀ``; the library's defaults choose the banding (nothing is
tuned here).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom
from similar_oracles import exact_pairs

from mining.io.readers import read_documents
from mining.similar import Shingling, candidate_probability, find_similar

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def reuters(spark, shared_data):
    """Reuters-21578 bodies (cached) and the oracle's pairs at J >= 0.5, once per module."""
    docs = read_documents(spark, shared_data / "text" / "reuters21578", layout="reuters").data
    docs = docs.cache()
    local = docs.toPandas()
    oracle = exact_pairs(local.doc_id.tolist(), local.text.tolist(), threshold=0.5)
    yield docs, oracle
    docs.unpersist()


@pytest.fixture(scope="module")
def sms(spark, shared_data):
    docs = read_documents(spark, shared_data / "text" / "SMSSpamCollection", layout="lines",
                          label_column=0).data.cache()
    local = docs.toPandas()
    oracle = exact_pairs(local.doc_id.tolist(), local.text.tolist(), threshold=0.5)
    yield docs, oracle
    docs.unpersist()


def _check(res, oracle: dict, threshold: float) -> float:
    """Precision 1.0 and the oracle's similarities to 1e-12; returns the recall."""
    truth = {p: j for p, j in oracle.items() if j >= threshold}
    got = {(r.doc_a, r.doc_b): r.jaccard for r in res.pairs.collect()}
    assert set(got) <= set(truth), f"pairs below the threshold: {sorted(set(got) - set(truth))[:5]}"
    assert all(abs(got[p] - truth[p]) <= 1e-12 for p in got)
    assert all(a < b for a, b in got)
    return len(got) / len(truth)


@pytest.mark.shared_data
@pytest.mark.parametrize("threshold", [0.8, 0.5])
def test_reuters_recall_with_the_default_banding(reuters, threshold):
    docs, oracle = reuters
    res = find_similar(docs, threshold=threshold)
    try:
        assert res.strategy == "one_task"  # 8 MB of gzip, counted 4x: under ONE_TASK_BYTES
        recall = _check(res, oracle, threshold)
        assert recall >= 0.99, (recall, res.choice)
    finally:
        res.unpersist()


@pytest.mark.shared_data
@pytest.mark.parametrize("strategy", ["one_task", "distributed"])
def test_sms_both_strategies_equal_the_oracle(sms, strategy):
    docs, oracle = sms
    res = find_similar(docs, threshold=0.8, strategy=strategy)
    try:
        assert _check(res, oracle, 0.8) >= 0.99
        cands = res.candidates.collect()
        # every candidate carries its exact similarity; the similar pairs are those >= 0.8
        assert sum(c.jaccard >= 0.8 for c in cands) == res.pairs.count()
        assert all(1 <= c.band_hits <= res.choice.bands for c in cands)
        assert all(abs(c.estimated_jaccard - c.jaccard) <= 0.5 for c in cands)
    finally:
        res.unpersist()


def _corpus(n_pairs: dict[float, int], seed: int = 7) -> list[tuple[str, str]]:
    """Pairs of texts of distinct words whose word 1-shingle sets have Jaccard exactly ``s``."""
    rng = np.random.default_rng(seed)
    docs, word = [], 0
    for s, count in n_pairs.items():
        for i in range(count):
            union = 40
            common = round(s * union)
            left = (union - common) // 2
            words = [f"w{word + j}" for j in range(union)]
            word += union
            shared, a_only, b_only = words[:common], words[common:common + left], \
                words[common + left:]
            a, b = shared + a_only, shared + b_only
            rng.shuffle(a)
            rng.shuffle(b)
            docs += [(f"s{s}-{i}-a", " ".join(a)), (f"s{s}-{i}-b", " ".join(b))]
    return docs


def test_candidate_probability_follows_the_s_curve(spark):
    levels = {0.5: 150, 0.6: 150, 0.7: 150, 0.8: 150}  # exact: 20/40, 24/40, 28/40, 32/40
    docs = spark.createDataFrame(_corpus(levels), "doc_id string, text string")
    res = find_similar(docs, threshold=0.7, shingling=Shingling(k=1, kind="word"), bands=8,
                       rows=4, num_perm=32, strategy="distributed")
    try:
        found = {(r.doc_a, r.doc_b) for r in res.candidates.collect()}
    finally:
        res.unpersist()
    for s, count in levels.items():
        hits = sum((f"s{s}-{i}-a", f"s{s}-{i}-b") in found for i in range(count))
        p = float(candidate_probability(s, bands=8, rows=4))
        # two-sided binomial test at 0.1% per level (independent pairs: disjoint shingles)
        low, high = binom.ppf(0.0005, count, p), binom.ppf(0.9995, count, p)
        assert low <= hits <= high, (s, hits, count * p)


@pytest.mark.connect
def test_signatures_do_not_depend_on_partitioning(spark):
    rows = [(f"d{i}", " ".join(f"t{(i * 7 + j) % 50}" for j in range(i % 13)))
            for i in range(120)]
    base = spark.createDataFrame(rows, "doc_id string, text string")
    seen = []
    for parts in (1, 3, 8):
        res = find_similar(base.repartition(parts), threshold=0.5,
                           shingling=Shingling(k=2, kind="word"), strategy="distributed")
        seen.append(sorted((r.doc_id, bytes(r.signature), r.empty)
                           for r in res.signatures.collect()))
        res.unpersist()
    assert seen[0] == seen[1] == seen[2]
    # the empty text has no shingles: flagged, its signature all 0xFF
    empty = next(s for s in seen[0] if s[0] == "d0")
    assert empty[2] and set(empty[1]) == {0xFF}


@pytest.mark.connect
def test_empty_documents_are_flagged_never_paired(spark):
    rows = [("e1", ""), ("e2", "   "), ("a", "one two three four five six"),
            ("b", "one two three four five six"), ("c", "seven eight")]
    docs = spark.createDataFrame(rows, "doc_id string, text string")
    for strategy in ("one_task", "distributed"):
        res = find_similar(docs, threshold=0.8, strategy=strategy)
        try:
            flags = {r.doc_id: (r.empty, r.n_shingles) for r in res.signatures.collect()}
            assert flags["e1"] == (True, 0) and flags["e2"] == (True, 0)
            assert flags["c"] == (False, 1)  # shorter than k words: the whole text
            assert [(r.doc_a, r.doc_b, r.jaccard) for r in res.pairs.collect()] == \
                [("a", "b", 1.0)]
        finally:
            res.unpersist()


@pytest.mark.parametrize("strategy", ["one_task", "distributed"])
def test_oversized_buckets_are_reported_not_expanded(spark, strategy):
    same = "the quick brown fox jumps over the lazy dog again and again"
    rows = [(f"x{i:02d}", same) for i in range(30)] + [("y1", "a b c d e f"), ("y2", "a b c d e f")]
    docs = spark.createDataFrame(rows, "doc_id string, text string")
    res = find_similar(docs, threshold=0.8, max_bucket=10, strategy=strategy)
    try:
        over = res.oversized.collect()
        assert len(over) == res.choice.bands and {r.size for r in over} == {30}
        assert [(r.doc_a, r.doc_b) for r in res.pairs.collect()] == [("y1", "y2")]
    finally:
        res.unpersist()


def test_bad_options_are_one_line_errors(spark):
    docs = spark.createDataFrame([("a", "x")], "doc_id string, text string")
    for kwargs, message in [({"threshold": 1.0}, "threshold must be in (0, 1)"),
                            ({"bands": 4}, "give both bands and rows"),
                            ({"bands": 64, "rows": 4}, "need 256 hash functions"),
                            ({"max_bucket": 1}, "max_bucket must be"),
                            ({"strategy": "fast"}, "strategy must be")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            find_similar(docs, **kwargs)


@pytest.mark.connect
def test_query_mode_finds_stored_near_duplicates(spark):
    from mining.similar import IndexParams, index_params, query_similar

    words = [f"w{i}" for i in range(60)]
    stored = [(f"s{i}", " ".join(words[i:i + 20])) for i in range(30)]
    docs = spark.createDataFrame(stored, "doc_id string, text string")
    res = find_similar(docs, threshold=0.7, shingling=Shingling(k=2, kind="word"))
    try:
        params = IndexParams(res.shingling, res.num_perm, res.seed, res.choice.bands,
                             res.choice.rows, res.threshold)
        again = index_params(params.frame(spark))  # the stored parameters read back
        assert again == params
        asked = spark.createDataFrame([("q1", " ".join(words[5:25])), ("q2", "nothing alike"),
                                       ("q3", " ".join(words[5:24]))], "doc_id string, text string")
        got = {(r.query_id, r.doc_id): r.jaccard
               for r in query_similar(asked, res.sketches, params=again).collect()}
    finally:
        res.unpersist()
    # word 2-shingles of a window of words: the window's starting positions
    def jaccard(a: set[int], b: set[int]) -> float:
        return len(a & b) / len(a | b)

    expect = {(q, f"s{i}"): jaccard(starts, set(range(i, i + 19)))
              for q, starts in (("q1", set(range(5, 24))), ("q3", set(range(5, 23))))
              for i in range(30)}
    expect = {k: v for k, v in expect.items() if v >= 0.7}
    assert set(got) <= set(expect) and len(got) >= len(expect) - 1
    assert all(abs(got[k] - expect[k]) <= 1e-12 for k in got)
