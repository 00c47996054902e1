"""PageRank, personalized PageRank and HITS against independent oracles on real graphs."""

from __future__ import annotations

import gzip

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from la_graphs import as_vector, edge_frame, parse_edges, to_networkx

from mining.link_analysis import run_hits, run_pagerank

pytestmark = pytest.mark.shared_data

GRAPHS = {  # name -> (file, shape note)
    "wiki_vote": "graphs/Wiki-Vote.txt.gz",          # 1,005 dead ends
    "gnutella31": "graphs/p2p-Gnutella31.txt.gz",    # 46,199 dead ends out of 62,586 nodes
    "enron": "graphs/email-Enron.txt.gz",            # undirected, both directions stored
    "hollins": "graphs/hollins.dat",                 # web crawl, 3,189 dead ends
}
TOL = 1e-13


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def graph(request, shared_data, spark):
    edges = parse_edges(shared_data / GRAPHS[request.param])
    df = edge_frame(spark, edges).cache()
    yield request.param, edges, df
    df.unpersist()


def test_pagerank_matches_networkx(graph):
    name, edges, df = graph
    g = to_networkx(edges)
    want = nx.pagerank(g, alpha=0.85, tol=TOL, max_iter=1000)
    res = run_pagerank(df, beta=0.85, tol=TOL, max_iter=1000)
    assert res.converged and res.strategy == "local"
    order = list(want)
    got = as_vector(res.ranks.toPandas(), "rank", order)
    assert np.abs(got - np.array([want[n] for n in order])).sum() <= 1e-9, name
    assert got.sum() == pytest.approx(1.0, abs=1e-12)


def test_personalized_pagerank_matches_networkx(shared_data, spark):
    edges = parse_edges(shared_data / GRAPHS["wiki_vote"])
    g = to_networkx(edges)
    chosen = sorted(g.nodes)[::700][:11]
    weights = {n: 1.0 + i for i, n in enumerate(chosen)}
    want = nx.pagerank(g, alpha=0.85, personalization=weights, tol=TOL, max_iter=1000)
    pers = spark.createDataFrame(list(weights.items()), "node long, weight double")
    res = run_pagerank(edge_frame(spark, edges), personalization=pers, tol=TOL, max_iter=1000)
    order = list(want)
    got = as_vector(res.ranks.toPandas(), "rank", order)
    assert np.abs(got - np.array([want[n] for n in order])).sum() <= 1e-9


def test_weighted_pagerank_matches_networkx(shared_data, spark):
    with gzip.open(shared_data / "graphs/soc-sign-bitcoinotc.csv.gz", "rt") as fh:
        rows = [line.split(",") for line in fh]
    edges = np.array([(int(r[0]), int(r[1])) for r in rows])
    weights = np.array([float(r[2]) + 11.0 for r in rows])  # ratings -10..10 -> 1..21
    want = nx.pagerank(to_networkx(edges, weights), alpha=0.85, tol=TOL, max_iter=1000,
                       weight="weight")
    res = run_pagerank(edge_frame(spark, edges, weights), tol=TOL, max_iter=1000)
    order = list(want)
    got = as_vector(res.ranks.toPandas(), "rank", order)
    assert np.abs(got - np.array([want[n] for n in order])).sum() <= 1e-9


def _numpy_hits(edges: np.ndarray, iters: int = 5000) -> tuple[dict, dict]:
    """Reference HITS: plain power iteration on A^T A from a = 1, scaled to sum 1."""
    ids, inv = np.unique(edges.ravel(), return_inverse=True)
    s, d = inv.reshape(-1, 2).T
    adj = sp.csr_matrix((np.ones(len(s)), (s, d)), shape=(len(ids), len(ids)))
    adj.data[:] = 1.0  # duplicates count once, as in a DiGraph
    h = np.ones(len(ids))
    for _ in range(iters):
        a = adj.T @ h
        h_new = adj @ a
        h_new /= h_new.sum()
        if np.abs(h_new - h / h.sum()).sum() < 1e-15:
            h = h_new
            break
        h = h_new
    a = adj.T @ h
    return dict(zip(ids.tolist(), h / h.sum())), dict(zip(ids.tolist(), a / a.sum()))


@pytest.mark.parametrize("name", ["wiki_vote", "hollins"])
def test_hits_matches_numpy_power_iteration(name, shared_data, spark):
    edges = np.unique(parse_edges(shared_data / GRAPHS[name]), axis=0)
    want_h, want_a = _numpy_hits(edges)
    out, _history, _converged = run_hits(edge_frame(spark, edges), tol=1e-16, max_iter=5000)
    pdf = out.toPandas()
    order = list(want_h)
    assert np.abs(as_vector(pdf, "hub", order) - [want_h[n] for n in order]).sum() <= 1e-9
    assert np.abs(as_vector(pdf, "authority", order) - [want_a[n] for n in order]).sum() <= 1e-9


ALL_GRAPHS = ["graphs/Wiki-Vote.txt.gz", "graphs/p2p-Gnutella08.txt",
              "graphs/p2p-Gnutella31.txt.gz", "graphs/email-Eu-core.txt.gz",
              "graphs/email-Enron.txt.gz", "graphs/CA-GrQc.txt",
              "graphs/soc-sign-bitcoinotc.csv.gz", "graphs/hollins.dat"]


def test_defaults_converge_on_every_shared_graph(shared_data, spark):
    """beta=0.85, tol=1e-6, max_iter=100 converge on every graph of the collection."""
    for rel in ALL_GRAPHS:
        edges = parse_edges(shared_data / rel)
        res = run_pagerank(edge_frame(spark, edges))
        assert res.converged and res.n_iter < 100, rel
    # wikispeedia has string ids (URL-encoded article names): map them first
    with gzip.open(shared_data / "graphs/wikispeedia-links.tsv.gz", "rt") as fh:
        pairs = [ln.rstrip("\n").split("\t") for ln in fh if ln.strip() and not ln.startswith("#")]
    names = {n: i for i, n in enumerate(sorted({n for p in pairs for n in p}))}
    edges = np.array([(names[a], names[b]) for a, b in pairs])
    res = run_pagerank(edge_frame(spark, edges))
    assert res.converged and res.n_iter < 100
