"""Small DataFrame utilities shared across packages."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def dense_index(values: DataFrame, column: str, *, out: str = "idx", partitions: int = 0
                ) -> tuple[DataFrame, int]:
    """Number the distinct values of ``column`` 0..n-1 in increasing order, without one-task sorts.

    Range-partition and sort the distinct values, count each partition (a handful of numbers
    collected on the driver), then give each row its partition's offset plus its position in the
    partition. Deterministic: the numbering is the rank of the value.

    Parameters
    ----------
    values
        DataFrame holding ``column`` (nulls are dropped).
    column
        The column to index.
    out
        Name of the index column (long).
    partitions
        Range partitions (default: ``spark.sql.shuffle.partitions``).

    Returns
    -------
    (DataFrame, int)
        Columns ``column`` and ``out``, cached (the caller may ``unpersist`` it); and ``n``.

    Notes
    -----
    Two jobs: the per-partition count (which also caches the sorted values) and none more until
    the result is used. The driver collects one count per partition.
    """
    distinct = values.select(column).where(F.col(column).isNotNull()).distinct()
    n_parts = partitions or int(
        values.sparkSession.conf.get("spark.sql.shuffle.partitions") or 4
    )
    ranged = (
        distinct.repartitionByRange(n_parts, column)
        .sortWithinPartitions(column)
        .select(column, F.spark_partition_id().alias("_pid"),
                F.monotonically_increasing_id().alias("_mid"))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    counts = {r["_pid"]: r["n"] for r in ranged.groupBy("_pid").agg(F.count("*").alias("n"))
              .collect()}
    offsets, total = [], 0
    for pid in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(pid, 0)
    offset_col = F.element_at(F.array(*[F.lit(o) for o in offsets] or [F.lit(0)]),
                              F.col("_pid") + 1)
    # monotonically_increasing_id puts the partition id in the upper 31 bits.
    position = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)
    indexed = ranged.select(column, (offset_col + position).cast("long").alias(out))
    return indexed, total
