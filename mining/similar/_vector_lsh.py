"""Near neighbours of vectors by cosine or Euclidean LSH, verified exactly (MMDS §3.7).

The documents pipeline with other hashes: each vector is sketched where it is read
(``mapInArrow``): random-hyperplane bits for the cosine distance (§3.7.2-3.7.3), bucketed
random projections for the Euclidean one (§3.7.4); ``b`` bands of ``r`` of them are hashed to
bucket keys (AND within a band, OR across bands), candidate pairs come from shared buckets as
for documents (one numpy task per ``(band, bucket)`` partition, oversized buckets reported),
and every candidate's exact distance decides (precision 1.0).

Banding: a pair is a candidate with probability ``1 - (1 - p^r)^b`` where ``p`` is one hash's
agreement probability: ``1 - θ/180`` for hyperplanes, the bucket collision probability at the
distance for projections; ``(b, r)`` default to the longest bands that catch a pair at the
threshold with probability :data:`RECALL` (verification removes the extra candidates).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from mining import schemas
from mining._arrow import ArrowKernel, lists_array
from mining._frames import conform, one_row
from mining.errors import InputError
from mining.similar._banding import MAX_BUCKET
from mining.similar._distributed import banded_pairs
from mining.similar._scurve import BandChoice, candidate_probability, error_areas
from mining.similar._vectors import (
    SparseRows,
    cosine_distance_pairs,
    cosine_sketches,
    euclidean_distance_pairs,
    projection_buckets,
    projection_collision_probability,
    vector_band_keys,
)

__all__ = ["Metric", "VectorResult", "find_similar_vectors"]

Metric = Literal["cosine", "euclidean"]
RECALL = 0.995  # chance that a pair exactly at the threshold becomes a candidate
_BANDED = T.StructType([T.StructField("doc_id", T.StringType(), False),
                        T.StructField("empty", T.BooleanType(), False),
                        T.StructField("bands", T.ArrayType(T.LongType(), False), False)])
_BANDED_ARROW = to_arrow_schema(_BANDED)
_PAIRS_ARROW = to_arrow_schema(schemas.VECTOR_PAIRS)


@dataclass(frozen=True)
class VectorResult:
    """What :func:`find_similar_vectors` found; ``candidates`` is cached (``unpersist``)."""

    candidates: DataFrame  # VECTOR_PAIRS: every candidate with its exact distance
    pairs: DataFrame  # VECTOR_PAIRS: the candidates within the threshold
    oversized: DataFrame  # OVERSIZED_BUCKETS
    choice: BandChoice
    metric: str
    threshold: float
    bucket_width: float | None
    cached: tuple[DataFrame, ...] = ()

    def unpersist(self) -> None:
        """Release the cached candidates and band pairs."""
        for frame in (self.candidates, *self.cached):
            frame.unpersist()


def _rows(batch: pa.RecordBatch, dim: int) -> SparseRows:
    indices, values = batch.column("indices"), batch.column("values")
    offsets = np.asarray(indices.offsets, np.int64)
    return SparseRows(indices.flatten().to_numpy().astype(np.int32),
                      values.flatten().to_numpy(), offsets - offsets[0], dim)


def _sketcher(metric: str, dim: int, choice: BandChoice, seed: int,
              width: float | None) -> ArrowKernel:
    k = choice.bands * choice.rows

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch.num_rows:
                continue
            vectors = _rows(batch, dim)
            if metric == "cosine":
                sk = cosine_sketches(vectors, n_planes=k, seed=seed, gaussian=True)
                codes, empty = sk.bits, sk.empty
            else:
                codes = projection_buckets(vectors, n_projections=k, bucket_width=width or 1.0,
                                           seed=seed)
                empty = np.zeros(batch.num_rows, bool)
            keys = vector_band_keys(codes, bands=choice.bands, rows=choice.rows)
            keys[empty] = 0
            offsets = np.concatenate([[0], np.cumsum(np.where(empty, 0, choice.bands))])
            ids = batch.column("row").cast(pa.string())
            band_type = _BANDED_ARROW.field("bands").type
            yield pa.RecordBatch.from_arrays(
                [ids, pa.array(empty), lists_array(keys[~empty].ravel().view(np.int64),
                                                   offsets, band_type)], schema=_BANDED_ARROW)

    return kernel


def _verifier(metric: str, dim: int) -> ArrowKernel:
    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            n = batch.num_rows
            if not n:
                continue
            a = _rows(pa.RecordBatch.from_arrays([batch.column("ia"), batch.column("va")],
                                                 names=["indices", "values"]), dim)
            b = _rows(pa.RecordBatch.from_arrays([batch.column("ib"), batch.column("vb")],
                                                 names=["indices", "values"]), dim)
            both = SparseRows(np.concatenate([a.indices, b.indices]),
                              np.concatenate([a.values, b.values]),
                              np.concatenate([a.offsets, a.offsets[-1] + b.offsets[1:]]), dim)
            first, second = np.arange(n), np.arange(n, 2 * n)
            dist = (cosine_distance_pairs if metric == "cosine" else euclidean_distance_pairs)(
                both, first, second)
            yield pa.RecordBatch.from_arrays(
                [batch.column("id_a"), batch.column("id_b"), pa.array(dist),
                 batch.column("band_hits")], schema=_PAIRS_ARROW)

    return kernel


def _choice(metric: str, threshold: float, width: float | None, dim: int, n_hashes: int,
            bands: int | None, rows: int | None) -> BandChoice:
    if (bands is None) != (rows is None):
        raise InputError("give both bands and rows, or neither")
    p = 1.0 - threshold / 180.0 if metric == "cosine" else float(
        projection_collision_probability(threshold, bucket_width=width or 1.0, dim=dim))
    p = min(max(p, 1e-6), 1 - 1e-6)
    if bands is None or rows is None:
        return _recall_banding(p, n_hashes)
    fp, fn = error_areas(p, bands=bands, rows=rows)
    return BandChoice(bands, rows, fp, fn, (1.0 / bands) ** (1.0 / rows))


def _recall_banding(p: float, n_hashes: int, recall: float = RECALL) -> BandChoice:
    """The longest bands (fewest false positives) that still catch a pair at the threshold's
    agreement probability ``p`` with probability ``recall``.

    Not :func:`choose_bands`' area weighting: near ``p = 1`` (small angles) the
    false-negative side ``[p, 1]`` is a sliver, so areas hardly weigh misses; measured on
    letter-recognition at 5 degrees, the areas chose 5 x 25 (0.966 at the threshold) and
    found 91% of the pairs.
    """
    for r in range(n_hashes, 0, -1):
        b = n_hashes // r
        if float(candidate_probability(p, bands=b, rows=r)) >= recall:
            fp, fn = error_areas(p, bands=b, rows=r)
            return BandChoice(b, r, fp, fn, (1.0 / b) ** (1.0 / r))
    fp, fn = error_areas(p, bands=n_hashes, rows=1)
    return BandChoice(n_hashes, 1, fp, fn, 1.0 / n_hashes)


def find_similar_vectors(
    points: DataFrame,
    *,
    metric: Metric = "cosine",
    threshold: float,
    dim: int | None = None,
    n_hashes: int = 128,
    bands: int | None = None,
    rows: int | None = None,
    bucket_width: float | None = None,
    seed: int = 1,
    max_bucket: int = MAX_BUCKET,
) -> VectorResult:
    """Pairs of vectors within ``threshold`` of each other (cosine angle or Euclidean).

    Parameters
    ----------
    points
        ``row`` (long, distinct), ``indices`` (int, strictly increasing) and ``values``
        (double): sparse vectors, as :func:`~mining.io.readers.read_labeled` returns.
    metric
        ``"cosine"``: the angle in degrees (§3.5.4), Gaussian random hyperplanes;
        ``"euclidean"``: the L2 distance, bucketed random projections.
    threshold
        Largest angle (0-180) or distance of a pair.
    dim
        Vector dimension; default: the largest index + 1 (one aggregate).
    n_hashes
        Hyperplanes or projections available to the banding.
    bands, rows
        Default: chosen from the threshold (see the module docstring).
    bucket_width
        Euclidean: the projection bucket width; default ``4 threshold / sqrt(dim)``, where a
        pair at the threshold shares a bucket with probability about 0.8.
    seed
        Seed of the hyperplanes or projections.
    max_bucket
        Larger buckets are reported in ``oversized``, not expanded.

    Returns
    -------
    VectorResult
        ``pairs`` (``id_a < id_b``, ``distance``, ``band_hits``), every candidate, oversized
        buckets and the banding used.
    """
    if metric not in ("cosine", "euclidean"):
        raise InputError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    if not threshold > 0 or (metric == "cosine" and threshold >= 180):
        raise InputError(f"threshold must be positive (an angle below 180 for cosine), got "
                         f"{threshold!r}")
    if dim is None:
        row = one_row(points.select(F.max(F.array_max("indices")).alias("top")))
        dim = int(row.top) + 1 if row is not None and row.top is not None else 1
    width = bucket_width or (4.0 * threshold / math.sqrt(dim) if metric == "euclidean" else None)
    choice = _choice(metric, threshold, width, dim, n_hashes, bands, rows)
    vectors = points.select("row", "indices", "values")
    banded = vectors.mapInArrow(_sketcher(metric, dim, choice, seed, width), _BANDED)
    found = banded_pairs(banded, max_bucket=max_bucket).persist(StorageLevel.MEMORY_AND_DISK)
    pairs = (found.where(F.col("doc_a").isNotNull())
             .groupBy("doc_a", "doc_b").agg(F.sum("band_hits").cast("int").alias("band_hits"))
             .select(F.col("doc_a").cast("long").alias("id_a"),
                     F.col("doc_b").cast("long").alias("id_b"), "band_hits"))
    joined = (pairs.join(vectors.toDF("id_a", "ia", "va"), "id_a")
              .join(vectors.toDF("id_b", "ib", "vb"), "id_b")
              .select("id_a", "id_b", "band_hits", "ia", "va", "ib", "vb"))
    checked = joined.mapInArrow(_verifier(metric, dim), schemas.VECTOR_PAIRS)
    # ids ordered as numbers (the banding ordered their strings)
    ordered = checked.select(F.least("id_a", "id_b").alias("id_a"),
                             F.greatest("id_a", "id_b").alias("id_b"), "distance", "band_hits")
    candidates = conform(ordered, schemas.VECTOR_PAIRS).persist(StorageLevel.MEMORY_AND_DISK)
    close = conform(candidates.where(F.col("distance") <= threshold), schemas.VECTOR_PAIRS)
    oversized = conform(found.where(F.col("doc_a").isNull()), schemas.OVERSIZED_BUCKETS)
    return VectorResult(candidates, close, oversized, choice, metric, threshold, width, (found,))
