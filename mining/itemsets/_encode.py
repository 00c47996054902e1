"""A-Priori pass 1 (MMDS §6.2.4-6.2.6): count items, keep the frequent ones, renumber baskets.

The frequent items get dense ids ``0..m-1`` in string order (code-point order, which is the
UTF-8 byte order Spark sorts strings by), so results do not depend on partitioning. Each basket
becomes the sorted int32 array of its frequent items; baskets with fewer than two frequent
items cannot hold a pair and are dropped (they still count in N, taken in pass 1).

Encoded baskets are packed, ``_CHUNK`` baskets per row, into two binary blobs (lengths, ids):
the passes then read a few kilobyte rows per task instead of one row per basket (moving rows
into Python costs ~0.25 µs per row and column here, see ``link_analysis._transfer``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining._arrays import unique
from mining._frames import one_row
from mining.itemsets._support import check_min_support, count_threshold

__all__ = ["ENCODED", "FrequentItems", "count_items", "encode_baskets", "encode_frequent",
           "unpack_baskets"]

_CHUNK = 1024  # baskets per packed row: small enough to spread a partition's rows over tasks

ENCODED = T.StructType(
    [
        T.StructField("lengths", T.BinaryType(), False),
        T.StructField("ids", T.BinaryType(), False),
    ]
)
_ENCODED_ARROW = to_arrow_schema(ENCODED)  # the Arrow twin of the Spark schema


@dataclass
class FrequentItems:
    """Pass 1's answer: the frequent items (sorted), their counts, N and the threshold.

    ``packed`` is the input's ``items`` column, read once and kept cached by
    :func:`count_items` (the encoding reads it, not the input again); call :meth:`release`
    once the encoding has been built from it.
    """

    items: list[str]
    counts: np.ndarray
    n_baskets: int
    distinct_items: int
    threshold: int
    packed: DataFrame | None = None

    def release(self) -> None:
        """Drop the cached items."""
        if self.packed is not None:
            self.packed.unpersist()
            self.packed = None


def count_items(baskets: DataFrame, *, min_support: float) -> FrequentItems:
    """Pass 1 (§6.2.4): count every item and N in one Spark job, keeping the items cached.

    The ``items`` column is persisted (the job that counts also fills the cache), so the
    encoding reads the cache, not the input again (a validating reader's plan runs once).
    Counting is explode + group-by in the JVM, spread over the input's tasks. (For a small
    input one task does better with Arrow's dictionary encoding, in one job with the mining:
    :mod:`mining.itemsets._onetask`. An earlier measurement here, 0.9-1.0 s for such a
    kernel on retail against 0.23-0.35 s in the JVM, was the cost of ``first()``, which
    forks a new Python worker per job; see :func:`mining._frames.one_row`.)
    Each basket contributes a null marker besides its distinct items: the null group's count
    is N, empty baskets included. Items below 2 baskets (or below the threshold when it is a
    count) are dropped before the one row reaches the driver.
    """
    count = check_min_support(min_support)
    cached = baskets.select("items").persist(StorageLevel.MEMORY_AND_DISK)
    items = F.coalesce(F.array_distinct(F.col("items")), F.array().cast("array<string>"))
    marked = F.concat(items, F.array(F.lit(None).cast("string")))
    grouped = (
        cached.select(F.explode(marked).alias("item"))
        .groupBy("item")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    keep = (F.col("n") >= F.lit(count or 2)) | F.col("item").isNull()
    row = one_row(grouped.agg(
        F.count(F.lit(1)).alias("groups"),
        F.collect_list(F.when(keep, F.struct("item", "n"))).alias("kept"),
    ))
    kept = [] if row is None else list(row["kept"])
    n_baskets = next((int(r["n"]) for r in kept if r["item"] is None), 0)
    distinct = max(int(row["groups"]) - 1, 0) if row is not None else 0
    threshold = count_threshold(min_support, n_baskets)
    frequent = sorted((r["item"], int(r["n"])) for r in kept
                      if r["item"] is not None and r["n"] >= threshold)
    return FrequentItems([i for i, _ in frequent],
                         np.array([n for _, n in frequent], dtype=np.int64),
                         n_baskets, distinct, threshold, cached)


def encode_frequent(single: FrequentItems, *, partitions: int) -> DataFrame:
    """:func:`encode_baskets` of pass 1's cached items (lazy; cache it, then release pass 1)."""
    assert single.packed is not None, "count_items' cached items were released"
    return encode_baskets(single.packed, single.items, partitions=partitions)


def encode_baskets(baskets: DataFrame, items: list[str], *, partitions: int) -> DataFrame:
    """Baskets (``BASKETS`` rows) as ``ENCODED`` rows of their frequent ``items`` (lazy).

    The same encoding as :func:`encode_frequent`, straight from a basket frame (for a sample
    or an input that was not packed by :func:`count_items`).
    """
    m = len(items)

    def encode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        value_set = pa.array(items, pa.string())
        for batch in batches:
            col = batch.column(0)
            n = batch.num_rows
            if n == 0:
                continue
            lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy()
            ids = pc.fill_null(pc.index_in(col.flatten(), value_set=value_set), -1)
            ids_np = ids.to_numpy(zero_copy_only=False).astype(np.int64)
            rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
            keep = ids_np >= 0
            yield from _encoded_rows(unique(rows[keep] * max(m, 1) + ids_np[keep]), n, m)

    return baskets.select("items").mapInArrow(encode, ENCODED).repartition(partitions)


def _encoded_rows(keys: np.ndarray, n: int, m: int) -> Iterator[pa.RecordBatch]:
    """``ENCODED`` rows from sorted ``basket * m + id`` keys of ``n`` baskets."""
    basket, ident = keys // max(m, 1), (keys % max(m, 1)).astype(np.int32)
    sizes = np.bincount(basket, minlength=n)
    long_enough = sizes[basket] >= 2
    yield from _pack_encoded(sizes[sizes >= 2].astype(np.int32), ident[long_enough])


def _pack_encoded(sizes: np.ndarray, ids: np.ndarray) -> Iterator[pa.RecordBatch]:
    """Rows of ``_CHUNK`` baskets: (int32 lengths, int32 ids) as bytes."""
    ends = np.cumsum(sizes, dtype=np.int64)
    lengths, blobs = [], []
    for lo in range(0, len(sizes), _CHUNK):
        hi = min(lo + _CHUNK, len(sizes))
        start = int(ends[lo - 1]) if lo else 0
        lengths.append(sizes[lo:hi].tobytes())
        blobs.append(ids[start:int(ends[hi - 1])].tobytes())
    if lengths:
        yield pa.RecordBatch.from_pydict({"lengths": lengths, "ids": blobs},
                                         schema=_ENCODED_ARROW)


def unpack_baskets(batches: Iterator[pa.RecordBatch]) -> tuple[np.ndarray, np.ndarray]:
    """All packed rows of a task as (lengths, ids) int32 arrays."""
    lengths: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    for batch in batches:
        for blob in batch.column("lengths").to_pylist():
            lengths.append(np.frombuffer(blob, np.int32))
        for blob in batch.column("ids").to_pylist():
            ids.append(np.frombuffer(blob, np.int32))
    if not lengths:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    return np.concatenate(lengths), np.concatenate(ids)
