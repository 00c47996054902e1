"""PCY, multistage and multihash (MMDS §6.3): A-Priori's pair pass behind hash-table filters.

Pass 1 counts the items and N, as A-Priori's does, and in the memory that pass leaves idle
hashes every pair of every basket into bucket counts (one table for PCY and multistage,
``tables`` smaller ones with independent hash functions for multihash). A bucket whose count
reaches the threshold is frequent; the tables become bitmaps (1 bit per bucket). Pass 2
counts only the pairs ``{i, j}`` of frequent items whose buckets are all frequent; multistage
first spends a pass rehashing those pairs into a second table (§6.3.2), whose bitmap the
counting pass needs too. Sizes k >= 3 are A-Priori's passes (:func:`count_higher_levels`).

Pass records (``ITEMSET_PASSES``): pass 1 has ``candidates`` = distinct items, ``frequent``
= frequent items, ``buckets`` = B (all tables), ``frequent_buckets_fraction``,
``bitmap_bytes`` = B/8 per table and ``memory_bytes`` = a task's 4 B x B counts; the
multistage rehash pass (size 2) has ``candidates`` = the pairs it hashes, ``frequent`` =
those in a frequent bucket of both tables, its second table's B, fraction and bitmap, and
``memory_bytes`` = its counts plus the first bitmap; the counting pass has ``candidates`` =
the pairs left by the bitmaps, ``frequent`` = the frequent pairs, ``memory_bytes`` = 12 B
per candidate (the book's triples) and no bucket fields.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining._frames import one_row
from mining.errors import InputError
from mining.itemsets._buckets import (
    Filter,
    bitmap,
    count_pairs,
    in_frequent_buckets,
    item_keys,
    pass1_kernel,
    rehash_kernel,
)
from mining.itemsets._encode import encode_baskets
from mining.itemsets._result import ItemsetsResult, Levels, itemsets_frame, pass_row
from mining.itemsets._support import check_max_size, check_min_support, count_threshold
from mining.itemsets._tallies import (
    BASKETS_ROW,
    DISTINCT_ROW,
    ITEM_ROW,
    assemble,
    sum_tallies,
)
from mining.itemsets.apriori import count_higher_levels

log = logging.getLogger(__name__)

__all__ = ["MAX_BUCKETS", "run_multihash", "run_multistage", "run_pcy"]

MAX_BUCKETS = 2**23  # one task's bucket counts: 4 B x 2^23 = 32 MiB
_BUCKETS_PER_PAIR = 2  # default B = 2 x pair occurrences: the mean bucket count is <= 1/2
_MAX_TASKS = 64
_LIMIT_BUCKETS = 2**31 - 1  # 8 GiB of counts per task; the bucket reduction needs < 2^32


def run_pcy(baskets: DataFrame, *, min_support: float, max_size: int | None = None,
            buckets: int | None = None) -> ItemsetsResult:
    """PCY (MMDS §6.3.1): pass 1 also hashes every pair into buckets; pass 2 needs its bitmap.

    Parameters
    ----------
    baskets
        ``BASKETS`` rows: ``items`` (array<string>; duplicates count once, empty baskets count
        in N). Other columns are ignored.
    min_support
        A fraction of the baskets in (0, 1) (as mlxtend: ``count / N >= min_support``) or a
        basket count >= 2.
    max_size
        Largest itemset size; ``None``: until a pass finds nothing.
    buckets
        Hash-table buckets B (int32 counts, ``4 B`` bytes per task). ``None``: from memory,
        ``B = min(2^23, 2 x P)`` with P the pair occurrences of the baskets (one aggregate
        job): at most 32 MiB per task, and no larger than keeps the mean bucket count <= 1/2,
        so small inputs do not pay for a huge array (and at least one bucket per table).

    Returns
    -------
    ItemsetsResult
        ``itemsets`` (``ITEMSETS``), ``passes`` (``ITEMSET_PASSES`` fields, see the module
        notes), ``n_baskets``, ``threshold``, ``algorithm`` ``"pcy"`` and ``reason``.

    Raises
    ------
    InputError
        Invalid ``min_support``, ``max_size`` or ``buckets`` (one line).

    Notes
    -----
    Pass 1 is one Spark job, one pass over the baskets as in the book: the JVM hashes the
    items (``xxhash64``), a ``mapInArrow`` kernel per task counts the items and N and adds
    every pair's bucket hit to its table, and a grouped Arrow sum per slice of the table
    (and per shard of the items) merges the tasks, so the driver receives ``4 B`` bytes once,
    not once per task. (``count_items`` plus a separate bucket job measured the same on
    groceries, retail and T10I4D100K, 1.3-2.9 s either way, with one more job.) The driver
    makes the bitmap and lists the candidate pairs from the frequent items' hashes: both
    items frequent, the pair's bucket frequent (``m(m-1)/2`` hash evaluations for ``m``
    frequent items, in blocks). Pass 2, one job over the baskets encoded as frequent-item ids
    (cached), counts only those pairs, each task holding the sorted candidate keys and their
    counts (12 B per pair, the book's triples: a triangular array could not skip the
    eliminated pairs); the driver sums the tasks' counts. ``baskets`` is read once: its
    distinct items and their hashes are cached for the bucket sizing (when ``buckets`` is
    ``None``), pass 1 and the encoding. DataFrame and Arrow calls only (Spark Connect).

    Examples
    --------
    >>> res = run_pcy(baskets, min_support=0.01)  # doctest: +SKIP
    >>> [p["candidates"] for p in res.passes]  # doctest: +SKIP
    """
    return _run(baskets, "pcy", min_support, max_size, buckets, 1)


def run_multistage(baskets: DataFrame, *, min_support: float, max_size: int | None = None,
                   buckets: int | None = None) -> ItemsetsResult:
    """Multistage (MMDS §6.3.2): PCY with a rehash pass into a second table before counting.

    Parameters, returns and errors are those of :func:`run_pcy` (``algorithm``
    ``"multistage"``, one more pass record of size 2); ``buckets`` is the first table's B,
    the second gets the memory the first bitmap leaves, ``B - ceil(B / 32)`` buckets.

    Notes
    -----
    Pass 1 is PCY's. Pass 2, one job over the encoded baskets, hashes with an independent
    function only the pairs of frequent items whose first-table bucket is frequent (each task
    holds the items' keys, the first bitmap and the second table), summed in Spark per slice
    as in pass 1. The counting pass counts the pairs in a frequent bucket of both tables:
    one more pass than PCY for fewer candidates.

    Examples
    --------
    >>> run_multistage(baskets, min_support=0.01).passes[1]  # doctest: +SKIP
    """
    return _run(baskets, "multistage", min_support, max_size, buckets, 1)


def run_multihash(baskets: DataFrame, *, min_support: float, max_size: int | None = None,
                  buckets: int | None = None, tables: int = 2) -> ItemsetsResult:
    """Multihash (MMDS §6.3.3): pass 1 splits its bucket memory over independent tables.

    Parameters, returns and errors as :func:`run_pcy` (``algorithm`` ``"multihash"``), and:
    ``buckets`` counts all tables together (at least ``tables``; the default as PCY's), each
    table getting ``buckets // tables``; ``tables`` is the number of hash tables (independent
    functions), an integer >= 1 (1 is PCY). Fewer buckets than tables is an ``InputError``.

    Notes
    -----
    As PCY with every pair hashed into each table in pass 1; a candidate pair must be in a
    frequent bucket of every table. It pays while ``B / tables`` buckets keep the mean
    bucket count well below the threshold.

    Examples
    --------
    >>> run_multihash(baskets, min_support=0.01, tables=3).passes[0]  # doctest: +SKIP
    """
    return _run(baskets, "multihash", min_support, max_size, buckets, tables)


@dataclass
class _FirstPass:
    items: list[str]
    counts: np.ndarray
    hashes: np.ndarray  # the frequent items' xxhash64, aligned with items
    n_baskets: int
    distinct: int
    threshold: int
    buckets: np.ndarray  # int32 counts of every table, table t at t * (len // tables)


def _check(buckets: Any, tables: Any) -> None:
    if isinstance(tables, bool) or not isinstance(tables, int) or tables < 1:
        raise InputError(f"tables must be an integer >= 1, got {tables!r}")
    if buckets is None:
        return
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not \
            1 <= buckets <= _LIMIT_BUCKETS:
        raise InputError(f"buckets must be an integer in [1, {_LIMIT_BUCKETS}] or None, "
                         f"got {buckets!r}")
    if buckets < tables:
        raise InputError(f"buckets ({buckets}) must be at least tables ({tables})")


def _run(baskets: DataFrame, algorithm: str, min_support: float, max_size: int | None,
         buckets: int | None, tables: int) -> ItemsetsResult:
    keep_min = check_min_support(min_support) or 2
    limit = check_max_size(max_size)
    _check(buckets, tables)
    t0 = time.perf_counter()
    # cached: the bucket sizing, pass 1 and the encoding read it, the input is read once
    hashed = _hashed_items(baskets).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _passes(hashed, algorithm, min_support, keep_min, limit, buckets, tables, t0)
    finally:
        hashed.unpersist()


def _passes(hashed: DataFrame, algorithm: str, min_support: float, keep_min: int, limit: int,
            buckets: int | None, tables: int, t0: float) -> ItemsetsResult:
    """Pass 1 (items and buckets), the pair pass(es) and A-Priori's passes k >= 3."""
    spark = hashed.sparkSession
    tasks = min(int(spark.conf.get("spark.sql.shuffle.partitions") or 4), _MAX_TASKS)
    # max_size=1: no pair will be counted, so pass 1 hashes none
    n_buckets, rule = _bucket_count(hashed, buckets, tables) if limit >= 2 else (0, "")
    first = _pass1(hashed, min_support, keep_min, n_buckets // tables, tables, tasks)
    m, per_table, n_total = len(first.items), n_buckets // tables, len(first.buckets)
    filters = [(t, bitmap(first.buckets[t * per_table:(t + 1) * per_table], first.threshold),
                per_table) for t in range(tables if n_total else 0)]
    frequent = int((first.buckets >= first.threshold).sum())
    passes = [pass_row(1, algorithm, 1, first.distinct, m, 4 * n_total,
                       time.perf_counter() - t0, **_bucket_fields(n_total, frequent, filters))]
    log.info("%s pass 1: %d baskets, %d of %d items frequent (threshold %d), %d of %d buckets "
             "frequent", algorithm, first.n_baskets, m, first.distinct, first.threshold,
             frequent, n_total)
    levels = [(np.arange(m, dtype=np.int32).reshape(-1, 1), first.counts)]
    reason = f"{algorithm}: no pair counted"
    if limit >= 2 and m >= 2:
        encoded = encode_baskets(hashed, first.items, partitions=tasks).cache()
        try:
            detail, max_length = _pair_passes(encoded, algorithm, first, filters, passes,
                                              levels)
            reason = (f"{algorithm}: {n_total} buckets in {tables} table(s) in pass 1 "
                      f"({rule}); {detail}")
            count_higher_levels(encoded, m, first.threshold, limit, max_length, levels, passes,
                                algorithm)
        finally:
            encoded.unpersist()
    itemsets = itemsets_frame(spark, levels, first.items, first.n_baskets)
    return ItemsetsResult(itemsets, passes, first.n_baskets, first.threshold, algorithm, reason)


def _hashed_items(baskets: DataFrame) -> DataFrame:
    """Distinct non-null items per basket and their ``xxhash64`` (stable on every executor)."""
    items = F.coalesce(F.array_compact(F.array_distinct(F.col("items"))),
                       F.array().cast("array<string>"))
    return (baskets.select(items.alias("items"))
            # a one-argument lambda: transform reads the arity (x or x, i) from its signature
            .select("items", F.transform("items", lambda x: F.xxhash64(x))  # noqa: PLW0108
                    .alias("hashes")))


def _bucket_count(hashed: DataFrame, buckets: int | None, tables: int) -> tuple[int, str]:
    """B and the rule that gave it (the default costs one aggregate job in the JVM)."""
    if buckets is not None:
        return buckets, "given"
    size = F.size("items").cast("long")
    row = one_row(hashed.select(F.sum(size * (size - 1) / 2).cast("long").alias("p")))
    pairs = int(row["p"] or 0) if row is not None else 0
    n = max(tables, min(MAX_BUCKETS, _BUCKETS_PER_PAIR * pairs))
    return n, f"min(2^23 for 32 MiB per task, 2 x {pairs} pair occurrences)"


def _pass1(hashed: DataFrame, min_support: float, keep_min: int, per_table: int,
           tables: int, tasks: int) -> _FirstPass:
    """Pass 1: items, N and the bucket counts of every table, from one Spark job."""
    total = per_table * tables
    merged = sum_tallies(hashed, pass1_kernel(tables, per_table, tasks), total, keep_min)
    kind = merged.column("kind").to_numpy()
    count = merged.column("count").to_numpy()
    n_baskets = int(count[kind == BASKETS_ROW].sum())
    threshold = count_threshold(min_support, n_baskets)
    frequent = merged.filter(pc.and_(pc.equal(merged.column("kind"), ITEM_ROW),
                                     pc.greater_equal(merged.column("count"), threshold)))
    names = frequent.column("item").to_pylist()
    # string order = code-point order, as count_items numbers the items
    order = np.array(sorted(range(len(names)), key=names.__getitem__), np.int64)
    return _FirstPass([names[i] for i in order],
                      frequent.column("count").to_numpy()[order].astype(np.int64),
                      frequent.column("hash").to_numpy()[order].astype(np.int64), n_baskets,
                      int(count[kind == DISTINCT_ROW].sum()), threshold,
                      assemble(merged, total))


def _bucket_fields(n_buckets: int, frequent: int, filters: list[Filter]) -> dict[str, Any]:
    if not n_buckets:
        return {}
    return {"buckets": n_buckets, "frequent_buckets_fraction": frequent / n_buckets,
            "bitmap_bytes": sum(len(bits) for _, bits, _ in filters)}


def _pair_passes(encoded: DataFrame, algorithm: str, first: _FirstPass,
                 filters: list[Filter], passes: list[dict[str, Any]],
                 levels: Levels) -> tuple[str, int]:
    """Multistage's rehash pass, then the counting pass; the reason and the longest basket."""
    m = len(first.items)
    t0 = time.perf_counter()
    cands = in_frequent_buckets(m, first.hashes, filters)
    rehashed = ""
    if algorithm == "multistage":
        _, bits1, buckets1 = filters[0]
        buckets2 = max(1, buckets1 - -(-buckets1 // 32))  # the memory bitmap 1 leaves
        kernel = rehash_kernel(item_keys(first.hashes, 0), item_keys(first.hashes, 1), bits1,
                               buckets1, buckets2)
        counts2 = (assemble(sum_tallies(encoded, kernel, buckets2, 2), buckets2) if len(cands)
                   else np.zeros(buckets2, np.int32))  # nothing to rehash: no job
        second = (1, bitmap(counts2, first.threshold), buckets2)
        hashed, cands = len(cands), in_frequent_buckets(m, first.hashes, [second], cands)
        frequent = int((counts2 >= first.threshold).sum())
        passes.append(pass_row(2, algorithm, 2, hashed, len(cands), 4 * buckets2 + len(bits1),
                               time.perf_counter() - t0,
                               **_bucket_fields(buckets2, frequent, [second])))
        log.info("%s pass 2: %d pairs rehashed, %d of %d buckets frequent, %d pairs left",
                 algorithm, hashed, frequent, buckets2, len(cands))
        rehashed = f"{hashed} pairs rehashed into {buckets2} buckets in pass 2; "
        t0 = time.perf_counter()
    pairs, counts, max_length, shipped = count_pairs(encoded, m, cands, first.threshold)
    passes.append(pass_row(len(passes) + 1, algorithm, 2, len(cands), len(pairs),
                           12 * len(cands), time.perf_counter() - t0))
    levels.append((pairs, counts))
    possible = m * (m - 1) // 2
    log.info("%s pass %d: %d of %d candidate pairs frequent (%d pairs of frequent items)",
             algorithm, len(passes), len(pairs), len(cands), possible)
    return (f"{rehashed}{len(cands)} of {possible} pairs of frequent items in frequent "
            f"buckets, counted as triples (12 B per candidate; shipped as {shipped})",
            max_length)
