"""Single-task strategy: ship the whole graph to one task and iterate there in numpy.

When a graph fits comfortably in one task (as Spark decides a broadcast join), one Spark job
that runs every iteration inside one task beats one job per iteration: a Spark step costs
~0.1-0.25 s here before any work (see bench/). How the rows reach the task is in
``_transfer``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining.errors import InputError
from mining.link_analysis._transfer import GraphArrays, TooBig, gather, graph_rows, unpack
from mining.schemas import UNIT_WEIGHT

log = logging.getLogger(__name__)

__all__ = ["SOLVED", "GraphArrays", "LocalRun", "Solution", "Solver", "TooBig",
           "solve_in_one_task"]

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


Solver = Callable[[GraphArrays], Solution]


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
    unit_weight: bool = False,
) -> LocalRun:
    """Run ``solver`` over the whole graph in one task.

    ``edges`` needs ``src``, ``dst`` (and ``weight`` when given); ``nodes`` a ``node`` column;
    ``teleport`` columns ``node``, ``column`` (int), ``weight``; ``source`` the caller's
    DataFrame that ``edges`` was projected from (its caching decides how rows are gathered).
    ``unit_weight``: the caller believes every weight is 1 (``mining.schemas.UNIT_WEIGHT``), so
    the weights stay behind; the same job counts weights other than 1, and if there are any
    the solve runs again with them.
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
    guard, shipped = None, edges
    if unit_weight and weight:
        guard = Observation(f"unit_weight_{id(edges)}")
        shipped = edges.observe(guard, F.count_if(F.col(weight) != 1.0).alias("other"))
    rows = graph_rows(shipped, weight=None if guard else weight, nodes=nodes, teleport=teleport)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            graph = unpack(batches, max_edges)
        except TooBig as big:  # the driver falls back to a block strategy
            yield from _emit(Solution(np.empty(0, np.int64), np.empty((0, 1)), [],
                                      error=f"{_TOO_BIG}{big.edges}"))
            return
        sol = solver(graph)
        sol.n_edges = len(graph.src)
        yield from _emit(sol)

    gathered = gather(rows, source if source is not None else edges)
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
    if guard is not None and _other_weights(guard, edges, weight):
        log.warning("edge weights are not all 1 despite the %s metadata; solving with them",
                    UNIT_WEIGHT)
        return solve_in_one_task(edges, solver, weight=weight, nodes=nodes, teleport=teleport,
                                 max_edges=max_edges, source=source)
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


def _other_weights(guard: Observation, edges: DataFrame, weight: str | None) -> bool:
    """Whether any weight differs from 1 (from the observation, else one small query)."""
    other = guard.get.get("other")
    if other is None:  # metrics not delivered (Connect): ask directly
        return bool(edges.filter(F.col(str(weight)) != 1.0).limit(1).count())
    return bool(other)
