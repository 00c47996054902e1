"""A-Priori (MMDS §6.2): frequent itemsets of every size, one pass over the baskets per size."""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import numpy as np
from pyspark.sql import DataFrame

from mining.errors import InputError
from mining.itemsets._candidates import (
    COUNTS,
    candidates,
    count_candidates_kernel,
    sum_counts,
)
from mining.itemsets._encode import FrequentItems, count_items, encode_frequent
from mining.itemsets._pairs import PARTIALS, count_pairs_kernel, merge_pairs
from mining.itemsets._result import ItemsetsResult, Levels, itemsets_frame, pass_row
from mining.itemsets._support import check_min_support

log = logging.getLogger(__name__)

__all__ = ["ItemsetsResult", "count_higher_levels", "frequent_itemsets", "run_apriori"]

PairCounting = Literal["auto", "triangular", "triples"]
_MAX_TASKS = 64


def frequent_itemsets(
    baskets: DataFrame, *, min_support: float, max_size: int | None = None
) -> DataFrame:
    """Frequent itemsets of ``baskets`` by A-Priori (MMDS §6.2); see :func:`run_apriori`.

    Parameters
    ----------
    baskets
        ``BASKETS`` rows (``items``: array<string>).
    min_support
        A fraction of the baskets in (0, 1) or a basket count >= 2.
    max_size
        Largest itemset size; ``None``: no limit.

    Returns
    -------
    DataFrame
        ``items`` (array<string>, sorted), ``size`` (int), ``support_count`` (long),
        ``support`` (double, ``support_count / N``), N counting empty baskets.

    Raises
    ------
    InputError
        Invalid ``min_support`` or ``max_size``.

    Examples
    --------
    >>> baskets.transform(frequent_itemsets, min_support=0.01).show()  # doctest: +SKIP
    """
    return run_apriori(baskets, min_support=min_support, max_size=max_size).itemsets


def run_apriori(
    baskets: DataFrame,
    *,
    min_support: float,
    max_size: int | None = None,
    pair_counting: PairCounting = "auto",
) -> ItemsetsResult:
    """A-Priori (MMDS §6.2) with the triangular-matrix / triples choice for pairs (§6.2.2).

    Parameters
    ----------
    baskets
        ``BASKETS`` rows: ``items`` (array<string>; duplicates count once). Other columns are
        ignored; every row is a basket, an empty one too.
    min_support
        A fraction of the baskets in (0, 1) (frequent when ``count / N >= min_support``, as
        mlxtend) or a basket count >= 2.
    max_size
        Largest itemset size (mlxtend's ``max_len``); ``None``: until a pass finds nothing.
    pair_counting
        ``"triangular"`` (4 bytes per possible pair), ``"triples"`` (12 bytes per occurring
        pair) or ``"auto"``: in each task, triangular when ``4 T <= 12 min(P, T)`` and
        ``4 T <= 256 MiB`` (``T`` possible pairs, ``P`` the task's pair occurrences).

    Returns
    -------
    ItemsetsResult
        ``itemsets`` (``ITEMSETS``), ``passes`` (``ITEMSET_PASSES`` fields), ``n_baskets``,
        ``threshold``, ``algorithm`` ``"apriori"`` and ``reason``.

    Raises
    ------
    InputError
        Invalid ``min_support`` (<= 0, 1, NaN, a non-integer >= 1, a count below 2 baskets),
        ``max_size`` or ``pair_counting``.

    Notes
    -----
    Pass 1 (§6.2.4): one Spark job counts items and N (explode + group-by); the frequent items
    get ids in string order and the baskets are encoded as sorted id arrays of their frequent
    items, packed a thousand per row and cached. Pass k >= 2: one Spark job, a numpy kernel
    per task (``mapInArrow``) whose partial counts (one row per task) the driver sums; pass 2
    counts all pairs of frequent items (§6.2.2), pass k >= 3 the candidates from join + prune
    (§6.2.5). The driver holds the frequent items, the candidate lists and the count arrays,
    as the book's main memory does. Stops when a pass finds nothing, at ``max_size``, or when
    no basket has k frequent items. DataFrame and Arrow calls only, so it runs over Spark
    Connect too.
    ``baskets`` is read once: pass 1 keeps it packed (per Arrow batch, its item dictionary
    and int32 ids) and cached until the encoding is built from it.

    Examples
    --------
    >>> res = run_apriori(baskets, min_support=0.01)  # doctest: +SKIP
    >>> res.itemsets.orderBy("support", ascending=False).show()  # doctest: +SKIP
    """
    check_min_support(min_support)
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                 or max_size < 1):
        raise InputError(f"max_size must be an integer >= 1 or None, got {max_size!r}")
    if pair_counting not in ("auto", "triangular", "triples"):
        raise InputError(f"unknown pair_counting {pair_counting!r}")
    spark = baskets.sparkSession
    limit = max_size if max_size is not None else 2**31 - 1
    t0 = time.perf_counter()
    single = count_items(baskets, min_support=min_support)
    m = len(single.items)
    levels = [(np.arange(m, dtype=np.int32).reshape(-1, 1), single.counts)]
    passes = [pass_row(1, "apriori", 1, single.distinct_items, m, None,
                       time.perf_counter() - t0)]
    log.info("apriori pass 1: %d baskets, %d of %d items frequent (threshold %d)",
             single.n_baskets, m, single.distinct_items, single.threshold)
    reason = "no pair counted"
    try:
        if limit >= 2 and m >= 2:
            tasks = min(int(spark.conf.get("spark.sql.shuffle.partitions") or 4), _MAX_TASKS)
            encoded = encode_frequent(single, partitions=tasks).cache()
            try:
                reason = _later_passes(encoded, m, single.threshold, limit, pair_counting,
                                       levels, passes, single)
            finally:
                encoded.unpersist()
    finally:
        single.release()
    itemsets = itemsets_frame(spark, levels, single.items, single.n_baskets)
    return ItemsetsResult(itemsets, passes, single.n_baskets, single.threshold,
                          "apriori", reason)


def _later_passes(encoded: DataFrame, m: int, threshold: int, limit: int, method: str,
                  levels: Levels, passes: list[dict[str, Any]],
                  single: FrequentItems) -> str:
    """Pass 2 and the passes k >= 3, appending to ``levels`` and ``passes``; the reason.

    Pass 2's job builds (and caches) ``encoded`` from the packed input, which is released
    right after: the later passes read only the encoded baskets.
    """
    t0 = time.perf_counter()
    rows = encoded.mapInArrow(count_pairs_kernel(m, method), PARTIALS).collect()
    single.release()
    pairs, counts = merge_pairs(rows, m, threshold)
    chosen = sorted({r["method"] for r in rows})
    memory = max((int(r["memory"]) for r in rows), default=0)
    max_length = max((int(r["max_length"]) for r in rows), default=0)
    passes.append(pass_row(2, "apriori", 2, m * (m - 1) // 2, len(pairs), memory,
                           time.perf_counter() - t0))
    tally = ", ".join(f"{c} in {sum(r['method'] == c for r in rows)} of {len(rows)} tasks"
                      for c in chosen)
    reason = (f"pairs counted by {tally or 'no task'} (pair_counting={method!r}; auto picks "
              f"the triangular array, 4 B x {m * (m - 1) // 2} possible pairs, in a task when "
              "that is <= 12 B x the task's pair occurrences and <= 256 MiB, else triples)")
    log.info("apriori pass 2: %d of %d pairs frequent (%s)", len(pairs), m * (m - 1) // 2,
             "+".join(chosen))
    levels.append((pairs, counts))
    count_higher_levels(encoded, m, threshold, limit, max_length, levels, passes, "apriori")
    return reason


def count_higher_levels(encoded: DataFrame, m: int, threshold: int, limit: int,
                        max_length: int, levels: Levels, passes: list[dict[str, Any]],
                        algorithm: str) -> None:
    """A-Priori passes k >= 3 (§6.2.5) after any pair pass (A-Priori's or the PCY family's).

    One Spark job per size: candidates from join + prune of the last level on the driver,
    counted by the bitmap kernel in every task; appends to ``levels`` and ``passes``. Stops at
    ``limit``, at ``max_length`` (the longest encoded basket) or when a level is empty.
    """
    k = len(levels) + 1
    while k <= limit and len(levels[-1][0]) > 0 and k <= max_length:
        t0 = time.perf_counter()
        cands = candidates(levels[-1][0])
        if len(cands) == 0:
            break
        rows = encoded.mapInArrow(count_candidates_kernel(cands, m), COUNTS).collect()
        total = sum_counts(rows, len(cands))
        keep = total >= threshold
        levels.append((cands[keep], total[keep]))
        memory = max((int(r["memory"]) for r in rows), default=0)
        passes.append(pass_row(len(passes) + 1, algorithm, k, len(cands), int(keep.sum()),
                               memory, time.perf_counter() - t0))
        log.info("%s pass %d: %d of %d candidates frequent", algorithm, len(passes),
                 int(keep.sum()), len(cands))
        k += 1
