"""The PCY family's hash tables (MMDS §6.3): pair hashing, bucket counting, bitmaps, kernels.

Items are hashed once, in the JVM (``xxhash64`` of the string, the same on every executor).
Table ``t`` turns an item's hash into a 64-bit key by a splitmix64 finalizer of
``hash + (t + 1) * golden``, so the tables hash independently. The bucket of the pair
``{a, b}`` in a table of ``B`` buckets is ``((min(ka, kb) * golden) ^ max(ka, kb)) * c``
reduced to ``[0, B)`` by a multiply-shift of its top 32 bits (Lemire's fastrange: no
division): order-independent, and the same function on the executors (from the JVM's
hashes) and on the driver (from the frequent items' hashes). Bitmaps are
``np.packbits(..., bitorder="little")`` of ``count >= threshold``, bit ``b`` for bucket ``b``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining.itemsets._encode import unpack_baskets
from mining.itemsets._pairs import Kernel, pair_blocks, pair_items, pair_positions
from mining.itemsets._tallies import (
    BASKETS_ROW,
    ITEM_ROW,
    decode_counts,
    encode_counts,
    first_item_part,
    slice_batches,
    tally_batch,
)

__all__ = [
    "MAX_BLOCK",
    "PAIR_COUNTS",
    "Filter",
    "Hits",
    "bitmap",
    "bitmap_test",
    "count_pairs",
    "count_pairs_kernel",
    "in_frequent_buckets",
    "item_keys",
    "pair_buckets",
    "pass1_kernel",
    "rehash_kernel",
]

MAX_BLOCK = 4_000_000  # pairs hashed at once (a few 32 MB temporaries)
_MASK64 = 2**64 - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)

Filter = tuple[int, np.ndarray, int]  # (table number = hash function, bitmap, buckets)

PAIR_COUNTS = T.StructType([
    T.StructField("counts", T.BinaryType(), False),
    T.StructField("max_length", T.IntegerType(), False),
])
_PAIR_COUNTS_ARROW = to_arrow_schema(PAIR_COUNTS)  # the Arrow twin of the Spark schema


def item_keys(hashes: np.ndarray, table: int) -> np.ndarray:
    """Table ``table``'s 64-bit keys (uint64) of items from their int64 ``xxhash64``."""
    x = hashes.astype(np.int64).view(np.uint64) + np.uint64(((table + 1) * _GOLDEN) & _MASK64)
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


def pair_buckets(ka: np.ndarray, kb: np.ndarray, n_buckets: int) -> np.ndarray:
    """Buckets in ``[0, n_buckets)`` (int64) of the pairs ``{ka[i], kb[i]}``."""
    x = np.minimum(ka, kb)
    x *= np.uint64(_GOLDEN)
    x ^= np.maximum(ka, kb)
    x *= _MIX1
    x >>= np.uint64(32)
    x *= np.uint64(n_buckets)  # < 2^32 * 2^32: no overflow while n_buckets < 2^32
    x >>= np.uint64(32)
    return x.view(np.int64)


class Hits:
    """An int32 count array fed in buffered blocks of about ``MAX_BLOCK`` hits.

    Baskets arrive in blocks of one length, often a few pairs each, so hits are buffered.
    ``np.add.at`` with an int32 value takes numpy's fast path, ~15 ns per hit here whatever
    the table size (4M hits into 2^23 buckets: 0.06 s, against 0.06-0.38 s for ``bincount``,
    whose B-long int64 temporary is paged in each time, and 0.11-0.49 s for ``np.unique``).
    """

    def __init__(self, size: int) -> None:
        self.counts = np.zeros(size, np.int32)
        self._held: list[np.ndarray] = []
        self._size = 0

    def add(self, positions: np.ndarray) -> None:
        self._held.append(positions)
        self._size += len(positions)
        if self._size >= MAX_BLOCK:
            self.flush()

    def flush(self) -> np.ndarray:
        if self._held:
            np.add.at(self.counts, np.concatenate(self._held), np.int32(1))
            self._held, self._size = [], 0
        return self.counts


def bitmap(counts: np.ndarray, threshold: int) -> np.ndarray:
    """The frequent buckets of ``counts`` as a bitmap, 1 bit per bucket (§6.3.1)."""
    return np.packbits(counts >= threshold, bitorder="little")


def bitmap_test(bits: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Bits ``positions`` of a :func:`bitmap`, as a bool array."""
    return (bits[positions >> 3] >> (positions & 7).astype(np.uint8)) & 1 == 1


def in_frequent_buckets(m: int, hashes: np.ndarray, filters: list[Filter],
                        keys: np.ndarray | None = None) -> np.ndarray:
    """Sorted triangular keys of the pairs (of ``keys``; all ``m(m-1)/2`` by default) whose
    bucket is frequent in every table of ``filters``: the driver's candidate condition."""
    total = m * (m - 1) // 2 if keys is None else len(keys)
    tables = [(item_keys(hashes, t), bits, n) for t, bits, n in filters]
    kept = [np.empty(0, np.int64)]
    for lo in range(0, total, MAX_BLOCK):
        block = (np.arange(lo, min(lo + MAX_BLOCK, total), dtype=np.int64) if keys is None
                 else keys[lo:lo + MAX_BLOCK])
        pairs = pair_items(block, m)
        keep = np.ones(len(block), bool)
        for key, bits, n in tables:
            keep &= bitmap_test(bits, pair_buckets(key[pairs[:, 0]], key[pairs[:, 1]], n))
        kept.append(block[keep])
    return np.concatenate(kept)


def pass1_kernel(tables: int, table_buckets: int, shards: int) -> Kernel:
    """PCY pass 1 (§6.3.1) per task: count items and N, hash every pair into every table.

    Input: ``items`` (distinct strings) and ``hashes`` (their ``xxhash64``). Output: the
    task's ``TALLIES`` (item rows sharded by ``hash mod shards``, N, bucket slices).
    """
    first_shard = first_item_part(tables * table_buckets)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        hits = [Hits(table_buckets) for _ in range(tables)]
        found: list[pa.Table] = []
        n_baskets = 0
        for batch in batches:
            n_baskets += batch.num_rows
            lengths = pc.list_value_length(batch.column(0)).to_numpy()
            flat = batch.column(0).flatten()
            hashes = batch.column(1).flatten().to_numpy()
            if len(flat) == 0:
                continue
            # one C++ hash pass names the batch's distinct items; the JVM's hash rides along
            encoded = pc.dictionary_encode(flat)
            codes = encoded.indices.to_numpy()
            distinct = np.zeros(len(encoded.dictionary), np.int64)
            distinct[codes] = hashes
            found.append(pa.table({"item": encoded.dictionary.cast(pa.string()),
                                   "hash": distinct,
                                   "count": np.bincount(codes, minlength=len(distinct))}))
            keys = [item_keys(hashes, t) for t in range(tables)] if table_buckets else []
            for p, q in pair_positions(lengths):
                for key, table in zip(keys, hits):
                    table.add(pair_buckets(key[p], key[q], table_buckets))
        if n_baskets == 0:
            return
        if found:
            items = pa.concat_tables(found).group_by("item").aggregate(
                [("count", "sum"), ("hash", "min")])
            item_hash = items.column("hash_min").to_numpy()
            shard = (item_hash.view(np.uint64) % np.uint64(shards)).astype(np.int64)
            yield tally_batch(ITEM_ROW, first_shard + shard,
                              items=items.column("item").combine_chunks(), hashes=item_hash,
                              counts=items.column("count_sum").to_numpy())
        yield tally_batch(BASKETS_ROW, [first_shard], counts=np.array([n_baskets]))
        yield from slice_batches(np.concatenate([table.flush() for table in hits]))

    return run


def rehash_kernel(keys1: np.ndarray, keys2: np.ndarray, bits1: np.ndarray, buckets1: int,
                  buckets2: int) -> Kernel:
    """Multistage pass 2 (§6.3.2) per task over encoded baskets: the second table's counts.

    The task holds what the book's second pass holds: the frequent items' keys of both
    tables, the first bitmap and the second table. Only pairs of frequent items (the
    encoding keeps no other) whose first-table bucket is frequent are hashed again.
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        lengths, ids = unpack_baskets(batches)
        if len(lengths) == 0:
            return
        hits = Hits(buckets2)
        for p, q in pair_positions(lengths):
            i, j = ids[p], ids[q]
            keep = bitmap_test(bits1, pair_buckets(keys1[i], keys1[j], buckets1))
            hits.add(pair_buckets(keys2[i[keep]], keys2[j[keep]], buckets2))
        yield from slice_batches(hits.flush())

    return run


def count_pairs_kernel(m: int, shipped: np.ndarray, as_mask: bool) -> Kernel:
    """The counting pass per task: counts of the candidate pairs only (§6.3.1, triples).

    ``shipped``: the sorted int64 triangular keys of the candidates or (``as_mask``) a
    bitmap over all ``m(m-1)/2`` keys, whichever is smaller to ship. The task holds the
    sorted keys and an int32 count per key, found by binary search: the book's triples,
    12 B per candidate pair. Output: one ``PAIR_COUNTS`` row per task.
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        lengths, ids = unpack_baskets(batches)
        if len(lengths) == 0:
            return
        keys = shipped if not as_mask else np.flatnonzero(
            np.unpackbits(shipped, count=m * (m - 1) // 2, bitorder="little"))
        hits = Hits(len(keys))
        for block in pair_blocks(lengths, ids, m) if len(keys) else ():
            pos = np.minimum(np.searchsorted(keys, block), len(keys) - 1)
            hits.add(pos[keys[pos] == block])
        yield pa.RecordBatch.from_pydict(
            {"counts": [encode_counts(hits.flush())], "max_length": [int(lengths.max())]},
            schema=_PAIR_COUNTS_ARROW)

    return run


def count_pairs(encoded: DataFrame, m: int, cands: np.ndarray,
                threshold: int) -> tuple[np.ndarray, np.ndarray, int, str]:
    """The counting pass: frequent pairs, their counts, the longest basket, what was shipped.

    One Spark job; each task returns its candidates' counts (dense or sparse int32, at most
    4 B per candidate) and the driver sums them, as A-Priori's pass 2 does (<= 64 tasks).
    """
    if len(cands) == 0:
        return np.empty((0, 2), np.int32), np.empty(0, np.int64), 0, "nothing, no job"
    possible = m * (m - 1) // 2
    as_mask = (possible + 7) // 8 < 8 * len(cands)
    if as_mask:  # many candidates: a bit per possible pair is smaller than 8 B per candidate
        mask = np.zeros(possible, bool)
        mask[cands] = True
        shipped = np.packbits(mask, bitorder="little")
    else:
        shipped = cands
    rows = encoded.mapInArrow(count_pairs_kernel(m, shipped, as_mask), PAIR_COUNTS).collect()
    total = np.zeros(len(cands), np.int64)
    for row in rows:
        decode_counts(row["counts"], len(cands), total)
    keep = total >= threshold
    max_length = max((int(r["max_length"]) for r in rows), default=0)
    what = f"a {len(shipped)}-byte bitmask" if as_mask else f"{len(cands)} int64 keys"
    return pair_items(cands[keep], m), total[keep], max_length, what
