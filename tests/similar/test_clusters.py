"""Duplicate clusters (§3.4.3): large-star / small-star components against networkx."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import networkx as nx
import pytest

from mining import schemas
from mining.errors import InputError
from mining.similar._clusters import duplicate_clusters

PAIRS = "doc_a string, doc_b string"


def _shuffled(edges: list[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in edges]
    rng.shuffle(out)
    return out


def _rows(result) -> set[tuple[str, str, int]]:
    return {(r["doc_id"], r["cluster"], r["cluster_size"]) for r in result.clusters.collect()}


def _expected(edges: list[tuple[str, str]]) -> set[tuple[str, str, int]]:
    graph = nx.Graph(edges)  # keeps self-loops: a document paired only with itself is a node
    return {(doc, min(comp), len(comp))
            for comp in nx.connected_components(graph) for doc in comp}


def _random_graph(seed: int, n: int, m: int) -> list[tuple[str, str]]:
    """A sparse G(n, m) (many components) under random string ids, with loops and repeats."""
    rng = random.Random(seed)
    # Unpadded random ids: string order differs from any generation order.
    names = [f"d{rng.randrange(10**6)}" for _ in range(n)]
    while len(set(names)) < n:
        names = [f"d{rng.randrange(10**6)}" for _ in range(n)]
    graph = nx.gnm_random_graph(n, m, seed=seed)
    edges = [(names[a], names[b]) for a, b in graph.edges()]
    edges += [(names[k], names[k]) for k in rng.sample(range(n), n // 10)]  # self-loops
    edges += rng.sample(edges, len(edges) // 5)  # duplicates (either direction after _shuffled)
    return _shuffled(edges, seed)


@pytest.mark.connect
def test_chain_is_one_cluster_in_logarithmic_rounds(spark):
    n = 1000
    docs = [f"d{k:04d}" for k in range(n)]
    edges = _shuffled(list(pairwise(docs)), seed=7)
    res = duplicate_clusters(spark.createDataFrame(edges, PAIRS))
    assert res.converged and res.n_iter <= 2 * math.ceil(math.log2(n)) + 3, res.history
    assert res.history[-1]["changed"] == 0 and res.history[-1]["edges"] == n - 1
    assert _rows(res) == {(d, "d0000", n) for d in docs}
    assert res.clusters.schema == schemas.DUPLICATE_CLUSTERS


@pytest.mark.parametrize(
    ("seed", "n", "m"),
    [pytest.param(1, 60, 45, marks=pytest.mark.connect), (2, 400, 360)],
)
def test_random_graphs_match_networkx(spark, seed, n, m):
    edges = _random_graph(seed, n, m)
    expected = _expected(edges)
    assert len({c for _, c, _ in expected}) > 5  # several components, not one giant
    res = duplicate_clusters(spark.createDataFrame(edges, ["left", "right"]),
                             first="left", second="right")
    assert res.converged
    assert _rows(res) == expected


def test_empty_input(spark):
    res = duplicate_clusters(spark.createDataFrame([], PAIRS))
    assert res.converged and res.n_iter == 1 and res.history[0]["changed"] == 0
    assert res.clusters.schema == schemas.DUPLICATE_CLUSTERS
    assert res.clusters.count() == 0


def test_not_converged_is_reported_not_raised(spark):
    docs = [f"d{k:03d}" for k in range(64)]
    res = duplicate_clusters(spark.createDataFrame(list(pairwise(docs)), PAIRS),
                             max_iter=2)
    assert not res.converged and res.n_iter == 2 and len(res.history) == 2
    rows = _rows(res)
    # Every document is still labelled, with a document no larger from its component.
    assert {d for d, _, _ in rows} == set(docs)
    assert all(c <= d for d, c, _ in rows) and len({c for _, c, _ in rows}) > 1


def test_missing_column(spark):
    with pytest.raises(InputError, match="no column doc_b"):
        duplicate_clusters(spark.createDataFrame([("a", "b")], "doc_a string, other string"))
