"""The shared loop helper: bounded plans over hundreds of iterations, flat time, resume."""

from __future__ import annotations

import statistics

import pytest
from pyspark.sql import functions as F

from mining._iteration import iterate
from mining.io.checkpoints import ParquetStateStore


def _step(state, i, last):
    # Reads the state twice, as PageRank's step does: without truncation the plan would double
    # each iteration.
    return state.select("k", (F.col("x") * 0.5 + 1.0).alias("x")).unionByName(
        state.limit(0).select("k", "x"))


def _metrics(old, new):
    return new.join(old.withColumnRenamed("x", "old"), on="k").agg(
        F.max(F.abs(F.col("x") - F.col("old"))).alias("delta"))


def _long_run(spark, n: int) -> None:
    start = spark.createDataFrame([(0, 0.0)], "k int, x double")
    res = iterate(start, _step, _metrics, max_iter=n, converged=lambda m: False,
                  checkpoint_interval=10, name="toy")
    assert res.n_iter == n and not res.converged
    assert abs(res.state.first()["x"] - (2.0 - 2.0 ** (1 - n))) < 1e-12
    secs = [h["seconds"] for h in res.history]
    early, late = statistics.median(secs[5:20]), statistics.median(secs[-15:])
    assert late < 2 * early + 0.05, (early, late)  # no growth with the iteration count
    if hasattr(res.state, "_jdf"):  # classic Spark: the plan is a leaf, however long the run
        assert len(res.state._jdf.queryExecution().analyzed().toString()) < 2000


@pytest.mark.slow  # CI runs the real block PageRank step 50 times instead (below)
def test_long_runs_keep_the_plan_bounded_and_time_flat(spark):
    _long_run(spark, 50)


@pytest.mark.slow
def test_200_iterations(spark):
    _long_run(spark, 200)


def test_convergence_stops_early(spark):
    start = spark.createDataFrame([(0, 0.0)], "k int, x double")
    res = iterate(start, _step, _metrics, max_iter=100, converged=lambda m: m["delta"] < 1e-3)
    assert res.converged and res.n_iter == 11  # |x_i - x_{i-1}| = 2^-(i-1)


def test_resume_from_durable_checkpoint(spark, tmp_path):
    start = spark.createDataFrame([(0, 0.0)], "k int, x double")
    store = ParquetStateStore(spark, tmp_path, "toy")
    first = iterate(start, _step, _metrics, max_iter=6, converged=lambda m: False,
                    checkpoint_interval=3, store=store)
    assert first.n_iter == 6 and sorted(p.name for p in (tmp_path / "toy").iterdir()) == [
        "iter-000003", "iter-000006"]
    again = iterate(start, _step, _metrics, max_iter=9, converged=lambda m: False,
                    checkpoint_interval=3, store=store)
    assert again.resumed_from == 6 and again.n_iter == 9
    assert [h["iteration"] for h in again.history] == list(range(1, 10))
    straight = iterate(start, _step, _metrics, max_iter=9, converged=lambda m: False)
    assert again.state.first()["x"] == straight.state.first()["x"]


class _PlanProbe:
    """A StateStore that saves nothing: it records the plan size of each durable state.

    The loop hands it the new state every ``checkpoint_interval`` iterations, which makes it a
    window on the states the real step builds, without changing the loop.
    """

    def __init__(self) -> None:
        self.plan_chars: dict[int, int] = {}

    def save(self, state, iteration, history):
        self.plan_chars[iteration] = len(state._jdf.queryExecution().analyzed().toString())
        return state

    def load(self):
        return None


def test_block_pagerank_keeps_time_and_plan_flat_over_50_iterations(spark, is_connect):
    """The real block step (not a toy) for 50 iterations: time per iteration and plan stay flat."""
    if is_connect:
        pytest.skip("reads plans through the JVM")
    from mining.link_analysis import run_pagerank

    # A small graph: what grows with the iteration count (plans, lineage, cached blocks) shows
    # as well as on a big one, and each iteration costs little more than its one Spark job.
    pairs = [(i, (i * 7 + 1) % 60) for i in range(60)] + [(i, i + 1) for i in range(0, 58, 2)]
    edges = spark.createDataFrame(pairs, "src long, dst long")
    probe = _PlanProbe()
    # One shuffle partition: the same plan shapes with the fewest tasks, to stay within ~60 s.
    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "1")
    try:
        res = run_pagerank(edges, strategy="blocks", blocks=2, tol=0.0, max_iter=50,
                           checkpoint_interval=10, state_store=probe)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", partitions)
    assert res.n_iter == 50 and not res.converged
    secs = [h["seconds"] for h in res.history]
    early, late = statistics.median(secs[4:15]), statistics.median(secs[-10:])
    assert late <= 2 * early + 0.05, (early, late)  # iterations 41-50 vs 5-15
    assert sorted(probe.plan_chars) == [10, 20, 30, 40, 50]
    assert probe.plan_chars[50] <= probe.plan_chars[10] * 1.1 + 100, probe.plan_chars
    assert probe.plan_chars[50] < 2000, probe.plan_chars  # a leaf, not 50 steps of lineage
