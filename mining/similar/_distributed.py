"""The distributed LSH path: band rows grouped by bucket across tasks, pairs verified by joins.

Banding (§3.4.1): one row per (document, band), shuffled by ``(band, bucket)``; each task
expands its buckets of ``2..max_bucket`` documents into pairs in numpy and reports the larger
ones instead (a bucket of ``m`` documents is ``m (m - 1) / 2`` pairs). Pairs are counted over
bands: ``band_hits``.

Verification (§3.4.3): each candidate is joined to both documents' packed signature and
shingles, and a numpy kernel (:func:`~mining.similar._verify.jaccard_pairs`) computes the exact
Jaccard similarity and the estimate of every pair of a batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from mining import schemas
from mining._arrays import ranges
from mining._arrow import ArrowKernel, binary_values
from mining.similar._banding import BandTable, candidate_pairs
from mining.similar._onetask import ONE_TASK, one_task_batch
from mining.similar._verify import jaccard_pairs

__all__ = ["banded_pairs", "verify_between", "verify_pairs"]

_CANDIDATES_ARROW = to_arrow_schema(schemas.CANDIDATE_PAIRS)


def _bucket_kernel(max_bucket: int) -> ArrowKernel:
    """The candidate pairs of one task's band rows (all rows of a bucket are in the task)."""
    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = [b for b in batches if b.num_rows]
        if not parts:
            return
        table = pa.Table.from_batches(parts)
        encoded = pc.dictionary_encode(table.column("doc_id").combine_chunks())
        names = encoded.dictionary
        # documents numbered in doc_id order, so that pairs first < second are doc_a < doc_b
        by_name = pc.sort_indices(names).to_numpy()
        rank = np.empty(len(names), np.int64)
        rank[by_name] = np.arange(len(names))
        rows = BandTable(rank[encoded.indices.to_numpy()],
                         table.column("band").to_numpy().astype(np.int32),
                         table.column("bucket").to_numpy().view(np.uint64))
        c = candidate_pairs(rows, max_bucket=max_bucket)
        if len(c.first):
            yield one_task_batch({"doc_a": names.take(pa.array(by_name[c.first])),
                                  "doc_b": names.take(pa.array(by_name[c.second])),
                                  "band_hits": c.band_hits}, len(c.first))
        if len(c.oversized_band):
            yield one_task_batch({"band": c.oversized_band,
                                  "bucket": c.oversized_key.view(np.int64),
                                  "size": c.oversized_size}, len(c.oversized_band))

    return kernel


def banded_pairs(sketches: DataFrame, *, max_bucket: int) -> DataFrame:
    """``ONE_TASK`` rows (no similarities yet): each task's pairs and oversized buckets.

    The band rows are shuffled by ``(band, bucket)`` (hash partitioning: the bucket keys are
    uniform 64-bit hashes, so tasks get equal shares), and each task expands its buckets with
    :func:`~mining.similar._banding.candidate_pairs`. A pair sharing buckets in several bands
    can come from several tasks: :func:`verify_pairs` adds their hits up. Measured on 100,000
    synthetic documents (1.6 M band rows, from cached sketches): 2.3 s, against 5.6 s for a
    group-by with ``collect_list`` and a pair explode in the JVM plus 1.7 s for a separate
    oversized-bucket count.
    """
    rows = sketches.where(~F.col("empty")).select(
        "doc_id", F.posexplode("bands").alias("band", "bucket"))
    return rows.repartition("band", "bucket").mapInArrow(_bucket_kernel(max_bucket), ONE_TASK)


def _verify_batch(batch: pa.RecordBatch, num_perm: int) -> pa.RecordBatch:
    n = batch.num_rows
    off_a, keys_a = binary_values(batch.column("sh_a"), np.dtype("<u8"))
    off_b, keys_b = binary_values(batch.column("sh_b"), np.dtype("<u8"))
    # documents 2i and 2i + 1 are pair i's (a document in several pairs appears in each)
    offsets = np.empty(2 * n + 1, np.int64)
    offsets[0] = 0
    sizes = np.empty(2 * n, np.int64)
    sizes[0::2], sizes[1::2] = np.diff(off_a), np.diff(off_b)
    np.cumsum(sizes, out=offsets[1:])
    keys = np.empty(int(offsets[-1]), np.uint64)
    keys[ranges(offsets[:-1:2], sizes[0::2])] = keys_a
    keys[ranges(offsets[1:-1:2], sizes[1::2])] = keys_b
    pair = np.arange(n, dtype=np.int64)
    jac = jaccard_pairs(offsets, keys, 2 * pair, 2 * pair + 1)
    sig_a = binary_values(batch.column("sig_a"), np.dtype("<u4"))[1].reshape(n, num_perm)
    sig_b = binary_values(batch.column("sig_b"), np.dtype("<u4"))[1].reshape(n, num_perm)
    estimated = (sig_a == sig_b).mean(axis=1)
    arrays = [batch.column("doc_a"), batch.column("doc_b"), batch.column("band_hits"),
              pa.array(estimated), pa.array(jac)]
    return pa.RecordBatch.from_arrays(arrays, schema=_CANDIDATES_ARROW)


def verify_pairs(found: DataFrame, sketches: DataFrame, *, num_perm: int,
                 broadcast_docs: bool) -> DataFrame:
    """``CANDIDATE_PAIRS``: the pairs of ``found`` (band hits added up over tasks) with their
    exact and estimated Jaccard similarities.

    Only the sketches of documents in some pair are joined: with ``broadcast_docs`` their ids
    are broadcast (no shuffle of the sketch table, whose signatures and shingles are most of
    the bytes: 170 MB for 100,000 documents), else a semi join shuffles it once.
    """
    pairs = (found.where(F.col("doc_a").isNotNull())
             .groupBy("doc_a", "doc_b").agg(F.sum("band_hits").cast("int").alias("band_hits")))
    ids = pairs.select(F.col("doc_a").alias("doc_id")).union(
        pairs.select(F.col("doc_b").alias("doc_id"))).distinct()
    return verify_between(pairs, _paired(sketches, ids, broadcast_docs),
                          _paired(sketches, ids, broadcast_docs), num_perm=num_perm)


def _paired(sketches: DataFrame, ids: DataFrame, broadcast: bool) -> DataFrame:
    """The signatures and shingles of the documents in ``ids``."""
    return sketches.select("doc_id", "signature", "shingles").join(
        F.broadcast(ids) if broadcast else ids, "doc_id", "left_semi")


def verify_between(pairs: DataFrame, side_a: DataFrame, side_b: DataFrame, *,
                   num_perm: int) -> DataFrame:
    """``CANDIDATE_PAIRS`` of ``pairs`` (doc_a, doc_b, band_hits): ``doc_a``'s sketch from
    ``side_a``, ``doc_b``'s from ``side_b`` (``doc_id``, ``signature``, ``shingles``)."""
    joined = (pairs.select("doc_a", "doc_b", F.col("band_hits").cast("int"))
              .join(side_a.select("doc_id", "signature", "shingles")
                    .toDF("doc_a", "sig_a", "sh_a"), "doc_a")
              .join(side_b.select("doc_id", "signature", "shingles")
                    .toDF("doc_b", "sig_b", "sh_b"), "doc_b")
              .select("doc_a", "doc_b", "band_hits", "sig_a", "sig_b", "sh_a", "sh_b"))

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                yield _verify_batch(batch, num_perm)

    return joined.mapInArrow(kernel, schemas.CANDIDATE_PAIRS)
