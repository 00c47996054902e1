"""Standardizer.fit (built-in ``groupBy`` of central moments) against its alternatives.

All tools start from the same cached ``LABELED_POINTS`` (a9a, and a9a repeated 10 and 30
times with new row ids over four partitions): ``arrow-kernel``, per-task numpy moments in a
``mapInArrow`` job (one row per task, Chan's merge on the driver), the design measured against
ours;
``explode-sums``, the built-in plan with plain sums and sums of squares; MLlib's
``StandardScaler`` on a cached column of sparse vectors (its ``Summarizer`` tree aggregate);
scikit-learn's ``StandardScaler`` on the same rows as an in-memory scipy CSR matrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from bench.harness import BenchContext, Tools, benchmark, isolated

_KERNEL_ROW = "n long, width int, mean binary, m2 binary"


def _points(ctx: BenchContext, copies: int) -> Any:
    from pyspark.sql import functions as F

    from mining.io.readers import read_labeled

    path = str(ctx.shared_file("classification/a9a.gz"))
    points = read_labeled(ctx.spark, path, n_features=123).data
    if copies > 1:
        copy = F.explode(F.sequence(F.lit(0), F.lit(copies - 1))).alias("copy")
        points = (points.select("*", copy)
                  .select((F.col("row") * copies + F.col("copy")).alias("row"), "label",
                          "indices", "values", "qid")
                  .repartition(4))
    return points.cache()


def _merge(a: tuple[int, np.ndarray, np.ndarray],
           b: tuple[int, np.ndarray, np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
    (na, ma, qa), (nb, mb, qb) = a, b
    if not na or not nb:
        return b if not na else a
    width = max(len(ma), len(mb))
    ma, qa, mb, qb = (np.pad(x, (0, width - len(x))) for x in (ma, qa, mb, qb))
    n, delta = na + nb, mb - ma
    return n, ma + delta * (nb / n), qa + qb + delta * delta * (na * nb / n)


def _moments_kernel(batches: Iterator[Any]) -> Iterator[Any]:
    import pyarrow as pa

    from mining._arrow import list_values

    total: tuple[int, np.ndarray, np.ndarray] = (0, np.zeros(0), np.zeros(0))
    for batch in batches:
        if not batch.num_rows:
            continue
        _, cols = list_values(batch.column("indices"))
        _, vals = list_values(batch.column("values"))
        n, width = batch.num_rows, int(cols.max()) + 1 if len(cols) else 0
        mean = np.bincount(cols, vals, minlength=width) / n
        dev = vals - mean[cols]
        m2 = (np.bincount(cols, dev * dev, minlength=width)
              + (n - np.bincount(cols, minlength=width)) * mean * mean)
        total = _merge(total, (n, mean, m2))
    n, mean, m2 = total
    yield pa.record_batch([pa.array([n], pa.int64()), pa.array([len(mean)], pa.int32()),
                           pa.array([mean.tobytes()]), pa.array([m2.tobytes()])],
                          names=["n", "width", "mean", "m2"])


def _kernel_fit(points: Any) -> int:
    rows = points.select("indices", "values").mapInArrow(_moments_kernel, _KERNEL_ROW).collect()
    total: tuple[int, np.ndarray, np.ndarray] = (0, np.zeros(0), np.zeros(0))
    for r in rows:
        total = _merge(total, (r["n"], np.frombuffer(r["mean"]), np.frombuffer(r["m2"])))
    return len(total[1])


def _sums_fit(points: Any) -> int:
    from pyspark.sql import functions as F

    entries = F.concat(F.arrays_zip("indices", "values"),
                       F.array(F.struct(F.lit(-1).alias("indices"), F.lit(1.0).alias("values"))))
    rows = (points.select(F.inline(entries))
            .groupBy("indices").agg(F.sum("values").alias("s"),
                                    F.sum(F.col("values") * F.col("values")).alias("ss"))
            .collect())
    return len(rows) - 1


def _setup(ctx: BenchContext, copies: int) -> Tools:
    import scipy.sparse as sp
    from pyspark.ml.feature import StandardScaler as MLScaler
    from pyspark.ml.linalg import SparseVector, VectorUDT
    from pyspark.sql import functions as F

    from mining.sgd.features import Standardizer

    points = _points(ctx, copies)
    local = points.select("indices", "values").toPandas()
    lengths = local["indices"].map(len).to_numpy()
    matrix = sp.csr_matrix((np.concatenate(local["values"].to_numpy()),
                            np.concatenate(local["indices"].to_numpy()),
                            np.concatenate([[0], np.cumsum(lengths)])), shape=(len(local), 123))
    to_vector = F.udf(lambda i, v: SparseVector(123, i, v), VectorUDT())
    vectors = points.select(to_vector("indices", "values").alias("features")).cache()
    vectors.count()

    def sklearn() -> int:
        from sklearn.preprocessing import StandardScaler

        return len(StandardScaler(with_mean=False).fit(matrix).scale_)

    return {
        "ours": lambda: Standardizer().fit(points).n_features_in_,
        "arrow-kernel": lambda: _kernel_fit(points),
        "explode-sums": lambda: _sums_fit(points),
        "mllib": lambda: len(MLScaler(inputCol="features").fit(vectors).std),
        "sklearn": isolated(sklearn),
    }


@benchmark("standardize-a9a")
def standardize_a9a(ctx: BenchContext) -> Tools:
    """Standardizer.fit on cached a9a (32,561 rows, 123 features, 451,592 stored values)."""
    return _setup(ctx, 1)


@benchmark("standardize-a9a-x10")
def standardize_a9a_x10(ctx: BenchContext) -> Tools:
    """Standardizer.fit on cached a9a repeated 10 times (325,610 rows, 4 partitions)."""
    return _setup(ctx, 10)


@benchmark("standardize-a9a-x30")
def standardize_a9a_x30(ctx: BenchContext) -> Tools:
    """Standardizer.fit on cached a9a repeated 30 times (976,830 rows, 4 partitions)."""
    return _setup(ctx, 30)
