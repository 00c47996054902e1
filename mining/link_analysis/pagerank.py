"""PageRank (MMDS §5.1-5.3): taxation, dead ends both ways, topic-sensitive, strategy by size.

Ranks sum to 1 (networkx convention; GraphX's ``PageRank.run`` sums to N instead: multiply by
N to compare). Convergence follows networkx: stop when the L1 change between iterations is below
``N * tol``; otherwise :class:`~mining.errors.ConvergenceError` (``pagerank``) or
``converged=False`` (``run_pagerank``).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining._frames import one_row
from mining._iteration import StateStore
from mining.errors import ConvergenceError, InputError
from mining.link_analysis import _distributed as D
from mining.link_analysis._blocks import STRATEGIES, default_blocks, make_layout
from mining.link_analysis._local import TooBig, solve_in_one_task
from mining.link_analysis._solvers import pagerank_solver
from mining.link_analysis._transfer import unit_weights

log = logging.getLogger(__name__)

#: Graphs up to this many edges are solved in one task (all iterations in numpy); larger ones
#: iterate over blocks, one Spark job per iteration. 16M edges peaked at 0.9 GB in the task.
LOCAL_MAX_EDGES = 50_000_000
_TOPIC = re.compile(r"^[A-Za-z0-9_]{1,48}$")


@dataclass
class PageRankResult:
    """Ranks plus what a production run needs to report.

    Attributes
    ----------
    ranks
        ``node`` (long), ``rank`` (double) and, with topics, one ``rank_<topic>`` column each.
    history
        Per iteration: ``iteration``, ``l1_delta`` (max over columns), ``seconds``,
        ``dead_end_mass`` (rank mass on dead ends before the step, max over columns), and for
        block strategies the exact communication counts of the product.
    """

    ranks: DataFrame
    history: list[dict[str, Any]]
    n_iter: int
    converged: bool
    strategy: str
    reason: str
    n_nodes: int
    n_edges: int
    topics: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tol: float = 0.0

    def check_converged(self) -> None:
        """Raise :class:`~mining.errors.ConvergenceError` unless the run reached its tolerance.

        The message says how far it got (last L1 change against ``N * tol``) and what to raise.
        """
        if self.converged:
            return
        last = self.history[-1]["l1_delta"] if self.history else float("inf")
        raise ConvergenceError(
            f"pagerank stopped at max_iter={self.n_iter} with L1 change {last:.3g} >= N*tol = "
            f"{self.n_nodes * self.tol:.3g}; raise max_iter or tol",
            n_iter=self.n_iter, residual=last)


def _validate(beta: float, max_iter: int, tol: float, dead_ends: str, strategy: str) -> None:
    if not 0.0 <= beta <= 1.0:
        raise InputError(f"beta must be in [0, 1], got {beta}")
    if max_iter < 1:
        raise InputError(f"max_iter must be >= 1, got {max_iter}")
    if tol < 0:
        raise InputError(f"tol must be >= 0, got {tol}")
    if dead_ends not in ("teleport", "remove"):
        raise InputError(f"dead_ends must be 'teleport' or 'remove', got {dead_ends!r}")
    if strategy not in ("auto", "local", *STRATEGIES):
        raise InputError(f"strategy must be one of auto, local, {', '.join(STRATEGIES)}; "
                         f"got {strategy!r}")


def _teleport_table(personalization: DataFrame | None, topics: DataFrame | None
                    ) -> tuple[DataFrame | None, list[str]]:
    """Long-form teleport entries (node, column, weight); column 0 is the plain PageRank."""
    parts, names = [], []
    if personalization is not None:
        w = F.col("weight") if "weight" in personalization.columns else F.lit(1.0)
        parts.append(personalization.select("node", F.lit(0).alias("column"), w.alias("weight")))
    if topics is not None:
        names = sorted(r["topic"] for r in topics.select("topic").distinct().collect())
        bad = [t for t in names if t is None or not _TOPIC.match(t)]
        if bad:
            raise InputError(f"topic names must match [A-Za-z0-9_]{{1,48}}: {bad[:3]}")
        w = F.col("weight") if "weight" in topics.columns else F.lit(1.0)
        col = F.array_position(F.array(*[F.lit(t) for t in names]), F.col("topic"))
        parts.append(topics.select("node", col.cast("int").alias("column"), w.alias("weight")))
    if not parts:
        return None, names
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out.select(F.col("node").cast("long"), "column", F.col("weight").cast("double")), names


def _check_weights(e: DataFrame) -> int:
    """One aggregate: the edge count, and an error for NaN, infinite or negative weights."""
    bad = F.isnan("w") | F.col("w").isin(float("inf"), float("-inf")) | F.col("w").isNull()
    row = one_row(e.agg(F.count(F.lit(1)).alias("m"),
                        F.sum(F.when(bad, 1).otherwise(0)).alias("bad"),
                        F.min("w").alias("min_w")))
    assert row is not None
    if row["bad"]:
        raise InputError(f"edge weights must be finite; {row['bad']} edges have NaN, "
                         "infinite or null weights")
    if row["min_w"] is not None and row["min_w"] < 0:
        raise InputError(f"edge weights must be non-negative; the smallest is {row['min_w']} "
                         "(signed graphs such as bitcoin-otc need a transform first)")
    return int(row["m"])


def run_pagerank(
    edges: DataFrame,
    *,
    beta: float = 0.85,
    max_iter: int = 100,
    tol: float = 1e-6,
    checkpoint_interval: int = 10,
    weight: str | None = "weight",
    dead_ends: str = "teleport",
    personalization: DataFrame | None = None,
    topics: DataFrame | None = None,
    nodes: DataFrame | None = None,
    strategy: str = "auto",
    blocks: int | None = None,
    local_max_edges: int = LOCAL_MAX_EDGES,
    reliable_checkpoint: bool = False,
    state_store: StateStore | None = None,
) -> PageRankResult:
    """Compute PageRank and return the ranks with the run's history and strategy.

    Parameters
    ----------
    edges
        ``src``, ``dst`` (long node ids) and optionally a weight column (schema
        ``mining.schemas.EDGES``). Duplicate rows add their weights (networkx multigraph
        semantics; the edge reader deduplicates first). Self-loops are ordinary edges.
    beta
        Probability of following a link (taxation, §5.1.5); ``1 - beta`` teleports. The book's
        examples use 0.8; networkx and GraphX default to 0.85.
    max_iter, tol
        Stop when the L1 change is below ``N * tol`` (networkx) or after ``max_iter``
        iterations. With ``tol=0`` exactly ``max_iter`` iterations run.
    checkpoint_interval
        Block strategies truncate lineage every k iterations (0 = never).
    weight
        Edge weight column (``None``: every edge weighs 1). Transition probabilities are
        ``w / sum of the source's out-weights``. Negative or non-finite weights are rejected.
    dead_ends
        ``'teleport'`` (networkx): rank mass on dead ends is redistributed by the teleport
        vector each iteration. ``'remove'`` (§5.1.4): remove dead ends recursively, rank the
        core, then restore removed nodes in reverse order with
        ``beta * sum(r(p) / outdeg(p)) + (1 - beta) / N_core``; restored ranks need not sum to 1
        (the book says so). Only with the ``local`` strategy.
    personalization
        ``node`` and optional ``weight``: teleport distribution of the ``rank`` column (§5.3),
        normalized to sum 1; nodes absent from the graph are ignored.
    topics
        ``topic``, ``node`` and optional ``weight``: one extra column ``rank_<topic>`` per topic,
        all computed in the same pass (a ranks matrix, §5.3.2).
    nodes
        ``node``: extra nodes without edges (they are dead ends with in-degree 0).
    strategy
        ``'auto'`` (single task when the graph has at most ``local_max_edges`` edges, else
        ``'blocks'``), ``'local'``, ``'in_memory'``, ``'stripes'``, ``'blocks'`` or
        ``'block_stripe'`` (see ``mining.link_analysis.matvec``).
    blocks
        Blocking factor k of the block strategies (default from the vector size: blocks of at
        most 32 MB, at least two).
    reliable_checkpoint, state_store
        Block strategies: checkpoint with ``DataFrame.checkpoint`` (needs ``spark.checkpoint.dir``),
        or into a durable store that lets a killed job resume.

    Returns
    -------
    PageRankResult

    Raises
    ------
    InputError
        Bad parameters, negative or non-finite weights, an empty teleport set.

    Notes
    -----
    Cost: ``local`` is one Spark job: the edges (and weights, when a weight column is used) move
    to one task as Arrow batches, and every iteration runs there (the edges and an ``N x
    columns`` float matrix in memory); the task checks the edge count first, so ``auto`` falls
    back to ``blocks`` without having counted. Block strategies run one aggregate (count and
    weight checks), a preparation (node index, tiles), then one job per iteration (see
    ``mining.link_analysis.matvec`` for the communication per iteration). The history (a few
    numbers per iteration) reaches the driver as an observed metric.
    """
    _validate(beta, max_iter, tol, dead_ends, strategy)
    t0 = time.perf_counter()
    tele, names = _teleport_table(personalization, topics)
    columns = 1 + len(names)
    weighted = bool(weight and weight in edges.columns)  # else no weights cross to the task
    w = F.col(str(weight)).cast("double") if weighted else F.lit(1.0)
    e = edges.select(F.col("src").cast("long"), F.col("dst").cast("long"), w.alias("w"))
    chosen, reason, m = strategy, "chosen by the caller", -1
    if strategy in ("auto", "local"):
        # Auto tries the single task first: the task itself checks the edge count before any
        # work, which saves the counting job that choosing up front would cost.
        limit = local_max_edges if strategy == "auto" else None
        solver = pagerank_solver(beta=beta, max_iter=max_iter, tol=tol, columns=columns,
                                 uniform_first=personalization is None, dead_ends=dead_ends)
        try:
            run = solve_in_one_task(e, solver, weight="w" if weighted else None, nodes=nodes,
                                    teleport=tele, max_edges=limit, source=edges,
                                    unit_weight=weighted and unit_weights(edges, weight))
        except TooBig as big:
            chosen, m = "blocks", big.edges
            reason = (f"{m:,} edges > local_max_edges={local_max_edges:,}: square blocks, one "
                      "job per iteration")
        else:
            chosen, m = "local", run.n_edges
            if strategy == "auto":
                reason = (f"{m:,} edges <= local_max_edges={local_max_edges:,}: the graph fits "
                          "in one task, which runs every iteration without a job per iteration")
            values, n_nodes, converged = run.values, run.n_nodes, run.converged
            history = [{"iteration": i, "l1_delta": d, "seconds": s, "dead_end_mass": dm}
                       for i, d, s, dm in run.history]
    log.info("pagerank: %s strategy (%s)", chosen, reason)
    if chosen != "local":
        if dead_ends == "remove":
            raise InputError("dead_ends='remove' runs with the local strategy only; use "
                             "dead_ends='teleport' for block strategies")
        m = _check_weights(e)
        values, history, n_nodes, converged = _run_blocks(
            e, tele, nodes, chosen, blocks, columns, personalization is None,
            beta=beta, max_iter=max_iter, tol=tol, checkpoint_interval=checkpoint_interval,
            reliable_checkpoint=reliable_checkpoint, store=state_store)
    ranks = values.select(
        "node", F.col("values")[0].alias("rank"),
        *[F.col("values")[i + 1].alias(f"rank_{t}") for i, t in enumerate(names)])
    return PageRankResult(ranks, history, len(history), converged, chosen, reason, n_nodes, m,
                          names, round(time.perf_counter() - t0, 3), tol)


def _run_blocks(e: DataFrame, tele: DataFrame | None, nodes: DataFrame | None, chosen: str,
                blocks: int | None, columns: int, uniform_first: bool, **loop: Any
                ) -> tuple[DataFrame, list[dict[str, Any]], int, bool]:
    parallelism = int(e.sparkSession.conf.get("spark.sql.shuffle.partitions") or 4)
    if tele is not None and uniform_first:
        tele = tele.unionByName(e.select(F.col("src").alias("node")).union(
            e.select(F.col("dst").alias("node"))).distinct().select(
            "node", F.lit(0).alias("column"), F.lit(1.0).alias("weight")))

    def layout_for(n: int) -> Any:
        k = blocks or default_blocks(n, columns, parallelism=min(parallelism, 8))
        return make_layout(chosen, n, blocks=k, chunks=parallelism, columns=columns)

    prep = D.prepare(e, tele, layout_for, nodes=nodes)
    try:
        state, res, costs = D.power_iterate(prep, **loop)
        for h, c in zip(res.history, costs[-len(res.history):] if costs else [], strict=False):
            h.update(c)
        values = D.state_to_rows(state, prep).localCheckpoint(eager=True)
    finally:
        prep.release()
    return values, res.history, prep.layout.n, res.converged


def pagerank(edges: DataFrame, *, beta: float = 0.85, max_iter: int = 100, tol: float = 1e-6,
             checkpoint_interval: int = 10, **options: Any) -> DataFrame:
    """PageRank of every node: ``node`` (long), ``rank`` (double), summing to 1.

    The transform form of :func:`run_pagerank` (same parameters), for
    ``edges.transform(pagerank, beta=0.8)``.

    Raises
    ------
    ConvergenceError
        If ``tol`` was not reached in ``max_iter`` iterations (as networkx raises
        ``PowerIterationFailedConvergence``).
    """
    res = run_pagerank(edges, beta=beta, max_iter=max_iter, tol=tol,
                       checkpoint_interval=checkpoint_interval, **options)
    res.check_converged()
    return res.ranks.select("node", "rank", *[f"rank_{t}" for t in res.topics])


def topic_sensitive_pagerank(edges: DataFrame, topics: DataFrame, **options: Any) -> DataFrame:
    """Topic-sensitive PageRank (§5.3): ``node``, ``rank`` and one ``rank_<topic>`` per topic.

    ``topics`` has ``topic``, ``node`` (and optional ``weight``): each topic's teleport set.
    All topics are computed in one pass over the graph. Other options as :func:`pagerank`.
    """
    return pagerank(edges, topics=topics, **options)
