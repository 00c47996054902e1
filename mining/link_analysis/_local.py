"""Single-task strategy: ship the whole graph to one task and iterate there in numpy.

When a graph fits comfortably in one task (as Spark decides a broadcast join), one Spark job
that runs every iteration inside one task beats one job per iteration: a Spark step costs
~0.1-0.25 s here before any work (see bench/). The edges are packed into a few binary rows per
Arrow batch in parallel, so only kilobytes-to-megabytes of blobs cross the one shuffle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining.errors import InputError

# Packed rows that cross the shuffle when the input is not cached: one binary blob per column
# (int64 a, int64 b, float64 c) per kind and Arrow batch.
_PACKED = T.StructType(
    [
        T.StructField("kind", T.StringType(), False),
        T.StructField("a", T.BinaryType(), False),
        T.StructField("b", T.BinaryType(), False),
        T.StructField("c", T.BinaryType(), False),
    ]
)

# What the task returns: 'r' rows carry a node and its values (one per output column),
# 'h' rows one iteration of history, 'x' rows an input error message.
SOLVED = T.StructType(
    [
        T.StructField("kind", T.StringType(), False),
        T.StructField("node", T.LongType(), True),
        T.StructField("values", T.ArrayType(T.DoubleType(), False), True),
        T.StructField("iteration", T.IntegerType(), True),
        T.StructField("delta", T.DoubleType(), True),
        T.StructField("seconds", T.DoubleType(), True),
        T.StructField("dead_end_mass", T.DoubleType(), True),
        T.StructField("message", T.StringType(), True),
        T.StructField("count", T.LongType(), True),
    ]
)


@dataclass
class GraphArrays:
    """The graph as the task sees it: raw int64 ids, weights, extra nodes and teleport entries."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    nodes: np.ndarray
    tele_node: np.ndarray
    tele_col: np.ndarray
    tele_weight: np.ndarray


@dataclass
class Solution:
    """A task's answer: node ids, their values (n x k), history rows, convergence info."""

    ids: np.ndarray
    values: np.ndarray
    history: list[tuple[int, float, float, float]]
    converged: bool = True
    error: str | None = None
    n_edges: int = 0


@dataclass
class LocalRun:
    """Driver-side view of a single-task solve."""

    values: DataFrame
    history: list[tuple[int, float, float, float]]
    n_nodes: int
    converged: bool
    n_edges: int


class TooBig(Exception):  # noqa: N818 - a signal to switch strategy, not an error
    """The graph has more edges than the single-task limit; use a block strategy."""

    def __init__(self, edges: int) -> None:
        super().__init__(f"{edges} edges")
        self.edges = edges


Solver = Callable[[GraphArrays], Solution]


# Kinds of rows before the gather: 'e' edges (src, dst, weight), 'n' extra nodes (node, 0, 0),
# 't' teleport entries (node, column, weight), in columns kind, a, b, c.
_KINDS = ("e", "n", "t")


def _pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One binary row per kind per Arrow batch: kilobytes of blobs instead of many rows."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        kinds = batch.column("kind").to_numpy(zero_copy_only=False)
        cols = [batch.column(c).to_numpy(zero_copy_only=False) for c in ("a", "b", "c")]
        for kind in _KINDS:
            mask = kinds == kind
            if mask.any():
                yield pa.RecordBatch.from_pydict(
                    {"kind": [kind], **{c: [np.ascontiguousarray(col[mask]).tobytes()]
                                        for c, col in zip(("a", "b", "c"), cols, strict=True)}},
                    schema=_PACKED_ARROW,
                )


_PACKED_ARROW = pa.schema(
    [("kind", pa.string(), False), ("a", pa.binary(), False), ("b", pa.binary(), False),
     ("c", pa.binary(), False)]
)


def _unpack(batches: Iterator[pa.RecordBatch], max_edges: int | None) -> GraphArrays:
    """Concatenate packed blobs or plain rows (whichever the gather delivered) per kind."""
    parts: dict[str, list[list[np.ndarray]]] = {k: [[], [], []] for k in _KINDS}
    edges = 0
    for batch in batches:
        kinds = batch.column("kind").to_numpy(zero_copy_only=False)
        packed = pa.types.is_binary(batch.schema.field("a").type)
        for j, c in enumerate(("a", "b", "c")):
            dtype = np.float64 if j == 2 else np.int64
            col = batch.column(c)
            for kind in _KINDS:
                mask = kinds == kind
                if not mask.any():
                    continue
                if packed:
                    chunks = [np.frombuffer(b, dtype) for b in col.filter(pa.array(mask))
                              .to_pylist()]
                else:
                    chunks = [col.to_numpy(zero_copy_only=False)[mask].astype(dtype)]
                parts[kind][j].extend(chunks)
                if kind == "e" and j == 0:
                    edges += sum(len(x) for x in chunks)
        if max_edges is not None and edges > max_edges:
            raise TooBig(edges)

    def arr(kind: str, j: int) -> np.ndarray:
        dtype = np.float64 if j == 2 else np.int64
        chunks = parts[kind][j]
        return np.concatenate(chunks) if chunks else np.empty(0, dtype)

    return GraphArrays(arr("e", 0), arr("e", 1), arr("e", 2), arr("n", 0),
                       arr("t", 0), arr("t", 1), arr("t", 2))


def _emit(sol: Solution) -> Iterator[pa.RecordBatch]:
    schema = pa.schema([(f.name, _ARROW_TYPES[f.name], f.nullable) for f in SOLVED.fields])
    if sol.error is not None:
        yield pa.RecordBatch.from_pylist([{"kind": "x", "message": sol.error}], schema=schema)
        return
    hist = [{"kind": "h", "iteration": i, "delta": d, "seconds": s, "dead_end_mass": m}
            for i, d, s, m in sol.history]
    hist.append({"kind": "i", "node": len(sol.ids), "count": sol.n_edges,
                 "message": "converged" if sol.converged else "not converged"})
    yield pa.RecordBatch.from_pylist(hist, schema=schema)
    step = 200_000
    for lo in range(0, len(sol.ids), step):
        vals = sol.values[lo:lo + step]
        k = vals.shape[1]
        flat = pa.array(np.ascontiguousarray(vals).ravel())
        offsets = pa.array(np.arange(0, (len(vals) + 1) * k, k, dtype=np.int32))
        m = len(vals)
        yield pa.RecordBatch.from_arrays(
            [pa.array(["r"] * m), pa.array(sol.ids[lo:lo + step]),
             pa.ListArray.from_arrays(offsets, flat).cast(_ARROW_TYPES["values"]),
             pa.nulls(m, pa.int32()), pa.nulls(m, pa.float64()), pa.nulls(m, pa.float64()),
             pa.nulls(m, pa.float64()), pa.nulls(m, pa.string()), pa.nulls(m, pa.int64())],
            schema=schema,
        )


_ARROW_TYPES = {
    "kind": pa.string(), "node": pa.int64(),
    "values": pa.list_(pa.field("element", pa.float64(), nullable=False)),
    "iteration": pa.int32(), "delta": pa.float64(), "seconds": pa.float64(),
    "dead_end_mass": pa.float64(), "message": pa.string(), "count": pa.int64(),
}


def solve_in_one_task(
    edges: DataFrame,
    solver: Solver,
    *,
    weight: str | None,
    nodes: DataFrame | None = None,
    teleport: DataFrame | None = None,
    max_edges: int | None = None,
    source: DataFrame | None = None,
) -> LocalRun:
    """Run ``solver`` over the whole graph in one task.

    ``edges`` needs ``src``, ``dst`` (and ``weight`` when given); ``nodes`` a ``node`` column;
    ``teleport`` columns ``node``, ``column`` (int), ``weight``; ``source`` the caller's
    DataFrame that ``edges`` was projected from (its caching decides how rows are gathered).
    The returned DataFrame has ``node`` and ``values`` (array<double>) and is locally
    checkpointed (the one action runs the solve); the history (one row per iteration) reaches
    the driver as an observed metric of that action.

    Raises
    ------
    InputError
        When the solver reports bad input (negative or non-finite weights, empty teleport).
    TooBig
        When the graph has more than ``max_edges`` edges (checked in the task before any work).
    """
    w = F.col(weight).cast("double") if weight else F.lit(1.0)
    rows = edges.select(F.lit("e").alias("kind"), F.col("src").cast("long").alias("a"),
                        F.col("dst").cast("long").alias("b"), w.alias("c"))
    if nodes is not None:
        rows = rows.unionByName(nodes.select(
            F.lit("n").alias("kind"), F.col("node").cast("long").alias("a"),
            F.lit(0).cast("long").alias("b"), F.lit(0.0).alias("c")))
    if teleport is not None:
        rows = rows.unionByName(teleport.select(
            F.lit("t").alias("kind"), F.col("node").cast("long").alias("a"),
            F.col("column").cast("long").alias("b"), F.col("weight").cast("double").alias("c")))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            graph = _unpack(batches, max_edges)
        except TooBig as big:  # the driver falls back to a block strategy
            yield from _emit(Solution(np.empty(0, np.int64), np.empty((0, 1)), [],
                                      error=f"{_TOO_BIG}{big.edges}"))
            return
        sol = solver(graph)
        sol.n_edges = len(graph.src)
        yield from _emit(sol)

    gathered = _gather(rows, source if source is not None else edges)
    # The history and the summary travel back as an observed metric of the one job, so no
    # second job is needed to read them.
    obs = Observation(f"local_solve_{id(edges)}")
    info_row = F.struct(*[F.col(c) for c in SOLVED.fieldNames() if c != "values"])
    solved = (gathered.mapInArrow(run, SOLVED)
              .observe(obs, F.collect_list(F.when(F.col("kind") != "r", info_row)).alias("info"))
              .localCheckpoint(eager=True))
    info = obs.get.get("info")
    if info is None:  # a Connect server may not return metrics of a checkpoint command
        info = solved.filter(F.col("kind") != "r").drop("values").collect()
    errors = [r["message"] for r in info if r["kind"] == "x"]
    if errors and errors[0].startswith(_TOO_BIG):
        raise TooBig(int(errors[0][len(_TOO_BIG):]))
    if errors:
        raise InputError(errors[0])
    history = sorted((r["iteration"], r["delta"], r["seconds"], r["dead_end_mass"])
                     for r in info if r["kind"] == "h")
    summary = next(r for r in info if r["kind"] == "i")
    values = solved.filter(F.col("kind") == "r").select("node", "values")
    return LocalRun(values, history, int(summary["node"]), summary["message"] == "converged",
                    int(summary["count"] or 0))


_TOO_BIG = "__too_big__:"


def _gather(rows: DataFrame, source: DataFrame) -> DataFrame:
    """All rows in one partition.

    A cached input is read by the one task directly (``coalesce(1)``: no shuffle, one stage,
    no packing). Otherwise the upstream work (a file scan, a parse) would also shrink to one
    task, so each partition packs its rows into a few binary blobs (in parallel) and only the
    blobs cross a shuffle.
    """
    level = source.storageLevel
    if level.useMemory or level.useDisk:
        return rows.coalesce(1)
    return rows.mapInArrow(_pack, _PACKED).repartition(1)
