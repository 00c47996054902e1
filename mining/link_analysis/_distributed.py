"""Distributed taxed power iteration: one Spark job per iteration over block rows (§5.2).

Used when the graph does not fit in one task (or when a block strategy is asked for). The
arithmetic is the single-task solver's, block by block, so after the same number of iterations
both give the same vector up to floating-point summation order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining._frames import dense_index
from mining._iteration import StateStore, Step, iterate
from mining.link_analysis._blocks import (
    BLOCKS,
    Layout,
    build_tiles,
    constant_blocks,
    vector_blocks,
)
from mining.link_analysis._multiply import COST_KEYS, multiply, reblock


@dataclass
class Prepared:
    """A graph ready for block iteration: node index, tiles, dangling mask, teleport blocks."""

    index: DataFrame          # node, idx
    layout: Layout
    tiles: DataFrame
    block_inputs: DataFrame   # (I, tag, vals): 'p' teleport (columns sum to 1), 'm' dead ends
    n_dangling: int = 0
    cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        """Unpersist everything this preparation cached."""
        for df in self.cached:
            df.unpersist()


def prepare(edges: DataFrame, teleport: DataFrame | None, layout_for: Any,
            nodes: DataFrame | None = None) -> Prepared:
    """Index nodes, normalize out-weights (§5.1.2) and cut the transition matrix into tiles.

    ``edges``: ``src, dst, w``. ``teleport``: ``node, column, weight`` (None = uniform only).
    ``layout_for(n) -> Layout`` picks the layout once ``n`` is known.
    """
    ids = edges.select(F.col("src").alias("node")).union(edges.select(F.col("dst").alias("node")))
    if nodes is not None:
        ids = ids.union(nodes.select("node"))
    index, n = dense_index(ids, "node")
    layout: Layout = layout_for(n)
    out_w = edges.groupBy("src").agg(F.sum("w").alias("out_w"))
    idx_src = index.select(F.col("node").alias("src"), F.col("idx").alias("j"))
    idx_dst = index.select(F.col("node").alias("dst"), F.col("idx").alias("i"))
    entries = (edges.join(out_w.where(F.col("out_w") > 0), on="src", how="inner")
               .join(idx_src, on="src", how="inner").join(idx_dst, on="dst", how="inner")
               .select("i", "j", (F.col("w") / F.col("out_w")).alias("value")))
    tiles = _cache(build_tiles(entries, layout))
    dead = (index.join(out_w, index["node"] == out_w["src"], how="left")
            .where(F.col("out_w").isNull() | (F.col("out_w") <= 0))
            .select(F.col("idx").alias("i"), F.lit(0).alias("c"), F.lit(1.0).alias("value"))
            .persist(StorageLevel.MEMORY_AND_DISK))
    n_dangling = dead.count()
    one_col = Layout(layout.strategy, n, layout.p, layout.q, layout.chunks, 1)
    dangling = vector_blocks(dead, one_col, size=layout.bp, count=layout.p)
    tele = _teleport_entries(index, n, teleport)
    tele_blocks = vector_blocks(tele, layout, size=layout.bp, count=layout.p)
    # The per-block inputs every iteration needs beside the partial products, cached together.
    block_inputs = _cache(
        tele_blocks.select(F.col("blk").alias("I"), F.lit("p").alias("tag"), "vals").unionByName(
            dangling.select(F.col("blk").alias("I"), F.lit("m").alias("tag"), "vals")))
    return Prepared(index, layout, tiles, block_inputs, n_dangling,
                    cached=[index, tiles, block_inputs, dead])


def _cache(df: DataFrame) -> DataFrame:
    return df.persist(StorageLevel.MEMORY_AND_DISK)


def _teleport_entries(index: DataFrame, n: int, teleport: DataFrame | None) -> DataFrame:
    """Long-form teleport ``(i, c, value)``: column 0 uniform if absent, columns sum to 1."""
    if teleport is None:
        return index.select(F.col("idx").alias("i"), F.lit(0).alias("c"),
                            F.lit(1.0 / n).alias("value"))
    t = teleport.join(index, on="node", how="inner")
    sums = t.groupBy("column").agg(F.sum("weight").alias("total"))
    return t.join(sums, on="column").select(
        F.col("idx").alias("i"), F.col("column").alias("c"),
        (F.col("weight") / F.col("total")).alias("value"))


_STATE = T.StructType([
    T.StructField("blk", T.IntegerType(), False), T.StructField("vals", T.BinaryType(), False),
    T.StructField("delta", T.ArrayType(T.DoubleType(), False), False),
    T.StructField("mass", T.ArrayType(T.DoubleType(), False), False),
    T.StructField("next_mass", T.ArrayType(T.DoubleType(), False), False),
])


def _finalize(layout: Layout, beta: float, dm: list[float]
              ) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Per result block: sum the partials, tax, and measure the change, all in one task."""
    cols = layout.columns
    dead = np.asarray(dm, dtype=np.float64)

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        blk = int(pdf["I"].iloc[0])
        parts = {tag: [np.frombuffer(b, np.float64) for b in pdf.loc[pdf["tag"] == tag, "vals"]]
                 for tag in ("y", "p", "o", "m")}
        p = parts["p"][0].reshape(-1, cols)
        old = parts["o"][0].reshape(-1, cols)
        mask = parts["m"][0] > 0
        y = np.sum(parts["y"], axis=0).reshape(-1, cols) if parts["y"] else np.zeros_like(p)
        new = beta * (y + p * dead) + (1.0 - beta) * p
        return pd.DataFrame({
            "blk": [blk], "vals": [new.tobytes()],
            "delta": [np.abs(new - old).sum(axis=0)], "mass": [old[mask].sum(axis=0)],
            "next_mass": [new[mask].sum(axis=0)],
        })

    return run


def make_step(prep: Prepared, beta: float, costs: list[Observation],
              start_mass: list[float]) -> Step:
    """The iteration ``v' = beta (M v + d(v) p) + (1 - beta) p`` on blocks, lazily.

    The state is kept in the result's row blocking. One grouped pass per result block sums the
    partial products, applies taxation and computes the block's L1 change and dead-end masses,
    so an iteration is: the product's join, one shuffle of partials (with the small teleport,
    mask and previous blocks), and the one-row metrics aggregate. ``d(v)``, the rank mass on
    dead ends, comes as a literal from the previous iteration's metrics action.
    """
    layout = prep.layout

    def step(state: DataFrame, i: int, last: dict[str, Any] | None) -> DataFrame:
        obs = Observation(f"matvec_cost_{i}_{id(state)}")
        costs.append(obs)
        dm = start_mass if last is None else list(last["next_dead_mass"])
        blocks = state.select(F.col("blk").alias("I"), "vals")
        vector = reblock(blocks, layout)  # row blocking -> column blocking (stripes only)
        y = multiply(prep.tiles, vector, layout, observation=obs, reduce=False)
        tagged = y.select("I", F.lit("y").alias("tag"), "vals").unionByName(
            prep.block_inputs).unionByName(blocks.select("I", F.lit("o").alias("tag"), "vals"))
        return tagged.groupBy("I").applyInPandas(_finalize(layout, beta, dm), schema=_STATE)

    return step


def metrics(old: DataFrame, new: DataFrame) -> DataFrame:
    """One aggregate per iteration over the new blocks' per-block measures (max over columns)."""
    per_col = new.select(F.posexplode(F.arrays_zip("delta", "mass", "next_mass")).alias("c", "z"))
    sums = per_col.groupBy("c").agg(F.sum("z.delta").alias("d"), F.sum("z.mass").alias("m"),
                                    F.sum("z.next_mass").alias("nm"))
    return sums.agg(F.max("d").alias("l1_delta"), F.max("m").alias("dead_end_mass"),
                    F.sort_array(F.collect_list(F.struct("c", "nm"))).getField("nm")
                    .alias("next_dead_mass"))


def power_iterate(prep: Prepared, *, beta: float, max_iter: int, tol: float,
                  checkpoint_interval: int, reliable_checkpoint: bool = False,
                  store: StateStore | None = None) -> tuple[DataFrame, Any, list[dict[str, Any]]]:
    """Run the loop; returns (final state blocks, LoopResult, per-iteration cost dicts)."""
    layout = prep.layout
    start = constant_blocks(prep.tiles.sparkSession, layout, size=layout.bp, count=layout.p,
                            value=1.0 / max(layout.n, 1))
    costs: list[Observation] = []
    threshold = layout.n * tol
    start_mass = [prep.n_dangling / max(layout.n, 1)] * layout.columns
    result = iterate(start, make_step(prep, beta, costs, start_mass), metrics,
                     max_iter=max_iter, converged=lambda m: m["l1_delta"] < threshold,
                     checkpoint_interval=checkpoint_interval,
                     reliable_checkpoint=reliable_checkpoint, store=store, name="pagerank")
    cost_rows = [{k: int(obs.get.get(k) or 0) for k in COST_KEYS} for obs in costs]
    for h in result.history:
        h.pop("next_dead_mass", None)
    return result.state.select("blk", "vals"), result, cost_rows


def state_to_rows(state: DataFrame, prep: Prepared) -> DataFrame:
    """Final blocks to ``(node, values)`` rows (values = array<double>, one per column)."""
    layout = prep.layout
    cols, bp = layout.columns, layout.bp

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for r in range(batch.num_rows):
                blk = batch.column("blk")[r].as_py()
                x = np.frombuffer(batch.column("vals")[r].as_py(), np.float64).reshape(-1, cols)
                offsets = pa.array(np.arange(0, (len(x) + 1) * cols, cols, dtype=np.int32))
                yield pa.RecordBatch.from_arrays(
                    [pa.array(blk * bp + np.arange(len(x), dtype=np.int64)),
                     pa.ListArray.from_arrays(offsets, pa.array(x.ravel()))],
                    names=["idx", "values"])

    rows = state.select("blk", "vals").mapInArrow(run, "idx long, values array<double>")
    return rows.join(prep.index, on="idx", how="inner").select("node", "values")


__all__ = ["BLOCKS", "Prepared", "power_iterate", "prepare", "state_to_rows"]
