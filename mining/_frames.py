"""Small DataFrame utilities shared across packages."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql import types as T


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


def conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """Select ``schema``'s columns from ``df``, cast, with the schema's exact nullability.

    Spark cannot prove that a filtered column has no nulls, and ``DataFrame.to`` refuses to
    narrow nullability; ``coalesce`` with a typed default does. The defaults never show: callers
    only pass columns that their filters already made non-null. A column Spark knows to be
    non-null is widened where the schema declares it nullable (``CASE WHEN c IS NOT NULL
    THEN c END``: Spark folds a ``WHEN true``), so the declared schema does not depend on how
    a value was computed.
    """
    given = {f.name: f for f in df.schema.fields}
    return df.select(*[_fit(F.col(f.name), given[f.name], f).alias(f.name) for f in schema.fields])


def _fit(col: Column, have: T.StructField, f: T.StructField) -> Column:
    dtype, source = f.dataType, have.dataType
    if isinstance(dtype, T.ArrayType) and not dtype.containsNull:
        elem = dtype.elementType
        if isinstance(source, T.ArrayType) and not source.containsNull:
            col = col.cast(dtype)  # no lambda over the elements when none can be null
        else:
            col = F.transform(col, lambda e: F.coalesce(e.cast(elem), _zero(elem)))
    else:
        col = col.cast(dtype)
    if f.nullable:
        return col if have.nullable else F.when(col.isNotNull(), col)
    return F.coalesce(col, _zero(dtype)) if have.nullable else col


def _zero(dtype: T.DataType) -> Column:
    if isinstance(dtype, T.ArrayType):
        return F.array().cast(dtype)
    if isinstance(dtype, T.StringType):
        return F.lit("")
    if isinstance(dtype, T.BooleanType):
        return F.lit(False)
    if isinstance(dtype, T.BinaryType):
        return F.unhex(F.lit(""))
    return F.lit(0).cast(dtype)


def one_row(df: DataFrame) -> Row | None:
    """The only row of ``df`` (a global aggregate, a one-task result), or ``None``.

    ``collect``, not ``first``: ``first`` plans a limit, which stops reading a Python task's
    output early, so its worker cannot be reused and the next job forks a new one. Measured
    here: a one-row ``mapInArrow`` job 1.31 s with ``first`` vs 0.24 s with ``collect``; a
    global aggregate 0.43 s vs 0.30 s.
    """
    rows = df.collect()
    if len(rows) > 1:
        raise ValueError(f"expected at most one row, got {len(rows)}")
    return rows[0] if rows else None
