"""HITS: hubs and authorities (MMDS §5.5), normalized like networkx (each sums to 1)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining.errors import ConvergenceError, InputError
from mining.link_analysis._local import solve_in_one_task
from mining.link_analysis._solvers import hits_solver
from mining.link_analysis._transfer import unit_weights


def run_hits(edges: DataFrame, *, max_iter: int = 100, tol: float = 1e-8,
             weight: str | None = "weight", nodes: DataFrame | None = None
             ) -> tuple[DataFrame, list[dict[str, Any]], bool]:
    """HITS with its history: returns (``node, hub, authority``, history, converged).

    Parameters
    ----------
    edges
        ``src``, ``dst`` and optionally a weight column (the link matrix L has ``L[src, dst] =
        weight``; duplicate rows add up).
    max_iter, tol
        Stop when the L1 change of the hub vector is below ``N * tol`` (as PageRank here).
    weight
        Weight column, or ``None`` for an unweighted link matrix (the book's L).
    nodes
        Extra nodes without edges (hub and authority 0).

    Returns
    -------
    (DataFrame, list of dict, bool)
        ``node`` (long), ``hub`` (double), ``authority`` (double), each column summing to 1;
        one history dict per iteration (``iteration``, ``l1_delta``, ``seconds``); converged.

    Notes
    -----
    §5.5.2: ``a = L^T h``, ``h = L a`` from ``h = 1``, scaling after each half step. The book
    scales to a maximum of 1; networkx (and this function) to a sum of 1, which is the same
    direction. Runs in one task (the graph and two N-vectors in memory); one Spark job.
    networkx's ``hits`` solves the same fixed point with ARPACK (an SVD); for graphs whose
    principal singular value is repeated the two may pick different vectors.
    """
    if max_iter < 1 or tol < 0:
        raise InputError(f"need max_iter >= 1 and tol >= 0, got {max_iter}, {tol}")
    weighted = bool(weight and weight in edges.columns)  # else no weights cross to the task
    w = F.col(str(weight)) if weighted else F.lit(1.0)
    e = edges.select("src", "dst", w.cast("double").alias("w"))
    run = solve_in_one_task(e, hits_solver(max_iter=max_iter, tol=tol),
                            weight="w" if weighted else None, nodes=nodes, source=edges,
                            unit_weight=weighted and unit_weights(edges, weight))
    history = [{"iteration": i, "l1_delta": d, "seconds": s} for i, d, s, _ in run.history]
    out = run.values.select("node", F.col("values")[0].alias("hub"),
                            F.col("values")[1].alias("authority"))
    return out, history, run.converged


def hits(edges: DataFrame, *, max_iter: int = 100, tol: float = 1e-8,
         weight: str | None = "weight", nodes: DataFrame | None = None) -> DataFrame:
    """Hub and authority scores: ``node``, ``hub``, ``authority`` (each summing to 1).

    See :func:`run_hits`. Raises :class:`~mining.errors.ConvergenceError` when ``tol`` is not
    reached in ``max_iter`` iterations.
    """
    out, history, converged = run_hits(edges, max_iter=max_iter, tol=tol, weight=weight,
                                       nodes=nodes)
    if not converged:
        last = history[-1]["l1_delta"] if history else float("inf")
        raise ConvergenceError(f"hits did not converge in {len(history)} iterations",
                               n_iter=len(history), residual=last)
    return out
