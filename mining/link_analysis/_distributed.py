"""Distributed taxed power iteration: one Spark job per iteration over block rows (§5.2).

Used when the graph does not fit in one task (or when a block strategy is asked for). The
arithmetic is the single-task solver's, block by block, so after the same number of iterations
both give the same vector up to floating-point summation order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining._frames import dense_index
from mining._iteration import StateStore, iterate
from mining.link_analysis._blocks import (
    BLOCKS, Layout, build_tiles, constant_blocks, vector_blocks,
)
from mining.link_analysis._multiply import COST_KEYS, multiply, reblock

_METRICS = T.StructType([T.StructField("c", T.IntegerType(), False),
                         T.StructField("delta", T.DoubleType(), False),
                         T.StructField("mass", T.DoubleType(), False),
                         T.StructField("next_mass", T.DoubleType(), False)])


@dataclass
class Prepared:
    """A graph ready for block iteration: node index, tiles, dangling mask, teleport blocks."""

    index: DataFrame          # node, idx
    layout: Layout
    tiles: DataFrame
    dangling: DataFrame       # (blk, vals): 1.0 on dead ends, column blocking, one column
    teleport: DataFrame       # (blk, vals): row blocking, `columns` columns, each sums to 1
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
    dangling = _cache(vector_blocks(dead, one_col, size=layout.bq, count=layout.q))
    tele = _teleport_entries(index, n, teleport)
    tele_blocks = _cache(vector_blocks(tele, layout, size=layout.bp, count=layout.p))
    return Prepared(index, layout, tiles, dangling, tele_blocks, n_dangling,
                    cached=[index, tiles, dangling, tele_blocks, dead])


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


def _finalize(layout: Layout, beta: float):  # type: ignore[no-untyped-def]
    cols = layout.columns

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out_b, out_v = [], []
            for r in range(batch.num_rows):
                blk = batch.column("I")[r].as_py()
                p = np.frombuffer(batch.column("p")[r].as_py(), np.float64).reshape(-1, cols)
                raw = batch.column("y")[r].as_py()
                y = (np.frombuffer(raw, np.float64).reshape(-1, cols) if raw
                     else np.zeros_like(p))
                dm = np.asarray(batch.column("dm")[r].as_py(), np.float64)
                out_b.append(blk)
                out_v.append((beta * (y + p * dm) + (1.0 - beta) * p).tobytes())
            yield pa.RecordBatch.from_pydict({"I": out_b, "vals": out_v},
                                             schema=pa.schema([("I", pa.int32(), False),
                                                               ("vals", pa.binary(), False)]))

    return run


def make_step(prep: Prepared, beta: float, costs: list[Observation],
              start_mass: list[float]):  # type: ignore[no-untyped-def]
    """The iteration ``v' = beta (M v + d(v) p) + (1 - beta) p`` on blocks, lazily.

    ``d(v)``, the rank mass on dead ends, comes as a literal from the previous iteration's
    metrics action (``next_dead_mass``), so a step adds no aggregate of its own.
    """
    layout = prep.layout
    spark = prep.tiles.sparkSession
    all_i = spark.range(layout.p).select(F.col("id").cast("int").alias("I"))

    def step(state: DataFrame, i: int, last: dict[str, Any] | None) -> DataFrame:
        obs = Observation(f"matvec_cost_{i}_{id(state)}")
        costs.append(obs)
        dm = start_mass if last is None else list(last["next_dead_mass"])
        y = multiply(prep.tiles, state, layout, observation=obs)
        rows = (all_i.join(y.withColumnRenamed("vals", "y"), on="I", how="left")
                .join(prep.teleport.select(F.col("blk").alias("I"), F.col("vals").alias("p")),
                      on="I", how="inner")
                .select("I", "y", "p", F.array(*[F.lit(float(x)) for x in dm]).alias("dm")))
        new = rows.mapInArrow(_finalize(layout, beta), "I int, vals binary")
        return reblock(new, layout)

    return step


def metrics(layout: Layout, dangling: DataFrame):  # type: ignore[no-untyped-def]
    """One aggregate per iteration: L1 change, dead-end mass before and after the step."""
    cols = layout.columns

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out: dict[str, list[Any]] = {"c": [], "delta": [], "mass": [], "next_mass": []}
            for r in range(batch.num_rows):
                new = np.frombuffer(batch.column("new")[r].as_py(), np.float64).reshape(-1, cols)
                old = np.frombuffer(batch.column("old")[r].as_py(), np.float64).reshape(-1, cols)
                mask = np.frombuffer(batch.column("mask")[r].as_py(), np.float64) > 0
                out["c"].extend(range(cols))
                out["delta"].extend(np.abs(new - old).sum(axis=0).tolist())
                out["mass"].extend(old[mask].sum(axis=0).tolist())
                out["next_mass"].extend(new[mask].sum(axis=0).tolist())
            yield pa.RecordBatch.from_pydict(out, schema=_arrow_metrics)

    def compute(old: DataFrame, new: DataFrame) -> DataFrame:
        joined = (new.withColumnRenamed("vals", "new")
                  .join(old.withColumnRenamed("vals", "old"), on="blk", how="inner")
                  .join(dangling.withColumnRenamed("vals", "mask"), on="blk", how="inner"))
        per_col = joined.mapInArrow(run, _METRICS).groupBy("c").agg(
            F.sum("delta").alias("delta"), F.sum("mass").alias("mass"),
            F.sum("next_mass").alias("next_mass"))
        return per_col.agg(
            F.max("delta").alias("l1_delta"), F.max("mass").alias("dead_end_mass"),
            F.sort_array(F.collect_list(F.struct("c", "next_mass"))).getField("next_mass")
            .alias("next_dead_mass"))

    return compute


_arrow_metrics = pa.schema([("c", pa.int32(), False), ("delta", pa.float64(), False),
                            ("mass", pa.float64(), False), ("next_mass", pa.float64(), False)])


def power_iterate(prep: Prepared, *, beta: float, max_iter: int, tol: float,
                  checkpoint_interval: int, reliable_checkpoint: bool = False,
                  store: StateStore | None = None) -> tuple[DataFrame, Any, list[dict[str, Any]]]:
    """Run the loop; returns (final state blocks, LoopResult, per-iteration cost dicts)."""
    layout = prep.layout
    start = constant_blocks(prep.tiles.sparkSession, layout, size=layout.bq, count=layout.q,
                            value=1.0 / max(layout.n, 1))
    costs: list[Observation] = []
    threshold = layout.n * tol
    start_mass = [prep.n_dangling / max(layout.n, 1)] * layout.columns
    result = iterate(start, make_step(prep, beta, costs, start_mass),
                     metrics(layout, prep.dangling),
                     max_iter=max_iter, converged=lambda m: m["l1_delta"] < threshold,
                     checkpoint_interval=checkpoint_interval,
                     reliable_checkpoint=reliable_checkpoint, store=store, name="pagerank")
    cost_rows = [{k: int(obs.get.get(k) or 0) for k in COST_KEYS} for obs in costs]
    for h in result.history:
        h.pop("next_dead_mass", None)
    return result.state, result, cost_rows


def state_to_rows(state: DataFrame, prep: Prepared) -> DataFrame:
    """Final blocks to ``(node, values)`` rows (values = array<double>, one per column)."""
    layout = prep.layout
    cols, bq = layout.columns, layout.bq

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for r in range(batch.num_rows):
                blk = batch.column("blk")[r].as_py()
                x = np.frombuffer(batch.column("vals")[r].as_py(), np.float64).reshape(-1, cols)
                offsets = pa.array(np.arange(0, (len(x) + 1) * cols, cols, dtype=np.int32))
                yield pa.RecordBatch.from_arrays(
                    [pa.array(blk * bq + np.arange(len(x), dtype=np.int64)),
                     pa.ListArray.from_arrays(offsets, pa.array(x.ravel()))],
                    names=["idx", "values"])

    rows = state.select("blk", "vals").mapInArrow(run, "idx long, values array<double>")
    return rows.join(prep.index, on="idx", how="inner").select("node", "values")


__all__ = ["BLOCKS", "Prepared", "power_iterate", "prepare", "state_to_rows"]
