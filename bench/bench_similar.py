"""Near-duplicate documents (Jaccard >= 0.8 of word 5-shingle sets), side by side, like for like.

Every tool answers the same question: the pairs of documents whose sets of word 5-shingles
(lowercase, split on whitespace, 5 consecutive words joined by one blank; a text of 1-4 words
is one shingle, the whole text; an empty text has none and pairs with nothing) have Jaccard
similarity >= ``THRESHOLD``. The exact answer is computed once at setup, untimed, and every
tool's summary gives its ``pairs``, and its ``recall`` and ``precision`` against it:

* ``ours-from-file`` (the headline): ``read_documents`` + ``find_similar`` (MinHash 128, the
  banding chosen from the threshold, exact verification) to the verified pairs collected on
  the driver; ``ours``: the same from documents read and cached before the clock starts.
* ``mllib-<N>-from-file`` / ``mllib-<N>``, ``N`` = 5 and 20 hash tables: the same documents
  (from our reader, then the same cache) through ``RegexTokenizer`` (lowercase, split on
  runs of ``(?U)\\s`` and U+001C-U+001F, ``str.split``'s whitespace), ``NGram(n=5)``, texts of
  1-4 words given the whole text as their one shingle (``NGram`` yields nothing for them:
  ``when(size(tokens) < 5, array(concat_ws(' ', tokens)))``), ``HashingTF(binary, 2^30
  features)`` (``MinHashLSH`` rejects a dimension above its prime 2,038,074,743, and all-zero
  vectors, so empty texts are dropped), ``MinHashLSH(numHashTables=N)`` and
  ``approxSimilarityJoin`` on the cached hashed frame (``doc_id`` and vectors only: the join's
  ``distinct`` runs over whole rows), pairs with ``a < b`` collected. The join keeps
  ``dist < t`` with ``dist = 1 - J``: ``t = 1 - 0.8`` (0.19999999999999996) would drop every
  pair at exactly 0.8 (21 of the 2,290 of near-100k), so ``t`` is the next double above it,
  and ``dist < t`` is ``J >= 0.8``. Its Jaccard is over hashed features: a collision of two
  shingles in 2^30 buckets may admit a pair (precision) or drop one (recall), rarely. ``MinHashLSH``
  ORs ``N`` single MinHash functions (one row per band), so it finds nearly every pair at 0.8
  and pays in candidates: any pair sharing a shingle is one with probability about
  ``1 - (1 - J)^N``.
* ``datasketch``: one Python process, ``MinHash(num_perm=128)`` per document over the same
  shingle strings (UTF-8; ``MinHash.generator``'s ``copy`` + ``update_batch``), each queried in
  ``MinHashLSH(threshold=0.8, num_perm=128)`` before it is inserted (every candidate pair once),
  candidates verified by exact Jaccard of the shingle sets (recomputed for the candidates:
  keeping every set would not fit at 1M documents). datasketch's own banding for 0.8 is 9 bands
  of 13 rows, which finds a pair at exactly 0.8 with probability 0.40: its recall is that
  choice. From the file, parsed in plain Python as our reader does (lines layout:
  ``label<TAB>text`` or ``id<TAB>text``; csv: ``csv.DictReader``, the first record of each
  id), checked at setup to give the reader's documents (the synthetic corpora: its document
  count); Reuters-21578 is SGML: there it gets the documents collected from our reader before
  the clock starts.
* ``exact``: the oracle, brute force over all pairs: plain-Python shingle strings and a scipy
  sparse ``A Aᵀ`` (a copy of ``tests/similar_oracles.py``'s ``exact_pairs``, word kind only),
  from the file as ``datasketch``. Omitted at 1M documents (its Python sets would need tens of
  GB).

Truth: the oracle for the real corpora; for the synthetic ones
(:mod:`bench.near_duplicates`), the same ``A Aᵀ`` in numpy over the 5-grams of the
generator's word ids (checked equal to the oracle on 20,000 documents), cached beside the file.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import BenchContext, Tools, benchmark, isolated
from bench.near_duplicates import SIZES, near_duplicates_file, near_pairs

THRESHOLD = 0.8
K = 5
NUM_PERM = 128
TABLES = (5, 20)
HASHING_FEATURES = 2**30
PYTHON_EXACT_MAX = 200_000  # documents: past this the oracle's sets do not fit in memory
# str.split's whitespace in Java: Unicode White_Space, plus the separators U+001C-U+001F
SPLIT_PATTERN = r"(?U)[\s\x1c-\x1f]+"

Pairs = dict[tuple[str, str], float]
Docs = tuple[list[str], list[str]]  # doc ids, texts


# ---------------------------------------------------------------- the oracle (plain Python)

def word_shingles(text: str) -> set[str]:
    """Word ``K``-shingles of ``text``: lowercase, whitespace-split, the whole text if short."""
    units = text.lower().split()
    if 0 < len(units) < K:
        return {" ".join(units)}
    return {" ".join(units[i:i + K]) for i in range(len(units) - K + 1)}


def exact_pairs(doc_ids: list[str], texts: list[str], *, threshold: float) -> Pairs:
    """``{(a, b): jaccard}`` for every pair ``a < b`` with Jaccard >= threshold (non-empty).

    The oracle of ``tests/similar_oracles.py`` (word kind): shingle strings, a sparse
    incidence matrix ``A`` and the intersections ``A Aᵀ``.
    """
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for s in word_shingles(text):
            rows.append(i)
            cols.append(vocab.setdefault(s, len(vocab)))
    a = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)),
                      shape=(len(texts), len(vocab)))
    sizes = np.asarray(a.sum(axis=1)).ravel()
    common = sp.triu(a @ a.T, k=1).tocoo()
    jac = common.data / (sizes[common.row] + sizes[common.col] - common.data)
    out = {}
    for i, j, v in zip(common.row.tolist(), common.col.tolist(), jac.tolist()):
        if v >= threshold:
            x, y = sorted((doc_ids[i], doc_ids[j]))
            out[(x, y)] = v
    return out


def score(found: set[tuple[str, str]], truth: Pairs) -> dict[str, Any]:
    """What a tool's summary records: its pair count, recall and precision against the truth."""
    hit = len(found & truth.keys())
    return {"pairs": len(found),
            "recall": round(hit / len(truth), 4) if truth else 1.0,
            "precision": round(hit / len(found), 4) if found else 1.0}


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


# ---------------------------------------------------------------- plain-Python readers

def _lines_docs(path: Path, *, id_first: bool) -> Docs:
    """The lines layout, tab-separated: ``id<TAB>text`` (``id_first``) or ``label<TAB>text``
    (doc id = the 1-based line number); blank lines skipped, as ``read_documents`` does."""
    ids, texts = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw[:-2] if raw.endswith("\r\n") else raw.rstrip("\r\n")
            if not line.strip():
                continue
            head, text = line.split("\t", 1)
            ids.append(head.strip() if id_first else str(number))
            texts.append(text)
    return ids, texts


def _csv_docs(path: Path, id_column: str, text_column: str) -> Docs:
    """The csv layout: ``csv.DictReader``, the first record of each id."""
    seen: dict[str, str] = {}
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        for record in csv.DictReader(fh):
            seen.setdefault(record[id_column].strip(), record[text_column])
    return list(seen), list(seen.values())


# ---------------------------------------------------------------- single-process tools

def _datasketch(load: Callable[[], Docs], truth: Pairs) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from datasketch import MinHash, MinHashLSH

        ids, texts = load()
        lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        base = MinHash(num_perm=NUM_PERM)
        candidates: list[tuple[int, int]] = []
        for i, text in enumerate(texts):
            shingles = word_shingles(text)
            if not shingles:
                continue
            m = base.copy()  # what MinHash.generator does: one set of permutations for all
            m.update_batch([s.encode("utf-8") for s in shingles])
            candidates.extend((j, i) for j in lsh.query(m))
            lsh.insert(i, m)
        found: set[tuple[str, str]] = set()
        candidates.sort()
        last, first = -1, set[str]()
        for j, i in candidates:
            if j != last:
                last, first = j, word_shingles(texts[j])
            other = word_shingles(texts[i])
            common = len(first & other)
            if common / (len(first) + len(other) - common) >= THRESHOLD:
                found.add(_ordered(ids[i], ids[j]))
        return {**score(found, truth), "candidates": len(candidates)}

    return run


def _exact(load: Callable[[], Docs], truth: Pairs) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        ids, texts = load()
        return score(set(exact_pairs(ids, texts, threshold=THRESHOLD)), truth)

    return run


# ---------------------------------------------------------------- Spark tools

def _ours(docs: Any, truth: Pairs, strategy: str = "auto") -> dict[str, Any]:
    from mining.similar._lsh import find_similar

    result = find_similar(docs, threshold=THRESHOLD, num_perm=NUM_PERM,
                          strategy=strategy)  # type: ignore[arg-type]
    try:
        found = {_ordered(r.doc_a, r.doc_b)
                 for r in result.pairs.select("doc_a", "doc_b").collect()}
    finally:
        result.unpersist()
    return {**score(found, truth), "bands": result.choice.bands, "rows": result.choice.rows,
            "strategy": getattr(result, "strategy", None)}


def _mllib(docs: Any, tables: int, truth: Pairs) -> dict[str, Any]:
    from pyspark.ml.feature import HashingTF, MinHashLSH, NGram, RegexTokenizer
    from pyspark.sql import functions as F

    tokens = RegexTokenizer(inputCol="text", outputCol="tokens", pattern=SPLIT_PATTERN,
                            gaps=True, toLowercase=True).transform(docs.select("doc_id", "text"))
    grams = NGram(n=K, inputCol="tokens", outputCol="grams").transform(tokens)
    # NGram gives a text of 1-4 words no 5-gram; ours (and the oracle) shingle it whole
    short = F.size("tokens").between(1, K - 1)
    shingled = grams.select("doc_id", F.when(short, F.array(F.concat_ws(" ", "tokens")))
                            .otherwise(F.col("grams")).alias("shingles"))
    features = HashingTF(inputCol="shingles", outputCol="features", numFeatures=HASHING_FEATURES,
                         binary=True).transform(shingled.where(F.size("shingles") > 0))
    features = features.select("doc_id", "features")
    model = MinHashLSH(inputCol="features", outputCol="hashes", numHashTables=tables,
                       seed=1).fit(features)
    hashed = model.transform(features).cache()  # both sides of the self-join, computed once
    try:
        # keeps dist < t: the next double above 1 - THRESHOLD keeps J == THRESHOLD too
        limit = math.nextafter(1.0 - THRESHOLD, 1.0)
        joined = model.approxSimilarityJoin(hashed, hashed, limit, distCol="dist")
        pairs = joined.select(F.col("datasetA.doc_id").alias("a"),
                              F.col("datasetB.doc_id").alias("b")).where(F.col("a") < F.col("b"))
        found = {(r.a, r.b) for r in pairs.collect()}
    finally:
        hashed.unpersist()
    return score(found, truth)


# ---------------------------------------------------------------- benchmarks

def _tools(ctx: BenchContext, path: Path, read_kwargs: dict[str, Any], *,
           py_load: Callable[[], Docs] | None, truth: Pairs | None = None,
           expect_docs: int | None = None, python_exact: bool = True) -> Tools:
    """The tools for one corpus. ``py_load``: a plain-Python reader of the file (checked
    here against ours), or ``None`` to hand the Python tools our reader's documents."""
    from mining.io.readers import read_documents

    spark = ctx.spark

    def read() -> Any:
        return read_documents(spark, str(path), **read_kwargs).data

    cached = read().cache()
    n_docs = cached.count()
    if expect_docs is not None and n_docs != expect_docs:
        raise AssertionError(f"{path.name}: the reader gives {n_docs} documents, "
                             f"not {expect_docs}")
    if py_load is None or truth is None:
        rows = cached.select("doc_id", "text").collect()
        collected = ([r.doc_id for r in rows], [r.text for r in rows])
        if py_load is not None:
            got = dict(zip(*py_load()))
            if got != dict(zip(*collected)):
                raise AssertionError(f"{path.name}: the plain-Python reader does not give the "
                                     f"reader's {n_docs} documents ({len(got)} read)")
        if truth is None:
            truth = exact_pairs(*collected, threshold=THRESHOLD)
        load = py_load or (lambda: collected)
        del rows
    else:
        load = py_load
    exact = truth

    tools: dict[str, Any] = {
        "ours-from-file": lambda: _ours(read(), exact),
        **{f"mllib-{n}-from-file": (lambda n=n: _mllib(read(), n, exact)) for n in TABLES},
        "ours": lambda: _ours(cached, exact),
        "ours-distributed": lambda: _ours(cached, exact, "distributed"),
        "ours-one-task": lambda: _ours(cached, exact, "one_task"),
        **{f"mllib-{n}": (lambda n=n: _mllib(cached, n, exact)) for n in TABLES},
        "datasketch": isolated(_datasketch(load, exact)),
    }
    if python_exact:
        tools["exact"] = isolated(_exact(load, exact))
    return tools


@benchmark("similar-reuters", ours="ours-from-file",
           description="near-duplicate Reuters-21578 bodies (19,043), word 5-shingles, J >= 0.8")
def similar_reuters(ctx: BenchContext) -> Tools:
    """Reuters-21578 bodies; the Python tools get our reader's documents (the file is SGML)."""
    ctx.shared_file("text/reuters21578/reut2-000.sgm.gz")  # skipped when absent
    return _tools(ctx, ctx.data_dir / "text/reuters21578", {"layout": "reuters"}, py_load=None)


@benchmark("similar-sms", ours="ours-from-file",
           description="near-duplicate SMS Spam Collection messages (5,574), word 5-shingles, "
                       "J >= 0.8")
def similar_sms(ctx: BenchContext) -> Tools:
    """SMS Spam Collection, ``label<TAB>text``, doc id the line number."""
    path = ctx.shared_file("text/SMSSpamCollection")
    return _tools(ctx, path, {"layout": "lines", "label_column": 0},
                  py_load=lambda: _lines_docs(path, id_first=False))


@benchmark("similar-tweets", ours="ours-from-file",
           description="near-duplicate airline tweets (14,485 ids), word 5-shingles, J >= 0.8")
def similar_tweets(ctx: BenchContext) -> Tools:
    """Twitter US Airline Sentiment, CSV, one document per ``tweet_id`` (the first)."""
    path = ctx.shared_file("text/Tweets.csv.gz")
    return _tools(ctx, path, {"layout": "csv", "id_column": "tweet_id", "text_column": "text"},
                  py_load=lambda: _csv_docs(path, "tweet_id", "text"))


def _register_near(name: str, n: int) -> None:
    @benchmark(f"similar-{name}", ours="ours-from-file",
               description=f"near duplicates among {n:,} synthetic Zipf texts (5% edited "
                           f"copies), word 5-shingles, J >= 0.8")
    def setup(ctx: BenchContext) -> Tools:
        path = near_duplicates_file(n)
        truth = near_pairs(n, threshold=THRESHOLD)
        return _tools(ctx, path, {"layout": "lines", "id_column": 0},
                      py_load=lambda: _lines_docs(path, id_first=True), truth=truth,
                      expect_docs=n, python_exact=n <= PYTHON_EXACT_MAX)


for _name, _n in SIZES.items():
    _register_near(_name, _n)
