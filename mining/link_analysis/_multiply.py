"""One distributed product ``y = M v`` over tiles (see ``_blocks``), with its communication cost."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from mining.link_analysis._blocks import BLOCKS, PARTIALS, ArrowFn, Layout, _arrow

COST_KEYS = ("vector_rows", "vector_entries", "partial_rows", "partial_entries",
             "matrix_entries_moved")


def _tile_arrays(batch: pa.RecordBatch, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.frombuffer(batch.column("li")[r].as_py(), np.int32),
            np.frombuffer(batch.column("lj")[r].as_py(), np.int32),
            np.frombuffer(batch.column("val")[r].as_py(), np.float64))


def _product(li: np.ndarray, lj: np.ndarray, val: np.ndarray, v: np.ndarray, rows: int
             ) -> np.ndarray:
    out = np.empty((rows, v.shape[1]))
    for c in range(v.shape[1]):
        out[:, c] = np.bincount(li, weights=val * v[lj, c], minlength=rows)
    return out


def _tile_kernel(layout: Layout) -> ArrowFn:
    cols = layout.columns

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out_i, out_v = [], []
            for r in range(batch.num_rows):
                blk_i = batch.column("I")[r].as_py()
                v = np.frombuffer(batch.column("v")[r].as_py(), np.float64).reshape(-1, cols)
                li, lj, val = _tile_arrays(batch, r)
                out_i.append(blk_i)
                out_v.append(_product(li, lj, val, v, layout.block_len(blk_i, layout.bp))
                             .tobytes())
            yield pa.RecordBatch.from_pydict({"I": out_i, "vals": out_v},
                                             schema=_arrow(PARTIALS))

    return kernel


def _stream_kernel(layout: Layout) -> ArrowFn:
    """Block-stripe task: rows arrive sorted by (I, J, tag); v_J (tag 0) precedes its tiles."""
    cols = layout.columns

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        current, acc, v = -1, np.zeros((0, cols)), np.zeros((0, cols))
        done: list[tuple[int, bytes]] = []
        for batch in batches:
            for r in range(batch.num_rows):
                blk_i = batch.column("I")[r].as_py()
                if blk_i != current:
                    if current >= 0:
                        done.append((current, acc.tobytes()))
                    current = blk_i
                    acc = np.zeros((layout.block_len(blk_i, layout.bp), cols))
                if batch.column("tag")[r].as_py() == 0:
                    v = np.frombuffer(batch.column("v")[r].as_py(), np.float64).reshape(-1, cols)
                else:
                    li, lj, val = _tile_arrays(batch, r)
                    acc += _product(li, lj, val, v, acc.shape[0])
            if done:
                yield _partials(done)
                done = []
        if current >= 0:
            yield _partials([(current, acc.tobytes())])

    return kernel


def _partials(rows: list[tuple[int, bytes]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"I": [r[0] for r in rows], "vals": [r[1] for r in rows]},
                                      schema=_arrow(PARTIALS))


def _sum_partials(pdf: pd.DataFrame) -> pd.DataFrame:
    total = np.sum([np.frombuffer(b, np.float64) for b in pdf["vals"]], axis=0)
    return pd.DataFrame({"I": [int(pdf["I"].iloc[0])], "vals": [total.tobytes()]})


def multiply(tiles: DataFrame, vector: DataFrame, layout: Layout, *, observation: Observation,
             reduce: bool = True) -> DataFrame:
    """``y = M v`` as ``(I, vals)`` rows in row blocking; rows of blocks with no tile are absent.

    With ``reduce=False`` the partial products are returned unsummed (several rows per ``I``),
    for a caller that sums them in its own grouping.

    ``vector`` is ``(blk, vals)`` in column blocking. ``observation`` receives the exact
    communication counts of this product (``COST_KEYS``) once an action has run it.
    """
    v = vector.select(F.col("blk").alias("J"), F.col("vals").alias("v"))
    if layout.strategy == "block_stripe":
        keys = tiles.select("I", "J").distinct()
        sent = keys.join(v, on="J", how="inner")
        stream = sent.select("I", "J", F.lit(0).alias("tag"), F.lit(0).cast("long").alias("nnz"),
                             F.lit(b"").alias("li"), F.lit(b"").alias("lj"),
                             F.lit(b"").alias("val"), "v").unionByName(
            tiles.select("I", "J", F.lit(1).alias("tag"), "nnz", "li", "lj", "val",
                         F.lit(b"").alias("v")))
        stream = stream.repartition(max(1, layout.p), "I").sortWithinPartitions("I", "J", "tag")
        counted = stream.observe(
            observation, F.sum(1 - F.col("tag")).alias("vector_rows"),
            (F.sum(F.length("v")) / 8).cast("long").alias("vector_entries"),
            F.lit(0).cast("long").alias("partial_rows"),
            F.lit(0).cast("long").alias("partial_entries"),
            F.sum("nnz").alias("matrix_entries_moved"))
        return counted.mapInArrow(_stream_kernel(layout), PARTIALS).select("I", "vals")
    if layout.q == 1:  # the whole vector goes to every map task (§2.3.1)
        joined = tiles.crossJoin(F.broadcast(v.drop("J")))
    else:
        joined = tiles.join(v, on="J", how="inner")
    out_len = F.least(F.lit(layout.bp), F.lit(layout.n) - F.col("I") * layout.bp)
    counted = joined.observe(
        observation,
        F.count(F.lit(1)).alias("vector_rows"),
        (F.sum(F.length("v")) / 8).cast("long").alias("vector_entries"),
        F.count(F.lit(1)).alias("partial_rows"),
        F.sum(out_len * layout.columns).cast("long").alias("partial_entries"),
        F.lit(0).cast("long").alias("matrix_entries_moved"),
    )
    partials = counted.mapInArrow(_tile_kernel(layout), PARTIALS)
    if not reduce or (layout.q == 1 and layout.chunks == 1):
        return partials
    return partials.groupBy("I").applyInPandas(_sum_partials, schema=PARTIALS)


def reblock(y: DataFrame, layout: Layout) -> DataFrame:
    """Convert a vector from row blocking (``p`` blocks of ``bp``) to column blocking (``q``)."""
    if layout.p == layout.q:
        return y.select(F.col("I").alias("blk"), "vals")
    cols, bp, bq, n = layout.columns, layout.bp, layout.bq, layout.n

    def split(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Row blocks may straddle column blocks: cut each into the pieces of its column blocks.
        for batch in batches:
            blks, pieces = [], []
            for r in range(batch.num_rows):
                i = batch.column("I")[r].as_py()
                x = np.frombuffer(batch.column("vals")[r].as_py(), np.float64).reshape(-1, cols)
                start = i * bp
                for j in range(start // bq, min(layout.q, (start + len(x) - 1) // bq + 1)):
                    lo, hi = max(start, j * bq), min(start + len(x), (j + 1) * bq, n)
                    blks.append(j)
                    pieces.append(np.int64(lo - j * bq).tobytes() + x[lo - start:hi - start]
                                  .tobytes())
            yield pa.RecordBatch.from_pydict({"blk": blks, "vals": pieces},
                                             schema=_arrow(BLOCKS))

    def glue(pdf: pd.DataFrame) -> pd.DataFrame:
        blk = int(pdf["blk"].iloc[0])
        out = np.zeros((layout.block_len(blk, bq), cols))
        for b in pdf["vals"]:
            off = int(np.frombuffer(b[:8], np.int64)[0])
            piece = np.frombuffer(b[8:], np.float64).reshape(-1, cols)
            out[off:off + len(piece)] = piece
        return pd.DataFrame({"blk": [blk], "vals": [out.tobytes()]})

    return y.mapInArrow(split, BLOCKS).groupBy("blk").applyInPandas(glue, schema=BLOCKS)
