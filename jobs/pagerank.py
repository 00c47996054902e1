"""PageRank job: read an edge list, rank it, publish ranks, history, HITS, spam mass (MMDS ch. 5).

Tables (schemas in :data:`mining.schemas.RESULT_TABLES`, checked at publish):

* ``pagerank`` (node, rank), whatever the options;
* ``pagerank_topics`` (node, topic, rank): topic-sensitive ranks (§5.3), with ``--topics-file``;
* ``pagerank_nodes`` (node, name): the original names, with ``--node-ids string``;
* ``pagerank_iterations`` (iteration, l1_delta, seconds, dead_end_mass and the communication
  counts of block strategies);
* ``hits`` (node, hub, authority; §5.5), unless ``--no-hits``;
* ``spam_mass`` (node, rank, trust_rank, spam_mass, suspect; §5.4), with ``--trusted``;
* ``pagerank_quarantine`` (the rejected input lines).

Every run publishes all of them: a table whose option is off is published empty, so the current
versions always come from one run.

PageRank that does not converge within ``max_iter`` is a :class:`~mining.errors.ConvergenceError`
(exit 3) and publishes nothing. ``--plot`` is a path inside the warehouse and ``--resume-dir``
must be writable; both are checked before any Spark work. The run record's notes say which
strategy ran, the iterations and, with ``--resume-dir``, ``resumed_from_iteration`` (0 = fresh).

Run: ``mining run pagerank --input data/graphs/hollins.dat`` or
``spark-submit --properties-file conf/spark-local.conf jobs/pagerank.py --beta 0.8``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining import schemas
from mining.io.checkpoints import ParquetStateStore
from mining.io.plots import convergence_plot
from mining.io.readers import read_edges
from mining.link_analysis import PageRankResult, run_hits, run_pagerank, spam_mass
from mining.runtime.job import JobContext, run_job

JOB = "pagerank"
OPTIONAL_TABLES = frozenset({"pagerank_topics", "pagerank_nodes", "hits", "spam_mass"})


def _read_graph(ctx: JobContext) -> tuple[DataFrame, DataFrame | None]:
    p = ctx.params
    ctx.record_input(p["input"])
    with ctx.stage("read edges") as st:
        res = read_edges(ctx.spark, p["input"], format=p["format"], header=p["header"],
                         delimiter=p["delimiter"] or None,
                         weight_column=None if p["weight_column"] < 0 else p["weight_column"],
                         node_ids=p["node_ids"], directed=p["directed"])
        edges = ctx.ingest("edges", res, quarantine_table="pagerank_quarantine")
        st.rows = ctx.counts["edges"]
    return edges, res.extras.get("node_map")


def _node_ids(ctx: JobContext, names: list[str], node_map: DataFrame | None) -> DataFrame:
    """Trusted/topic node ids as given on the command line, mapped through node_map if any."""
    given = ctx.spark.createDataFrame([(n,) for n in names], "name string")
    if node_map is None:
        return given.select(F.col("name").cast("long").alias("node"))
    return given.join(node_map, on="name", how="inner").select("node")


def _topics(ctx: JobContext, node_map: DataFrame | None) -> DataFrame | None:
    path = ctx.params["topics_file"]
    if not path:
        return None
    ctx.record_input(path)
    raw = ctx.spark.read.csv(path, sep="\t", schema="topic string, name string", comment="#")
    if node_map is None:
        return raw.select("topic", F.col("name").cast("long").alias("node"))
    return raw.join(node_map, on="name", how="inner").select("topic", "node")


def _state_store(ctx: JobContext) -> ParquetStateStore | None:
    if not ctx.params["resume_dir"]:
        return None
    # Key on everything that changes the iteration, so a different job never resumes it.
    src = Path(ctx.params["input"])
    stamp = [str(src), src.stat().st_size if src.exists() else 0,
             src.stat().st_mtime_ns if src.exists() else 0]
    key = hashlib.sha256(json.dumps([stamp, dict(ctx.params)], sort_keys=True, default=str)
                         .encode()).hexdigest()[:16]
    return ParquetStateStore(ctx.spark, ctx.params["resume_dir"], key)


def pipeline(ctx: JobContext) -> None:
    """Read, rank, publish (see the module docstring for the tables)."""
    p = ctx.params
    # Paths first: a bad --plot or an unwritable --resume-dir is one line before Spark works.
    plot = ctx.warehouse.inside(p["plot"], what="plot path") if p["plot"] else None
    store = _state_store(ctx)
    if store is not None:
        store.check_writable()
    edges, node_map = _read_graph(ctx)
    with ctx.stage("pagerank") as st:
        res = run_pagerank(edges, beta=p["beta"], max_iter=p["max_iter"], tol=p["tol"],
                           checkpoint_interval=p["checkpoint_interval"],
                           dead_ends=p["dead_ends"], topics=_topics(ctx, node_map),
                           strategy=p["strategy"], blocks=p["blocks"] or None,
                           state_store=store)
        st.rows = {"nodes": res.n_nodes, "edges": res.n_edges, "iterations": res.n_iter}
    ctx.notes.update(strategy=res.strategy, strategy_reason=res.reason, converged=res.converged,
                     iterations=res.n_iter)
    if store is not None:
        ctx.notes["resumed_from_iteration"] = store.resumed_from
    res.check_converged()  # the runner reports it in one line, exit 3
    tables = {**_rank_tables(res, node_map),
              "pagerank_iterations": _history_table(ctx, res.history)}
    if p["hits"]:
        with ctx.stage("hits"):
            tables["hits"], _, _ = run_hits(edges, max_iter=p["max_iter"], tol=p["tol"])
    if p["trusted"]:
        with ctx.stage("spam mass"):
            tables["spam_mass"] = spam_mass(edges, _node_ids(ctx, p["trusted"], node_map),
                                            threshold=p["spam_threshold"], beta=p["beta"],
                                            tol=p["tol"], max_iter=p["max_iter"])
    # Options off still publish their tables, empty: no query joins this run's ranks with an
    # earlier run's HITS, topics, names or spam mass.
    for name in sorted(OPTIONAL_TABLES.difference(tables)):
        tables[name] = ctx.spark.createDataFrame([], schemas.RESULT_TABLES[name])
    ctx.publish(tables)
    if plot is not None:
        convergence_plot(res.history, plot, tol_line=res.n_nodes * p["tol"])
    if store is not None:
        store.clear()


def _rank_tables(res: PageRankResult, node_map: DataFrame | None) -> dict[str, DataFrame]:
    """``pagerank`` (node, rank); ``pagerank_topics`` and ``pagerank_nodes`` when they apply."""
    tables = {"pagerank": res.ranks.select("node", "rank")}
    if res.topics:  # one row per (node, topic), whatever the topics: the table keeps one shape
        pairs = F.array(*[F.struct(F.lit(t).alias("topic"), F.col(f"rank_{t}").alias("rank"))
                          for t in res.topics])
        tables["pagerank_topics"] = res.ranks.select("node", F.inline(pairs))
    if node_map is not None:
        tables["pagerank_nodes"] = node_map
    return tables


def _history_table(ctx: JobContext, history: list[dict[str, object]]) -> DataFrame:
    names = schemas.PAGERANK_ITERATIONS.fieldNames()
    rows = [tuple(h.get(k) for k in names) for h in history]
    return ctx.spark.createDataFrame(rows, schemas.PAGERANK_ITERATIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run pagerank`` and ``spark-submit jobs/pagerank.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())
