"""SON (MMDS §6.4.3-6.4.4): frequent itemsets in two passes, each task mining a chunk in memory."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining._frames import one_row
from mining.errors import InputError
from mining.io.readers import input_bytes
from mining.itemsets._candidates import COUNTS, sum_counts
from mining.itemsets._encode import FrequentItems, count_items, encode_frequent, unpack_baskets
from mining.itemsets._local import count_family_kernel, mine_local
from mining.itemsets._onetask import son_one_job
from mining.itemsets._pairs import Kernel
from mining.itemsets._result import (
    LOCAL,
    ItemsetsResult,
    Levels,
    itemsets_frame,
    level_batch,
    pass_row,
    split_levels,
)
from mining.itemsets._support import check_max_size, check_min_support

log = logging.getLogger(__name__)

__all__ = ["check_count", "run_son"]

_MAX_TASKS = 64  # the default task count's cap, as run_apriori's
# Inputs whose frequent items occur at most this often are mined in one task (pass 1 is then
# exact and there is no second pass). Measured here (2 cores, cached input, seconds, one
# task vs 4): retail 0.5% 1.66 vs 2.39, T10I4D100K 0.5% 2.17 vs 2.56, mushroom 40% 0.73 vs
# 1.36, chess 80% 0.82 vs 2.05, BMS-WebView-1 0.5% 0.74 vs 1.22, groceries 1% 0.57 vs 1.12.
SINGLE_TASK_IDS = 4_000_000
# Inputs of at most this many item occurrences are counted, encoded and mined by one task in
# one job (see mining.itemsets._onetask); past it the task stops reading and the passes above
# run. Measured (2 cores, seconds, one job vs the passes with one task, from the file / from
# cached baskets): retail 0.5% 2.21 vs 2.73 / 0.63 vs 1.64, T10I4D100K 0.5% 1.69 vs 2.05 /
# 0.66 vs 1.48, mushroom 40% 0.65 vs 1.22 / 0.27 vs 0.93 (the real sets hold 0.12-1.01M
# occurrences). The job is only tried for inputs whose files hold at most ONE_JOB_BYTES on
# disk (compressed bytes count 4 times; a frame of local data, with no files, is tried too):
# a stopped task has read ONE_JOB_OCCURRENCES in one task for nothing, and a reader's
# numbering pass is redone. Tried on the 1M-basket Quest file (38 MB, 9.2M occurrences) it
# cost 19.4 s against 12.4 s for the passes alone; with the size rule, 12.3 s vs 12.4 s.
ONE_JOB_OCCURRENCES = 2_000_000
ONE_JOB_BYTES = 16 * 2**20

def check_count(name: str, value: object) -> int:
    """``value`` as an integer >= 1, or a one-line :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _local_kernel(m: int, threshold: int, n_encoded: int | None, limit: int) -> Kernel:
    """SON pass 1: each task's itemsets with ``count_p * n_encoded >= threshold * n_p``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        lengths, ids = unpack_baskets(batches)
        n = len(lengths)
        if n == 0:
            return
        # ceil(t n_p / N_enc) in integers: the smallest count passing the scaled threshold
        local = threshold if n_encoded is None else max(1, -(-threshold * n // n_encoded))
        stats = {"memory": 0}
        levels = mine_local(lengths, ids, m, local, limit, stats=stats)
        yield level_batch(levels, n, local, stats["memory"], 2)

    return run


def run_son(
    baskets: DataFrame,
    *,
    min_support: float,
    max_size: int | None = None,
    partitions: int | None = None,
) -> ItemsetsResult:
    """SON (MMDS §6.4.3-6.4.4): every task mines its chunk in memory, then one exact count.

    Parameters
    ----------
    baskets
        ``BASKETS`` rows: ``items`` (array<string>; duplicates count once), empty ones too.
    min_support
        A fraction of the baskets in (0, 1) or a basket count >= 2 (as :func:`run_apriori`).
    max_size
        Largest itemset size; ``None``: no limit.
    partitions
        Chunks (tasks) of SON's first pass. ``None``: first, when the input holds at most
        ``ONE_JOB_OCCURRENCES`` item occurrences, one task counts, encodes and mines it in one
        job (:mod:`mining.itemsets._onetask`; ``details["one_job"]``); past that the task
        stops reading and the passes below run, with one task when the frequent items occur
        at most ``SINGLE_TASK_IDS`` times in all (the encoded baskets then fit one task's
        memory several times over), else ``spark.sql.shuffle.partitions`` capped at 64 and at
        ``t // 2`` (a task's threshold ``~t / partitions`` below 2 would make every subset of
        its baskets a candidate). ``1``: one task mines everything exactly and the second
        pass is skipped (the single-task strategy, after a Spark pass 1). Giving a number
        skips the one-job attempt: do so for an input known to be big.

    Returns
    -------
    ItemsetsResult
        ``itemsets`` (``ITEMSETS``), ``passes``, ``n_baskets``, ``threshold``, ``algorithm``
        ``"son"``, ``reason``; ``details``: ``tasks`` (tasks that held baskets),
        ``encoded_baskets`` (``N_enc``, ``None`` with one task), ``local_thresholds``,
        ``local_itemsets``, ``candidates``, ``false_positives``, ``second_pass``.

    Raises
    ------
    InputError
        Invalid ``min_support``, ``max_size`` or ``partitions`` (one line).

    Notes
    -----
    Spark pass 1 is :func:`~mining.itemsets._encode.count_items`: N and the frequent items
    (an itemset holding an infrequent item is not frequent), exact singletons. Pass 1's packed
    copy of the baskets is then encoded (sorted ids of their frequent items; baskets with
    fewer than two are dropped, :func:`~mining.itemsets._encode.encode_frequent`) into
    ``partitions`` tasks and cached, and one JVM-only job counts the encoded baskets,
    ``N_enc`` (it also fills the cache).

    SON pass 1 (§6.4.3, one ``mapInArrow`` job): task ``p`` with ``n_p`` encoded baskets mines
    them exactly (:func:`~mining.itemsets._local.mine_local`) at the count threshold
    ``ceil(t n_p / N_enc)`` and sends its local itemsets of sizes >= 2; the driver takes their
    union. *No false negatives*: an itemset ``S`` of size >= 2 missed by every task has
    ``count_p(S) N_enc < t n_p`` for every ``p``; summing, ``count(S) N_enc < t N_enc``, as
    every basket holding ``S`` holds two frequent items and so is encoded (``sum n_p =
    N_enc``): ``count(S) < t``. Scaling by the encoded baskets rather than by N is what the
    proof needs and no more: it is SON run on the encoded baskets, whose thresholds are
    higher (fewer false positives) than ``t n_p / N`` would be; that rule is safe too, since
    it only needs ``sum n_p <= N``.

    SON pass 2 (§6.4.4, one job): every task counts every candidate on its baskets with vertical
    bitmaps (:func:`~mining.itemsets._local.count_family`: the union of downward-closed
    families is downward closed, so each candidate's bitmap is its prefix's AND its last
    item's); the driver sums and keeps counts >= t: no false positives either. When one task
    held every encoded basket (``partitions=1``, or every packed row of 1,024 baskets landing
    in one task) its threshold was ``t`` and pass 1 is already exact: pass 2 is skipped (with
    ``partitions=1`` nothing is cached and ``N_enc`` is not counted either).

    Pass records: ``pass_number`` 1 (items), 2 = SON pass 1 (``candidates`` = itemsets found
    locally, summed over tasks; ``frequent`` = their union; ``size`` its largest), 3 = SON
    pass 2 (``candidates`` = the union, ``frequent`` = the answer's sizes >= 2);
    ``memory_bytes`` the largest task's (``mine_local``'s or ``count_family``'s arrays).
    The driver holds the union and its counts. DataFrame and Arrow calls only (Spark Connect).

    Examples
    --------
    >>> res = run_son(baskets, min_support=0.01, partitions=8)  # doctest: +SKIP
    """
    check_min_support(min_support)
    limit = check_max_size(max_size)
    if partitions is not None:
        check_count("partitions", partitions)
    spark = baskets.sparkSession
    if partitions is None and _small_input(baskets):
        one = son_one_job(baskets, min_support=min_support, limit=limit, cap=ONE_JOB_OCCURRENCES)
        if one is not None:
            return one
    t0 = time.perf_counter()
    single = count_items(baskets, min_support=min_support)
    m, threshold = len(single.items), single.threshold
    levels: Levels = [(np.arange(m, dtype=np.int32).reshape(-1, 1), single.counts)]
    passes = [pass_row(1, "son", 1, single.distinct_items, m, None, time.perf_counter() - t0)]
    log.info("son pass 1: %d baskets, %d of %d items frequent (threshold %d)",
             single.n_baskets, m, single.distinct_items, threshold)
    details: dict[str, Any] = {"tasks": 0, "second_pass": False}
    reason = "no pair to look for"
    try:
        if limit >= 2 and m >= 2:
            tasks, why = _tasks(spark, single, partitions)
            reason = f"{why}; " + _son_passes(single, tasks, limit, levels, passes, details)
    finally:
        single.release()
    itemsets = itemsets_frame(spark, levels, single.items, single.n_baskets)
    return ItemsetsResult(itemsets, passes, single.n_baskets, threshold, "son", reason,
                          details=details)


def _small_input(baskets: DataFrame) -> bool:
    """Whether to try the one-job path: the input's files are small (or it has none)."""
    size = input_bytes(baskets)
    return size is not None and size[0] + 4 * size[1] <= ONE_JOB_BYTES


def _tasks(spark: Any, single: FrequentItems, partitions: int | None) -> tuple[int, str]:
    """SON's task count and why: given, one task for small inputs, else the shuffle default."""
    if partitions is not None:
        return partitions, f"partitions={partitions} given"
    ids = int(single.counts.sum())  # frequent-item occurrences: the encoded ids, at most
    if ids <= SINGLE_TASK_IDS:
        return 1, (f"one task: {ids:,} frequent-item occurrences <= {SINGLE_TASK_IDS:,} "
                   f"(SINGLE_TASK_IDS, {4 * ids / 2**20:.1f} MiB of ids)")
    default = min(int(spark.conf.get("spark.sql.shuffle.partitions") or 4), _MAX_TASKS,
                  max(1, single.threshold // 2))
    return default, (f"{default} tasks: {ids:,} frequent-item occurrences > "
                     f"{SINGLE_TASK_IDS:,} (SINGLE_TASK_IDS)")


def _son_passes(single: FrequentItems, tasks: int, limit: int, levels: Levels,
                passes: list[dict[str, Any]], details: dict[str, Any]) -> str:
    """SON's two passes over ``tasks`` chunks; appends to ``levels``/``passes``; the reason."""
    m, threshold = len(single.items), single.threshold
    encoded = encode_frequent(single, partitions=tasks)
    if tasks > 1:  # read by both passes; the count below materializes the cache
        encoded = encoded.cache()
    try:
        n_encoded = None
        if tasks > 1:
            row = one_row(encoded.select(F.sum(F.length("lengths")).alias("bytes")))
            n_encoded = int(row["bytes"] or 0) // 4 if row is not None else 0
        t0 = time.perf_counter()
        rows = encoded.mapInArrow(_local_kernel(m, threshold, n_encoded, limit), LOCAL).collect()
        tasks_levels = [split_levels(r) for r in rows]
        found = sum(len(sets) for lv in tasks_levels for sets, _ in lv)
        union = _union(tasks_levels)
        thresholds = sorted({int(r["threshold"]) for r in rows})
        memory = max((int(r["memory"]) for r in rows), default=0)
        n_union = sum(len(u) for u in union)
        passes.append(pass_row(2, "son", 1 + len(union), found, n_union, memory,
                               time.perf_counter() - t0))
        exact = n_encoded is None or any(int(r["baskets"]) == n_encoded for r in rows)
        details.update(tasks=len(rows), encoded_baskets=n_encoded,
                       local_thresholds=thresholds, local_itemsets=found, candidates=n_union)
        log.info("son pass 2 (SON 1): %d itemsets found locally in %d tasks, %d in the union "
                 "(local thresholds %s)", found, len(rows), n_union, thresholds)
        if exact:  # one task held every basket at threshold t: its itemsets are the answer
            levels.extend((s, c) for lv in tasks_levels for s, c in lv if len(s))
            details.update(false_positives=0)
            return (f"SON with one task holding all {n_encoded or 'the'} encoded baskets: its "
                    "in-memory miner ran at the full threshold, exact, no second pass")
        _second_pass(encoded, union, m, threshold, levels, passes, details)
    finally:
        if tasks > 1:
            encoded.unpersist()
    return (f"SON over {tasks} tasks: local thresholds {thresholds[0]}..{thresholds[-1]} "
            f"(ceil(t n_p / N_enc), N_enc = {n_encoded} baskets with >= 2 frequent items), "
            f"{details['candidates']} candidates, {details['false_positives']} false positives"
            if thresholds else f"SON over {tasks} tasks: no basket with 2 frequent items")


def _second_pass(encoded: DataFrame, union: list[np.ndarray], m: int, threshold: int,
                 levels: Levels, passes: list[dict[str, Any]], details: dict[str, Any]) -> None:
    """SON pass 2 (§6.4.4): exact counts of the union in one job; keeps counts >= t."""
    t0 = time.perf_counter()
    total = sum(len(u) for u in union)
    rows = []
    if total:
        rows = encoded.mapInArrow(count_family_kernel(union, m), COUNTS).collect()
    counts = sum_counts(rows, total)
    frequent = 0
    for sets, part in zip(union, np.split(counts, np.cumsum([len(u) for u in union])[:-1]),
                          strict=True):
        keep = part >= threshold
        if not keep.any():
            break
        levels.append((sets[keep], part[keep]))
        frequent += int(keep.sum())
    memory = max((int(r["memory"]) for r in rows), default=0)
    passes.append(pass_row(3, "son", 1 + len(union), total, frequent, memory,
                           time.perf_counter() - t0))
    details.update(second_pass=True, false_positives=total - frequent)
    log.info("son pass 3 (SON 2): %d of %d candidates frequent", frequent, total)


def _union(tasks_levels: list[Levels]) -> list[np.ndarray]:
    """The union of the tasks' itemsets, by size from 2, each sorted (no empty sizes)."""
    union: list[np.ndarray] = []
    k = 2
    while True:
        parts = [sets for lv in tasks_levels for sets, _ in lv if sets.shape[1] == k]
        merged = np.unique(np.concatenate(parts), axis=0) if parts else np.empty((0, k))
        if len(merged) == 0:
            return union
        union.append(merged.astype(np.int32).reshape(-1, k))
        k += 1
