"""Single-task solvers: numpy kernels wrapped for ``solve_in_one_task``."""

from __future__ import annotations

import numpy as np

from mining.link_analysis import _kernels as K
from mining.link_analysis._local import GraphArrays, Solution, Solver


def check_weights(g: GraphArrays) -> str | None:
    """An error message for negative or non-finite weights, else ``None``."""
    if g.weight.size and not np.all(np.isfinite(g.weight)):
        return "edge weights must be finite; found NaN or infinity"
    if g.weight.size and g.weight.min() < 0:
        bad = int(np.argmin(g.weight))
        return (f"edge weights must be non-negative; edge {g.src[bad]} -> {g.dst[bad]} has "
                f"weight {g.weight[bad]}")
    return None


def teleport_matrix(ids: np.ndarray, g: GraphArrays, columns: int, uniform_first: bool
                    ) -> tuple[np.ndarray | None, str | None]:
    """Dense ``n x columns`` teleport matrix (each column sums to 1) or an error message."""
    n = len(ids)
    p = np.zeros((n, columns))
    if uniform_first:
        p[:, 0] = 1.0 / n
    if g.tele_node.size:
        pos = np.searchsorted(ids, g.tele_node)
        pos = np.minimum(pos, n - 1)
        known = ids[pos] == g.tele_node
        if g.tele_weight.size and g.tele_weight.min() < 0:
            return None, "teleport weights must be non-negative"
        np.add.at(p, (pos[known], g.tele_col[known]), g.tele_weight[known])
    sums = p.sum(axis=0)
    empty = np.flatnonzero(sums <= 0)
    if empty.size:
        return None, (f"teleport column {int(empty[0])} has no positive weight on a node of the "
                      "graph (are the topic/trusted nodes in the edge list?)")
    return p / sums, None


def pagerank_solver(*, beta: float, max_iter: int, tol: float, columns: int,
                    uniform_first: bool, dead_ends: str) -> Solver:
    """PageRank for ``columns`` teleport distributions at once, in one task."""

    def solve(g: GraphArrays) -> Solution:
        err = check_weights(g)
        if err:
            return Solution(np.empty(0, np.int64), np.empty((0, columns)), [], error=err)
        ids, (s, d, _extra) = K.compact_ids(g.src, g.dst, g.nodes)
        n = len(ids)
        if n == 0:
            return Solution(ids, np.empty((0, columns)), [], converged=True)
        p, err = teleport_matrix(ids, g, columns, uniform_first)
        if err or p is None:
            return Solution(ids, np.empty((0, columns)), [], error=err)
        if dead_ends == "remove":
            return _with_removal(ids, s, d, g.weight, p, beta=beta, max_iter=max_iter, tol=tol)
        m, dangling = K.transition_matrix(s, d, g.weight, n)
        res = K.pagerank_power(m, dangling, p, beta=beta, max_iter=max_iter, tol=tol,
                               start=np.full((n, columns), 1.0 / n))
        return Solution(ids, res.x, res.history, converged=res.converged)

    return solve


def _with_removal(ids: np.ndarray, s: np.ndarray, d: np.ndarray, w: np.ndarray, p: np.ndarray,
                  *, beta: float, max_iter: int, tol: float) -> Solution:
    """The book's dead-end handling (§5.1.4): remove recursively, rank the core, restore."""
    n, columns = p.shape
    removed = K.remove_dead_ends(s, d, n)
    core = removed == 0
    x = np.zeros((n, columns))
    history: list[tuple[int, float, float, float]] = []
    converged = True
    if core.any():
        keep = core[s] & core[d]
        core_ids = np.flatnonzero(core)
        local = np.full(n, -1, dtype=np.int64)
        local[core_ids] = np.arange(core_ids.size)
        m, dangling = K.transition_matrix(local[s[keep]], local[d[keep]], w[keep], core_ids.size)
        pc = p[core_ids]
        pc = pc / pc.sum(axis=0)
        res = K.pagerank_power(m, dangling, pc, beta=beta, max_iter=max_iter, tol=tol,
                               start=np.full((core_ids.size, columns), 1.0 / core_ids.size))
        x[core_ids] = res.x
        history, converged = res.history, res.converged
    for c in range(columns):
        x[:, c] = K.restore_dead_ends(s, d, removed, x[:, c], beta=beta)
    return Solution(ids, x, history, converged=converged)


def hits_solver(*, max_iter: int, tol: float) -> Solver:
    """HITS hubs and authorities (§5.5) in one task; values columns = (hub, authority)."""

    def solve(g: GraphArrays) -> Solution:
        err = check_weights(g)
        if err:
            return Solution(np.empty(0, np.int64), np.empty((0, 2)), [], error=err)
        ids, (s, d, _) = K.compact_ids(g.src, g.dst, g.nodes)
        n = len(ids)
        if n == 0:
            return Solution(ids, np.empty((0, 2)), [], converged=True)
        adj = K.csr(g.weight, s, d, n)
        h, a, res = K.hits_power(adj, max_iter=max_iter, tol=tol)
        return Solution(ids, np.column_stack([h, a]), res.history, converged=res.converged)

    return solve
