"""Every strategy computes the same arithmetic: same vector after the same iterations."""

from __future__ import annotations

import numpy as np
import pytest
from la_graphs import edge_frame, parse_edges

from mining.errors import InputError
from mining.link_analysis import run_matvec, run_pagerank

STRATEGIES = ["in_memory", "stripes", "blocks", "block_stripe"]
ITERATIONS = 4


@pytest.fixture(scope="module")
def gnutella(spark, bundled_data):
    edges = parse_edges(bundled_data / "graphs" / "p2p-Gnutella08.txt")
    df = edge_frame(spark, edges).cache()
    ref = run_pagerank(df, strategy="local", max_iter=ITERATIONS, tol=0.0)
    yield df, ref.ranks.toPandas().set_index("node")["rank"].sort_index(), ref
    df.unpersist()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_equals_default_after_fixed_iterations(gnutella, strategy):
    df, want, ref = gnutella
    res = run_pagerank(df, strategy=strategy, max_iter=ITERATIONS, tol=0.0, blocks=3)
    got = res.ranks.toPandas().set_index("node")["rank"].sort_index()
    assert res.n_iter == ITERATIONS and res.strategy == strategy
    assert got.index.equals(want.index)
    assert np.abs(got.to_numpy() - want.to_numpy()).sum() <= 1e-12
    # Same per-iteration convergence measure and dead-end mass as the single-task run.
    for mine, theirs in zip(res.history, ref.history, strict=True):
        assert mine["l1_delta"] == pytest.approx(theirs["l1_delta"], rel=1e-9)
        assert mine["dead_end_mass"] == pytest.approx(theirs["dead_end_mass"], rel=1e-9)
    assert all(h["vector_entries"] > 0 for h in res.history)


def test_topics_in_one_pass_match_separate_runs_with_blocks(spark, gnutella):
    df, _, _ = gnutella
    topics = spark.createDataFrame([("a", 0), ("a", 5), ("b", 100)], "topic string, node long")
    both = run_pagerank(df, topics=topics, strategy="blocks", blocks=2, max_iter=3, tol=0.0)
    local = run_pagerank(df, topics=topics, strategy="local", max_iter=3, tol=0.0)
    got = both.ranks.toPandas().set_index("node").sort_index()
    want = local.ranks.toPandas().set_index("node").sort_index()
    assert list(got.columns) == ["rank", "rank_a", "rank_b"]
    assert np.abs(got.to_numpy() - want.to_numpy()).sum() <= 1e-12


def _random_matrix(seed: int, n: int, m: int):
    rng = np.random.default_rng(seed)
    i, j, v = rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)
    x = rng.random(n)
    x[::5] = 0.0  # absent vector entries
    return i, j, v, x


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_matvec_matches_numpy_and_counts_communication(spark, strategy):
    n, m, k = 600, 3000, 3
    i, j, v, x = _random_matrix(3, n, m)
    matrix = spark.createDataFrame(list(zip(i.tolist(), j.tolist(), v.tolist())),
                                   "i long, j long, value double")
    vector = spark.createDataFrame([(t, float(x[t])) for t in range(n) if x[t] != 0],
                                   "i long, value double")
    want = np.zeros(n)
    np.add.at(want, i, v * x[j])
    res = run_matvec(matrix, vector, strategy=strategy, blocks=k, n=n)
    got = res.product.toPandas().sort_values("i")
    assert got["i"].tolist() == list(range(n))
    assert np.abs(got["value"].to_numpy() - want).max() <= 1e-12
    cost = res.cost()
    stripe = -(-n // k)
    # The textbook's communication per product, for this layout (§2.3.2, §5.2.3-5.2.4):
    expected = {
        "in_memory": {"vector_entries": n * cost["vector_rows"],
                      "partial_entries": n * cost["partial_rows"]},
        "stripes": {"vector_entries": n, "partial_entries": n * k},
        "blocks": {"vector_entries": n * k, "partial_entries": n * k},
        "block_stripe": {"vector_entries": n * k, "partial_entries": 0, "matrix_entries_moved": m},
    }[strategy]
    tiles_with_entries = len({(a // stripe, b // stripe) for a, b in zip(i, j)})
    if strategy in ("blocks", "block_stripe"):
        expected["vector_entries"] = sum(
            min(stripe, n - (b % k) * stripe) for b in range(k * k)
            if (b // k, b % k) in {(a // stripe, c // stripe) for a, c in zip(i, j)})
        assert cost["vector_rows"] == tiles_with_entries
    for key, value in expected.items():
        assert cost[key] == value, key


def test_bad_inputs_are_clear(spark):
    neg = spark.createDataFrame([(1, 2, -1.0)], "src long, dst long, weight double")
    with pytest.raises(InputError, match="non-negative"):
        run_pagerank(neg)
    ok = spark.createDataFrame([(1, 2, 1.0)], "src long, dst long, weight double")
    with pytest.raises(InputError, match="beta"):
        run_pagerank(ok, beta=1.5)
    with pytest.raises(InputError, match="strategy"):
        run_pagerank(ok, strategy="magic")
    empty_topic = spark.createDataFrame([("t", 99)], "topic string, node long")
    with pytest.raises(InputError, match="teleport"):
        run_pagerank(ok, topics=empty_topic)


def test_auto_falls_back_to_blocks_above_the_single_task_limit(gnutella):
    df, want, _ = gnutella
    n_edges = df.count()
    res = run_pagerank(df, max_iter=ITERATIONS, tol=0.0, local_max_edges=n_edges - 1)
    got = res.ranks.toPandas().set_index("node")["rank"].sort_index()
    assert res.strategy == "blocks" and res.n_edges == n_edges
    assert "local_max_edges" in res.reason
    assert np.abs(got.to_numpy() - want.to_numpy()).sum() <= 1e-12


def test_pagerank_that_does_not_converge_raises(gnutella):
    from mining.errors import EXIT_NOT_CONVERGED, ConvergenceError, exit_code
    from mining.link_analysis import pagerank

    df, _, _ = gnutella
    with pytest.raises(ConvergenceError, match=r"stopped at max_iter=2 .* raise max_iter") as info:
        pagerank(df, max_iter=2, tol=1e-15)
    assert info.value.n_iter == 2 and info.value.residual > 0
    assert exit_code(info.value) == EXIT_NOT_CONVERGED
