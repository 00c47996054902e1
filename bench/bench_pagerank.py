"""PageRank, 30 iterations, side by side with GraphX, scipy and a naive DataFrame loop.

Tools (the same 30 iterations for all; ``tol=0`` so nobody stops early):

* ``ours``: ``run_pagerank`` with the default (size-chosen) strategy on cached edges;
* ``ours-from-file``: the same from the edge file through ``read_edges`` (what GraphX times);
* ``graphx``: ``GraphLoader.edgeListFile`` + ``lib.PageRank.run`` through the JVM gateway
  (benchmark only; the library never touches the JVM);
* ``scipy``: CSR build plus power iteration in one Python process (single thread);
* ``naive-df``: the textbook join-per-iteration DataFrame loop, its lineage cut with a local
  checkpoint every round (with ``cache()`` alone the growing plan exhausts the driver's heap);
  Wiki-Vote only, run last;
* ``in_memory``, ``stripes``, ``blocks``, ``block_stripe``: the other strategies (real graphs
  only; one Spark job per iteration, so the per-job cost bounds them).

Tools that run Spark return the shuffle bytes their jobs wrote (from the status store), so the
communication of each strategy is measured, not only estimated.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import BenchContext, Tools, benchmark, isolated
from bench.rmat import SIZES, rmat_file

ITERATIONS = 30
BETA = 0.85
REAL = {"wiki-vote": "graphs/Wiki-Vote.txt.gz", "gnutella31": "graphs/p2p-Gnutella31.txt.gz",
        "enron": "graphs/email-Enron.txt.gz"}


def shuffle_bytes(spark: Any) -> int:
    """Total shuffle bytes written by every stage so far (Classic only; -1 over Connect)."""
    sc = getattr(spark, "sparkContext", None)
    if sc is None:
        return -1
    executors = sc._jsc.sc().statusStore().executorList(True)
    total, it = 0, executors.iterator()
    while it.hasNext():
        total += it.next().totalShuffleWrite()
    return int(total)


def _measured(spark: Any, fn: Callable[[], int]) -> Callable[[], dict[str, int]]:
    def run() -> dict[str, int]:
        before = shuffle_bytes(spark)
        nodes = fn()
        return {"nodes": nodes, "shuffle_bytes": shuffle_bytes(spark) - before}

    return run


def _load_numpy(path: Path) -> np.ndarray:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        rows = [line.split() for line in fh if line.strip() and not line.startswith("#")]
    return np.array(rows, dtype=np.int64)


def _scipy(edges: np.ndarray) -> Callable[[], int]:
    def run() -> int:
        import scipy.sparse as sp

        ids, inv = np.unique(edges.ravel(), return_inverse=True)
        s, d = inv.reshape(-1, 2).T
        n = len(ids)
        out = np.bincount(s, minlength=n).astype(float)
        dangling = out == 0
        m = sp.csr_matrix((1.0 / out[s], (d, s)), shape=(n, n))
        x = np.full(n, 1.0 / n)
        for _ in range(ITERATIONS):
            x = BETA * (m @ x + x[dangling].sum() / n) + (1 - BETA) / n
        return n

    return run


def _graphx(spark: Any, path: Path) -> Callable[[], int]:
    def run() -> int:
        jvm, sc = spark.sparkContext._jvm, spark.sparkContext._jsc.sc()
        level = jvm.org.apache.spark.storage.StorageLevel.MEMORY_ONLY()
        parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
        graph = jvm.org.apache.spark.graphx.GraphLoader.edgeListFile(
            sc, str(path), False, parts, level, level)
        tag = jvm.scala.reflect.ClassTag.Int()
        ranks = jvm.org.apache.spark.graphx.lib.PageRank.run(graph, ITERATIONS, 1 - BETA, tag, tag)
        count = int(ranks.vertices().count())
        # Release both graphs' cached RDDs, so later runs (ours included) do not pay their GC.
        ranks.unpersist(False)
        graph.unpersist(False)
        return count

    return run


def _naive(spark: Any, edges: Any) -> Callable[[], int]:
    """Join per iteration, lineage cut every round: a usual first version."""
    from pyspark.sql import functions as F

    def run() -> int:
        e = edges.select("src", "dst")
        nodes = e.select(F.col("src").alias("node")).union(e.select(F.col("dst").alias("node")))
        nodes = nodes.distinct().localCheckpoint()
        n = nodes.count()
        deg = e.groupBy("src").agg(F.count("*").alias("deg"))
        links = e.join(deg, "src").localCheckpoint()
        ranks = nodes.select("node", F.lit(1.0 / n).alias("rank")).localCheckpoint()
        for _ in range(ITERATIONS):
            contrib = (links.join(ranks, links["src"] == ranks["node"])
                       .groupBy("dst").agg(F.sum(F.col("rank") / F.col("deg")).alias("c")))
            dangling = ranks.join(deg, ranks["node"] == deg["src"], "left_anti") \
                .agg(F.sum("rank")).first()[0] or 0.0
            # Without cutting the lineage every round the plan grows until planning exhausts
            # the driver's heap (measured: by iteration ~10 with cache() alone).
            ranks = (nodes.join(contrib, nodes["node"] == contrib["dst"], "left")
                     .select("node", (BETA * (F.coalesce("c", F.lit(0.0)) + dangling / n)
                                      + (1 - BETA) / n).alias("rank"))).localCheckpoint()
        return int(ranks.count())

    return run


def _setup(ctx: BenchContext, path: Path, *, real: bool, naive: bool = False) -> Tools:
    from mining.io.readers import read_edges
    from mining.link_analysis import run_pagerank

    spark = ctx.spark
    edges = read_edges(spark, str(path), format="snap").data.cache()
    edges.count()

    def ours(strategy: str = "auto") -> Callable[[], int]:
        # A lambda on purpose: the run must happen when the harness calls it, not here.
        return lambda: run_pagerank(  # noqa: PLW0108
            edges, max_iter=ITERATIONS, tol=0.0, strategy=strategy).ranks.count()

    def from_file() -> int:
        fresh = read_edges(spark, str(path), format="snap").data
        return run_pagerank(fresh, max_iter=ITERATIONS, tol=0.0).ranks.count()

    tools: dict[str, Any] = {
        "ours": _measured(spark, ours()),
        "ours-from-file": _measured(spark, from_file),
        "graphx": _measured(spark, _graphx(spark, path)),
        "scipy": isolated(_scipy(_load_numpy(path))),
    }
    if real:
        for strategy in ("in_memory", "stripes", "blocks", "block_stripe"):
            tools[strategy] = _measured(spark, ours(strategy))
    if naive:  # last: when it exhausts the driver's heap, the tools above are already timed
        tools["naive-df"] = _measured(spark, _naive(spark, edges))
    return tools


def _register_real(name: str, relative: str) -> None:
    @benchmark(f"pagerank-{name}", description=f"PageRank x{ITERATIONS} on {relative}")
    def setup(ctx: BenchContext) -> Tools:
        return _setup(ctx, ctx.shared_file(relative), real=True, naive=name == "wiki-vote")


def _register_rmat(name: str, scale: int, edges: int) -> None:
    @benchmark(f"pagerank-{name}", description=f"PageRank x{ITERATIONS} on R-MAT 2^{scale} nodes")
    def setup(ctx: BenchContext) -> Tools:
        return _setup(ctx, rmat_file(scale, edges), real=False)


for _name, _rel in REAL.items():
    _register_real(_name, _rel)
for _name, (_scale, _m) in SIZES.items():
    _register_rmat(_name, _scale, _m)
