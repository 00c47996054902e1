"""Property tests on random small graphs (few examples: each one costs Spark jobs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mining.link_analysis import run_pagerank

edge_lists = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=40, unique=True
)
SETTINGS = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ranks(spark, edges, *, partitions: int, **kw):
    df = spark.createDataFrame([(s, d, 1.0) for s, d in edges], "src long, dst long, weight double")
    res = run_pagerank(df.repartition(partitions), tol=1e-12, max_iter=500, **kw)
    return res.ranks.toPandas().set_index("node")["rank"].sort_index()


@SETTINGS
@given(edges=edge_lists, seed=st.integers(0, 2**16))
def test_ranks_are_a_distribution_invariant_to_order_and_partitions(spark, edges, seed):
    a = _ranks(spark, edges, partitions=1)
    shuffled = list(edges)
    np.random.default_rng(seed).shuffle(shuffled)
    b = _ranks(spark, shuffled, partitions=3)
    assert (a >= 0).all()
    assert a.sum() == pytest.approx(1.0, abs=1e-12)
    assert a.index.equals(b.index)
    assert np.abs(a.to_numpy() - b.to_numpy()).max() <= 1e-14


@SETTINGS
@given(edges=edge_lists)
def test_dead_end_removal_ranks_are_non_negative(spark, edges):
    r = _ranks(spark, edges, partitions=2, dead_ends="remove", beta=0.8)
    nodes = {n for e in edges for n in e}
    assert set(r.index) == nodes and (r >= 0).all()
