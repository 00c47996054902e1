"""What the PCY family's tasks send back, and the Spark-side sum of it (MMDS §6.3).

Pass 1 and the multistage rehash pass end every task with ``TALLIES`` rows: its item counts
(one row per distinct item, with the item's hash, ``part`` = the item's shard), its number of
baskets N, and its bucket counts as slices of ``SLICE`` buckets (``part`` = slice index), each
slice dense (int32) or sparse (int32 offsets, then int32 counts) whichever is smaller, empty
slices not at all. One grouped Arrow function per ``part`` (:func:`merge_tallies`) sums the
tasks' rows, so the driver receives each bucket once (``4 B`` bytes at most) and each item
once, however many tasks ran: one Spark job with one shuffle (:func:`sum_tallies`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining.itemsets._pairs import Kernel

__all__ = [
    "BASKETS_ROW",
    "DISTINCT_ROW",
    "ITEM_ROW",
    "SLICE",
    "SLICE_ROW",
    "TALLIES",
    "assemble",
    "decode_counts",
    "encode_counts",
    "first_item_part",
    "merge_tallies",
    "slice_batches",
    "sum_tallies",
    "tally_batch",
]

SLICE = 2**18  # buckets per shipped slice (1 MiB dense): 32 slices for a 2^23-bucket table
_INT32_MAX = 2**31 - 1

ITEM_ROW, BASKETS_ROW, DISTINCT_ROW, SLICE_ROW = 0, 1, 2, 3
TALLIES = T.StructType([
    T.StructField("kind", T.IntegerType(), False),
    T.StructField("part", T.IntegerType(), False),
    T.StructField("item", T.StringType(), True),
    T.StructField("hash", T.LongType(), False),
    T.StructField("count", T.LongType(), False),
    T.StructField("blob", T.BinaryType(), True),
])
_TALLIES_ARROW = to_arrow_schema(TALLIES)  # the Arrow twin of the Spark schema


def encode_counts(chunk: np.ndarray) -> bytes:
    """Counts as bytes: dense int32, or int32 offsets then int32 counts when that is smaller."""
    nonzero = np.flatnonzero(chunk)
    if 2 * len(nonzero) < len(chunk):
        return nonzero.astype(np.int32).tobytes() + chunk[nonzero].astype(np.int32).tobytes()
    return chunk.astype(np.int32).tobytes()


def decode_counts(blob: bytes, length: int, into: np.ndarray) -> None:
    """Add the counts of an :func:`encode_counts` blob of ``length`` entries to ``into``."""
    values = np.frombuffer(blob, np.int32)
    if len(values) == length:  # dense; a sparse blob is shorter by construction
        into += values
    else:
        half = len(values) // 2
        into[values[:half]] += values[half:]


def tally_batch(kind: int, parts: list[int] | np.ndarray, *, items: pa.Array | None = None,
                hashes: np.ndarray | None = None, counts: np.ndarray | None = None,
                blobs: list[bytes] | None = None) -> pa.RecordBatch:
    """``TALLIES`` rows of one kind (absent columns null or zero)."""
    n = len(parts)
    zeros = np.zeros(n, np.int64)
    return pa.RecordBatch.from_arrays(
        [pa.array(np.full(n, kind, np.int32)), pa.array(np.asarray(parts, np.int32)),
         # Spark may send large_string (arrow.useLargeVarTypes): the schema says string
         items.cast(pa.string()) if items is not None else pa.nulls(n, pa.string()),
         pa.array(zeros if hashes is None else hashes, pa.int64()),
         pa.array(zeros if counts is None else counts, pa.int64()),
         pa.array(blobs, pa.binary()) if blobs is not None else pa.nulls(n, pa.binary())],
        schema=_TALLIES_ARROW)


def slice_batches(counts: np.ndarray) -> Iterator[pa.RecordBatch]:
    """A task's bucket counts as slice rows, one per non-empty slice."""
    ids, blobs = [], []
    for lo in range(0, len(counts), SLICE):
        chunk = counts[lo:lo + SLICE]
        if chunk.any():
            ids.append(lo // SLICE)
            blobs.append(encode_counts(chunk))
    if ids:
        yield tally_batch(SLICE_ROW, ids, blobs=blobs)


def first_item_part(n_buckets: int) -> int:
    """Item shards are numbered after the slices: parts ``>= ceil(n_buckets / SLICE)``."""
    return -(-n_buckets // SLICE)


def merge_tallies(n_buckets: int, keep_min: int) -> Callable[[pa.Table], pa.Table]:
    """The grouped (``applyInArrow``) function: one ``part``'s rows of all tasks, summed.

    A slice part holds slice rows only: their counts are summed and clipped to int32 (a
    bucket is only ever compared with a threshold below 2^31). An item part holds item and
    basket rows: item counts are summed (a ``pyarrow`` group-by), a ``DISTINCT`` row counts
    the part's items, and items below ``keep_min`` baskets are dropped before the driver.
    """

    def run(table: pa.Table) -> pa.Table:
        kind = table.column("kind").to_numpy()
        part = int(table.column("part")[0].as_py())
        if part < first_item_part(n_buckets):
            length = min(SLICE, n_buckets - part * SLICE)
            total = np.zeros(length, np.int64)
            for blob in table.column("blob").to_pylist():
                decode_counts(blob, length, total)
            return pa.Table.from_batches([tally_batch(
                SLICE_ROW, [part], blobs=[encode_counts(np.minimum(total, _INT32_MAX))])])
        items = table.filter(pc.equal(table.column("kind"), ITEM_ROW))
        grouped = items.group_by("item").aggregate([("count", "sum"), ("hash", "min")])
        kept = grouped.filter(pc.greater_equal(grouped.column("count_sum"), keep_min))
        n_baskets = int(table.column("count").to_numpy()[kind == BASKETS_ROW].sum())
        return pa.Table.from_batches([
            tally_batch(ITEM_ROW, np.full(kept.num_rows, part),
                        items=kept.column("item").combine_chunks(),
                        hashes=kept.column("hash_min").to_numpy(),
                        counts=kept.column("count_sum").to_numpy()),
            tally_batch(DISTINCT_ROW, [part], counts=np.array([grouped.num_rows])),
            tally_batch(BASKETS_ROW, [part], counts=np.array([n_baskets]))], _TALLIES_ARROW)

    return run


def sum_tallies(frame: DataFrame, kernel: Kernel, n_buckets: int, keep_min: int) -> pa.Table:
    """One Spark job: ``kernel``'s tallies per task, summed per part in Spark, to the driver."""
    return (frame.mapInArrow(kernel, TALLIES).groupBy("part")
            .applyInArrow(merge_tallies(n_buckets, keep_min), TALLIES).toArrow())


def assemble(table: pa.Table, n_buckets: int) -> np.ndarray:
    """The driver's int32 count array of ``n_buckets`` from the summed slice rows."""
    counts = np.zeros(n_buckets, np.int32)
    slices = table.filter(pc.equal(table.column("kind"), SLICE_ROW))
    for part, blob in zip(slices.column("part").to_pylist(), slices.column("blob").to_pylist()):
        lo = part * SLICE
        decode_counts(blob, min(SLICE, n_buckets - lo), counts[lo:lo + SLICE])
    return counts
