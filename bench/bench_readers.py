"""Readers against a plain Spark read of the same file."""

from __future__ import annotations

from bench.harness import BenchContext, Tools, benchmark


@benchmark("read-wiki-vote")
def read_wiki_vote(ctx: BenchContext) -> Tools:
    """Wiki-Vote edge list (103,689 edges, gzip): read_edges vs spark.read.csv + dropDuplicates.

    ``ours`` does what a pipeline does with a reader: both outputs consumed (``noop`` writes
    run every row through the plan without the cost of a sink) and the exact counts. The
    anchor parses nothing and quarantines nothing: it is the floor for reading the file.
    """
    path = str(ctx.shared_file("graphs/Wiki-Vote.txt.gz"))
    spark = ctx.spark
    from mining.io.readers import read_edges

    def ours() -> dict[str, int]:
        result = read_edges(spark, path)
        result.data.write.format("noop").mode("overwrite").save()
        result.quarantine.write.format("noop").mode("overwrite").save()
        counts = result.counts()
        return {"edges": counts["rows_kept"], "quarantined": counts["rows_quarantined"]}

    def anchor() -> dict[str, int]:
        edges = spark.read.csv(path, sep="\t", comment="#").dropDuplicates()
        return {"edges": edges.count()}

    return {"ours": ours, "spark-csv-dedup": anchor}
