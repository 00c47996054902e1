"""A-Priori pass 2 (MMDS §6.2.2): pair counts per task, triangular matrix or triples.

Pair ``{i, j}`` of frequent items ``0 <= i < j < m`` has the triangular index
``k = i * (2m - i - 1) / 2 + (j - i - 1)`` (the book's ``(i-1)(n-i/2) + j - i``, 0-based).

Memory rule (the book's, applied in each task where the memory is): the triangular array
needs 4 bytes per possible pair, ``T = m(m-1)/2``; triples need 12 bytes per pair that occurs,
at most ``P`` = the pair occurrences of the task's baskets. ``auto`` uses the triangular array
when ``4 T <= 12 min(P, T)`` (at least a third of the possible pairs may occur) and
``4 T <= TRIANGULAR_MAX_BYTES``; triples otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining._arrays import run_pairs
from mining.itemsets._encode import unpack_baskets

__all__ = [
    "PARTIALS",
    "TRIANGULAR_MAX_BYTES",
    "Kernel",
    "count_pairs_kernel",
    "merge_pairs",
    "pair_items",
    "pair_positions",
]

TRIANGULAR_MAX_BYTES = 256 * 2**20  # one task's triangular array; the driver sums the partials
_MAX_BLOCK = 4_000_000  # pair indices generated at once (32 MB of int64)
_BINCOUNT_MAX = 8_000_000  # possible pairs up to which np.bincount's int64 temporary is fine

PARTIALS = T.StructType(
    [
        T.StructField("method", T.StringType(), False),
        T.StructField("keys", T.BinaryType(), False),
        T.StructField("counts", T.BinaryType(), False),
        T.StructField("max_length", T.IntegerType(), False),
        T.StructField("memory", T.LongType(), False),
    ]
)
_PARTIALS_ARROW = to_arrow_schema(PARTIALS)  # the Arrow twin of the Spark schema


def pair_positions(lengths: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions ``(p, q)``, ``p < q``, of every pair of every basket in a flat value array
    (:func:`~mining._arrays.run_pairs` over the baskets' runs)."""
    starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]])
    return run_pairs(lengths, starts)


def pair_blocks(lengths: np.ndarray, ids: np.ndarray, m: int) -> Iterator[np.ndarray]:
    """Triangular indices of every pair of every basket (sorted ids), in blocks."""
    for p, q in pair_positions(lengths):
        i, j = ids[p].astype(np.int64), ids[q].astype(np.int64)
        yield i * (2 * m - i - 1) // 2 + (j - i - 1)


def _choose(method: str, total: int, occurrences: int) -> str:
    if method != "auto":
        return method
    dense = 4 * total
    return "triangular" if dense <= 12 * min(occurrences, total) and \
        dense <= TRIANGULAR_MAX_BYTES else "triples"


def _merge(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts).astype(np.int64)


Kernel = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def count_pairs_kernel(m: int, method: str) -> Kernel:
    """The ``mapInArrow`` function of pass 2: one ``PARTIALS`` row per task."""
    total = m * (m - 1) // 2

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        lengths, ids = unpack_baskets(batches)
        if len(lengths) == 0:
            return
        occurrences = int((lengths.astype(np.int64) * (lengths - 1) // 2).sum())
        chosen = _choose(method, total, occurrences)
        if chosen == "triangular":
            # int32 counts: the book's 4 bytes per pair (a task holds far fewer than 2^31
            # baskets); bincount's int64 temporary only while it stays small
            counts = np.zeros(total, np.int32)
            for block in pair_blocks(lengths, ids, m):
                if total <= _BINCOUNT_MAX and 8 * len(block) >= total:
                    counts += np.bincount(block, minlength=total).astype(np.int32)
                else:
                    uk, uc = np.unique(block, return_counts=True)
                    counts[uk] += uc.astype(np.int32)
            keys, out, memory = b"", counts.tobytes(), 4 * total
        else:
            # the book's (i, j, count) table as sorted keys + counts; block results are merged
            # in batches, not one by one (each merge sorts everything held so far)
            keys_held = [np.empty(0, np.int64)]
            counts_held = [np.empty(0, np.int64)]
            for block in pair_blocks(lengths, ids, m):
                bk, bc = np.unique(block, return_counts=True)
                keys_held.append(bk)
                counts_held.append(bc)
                if sum(len(k) for k in keys_held) > 2 * _MAX_BLOCK:
                    merged = _merge(np.concatenate(keys_held), np.concatenate(counts_held))
                    keys_held, counts_held = [merged[0]], [merged[1]]
            uk, uc = _merge(np.concatenate(keys_held), np.concatenate(counts_held))
            keys, out, memory = uk.tobytes(), uc.tobytes(), 12 * len(uk)
        yield pa.RecordBatch.from_pydict(
            {"method": [chosen], "keys": [keys], "counts": [out],
             "max_length": [int(lengths.max())], "memory": [memory]},
            schema=_PARTIALS_ARROW)

    return run


def merge_pairs(rows: list[Any], m: int, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum the tasks' partials; the frequent pairs (f x 2 int32, sorted) and their counts."""
    dense = None
    sparse_k, sparse_c = [], []
    for row in rows:
        if row["method"] == "triangular":
            part = np.frombuffer(row["counts"], np.int32)
            dense = part.astype(np.int64) if dense is None else dense + part
        else:
            sparse_k.append(np.frombuffer(row["keys"], np.int64))
            sparse_c.append(np.frombuffer(row["counts"], np.int64))
    if dense is not None:
        for k, c in zip(sparse_k, sparse_c):
            np.add.at(dense, k, c)
        keys = np.flatnonzero(dense >= threshold)
        counts = dense[keys]
    elif sparse_k:
        k, c = _merge(np.concatenate(sparse_k), np.concatenate(sparse_c))
        keep = c >= threshold
        keys, counts = k[keep], c[keep]
    else:
        keys, counts = np.empty(0, np.int64), np.empty(0, np.int64)
    return pair_items(keys, m), counts


def pair_items(keys: np.ndarray, m: int) -> np.ndarray:
    """Triangular indices back to ``(i, j)`` rows (sorted keys give lexicographic pairs)."""
    i_all = np.arange(m, dtype=np.int64)
    starts = i_all * (2 * m - i_all - 1) // 2
    i = np.searchsorted(starts, keys, side="right") - 1
    j = keys - starts[i] + i + 1
    return np.stack([i, j], axis=1).astype(np.int32).reshape(-1, 2)
