"""Demo pipeline: ingest the bundled real data, publish profiles and the quarantine.

Tables published (schemas in :data:`mining.schemas.RESULT_TABLES`, checked at publish):
``dataset_profile`` (rows read/kept/quarantined per data set), ``degree_distribution``
(hollins.edu web graph), ``basket_sizes`` (Groceries), ``quarantine`` (every rejected input
row: ``dataset`` plus the reader's quarantine columns), and the link analysis of the hollins.edu
graph (MMDS ch. 5): ``pagerank`` (node, rank), ``spam_mass`` (node, rank, trust_rank,
spam_mass, suspect; §5.4, from the same pass as the ranks), ``pagerank_iterations``, ``hits``;
the frequent itemsets of the Groceries baskets (MMDS ch. 6): ``itemsets``, ``rules``,
``itemset_passes``; the near-duplicate SMS messages (MMDS ch. 3): ``similar_pairs`` and
``duplicate_clusters``; a logistic regression of the a9a rows by SGD (MMDS ch. 12; four fifths
train, a seeded hash of the row id holds out the rest), as the train job: ``training_history``,
``metrics``, ``confusion``; plus ``plots/pagerank_convergence.png``, ``plots/s_curve.png`` and
``plots/loss_curve.png`` in the warehouse.

Run: ``mining run demo`` or
``spark-submit --properties-file conf/spark-local.conf jobs/demo.py``. With ``--report`` (what
``make demo`` runs) it then prints :data:`REPORT`'s queries of ``sql/`` over the published
tables, as ``mining sql NAME`` would, in its own session: five ``mining sql`` commands would
start five JVMs (about 15 s each here).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.train import train_and_evaluate
from mining import schemas
from mining.cli import resolve_query
from mining.io.frames import write_rows
from mining.io.plots import convergence_plot, s_curve_plot
from mining.io.readers import ReadResult, read_baskets, read_documents, read_edges, read_labeled
from mining.itemsets import association_rules, run_itemsets
from mining.link_analysis import run_hits, run_pagerank
from mining.profiling import basket_size_distribution, degree_distribution
from mining.runtime.job import JobContext, run_job
from mining.sgd import LogisticRegression
from mining.sgd.selection import fold_of
from mining.similar import duplicate_clusters, find_similar, s_curve_table

JOB = "demo"
# What ``--report`` prints: a title, a query of sql/ and its parameters.
REPORT: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("what each data set contributed", "dataset_profile", {}),
    ("top 10 pages of the hollins.edu web graph", "top_pages", {"k": 10}),
    ("rules of the groceries baskets with confidence >= 0.5", "confident_rules", {"c": 0.5}),
    ("biggest groups of near-duplicate SMS messages", "biggest_clusters", {"k": 5}),
    ("confusion matrix of a logistic regression on held-out a9a rows", "confusion_matrix", {}),
)


def _read_all(ctx: JobContext) -> dict[str, tuple[str, ReadResult]]:
    p, spark = ctx.params, ctx.spark
    ctx.record_input([p["graph"], p["baskets"], p["documents"], p["labeled"]])
    with ctx.stage("read inputs"):
        return {
            "hollins": ("graph", read_edges(spark, p["graph"], format=p["graph_format"],
                                            header=p["graph_header"])),
            "groceries": ("baskets", read_baskets(spark, p["baskets"], layout="lines",
                                                  delimiter=",")),
            "sms": ("documents", read_documents(spark, p["documents"], layout="lines",
                                                label_column=0)),
            "a9a_test": ("labeled", read_labeled(spark, p["labeled"], format="libsvm",
                                                 n_features=p["n_features"])),
        }


def _quarantine(results: dict[str, tuple[str, ReadResult]]) -> DataFrame:
    parts = [
        r.quarantine.select(F.lit(name).alias("dataset"), *schemas.QUARANTINE.fieldNames())
        for name, (_, r) in results.items()
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def _profile(ctx: JobContext, results: dict[str, tuple[str, ReadResult]]) -> DataFrame:
    rows = []
    for name, (kind, r) in results.items():
        c = r.counts()
        ctx.record_counts(name, c)
        entities = c.get("nodes", c.get("baskets", c["rows_kept"]))
        rows.append((name, kind, c["rows_read"], c["rows_kept"], c["rows_quarantined"],
                     c["duplicates_removed"], entities))
    return ctx.spark.createDataFrame(rows, schemas.DATASET_PROFILE)


def _link_analysis(ctx: JobContext, edges: DataFrame) -> dict[str, DataFrame]:
    """PageRank and TrustRank (one pass), spam mass, HITS on the web graph (MMDS ch. 5)."""
    p = ctx.params
    trusted = ctx.spark.createDataFrame([(int(n),) for n in p["trusted"]], "node long")
    with ctx.stage("pagerank") as st:
        res = run_pagerank(edges, beta=p["beta"], tol=p["tol"], max_iter=p["max_iter"],
                           topics=trusted.selectExpr("'trust' as topic", "node"))
        st.rows = {"nodes": res.n_nodes, "iterations": res.n_iter}
    ctx.notes.update(strategy=res.strategy, strategy_reason=res.reason)
    res.check_converged()
    # Spam mass (§5.4.5) from the same pass: rank and trust rank are two columns of one solve.
    mass = (F.col("rank") - F.col("rank_trust")) / F.col("rank")
    spam = res.ranks.select("node", "rank", F.col("rank_trust").alias("trust_rank"),
                            mass.alias("spam_mass"), (mass >= p["spam_threshold"]).alias("suspect"))
    history = ctx.spark.createDataFrame(
        [tuple(h.get(k) for k in schemas.PAGERANK_ITERATIONS.fieldNames()) for h in res.history],
        schemas.PAGERANK_ITERATIONS)
    convergence_plot(res.history, ctx.warehouse.inside("plots/pagerank_convergence.png"),
                     tol_line=res.n_nodes * p["tol"])
    with ctx.stage("hits"):
        hubs, _, _ = run_hits(edges, tol=p["tol"], max_iter=p["max_iter"])
    return {"pagerank": res.ranks.select("node", "rank"), "spam_mass": spam,
            "pagerank_iterations": history, "hits": hubs}


def _itemsets(ctx: JobContext, baskets: DataFrame) -> dict[str, DataFrame]:
    """Frequent itemsets and association rules of the Groceries baskets (MMDS ch. 6)."""
    p = ctx.params
    with ctx.stage("itemsets") as st:
        res = run_itemsets(baskets, min_support=p["min_support"])
        itemsets = res.itemsets.cache()
        st.rows = {"itemsets": itemsets.count(), "passes": len(res.passes)}
    ctx.notes.update(itemsets_algorithm=res.algorithm, itemsets_reason=res.reason)
    rules = association_rules(itemsets, n_baskets=res.n_baskets,
                              min_confidence=p["min_confidence"])
    names = schemas.ITEMSET_PASSES.fieldNames()
    passes = ctx.spark.createDataFrame([tuple(row.get(k) for k in names) for row in res.passes],
                                       schemas.ITEMSET_PASSES)
    return {"itemsets": itemsets, "rules": rules, "itemset_passes": passes}


def _similar(ctx: JobContext, documents: DataFrame) -> dict[str, DataFrame]:
    """Near-duplicate SMS messages and their groups (MMDS ch. 3), as the similar job."""
    p = ctx.params
    with ctx.stage("similar pairs") as st:
        res = find_similar(documents, threshold=p["similarity_threshold"])
        pairs = res.pairs.cache()
        st.rows = {"similar_pairs": pairs.count()}
    ctx.notes.update(similar_strategy=res.strategy, similar_bands=res.choice.bands,
                     similar_rows=res.choice.rows)
    clusters = duplicate_clusters(pairs)
    clusters.check_converged()
    s, prob = s_curve_table(bands=res.choice.bands, rows=res.choice.rows)
    s_curve_plot(s.tolist(), prob.tolist(), ctx.warehouse.inside("plots/s_curve.png"),
                 bands=res.choice.bands, rows=res.choice.rows,
                 threshold=p["similarity_threshold"])
    return {"similar_pairs": pairs, "duplicate_clusters": clusters.clusters}


def _train(ctx: JobContext, points: DataFrame) -> dict[str, DataFrame]:
    """A logistic regression of the a9a rows by SGD (MMDS ch. 12), as the train job does it."""
    p = ctx.params
    is_test = fold_of(k=100, seed=p["train_seed"]) < round(100 * p["test_fraction"])
    est = LogisticRegression(learning_rate=p["learning_rate"], max_epochs=p["max_epochs"],
                             seed=p["train_seed"])
    trained = train_and_evaluate(ctx, est, points.where(~is_test), points.where(is_test))
    tables = trained.tables
    return {k: tables[k] for k in ("training_history", "metrics", "confusion")}


def pipeline(ctx: JobContext) -> None:
    """Read the four bundled data sets; publish profiles, quarantine, link analysis, itemsets,
    similar pairs and a trained model's history and metrics."""
    results = _read_all(ctx)
    edges = results["hollins"][1].data.cache()
    baskets = results["groceries"][1].data.cache()
    documents = results["sms"][1].data.cache()
    points = results["a9a_test"][1].data.cache()
    ctx.publish({
        "degree_distribution": degree_distribution(edges),
        "basket_sizes": basket_size_distribution(baskets),
        "quarantine": _quarantine(results),
        **_link_analysis(ctx, edges),
        **_itemsets(ctx, baskets),
        **_similar(ctx, documents),
        **_train(ctx, points),
    })
    with ctx.stage("count rows"):
        profile = _profile(ctx, results)
    ctx.publish({"dataset_profile": profile})
    if ctx.params["report"]:
        ctx.after_commit.append(lambda: report(ctx))


def report(ctx: JobContext) -> None:
    """Print :data:`REPORT`'s queries over the published tables (aligned tables, as ``mining
    sql``'s default format)."""
    ctx.warehouse.register(ctx.spark)
    for title, name, params in REPORT:
        rows = ctx.spark.sql(resolve_query(name, None), args=params or None)
        print(f"== {title} (sql/{name}.sql)", flush=True)
        write_rows(rows.columns, [tuple(r) for r in rows.collect()], "table", sys.stdout)
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run demo`` and ``spark-submit jobs/demo.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())
