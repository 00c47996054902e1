"""Block-row matrix-vector multiplication, the distributed strategies of MMDS §2.3 and §5.2.

The matrix is cut into tiles ``(I, J)``: row block ``I`` of ``p``, column block ``J`` of ``q``.
A tile row carries its non-zeros as three binary blobs (int32 local row, int32 local column,
float64 value); a vector is ``q`` block rows of float64 blobs (``len x T`` for ``T`` columns).
Shuffles move a few large rows instead of one row per entry (§2.3.2 blocking made physical),
and the per-tile arithmetic is a numpy ``bincount`` inside ``mapInArrow``.

Strategies (``Layout.strategy``):

* ``in_memory`` (§2.3.1): ``p = q = 1``; the matrix is split into chunks, each map task gets the
  whole vector (a broadcast join) and emits a partial result vector; partials are summed.
* ``stripes`` (§2.3.2): ``p = 1, q = k`` vertical stripes of M meet horizontal stripes of v
  (a join on the stripe); each emits a full-length partial vector; partials are summed.
* ``blocks`` (§2.3.2): ``p = q = k`` square blocks; block ``(I, J)`` meets stripe ``J`` of v
  (each stripe is sent to the ``k`` blocks of its column) and emits a partial of stripe ``I``.
* ``block_stripe`` (§5.2.3-5.2.4): ``p = q = k``; one task per stripe ``I`` of the *result*
  streams all ``k`` blocks of v past its tiles, holding only one v block and the result block
  ``I`` in memory, so no reduce shuffle is needed. The DataFrame API has no zip of partitions,
  so the stripe's tiles travel with the v blocks through one sort-shuffle per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

STRATEGIES = ("in_memory", "stripes", "blocks", "block_stripe")

TILES = T.StructType([
    T.StructField("I", T.IntegerType(), False), T.StructField("J", T.IntegerType(), False),
    T.StructField("C", T.IntegerType(), False), T.StructField("nnz", T.LongType(), False),
    T.StructField("li", T.BinaryType(), False), T.StructField("lj", T.BinaryType(), False),
    T.StructField("val", T.BinaryType(), False),
])
BLOCKS = T.StructType([T.StructField("blk", T.IntegerType(), False),
                       T.StructField("vals", T.BinaryType(), False)])
PARTIALS = T.StructType([T.StructField("I", T.IntegerType(), False),
                         T.StructField("vals", T.BinaryType(), False)])


@dataclass(frozen=True)
class Layout:
    """How a ``n x n`` matrix and its vectors are cut: ``p`` row blocks, ``q`` column blocks."""

    strategy: str
    n: int
    p: int
    q: int
    chunks: int = 1
    columns: int = 1

    @property
    def bp(self) -> int:
        """Rows per row block (the last one may be shorter)."""
        return max(1, math.ceil(self.n / self.p))

    @property
    def bq(self) -> int:
        """Entries per vector block (the last one may be shorter)."""
        return max(1, math.ceil(self.n / self.q))

    def block_len(self, blk: int, size: int) -> int:
        """Length of block ``blk`` when blocks have ``size`` entries."""
        return max(0, min(size, self.n - blk * size))


def make_layout(strategy: str, n: int, *, blocks: int, chunks: int, columns: int = 1) -> Layout:
    """The layout of a strategy with blocking factor ``blocks`` (k)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    k = max(1, min(blocks, max(n, 1)))
    p, q = {"in_memory": (1, 1), "stripes": (1, k), "blocks": (k, k),
            "block_stripe": (k, k)}[strategy]
    return Layout(strategy, n, p, q, chunks if strategy == "in_memory" else 1, columns)


def default_blocks(n: int, columns: int, *, target_bytes: int = 32 << 20, parallelism: int = 2
                   ) -> int:
    """Blocking factor k: vector blocks of at most ``target_bytes``, at least one per core."""
    return max(parallelism, math.ceil(n * 8 * columns / target_bytes))


def build_tiles(entries: DataFrame, layout: Layout) -> DataFrame:
    """Tile an entry table ``(i, j, value)`` (dense 0-based indices) into tile rows (lazy)."""
    bp, bq = layout.bp, layout.bq
    chunk = (F.pmod(F.xxhash64("i", "j"), F.lit(layout.chunks)) if layout.chunks > 1
             else F.lit(0))
    keyed = entries.select(
        (F.col("i") / bp).cast("int").alias("I"), (F.col("j") / bq).cast("int").alias("J"),
        chunk.cast("int").alias("C"),
        F.struct((F.col("i") % bp).cast("int").alias("li"),
                 (F.col("j") % bq).cast("int").alias("lj"),
                 F.col("value").cast("double").alias("v")).alias("e"),
    )
    grouped = keyed.groupBy("I", "J", "C").agg(F.collect_list("e").alias("es"))
    tiles = grouped.mapInArrow(_pack_tiles, TILES)
    # block_stripe streams per result stripe I; the others meet v on J.
    key = "I" if layout.strategy == "block_stripe" else "J"
    parts = max(1, layout.p if key == "I" else layout.q * layout.chunks)
    return tiles.repartition(parts, key)


def _pack_tiles(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        es = batch.column("es")
        offsets = es.offsets.to_numpy()
        child = es.values
        li = child.field("li").to_numpy()
        lj = child.field("lj").to_numpy()
        v = child.field("v").to_numpy()
        rows: dict[str, list[object]] = {k: [] for k in TILES.fieldNames()}
        for r in range(batch.num_rows):
            lo, hi = offsets[r], offsets[r + 1]
            rows["I"].append(batch.column("I")[r].as_py())
            rows["J"].append(batch.column("J")[r].as_py())
            rows["C"].append(batch.column("C")[r].as_py())
            rows["nnz"].append(int(hi - lo))
            rows["li"].append(li[lo:hi].astype(np.int32).tobytes())
            rows["lj"].append(lj[lo:hi].astype(np.int32).tobytes())
            rows["val"].append(v[lo:hi].astype(np.float64).tobytes())
        yield pa.RecordBatch.from_pydict(rows, schema=_arrow(TILES))


ArrowFn = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def _arrow(schema: T.StructType) -> pa.Schema:
    kinds: dict[type, pa.DataType] = {
        T.IntegerType: pa.int32(), T.LongType: pa.int64(), T.BinaryType: pa.binary(),
        T.DoubleType: pa.float64(), T.StringType: pa.string()}
    return pa.schema([(f.name, kinds[type(f.dataType)], f.nullable) for f in schema.fields])


def vector_blocks(entries: DataFrame, layout: Layout, *, size: int, count: int) -> DataFrame:
    """Dense block rows (``blk``, ``vals``) from long-form entries ``(i, c, value)``.

    ``vals`` is a float64 blob of ``len x columns`` (row-major); absent entries are 0 and blocks
    with no entry at all are zero blocks. ``size`` entries per block, ``count`` blocks.
    """
    cols, _n = layout.columns, layout.n
    grouped = (entries.select((F.col("i") / size).cast("int").alias("blk"),
                              F.struct((F.col("i") % size).cast("int").alias("li"),
                                       F.col("c").cast("int").alias("c"),
                                       F.col("value").cast("double").alias("v")).alias("e"))
               .groupBy("blk").agg(F.collect_list("e").alias("es")))
    everything = entries.sparkSession.range(count).select(F.col("id").cast("int").alias("blk"))

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            es = batch.column("es")
            offsets, child = es.offsets.to_numpy(), es.values
            li, c = child.field("li").to_numpy(), child.field("c").to_numpy()
            v = child.field("v").to_numpy()
            blks = batch.column("blk").to_pylist()
            out = []
            for r, blk in enumerate(blks):
                dense = np.zeros((layout.block_len(blk, size), cols))
                if es[r].is_valid:
                    lo, hi = offsets[r], offsets[r + 1]
                    np.add.at(dense, (li[lo:hi], c[lo:hi]), v[lo:hi])
                out.append(dense.tobytes())
            yield pa.RecordBatch.from_pydict({"blk": blks, "vals": out}, schema=_arrow(BLOCKS))

    # The left join keeps blocks without entries (zero blocks) for sparse vectors.
    return everything.join(grouped, on="blk", how="left").mapInArrow(build, BLOCKS)


def constant_blocks(spark: SparkSession, layout: Layout, *, size: int, count: int, value: float
                    ) -> DataFrame:
    """Blocks filled with ``value`` (e.g. the uniform start ``1/n``)."""
    cols = layout.columns

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            blks = batch.column("blk").to_pylist()
            out = [np.full((layout.block_len(b, size), cols), value).tobytes() for b in blks]
            yield pa.RecordBatch.from_pydict({"blk": blks, "vals": out}, schema=_arrow(BLOCKS))

    ids = spark.range(count).select(F.col("id").cast("int").alias("blk"))
    return ids.mapInArrow(build, BLOCKS)
