"""The distributed LSH path: band rows grouped by bucket across tasks, pairs verified by joins.

Banding (§3.4.1): one row per (document, band), grouped by ``(band, bucket)``; a bucket of
``2..max_bucket`` documents becomes its pairs by array functions in the JVM (no Python on this
side), a larger one is reported instead of expanded (a bucket of ``m`` documents is
``m (m - 1) / 2`` pairs). Pairs are counted over bands: ``band_hits``.

Verification (§3.4.3): each candidate is joined to both documents' packed signature and
shingles, and a numpy kernel (:func:`~mining.similar._verify.jaccard_pairs`) computes the exact
Jaccard similarity and the estimate of every pair of a batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from mining import schemas
from mining._arrays import ranges
from mining._frames import conform
from mining.similar._sketch import binary_values
from mining.similar._verify import jaccard_pairs

__all__ = ["banded_pairs", "verify_pairs"]

_CANDIDATES_ARROW = to_arrow_schema(schemas.CANDIDATE_PAIRS)


def _bucket_pairs(docs: Column) -> Column:
    """Every pair ``(docs[i], docs[j])``, ``i < j``, of a sorted array, as structs."""
    n = F.size(docs)
    return F.flatten(F.transform(
        F.sequence(F.lit(0), n - 2),
        lambda i: F.transform(F.slice(docs, i + 2, n - i - 1),
                              lambda x: F.struct(docs[i].alias("doc_a"), x.alias("doc_b")))))


def banded_pairs(sketches: DataFrame, *, max_bucket: int) -> tuple[DataFrame, DataFrame]:
    """``(pairs doc_a < doc_b with band_hits, oversized buckets)`` of the banded sketches."""
    rows = sketches.where(~F.col("empty")).select(
        "doc_id", F.posexplode("bands").alias("band", "bucket"))
    buckets = rows.groupBy("band", "bucket").agg(
        F.count(F.lit(1)).alias("size"), F.sort_array(F.collect_list("doc_id")).alias("docs"))
    pairs = (buckets.where(F.col("size").between(2, max_bucket))
             .select(F.explode(_bucket_pairs(F.col("docs"))).alias("p"))
             .groupBy("p.doc_a", "p.doc_b").agg(F.count(F.lit(1)).alias("band_hits")))
    oversized = (rows.groupBy("band", "bucket").agg(F.count(F.lit(1)).alias("size"))
                 .where(F.col("size") > max_bucket))
    return pairs, conform(oversized, schemas.OVERSIZED_BUCKETS)


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


def verify_pairs(pairs: DataFrame, sketches: DataFrame, *, num_perm: int) -> DataFrame:
    """``CANDIDATE_PAIRS``: the pairs with their exact and estimated Jaccard similarities."""
    side = sketches.select("doc_id", "signature", "shingles")
    joined = (pairs.select("doc_a", "doc_b", F.col("band_hits").cast("int"))
              .join(side.toDF("doc_a", "sig_a", "sh_a"), "doc_a")
              .join(side.toDF("doc_b", "sig_b", "sh_b"), "doc_b")
              .select("doc_a", "doc_b", "band_hits", "sig_a", "sig_b", "sh_a", "sh_b"))

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                yield _verify_batch(batch, num_perm)

    return joined.mapInArrow(kernel, schemas.CANDIDATE_PAIRS)
