"""Matrix-vector multiplication by map-reduce (MMDS §2.3.1-2.3.2), with its communication cost.

The matrix is a sparse table ``(i, j, value)`` and the vector a table ``(i, value)``, indices
0-based below ``n``. Strategies (see ``mining.link_analysis._blocks`` for the physical layout):

=================  ====================================================================
``in_memory``      v fits in memory: every map task gets all of v (broadcast) and a chunk
                   of M; partial results are summed by a reduce (§2.3.1)
``stripes``        v does not fit: k vertical stripes of M meet k horizontal stripes of v
                   (a join on the stripe); each emits a full-length partial (§2.3.2)
``blocks``         k x k square blocks; stripe J of v goes to the k blocks of column J; each
                   block emits a partial of result stripe I (§2.3.2)
``block_stripe``   one task per result stripe streams the k stripes of v past its tiles and
                   needs no reduce (§5.2.3-5.2.4)
=================  ====================================================================

Communication per product is counted exactly with ``DataFrame.observe`` (block rows and the
float entries they carry) and bytes are estimated from the layout (8 bytes per float, 16 per
moved matrix entry).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from mining._frames import one_row
from mining.errors import InputError
from mining.link_analysis._blocks import (
    PARTIALS,
    STRATEGIES,
    ArrowFn,
    Layout,
    _arrow,
    build_tiles,
    make_layout,
    vector_blocks,
)
from mining.link_analysis._multiply import COST_KEYS, multiply, reblock

#: ``auto`` uses ``in_memory`` while v takes at most this many bytes, else ``blocks``.
IN_MEMORY_MAX_BYTES = 64 << 20


@dataclass
class MatVec:
    """A product and its communication cost (filled once an action has run the product)."""

    product: DataFrame
    strategy: str
    blocks: int
    layout: Layout
    _observation: Observation

    def cost(self) -> dict[str, Any]:
        """Exact rows/entries moved, the estimated bytes and the strategy's layout.

        Call after an action on ``product`` (otherwise this blocks until one runs).
        """
        got = self._observation.get
        counts = {k: int(got.get(k) or 0) for k in COST_KEYS}
        counts["bytes_estimate"] = 8 * (counts["vector_entries"] + counts["partial_entries"]) \
            + 16 * counts["matrix_entries_moved"]
        return {"strategy": self.strategy, "blocks": self.blocks, "p": self.layout.p,
                "q": self.layout.q, **counts}


def _dimension(matrix: DataFrame, vector: DataFrame, n: int | None) -> int:
    if n is not None:
        return n
    row = one_row(matrix.agg(F.max(F.greatest("i", "j")).alias("m"),
                             F.min(F.least("i", "j")).alias("lo")))
    vrow = one_row(vector.agg(F.max("i").alias("m"), F.min("i").alias("lo")))
    assert row is not None and vrow is not None
    lows = [x for x in (row["lo"], vrow["lo"]) if x is not None]
    if lows and min(lows) < 0:
        raise InputError("matrix and vector indices must be >= 0")
    highs = [x for x in (row["m"], vrow["m"]) if x is not None]
    return int(max(highs)) + 1 if highs else 0


def run_matvec(matrix: DataFrame, vector: DataFrame, *, strategy: str = "auto",
               blocks: int | None = None, n: int | None = None) -> MatVec:
    """Multiply a sparse matrix by a vector; see the module docstring for the strategies.

    Parameters
    ----------
    matrix
        ``i`` (row), ``j`` (column), ``value``; duplicate (i, j) entries add up.
    vector
        ``i``, ``value``; missing indices are 0.
    strategy
        ``auto`` (``in_memory`` while v is at most 64 MB, else ``blocks``), or one of
        ``in_memory``, ``stripes``, ``blocks``, ``block_stripe``.
    blocks
        Blocking factor k (default: stripes of at most 32 MB, at least the number of cores).
    n
        Dimension (default: 1 + the largest index, one aggregate).

    Returns
    -------
    MatVec
        ``product``: ``i`` (long), ``value`` (double) for every ``i < n`` (zeros included);
        ``cost()``: the communication of this product.
    """
    if strategy not in ("auto", *STRATEGIES):
        raise InputError(f"strategy must be auto or one of {STRATEGIES}, got {strategy!r}")
    dim = _dimension(matrix, vector, n)
    if strategy == "auto":
        strategy = "in_memory" if dim * 8 <= IN_MEMORY_MAX_BYTES else "blocks"
    parallelism = int(matrix.sparkSession.conf.get("spark.sql.shuffle.partitions") or 4)
    k = blocks or max(2, min(parallelism, 8), math.ceil(dim * 8 / (32 << 20)))
    layout = make_layout(strategy, dim, blocks=k, chunks=parallelism)
    tiles = build_tiles(matrix.select("i", "j", "value"), layout)
    v = vector_blocks(vector.select("i", F.lit(0).alias("c"), "value"), layout,
                      size=layout.bq, count=layout.q)
    obs = Observation(f"matvec_{id(tiles)}")
    y = multiply(tiles, v, layout, observation=obs)
    all_i = matrix.sparkSession.range(layout.p).select(F.col("id").cast("int").alias("I"))
    full = all_i.join(y, on="I", how="left").mapInArrow(_fill(layout), "I int, vals binary")
    return MatVec(_to_rows(reblock(full, layout), layout), strategy, k, layout, obs)


def matvec(matrix: DataFrame, vector: DataFrame, *, strategy: str = "auto",
           blocks: int | None = None, n: int | None = None) -> DataFrame:
    """``M v`` as a table ``i`` (long), ``value`` (double); see :func:`run_matvec`."""
    return run_matvec(matrix, vector, strategy=strategy, blocks=blocks, n=n).product


def _fill(layout: Layout) -> ArrowFn:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            blks = batch.column("I").to_pylist()
            vals = [v if v is not None else bytes(layout.block_len(b, layout.bp) * 8)
                    for b, v in zip(blks, batch.column("vals").to_pylist(), strict=True)]
            yield pa.RecordBatch.from_pydict({"I": blks, "vals": vals}, schema=_arrow(PARTIALS))

    return run


def _to_rows(blocks_df: DataFrame, layout: Layout) -> DataFrame:
    bq = layout.bq

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for r in range(batch.num_rows):
                blk = batch.column("blk")[r].as_py()
                x = np.frombuffer(batch.column("vals")[r].as_py(), np.float64)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(blk * bq + np.arange(len(x), dtype=np.int64)), pa.array(x)],
                    names=["i", "value"])

    return blocks_df.mapInArrow(run, "i long, value double").select("i", "value")
