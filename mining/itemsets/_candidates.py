"""A-Priori passes k >= 3 (MMDS §6.2.5-6.2.6): candidates by join + prune, counted per task.

Candidates ``C_k`` come from the frequent ``(k-1)``-sets ``L_{k-1}`` (rows of sorted ids,
lexicographically sorted): two sets sharing their first ``k-2`` items join into one
``k``-set, which survives the prune when every ``(k-1)``-subset is in ``L_{k-1}``. This is
driver work on the small candidate lists, as in the book (candidates live in main memory).

Counting: each task builds, for the items of the candidates only, bitmaps of the baskets that
hold them (a block of baskets at a time), and a candidate's count in the block is the popcount
of the AND of its ``k`` bitmaps. That is the book's "is this candidate in the basket" test
done for a block of baskets per numpy operation; a basket with fewer than ``k`` candidate
items is skipped first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining._arrays import unique
from mining.itemsets._encode import unpack_baskets
from mining.itemsets._pairs import Kernel

__all__ = ["COUNTS", "candidates", "count_candidates_kernel", "join_prune", "sum_counts"]

_BITMAP_BYTES = 32 * 2**20  # one task's bitmaps of a block of baskets
_AND_BYTES = 16 * 2**20  # candidate bitmaps ANDed at once

COUNTS = T.StructType(
    [
        T.StructField("counts", T.BinaryType(), False),
        T.StructField("memory", T.LongType(), False),
    ]
)
_COUNTS_ARROW = to_arrow_schema(COUNTS)  # the Arrow twin of the Spark schema


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One comparable scalar per row (a void view of its bytes), for set membership."""
    rows = np.ascontiguousarray(rows, dtype=np.int32)
    return rows.view(np.dtype((np.void, 4 * rows.shape[1]))).ravel()


def candidates(frequent: np.ndarray) -> np.ndarray:
    """``C_k`` from ``L_{k-1}`` (f x (k-1) sorted rows): join on the prefix, then prune."""
    return join_prune(frequent)[0]


def join_prune(frequent: np.ndarray, *, prune: bool = True,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`candidates` with the two joined rows of ``L_{k-1}`` behind each candidate.

    Returns ``(cands, a, b)``: candidate ``c`` is the union of rows ``a[c] < b[c]`` of
    ``frequent`` (its subsets without the last item and without the one before it), so an
    in-memory miner holding the rows' basket bitmaps gets the candidate's as one AND.
    ``prune=False`` skips the prune (every joined set is returned).
    """
    f, width = frequent.shape
    prefix = _row_keys(frequent[:, :-1]) if width > 1 else np.zeros(f, np.int8)
    new_group = np.concatenate([[True], prefix[1:] != prefix[:-1]]) if f else np.empty(0, bool)
    # row r joins every later row of its prefix group; generated in (r, later row) order, the
    # joined rows come out lexicographically sorted (the rows of ``frequent`` are)
    group_end = np.append(np.flatnonzero(new_group[1:]) + 1, f)[np.cumsum(new_group) - 1]
    partners = group_end - np.arange(f) - 1
    ra = np.repeat(np.arange(f, dtype=np.int64), partners)
    offsets = np.cumsum(partners) - partners
    rb = ra + 1 + np.arange(len(ra), dtype=np.int64) - np.repeat(offsets, partners)
    joined = np.concatenate([frequent[ra], frequent[rb][:, -1:]], axis=1).astype(np.int32)
    if prune:
        known = _row_keys(frequent)
        keep = np.ones(len(joined), bool)
        for drop in range(width - 1):  # subsets without the last two items are the joined sets
            subset = np.delete(joined, drop, axis=1)
            keep &= np.isin(_row_keys(subset), known)
        joined, ra, rb = joined[keep], ra[keep], rb[keep]
    return joined, ra, rb


def count_candidates_kernel(cands: np.ndarray, m: int) -> Kernel:
    """The ``mapInArrow`` function of pass k: one row per task with int64 counts per candidate."""
    k = cands.shape[1]
    used = unique(cands)
    local = np.full(m, -1, np.int64)
    local[used] = np.arange(len(used))
    cand_local = local[cands]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        lengths, ids = unpack_baskets(batches)
        if len(lengths) == 0:
            return
        basket = np.repeat(np.arange(len(lengths)), lengths)
        item = local[ids]
        mask = item >= 0
        basket, item = basket[mask], item[mask]
        sizes = np.bincount(basket, minlength=len(lengths))
        long_enough = sizes[basket] >= k
        basket, item = basket[long_enough], item[long_enough]
        _, basket = np.unique(basket, return_inverse=True)  # renumber the kept baskets
        counts = np.zeros(len(cands), np.int64)
        n_used = len(used)
        n_baskets = int(basket.max()) + 1 if len(basket) else 0
        block = max(64, (_BITMAP_BYTES * 8 // max(n_used, 1)) // 8 * 8)
        order_pos = np.searchsorted(basket, np.arange(0, n_baskets + block, block))
        for lo in range(0, n_baskets, block):
            sl = slice(order_pos[lo // block], order_pos[lo // block + 1])
            _count_block(basket[sl] - lo, item[sl], min(block, n_baskets - lo),
                         n_used, cand_local, counts)
        memory = n_used * ((min(block, n_baskets) + 7) // 8) + 8 * len(cands)
        yield pa.RecordBatch.from_pydict({"counts": [counts.tobytes()], "memory": [memory]},
                                         schema=_COUNTS_ARROW)

    return run


def _count_block(basket: np.ndarray, item: np.ndarray, n: int, n_used: int,
                 cand_local: np.ndarray, counts: np.ndarray) -> None:
    """Add each candidate's count over one block of ``n`` baskets (bitmaps + popcount)."""
    width = (n + 7) // 8
    bits = np.zeros((n_used, width), np.uint8)
    # (item, basket) pairs are distinct, so adding bit values is an OR
    np.add.at(bits, (item, basket // 8), (1 << (basket % 8)).astype(np.uint8))
    step = max(1, _AND_BYTES // max(width, 1))
    for lo in range(0, len(cand_local), step):
        c = cand_local[lo:lo + step]
        acc = bits[c[:, 0]]
        for t in range(1, c.shape[1]):
            acc &= bits[c[:, t]]
        counts[lo:lo + step] += np.bitwise_count(acc).sum(axis=1, dtype=np.int64)


def sum_counts(rows: list[Any], n_candidates: int) -> np.ndarray:
    """Sum the tasks' count arrays."""
    total = np.zeros(n_candidates, np.int64)
    for row in rows:
        total += np.frombuffer(row["counts"], np.int64)
    return total
