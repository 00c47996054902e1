"""The two passes of :class:`mining.sgd.features.Standardizer`: per-feature moments, scaling.

Fitting is one job of built-in functions: every stored value becomes a row ``(index, value)``
(``inline``), plus one sentinel row per input row (index ``-1``) that counts the rows, and a
``groupBy(index)`` takes each feature's count, mean and population variance of its stored
values (Spark's central-moment aggregate: Welford updates within a task, Chan's pairwise merge
across tasks, so a large mean does not cancel the variance as ``E[x^2] - E[x]^2`` would). The
map-side partial aggregate shuffles one row per feature per task. The driver then adds the
implicit zeros by the same pairwise rule.

Why built-ins and not a ``mapInArrow`` kernel of per-task numpy moments (one row per task, no
shuffle): moving nested arrays into Arrow costs more per row than Spark's aggregate does.
Measured here (``bench/bench_features.py``'s tools, local[2], cached input, medians of 9
interleaved rounds; kernel / these built-ins / plain sums and sums of squares): a9a (32,561
rows) 0.29 / 0.47 / 0.39 s; a9a x 10 (325,610 rows) 0.68 / 0.57 / 0.44 s; a9a x 30 (976,830
rows) 1.32 / 1.06 / 0.91 s. The kernel wins only below a few hundred thousand rows, by a
second stage's fixed cost; plain sums are 15-25 % faster still but lose the variance of a
feature whose mean is large against its spread (``E[x^2] - E[x]^2`` cancels).

Scaling is a ``mapInArrow`` kernel (a gather of ``1 / scale`` by index in numpy): the same
kernel against ``transform(arrays_zip(...))`` over an array literal of the scales took 0.69 s
against 0.98 s (a9a) and 1.84 s against 2.36 s (x 10), and a literal of ``2**18`` hashed
features' scales in every plan would not scale.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining._arrow import ArrowKernel, list_values, lists_array

__all__ = ["DENSE_CELLS", "feature_moments", "scale_kernel"]

# Centering densifies: a kernel makes at most this many dense cells (8 bytes each) at a time.
DENSE_CELLS = 1 << 22


def feature_moments(points: DataFrame) -> tuple[int, np.ndarray, np.ndarray]:
    """Rows ``n``, and per feature the mean and the sum of squared deviations ``M2`` over all
    rows (absent values counted as 0), as wide as 1 + the largest index; one job."""
    sentinel = F.array(F.struct(F.lit(-1).alias("indices"), F.lit(1.0).alias("values")))
    stats = (points.select(F.inline(F.concat(F.arrays_zip("indices", "values"), sentinel)))
             .groupBy("indices")
             .agg(F.count("*").alias("stored"), F.avg("values").alias("mean"),
                  F.var_pop("values").alias("var"))
             .collect())
    n = next((int(r["stored"]) for r in stats if r["indices"] == -1), 0)
    features = [r for r in stats if r["indices"] >= 0]
    index = np.array([r["indices"] for r in features], np.int64)
    width = int(index.max()) + 1 if len(index) else 0
    stored, mean_s, var_s = np.zeros(width), np.zeros(width), np.zeros(width)
    stored[index] = [r["stored"] for r in features]
    mean_s[index] = [r["mean"] for r in features]
    var_s[index] = [r["var"] for r in features]
    if not n:
        return 0, mean_s, var_s
    # The stored values and the n - stored zeros, merged by Chan et al.'s pairwise rule.
    return n, mean_s * stored / n, var_s * stored + mean_s**2 * stored * (n - stored) / n


def _centered(X: sp.csr_matrix, mean: np.ndarray, scale: np.ndarray) -> sp.csr_matrix:
    """``(X - mean) / scale`` on the fitted features, the other columns as they are."""
    d = len(mean)
    inside, outside = X[:, :d], X[:, d:]
    step = max(1, DENSE_CELLS // max(d, 1))
    parts = [sp.csr_matrix((inside[lo:lo + step].toarray() - mean) / scale)
             for lo in range(0, X.shape[0], step)]
    out = sp.hstack([sp.vstack(parts, format="csr"), outside], format="csr")
    out.sort_indices()
    return out


def scale_kernel(mean: np.ndarray, scale: np.ndarray, with_mean: bool,
                 schema: pa.Schema) -> ArrowKernel:
    """``mapInArrow`` kernel: ``LABELED_POINTS`` rows scaled (and centered with ``with_mean``).

    Indices at or beyond ``len(scale)`` (features the fit never saw) pass through unchanged.
    """
    d = len(scale)
    index_type, value_type = schema.field("indices").type, schema.field("values").type

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch.num_rows:
                continue
            offsets, cols = list_values(batch.column("indices"))
            _, vals = list_values(batch.column("values"))
            if with_mean:
                width = max(d, int(cols.max()) + 1 if len(cols) else 0)
                X = _centered(sp.csr_matrix((vals, cols, offsets),
                                            shape=(batch.num_rows, width)), mean, scale)
                offsets, cols, out = X.indptr, X.indices, X.data
            else:
                inside = cols < d
                out = vals.astype(np.float64, copy=True)
                out[inside] /= scale[cols[inside]]
            yield pa.record_batch(
                [batch.column("row"), batch.column("label"),
                 lists_array(np.asarray(cols, np.int32), offsets, index_type),
                 lists_array(np.asarray(out, np.float64), offsets, value_type),
                 batch.column("qid")], schema=schema)

    return kernel

