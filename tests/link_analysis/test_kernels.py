"""numpy kernels against independent implementations (no Spark)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from mining.link_analysis import _kernels as K


def test_compact_ids_dense_and_sparse_paths():
    a, b = np.array([10, 3, 10]), np.array([7, 3, 2**40])
    ids, (ia, ib) = K.compact_ids(a, b)
    assert ids.tolist() == [3, 7, 10, 2**40]
    assert ids[ia].tolist() == a.tolist() and ids[ib].tolist() == b.tolist()
    ids2, (ic,) = K.compact_ids(np.array([5, 1, 5]))
    assert ids2.tolist() == [1, 5] and ic.tolist() == [1, 0, 1]


def _peel(g: nx.DiGraph) -> dict[int, int]:
    """Independent recursive dead-end removal: round in which each node goes (0 = core)."""
    g = g.copy()
    out, rnd = {n: 0 for n in g}, 0
    while True:
        dead = [n for n in g if g.out_degree(n) == 0]
        if not dead:
            return out
        rnd += 1
        for n in dead:
            out[n] = rnd
        g.remove_nodes_from(dead)


def test_dead_end_removal_matches_peeling_on_chains():
    rng = np.random.default_rng(7)
    core = [(i, (i + 1) % 30) for i in range(30)] + [(i, (i * 7) % 30) for i in range(30)]
    chains = []
    for c in range(5):  # chains 30+c*10 -> ... of length 6 hanging off the core
        base = 30 + c * 10
        chains += [(int(rng.integers(0, 30)), base)] + [(base + k, base + k + 1) for k in range(6)]
    edges = np.array(core + chains)
    g = nx.DiGraph(edges.tolist())
    ids, (s, d) = K.compact_ids(edges[:, 0], edges[:, 1])
    got = K.remove_dead_ends(s, d, len(ids))
    want = _peel(g)
    assert {int(ids[i]): int(r) for i, r in enumerate(got)} == want
    assert got.max() == 7


def test_book_dead_end_example_5_4():
    # MMDS Fig. 5.4 / Example 5.5: A->B,C,D  B->A,D  C->E  D->B,C; E is a dead end.
    a, b, c, d, e = range(5)
    edges = np.array([(a, b), (a, c), (a, d), (b, a), (b, d), (c, e), (d, b), (d, c)])
    removed = K.remove_dead_ends(edges[:, 0], edges[:, 1], 5)
    assert removed.tolist() == [0, 0, 2, 0, 1]
    core = removed == 0
    keep = core[edges[:, 0]] & core[edges[:, 1]]
    local = np.cumsum(core) - 1
    m, dangling = K.transition_matrix(local[edges[keep, 0]], local[edges[keep, 1]],
                                      np.ones(keep.sum()), 3)
    res = K.pagerank_power(m, dangling, np.full((3, 1), 1 / 3), beta=1.0, max_iter=500, tol=0)
    x = np.zeros(5)
    x[core] = res.x[:, 0]
    x = K.restore_dead_ends(edges[:, 0], edges[:, 1], removed, x, beta=1.0)
    assert x * 54 == pytest.approx([12, 24, 13, 18, 13], abs=1e-9)


def _independent_removal_ranks(g: nx.DiGraph, beta: float) -> dict[int, float]:
    """MMDS §5.1.4 written from the book: peel dead ends, rank the core, restore in reverse."""
    rounds = _peel(g)
    core = g.subgraph([n for n, r in rounds.items() if r == 0]).copy()
    ranks = nx.pagerank(core, alpha=beta, tol=1e-15, max_iter=10_000)
    n_core = core.number_of_nodes()
    for rnd in range(max(rounds.values()), 0, -1):
        for node in [n for n, r in rounds.items() if r == rnd]:
            total = sum(ranks[p] / g.out_degree(p) for p in g.predecessors(node))
            ranks[node] = beta * total + (1 - beta) / n_core
    return ranks


@pytest.mark.parametrize("beta", [0.8, 1.0])
def test_removal_ranks_match_independent_implementation(spark, beta):
    from mining.link_analysis import pagerank

    rng = np.random.default_rng(11)
    core = [(i, int(j)) for i in range(40) for j in rng.choice(40, 3, replace=False) if i != j]
    chains = []
    for c in range(6):  # chains of dead ends up to 5 long, some branching
        base = 100 + 10 * c
        chains += [(int(rng.integers(0, 40)), base), (int(rng.integers(0, 40)), base)]
        chains += [(base + k, base + k + 1) for k in range(c)]
        chains += [(base, base + 7)]
    g = nx.DiGraph(core + chains)
    if beta == 1.0:  # the book's plain iteration needs an aperiodic core: add self-loops
        g.add_edges_from((i, i) for i in range(40))
    want = _independent_removal_ranks(g, beta)
    df = spark.createDataFrame([(a, b, 1.0) for a, b in g.edges],
                               "src long, dst long, weight double")
    got = {r["node"]: r["rank"] for r in pagerank(df, beta=beta, dead_ends="remove", tol=1e-15,
                                                  max_iter=10_000).collect()}
    assert set(got) == set(want)
    assert sum(abs(got[n] - want[n]) for n in want) <= 1e-9
