"""Toivonen's algorithm (MMDS §6.4.5-6.4.6): a sample mined in memory, checked by its border."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mining.errors import ConvergenceError, InputError
from mining.itemsets._candidates import COUNTS, _row_keys, candidates, sum_counts
from mining.itemsets._encode import FrequentItems, count_items, encode_frequent
from mining.itemsets._local import count_family_kernel, mine_local
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
from mining.itemsets.son import check_count

log = logging.getLogger(__name__)

__all__ = ["default_fraction", "in_sample", "negative_border", "run_toivonen"]

_MAX_TASKS = 64  # the full pass's task cap, as run_apriori's
_UNIT = 2**53  # hash bits mapped to [0, 1): doubles hold 53-bit integers exactly
_MARGIN = 3.0  # default fraction: a count-t itemset's sample count this many sd above the bar


def default_fraction(threshold: int, lowering: float) -> float:
    """The smallest sample fraction ``p`` putting a count-``t`` itemset ``_MARGIN`` sd clear.

    Its sample count is about binomial, mean ``t p``, variance ``t p (1 - p)``; requiring
    ``(1 - lowering) t p >= 3 sqrt(t p (1 - p))`` gives ``p = 9 / ((1 - lowering)^2 t + 9)``:
    0.69 for groceries at 1% (t = 99), 0.31 for t = 500, 0.0022 for t = 100,000.
    """
    z2 = _MARGIN**2
    return min(1.0, z2 / ((1.0 - lowering) ** 2 * threshold + z2))


def in_sample(seed: int, fraction: float) -> Column:
    """True for the baskets of the sample: ``xxhash64(basket, seed)`` mapped to [0, 1) < fraction.

    A function of the basket id and the seed only, so the same seed draws the same sample
    whatever the partitioning or the order of the rows.
    """
    hashed = F.xxhash64(F.col("basket"), F.lit(int(seed)).cast("long"))
    return (hashed.bitwiseAND(F.lit(_UNIT - 1)) / F.lit(float(_UNIT))) < F.lit(float(fraction))


def negative_border(levels: Levels, m: int, limit: int) -> list[np.ndarray]:
    """The negative border of a downward-closed family (§6.4.5), by size 1..``limit``.

    Size 1: the items ``0..m-1`` outside ``levels[0]``; size ``k``: ``candidates(L_{k-1})``
    (every immediate subset in the family) that are not in ``L_k``.
    """
    have = levels[0][0].ravel() if levels else np.empty(0, np.int32)
    border = [np.setdiff1d(np.arange(m, dtype=np.int32), have).reshape(-1, 1)]
    for k in range(2, limit + 1):
        if k - 2 >= len(levels) or len(levels[k - 2][0]) == 0:
            break
        cands = candidates(levels[k - 2][0])
        if k - 1 < len(levels):
            cands = cands[~np.isin(_row_keys(cands), _row_keys(levels[k - 1][0]))]
        border.append(cands)
    return border


def _sample_kernel(items: list[str], threshold: int, n_baskets: int, lowering: float,
                   limit: int) -> Kernel:
    """The sample's one task: encode every sampled basket, mine them at the lowered threshold."""
    m = len(items)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        value_set = pa.array(items, pa.string())
        keys, n = [np.empty(0, np.int64)], 0
        for batch in batches:  # every sampled basket counts in n_s, even one with no item
            col = batch.column(0)
            rows = n + np.repeat(np.arange(batch.num_rows),
                                 pc.fill_null(pc.list_value_length(col), 0).to_numpy())
            found = pc.fill_null(pc.index_in(col.flatten(), value_set=value_set), -1)
            ids = found.to_numpy(zero_copy_only=False).astype(np.int64)
            keys.append(np.unique(rows[ids >= 0] * m + ids[ids >= 0]))  # m >= 2 here
            n += batch.num_rows
        flat = np.concatenate(keys)  # sorted by basket, then id; duplicates removed
        lengths = np.bincount(flat // m, minlength=n).astype(np.int32)
        local = max(1, math.ceil(lowering * threshold * n / max(n_baskets, 1)))
        stats = {"memory": 0}
        levels = mine_local(lengths, (flat % m).astype(np.int32), m, local, limit,
                            stats=stats)
        yield level_batch(levels, n, local, stats["memory"], 1)

    return run


def _check(sample_fraction: float | None, lowering: float, seed: int, max_rounds: int) -> None:
    named = [("lowering", lowering)]
    if sample_fraction is not None:
        named.append(("sample_fraction", sample_fraction))
    for name, value in named:
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or not 0 < value <= 1:  # NaN fails the comparison too
            raise InputError(f"{name} must be a number in (0, 1], got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an integer, got {seed!r}")
    check_count("max_rounds", max_rounds)


def run_toivonen(
    baskets: DataFrame,
    *,
    min_support: float,
    max_size: int | None = None,
    sample_fraction: float | None = None,
    lowering: float = 0.8,
    seed: int = 0,
    max_rounds: int = 10,
) -> ItemsetsResult:
    """Toivonen's algorithm (MMDS §6.4.5-6.4.6): a sample mined in memory, one exact full pass.

    Parameters
    ----------
    baskets
        ``BASKETS`` rows: ``basket`` (long, the sample hashes it) and ``items``.
    min_support
        A fraction of the baskets in (0, 1) or a basket count >= 2 (as :func:`run_apriori`).
    max_size
        Largest itemset size, of the answer and of the negative border; ``None``: no limit.
    sample_fraction
        Expected share of the baskets in the sample, in (0, 1]; ``None``:
        :func:`default_fraction` (a fixed share suits no data: 10% of groceries at 1% failed
        10 rounds of 10, 70% passes).
    lowering
        In (0, 1]: the sample's count threshold is ``ceil(lowering * t * n_s / N)`` (at least
        1; ``n_s`` sampled baskets), the book's 0.8 ``p s`` by default.
    seed
        The first round's seed; round ``r`` (from 1) uses ``seed + r - 1``.
    max_rounds
        Rounds before giving up (>= 1).

    Returns
    -------
    ItemsetsResult
        ``itemsets``, ``passes``, ``n_baskets``, ``threshold``, ``algorithm`` ``"toivonen"``,
        ``reason``, ``rounds`` (0 when no itemset of size >= 2 is possible); ``details``:
        ``sample_fraction``, ``lowering``, ``rounds`` (per round: ``round``, ``seed``,
        ``sample_baskets``, ``sample_threshold``, ``sample_frequent`` = ``|S|`` (Notes),
        ``missed_items``, ``negative_border``, ``candidates``, ``border_frequent``,
        ``failed``).

    Raises
    ------
    InputError
        Invalid ``min_support``, ``max_size``, ``sample_fraction``, ``lowering``, ``seed`` or
        ``max_rounds`` (one line).
    ConvergenceError
        Every round found a frequent negative-border itemset (``n_iter`` = rounds,
        ``residual`` = the last round's count of them).

    Notes
    -----
    Pass 1 counts items and N exactly (:func:`~mining.itemsets._encode.count_items`). Each
    round: one Spark job draws the sample (:func:`in_sample`, partition-invariant) and mines
    it exactly in one task (:func:`~mining.itemsets._local.mine_local`) at the lowered
    threshold. The family ``S`` is the sample's sets of sizes >= 2 plus *every* frequent
    item: pass 1 counted them, so a frequent item the sample missed is known, not a failure
    (a count-``t`` item falls below ``0.8 t p`` with probability about
    ``Phi(-0.2 sqrt(t p))``: a quarter for groceries at 1% and ``p = 0.1``); its pairs join
    the border instead. One full pass counts ``S`` and its negative border up to ``max_size``
    (:func:`negative_border`) exactly (:func:`~mining.itemsets._local.count_family`).
    §6.4.6's argument needs only ``S`` downward closed: a frequent set outside ``S`` has a
    minimal subset outside ``S``, in the border and frequent. So a round without a frequent
    border member returns exactly the frequent sets of ``S``; otherwise the next seed runs.
    The encoded baskets are cached for the full passes; the sample reads ``baskets`` each
    round (cache it when it is costly to compute).

    Pass records: pass 1 (items); per round a sample pass (``candidates`` = ``frequent`` =
    ``|S|``) and a full pass (``candidates`` = sets counted, ``frequent`` = those frequent);
    ``size`` the largest itemset size of the pass. Each round is logged.

    Examples
    --------
    >>> res = run_toivonen(baskets, min_support=0.01, sample_fraction=0.2)  # doctest: +SKIP
    >>> res.rounds, res.details["rounds"][-1]["negative_border"]  # doctest: +SKIP
    """
    check_min_support(min_support)
    limit = check_max_size(max_size)
    _check(sample_fraction, lowering, seed, max_rounds)
    spark = baskets.sparkSession
    t0 = time.perf_counter()
    single = count_items(baskets, min_support=min_support)
    m = len(single.items)
    levels: Levels = [(np.arange(m, dtype=np.int32).reshape(-1, 1), single.counts)]
    passes = [pass_row(1, "toivonen", 1, single.distinct_items, m, None,
                       time.perf_counter() - t0)]
    rounds: list[dict[str, Any]] = []
    fraction = (default_fraction(single.threshold, lowering) if sample_fraction is None
                else float(sample_fraction))
    details: dict[str, Any] = {"sample_fraction": fraction, "lowering": lowering,
                               "rounds": rounds}
    reason = "no pair to look for: pass 1's item counts are the answer"
    tasks = min(int(spark.conf.get("spark.sql.shuffle.partitions") or 4), _MAX_TASKS)
    run = _Run(baskets, single, fraction, lowering, limit, tasks, passes, rounds)
    try:
        for r in range(max_rounds if limit >= 2 and m >= 2 else 0):
            found = _round(run, seed + r)
            if found is not None:
                levels.extend(found)
                reason = _reason(rounds[-1], fraction, len(rounds))
                break
        else:
            if rounds:
                raise ConvergenceError(
                    f"Toivonen's algorithm found a frequent negative-border itemset in all "
                    f"{max_rounds} rounds (seeds {seed}..{seed + max_rounds - 1}); raise "
                    "sample_fraction or lower lowering", n_iter=max_rounds,
                    residual=float(rounds[-1]["border_frequent"]))
    finally:
        if run.encoded is not None:
            run.encoded.unpersist()
        single.release()
    itemsets = itemsets_frame(spark, levels, single.items, single.n_baskets)
    return ItemsetsResult(itemsets, passes, single.n_baskets, single.threshold, "toivonen",
                          reason, rounds=len(rounds), details=details)


@dataclass
class _Run:
    """What every round reads, and the encoded baskets, cached by the first full pass."""

    baskets: DataFrame
    single: FrequentItems
    fraction: float
    lowering: float
    limit: int
    tasks: int
    passes: list[dict[str, Any]]
    rounds: list[dict[str, Any]]
    encoded: DataFrame | None = None


def _reason(last: dict[str, Any], fraction: float, rounds: int) -> str:
    return (f"Toivonen: round {rounds} (seed {last['seed']}) passed: a {fraction:g} sample of "
            f"{last['sample_baskets']} baskets mined in one task at count "
            f"{last['sample_threshold']}, {last['candidates']} itemsets counted in one full "
            f"pass, none of the {last['negative_border']} negative-border itemsets frequent"
            + (f"; {rounds - 1} earlier round(s) failed" if rounds > 1 else ""))


def _round(run: _Run, seed: int) -> Levels | None:
    """One round: sample, family and border, full pass; the levels >= 2, or None (failed)."""
    m, single = len(run.single.items), run.single
    t0 = time.perf_counter()
    kernel = _sample_kernel(single.items, single.threshold, single.n_baskets, run.lowering,
                            run.limit)
    sample = run.baskets.filter(in_sample(seed, run.fraction)).select("items").repartition(1)
    rows = sample.mapInArrow(kernel, LOCAL).collect()
    found = split_levels(rows[0]) if rows else []
    while len(found) > 1 and len(found[-1][0]) == 0:
        found.pop()
    missed = m - (len(found[0][0]) if found else 0)
    # pass 1 counted the items exactly: all frequent ones join the family (still downward
    # closed, so the border argument holds) instead of failing the round on a missed item
    found[:1] = [(np.arange(m, dtype=np.int32).reshape(-1, 1), single.counts)]
    border = negative_border(found, m, run.limit)
    n_found, n_border = sum(len(s) for s, _ in found), sum(len(b) for b in border)
    run.passes.append(pass_row(len(run.passes) + 1, "toivonen", len(found), n_found, n_found,
                               int(rows[0]["memory"]) if rows else 0, time.perf_counter() - t0))
    info: dict[str, Any] = {
        "round": len(run.rounds) + 1, "seed": seed,
        "sample_baskets": int(rows[0]["baskets"]) if rows else 0,
        "sample_threshold": int(rows[0]["threshold"]) if rows else 1,
        "sample_frequent": n_found, "missed_items": missed, "negative_border": n_border}
    run.rounds.append(info)
    answer = _full_pass(run, found, border, info)
    log.info("toivonen round %d (seed %d): sample of %d baskets at count %d, %d sample-frequent, "
             "negative border %d, %d of it frequent: %s", info["round"], seed,
             info["sample_baskets"], info["sample_threshold"], n_found, n_border,
             info["border_frequent"], "failed" if info["failed"] else "passed")
    return None if info["failed"] else answer


def _full_pass(run: _Run, found: Levels, border: list[np.ndarray],
               info: dict[str, Any]) -> Levels:
    """Count sample-frequent sets and border of sizes >= 2 exactly; updates ``info``."""
    t0 = time.perf_counter()
    family, is_border = [], []
    for k in range(2, max(len(found), len(border)) + 1):
        inside = found[k - 1][0] if k - 1 < len(found) else np.empty((0, k), np.int32)
        outside = border[k - 1] if k - 1 < len(border) else np.empty((0, k), np.int32)
        sets = np.concatenate([inside, outside]).astype(np.int32)
        if len(sets) == 0:
            break
        order = np.lexsort(sets.T[::-1])
        family.append(sets[order])
        is_border.append(np.arange(len(sets))[order] >= len(inside))
    if run.encoded is None:
        run.encoded = encode_frequent(run.single, partitions=run.tasks).cache()
    total = sum(len(f) for f in family)
    kernel = count_family_kernel(family, len(run.single.items))
    rows = run.encoded.mapInArrow(kernel, COUNTS).collect() if total else []
    counts = np.split(sum_counts(rows, total), np.cumsum([len(f) for f in family])[:-1])
    frequent = [part >= run.single.threshold for part in counts]
    hits = sum(int((f & b).sum()) for f, b in zip(frequent, is_border, strict=True))
    answer: Levels = []
    for sets, keep, part in zip(family, frequent, counts, strict=True):
        if not keep.any():  # frequent itemsets are downward closed: no larger ones either
            break
        answer.append((sets[keep], part[keep]))
    run.passes.append(pass_row(len(run.passes) + 1, "toivonen", 1 + len(family), total,
                               sum(len(s) for s, _ in answer),
                               max((int(r["memory"]) for r in rows), default=0),
                               time.perf_counter() - t0))
    info.update(candidates=total, border_frequent=hits, failed=hits > 0)
    return answer
