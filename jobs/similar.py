"""Similar items job: read documents, find near-duplicate pairs and groups, publish (MMDS ch. 3).

Tables (schemas in :data:`mining.schemas.RESULT_TABLES`, checked at publish):

* ``signatures`` (doc_id, n_shingles, empty, signature): every document's MinHash signature
  (§3.3), packed uint32; empty documents flagged, never candidates;
* ``candidate_pairs`` (doc_a, doc_b, band_hits, estimated_jaccard, jaccard): every pair that
  shares a band bucket (§3.4.1), with its exact Jaccard similarity;
* ``similar_pairs`` (doc_a, doc_b, jaccard, band_hits): the candidates at or above
  ``--threshold`` (§3.4.3);
* ``duplicate_clusters`` (doc_id, cluster, cluster_size): connected components of the similar
  pairs, each named by its smallest doc_id;
* ``oversized_buckets`` (band, bucket, size): buckets too large to expand (``--max-bucket``);
* ``s_curve`` (similarity, probability, bands, rows, threshold): the banding's S-curve (§3.4.2),
  also drawn in the warehouse's ``plots/s_curve.png``;
* ``similar_index`` and ``similar_index_params``: the corpus stored for query mode
  (``mining run similar_query``), every document's sketch and how it was made (empty with
  ``--no-store-index``);
* ``similar_quarantine``: the input lines the document reader set aside.

The run record's notes say which banding and strategy ran and why, and the document counts.

Run: ``mining run similar --input data/text/SMSSpamCollection --threshold 0.8`` or
``spark-submit --properties-file conf/spark-local.conf jobs/similar.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining import schemas
from mining.errors import InputError
from mining.io.plots import s_curve_plot
from mining.io.readers import read_documents
from mining.runtime.job import JobContext, run_job
from mining.similar import (
    IndexParams,
    Shingling,
    check_options,
    duplicate_clusters,
    find_similar,
    s_curve_table,
)

JOB = "similar"


def _column(value: str) -> int | str | None:
    """A column flag: "" = none, digits = a 0-based field position, else a header name."""
    return None if value == "" else int(value) if value.isdigit() else value


def read_input(ctx: JobContext, *, name: str = "documents",
               quarantine_table: str = "similar_quarantine") -> DataFrame:
    """Read ``--input`` with the document-reader flags (shared with ``similar_query``)."""
    p = ctx.params
    ctx.record_input(p["input"])
    with ctx.stage(f"read {name}") as st:
        res = read_documents(ctx.spark, p["input"], layout=p["layout"],
                             id_column=_column(p["id_column"]),
                             text_column=_column(p["text_column"]),
                             label_column=_column(p["label_column"]),
                             delimiter=p["delimiter"], header=p["header"],
                             recursive=p["recursive"])
        documents = ctx.ingest(name, res, quarantine_table=quarantine_table)
        st.rows = ctx.counts[name]
    return documents


def pipeline(ctx: JobContext) -> None:
    """Read, sketch, band, verify, cluster, publish (see the module docstring)."""
    p = ctx.params
    # bad flags fail before the input is read
    try:
        shingling = Shingling(k=p["k"], kind=p["shingle"])
    except ValueError as exc:
        raise InputError(str(exc)) from None
    check_options(threshold=p["threshold"], num_perm=p["num_perm"], bands=p["bands"] or None,
                  rows=p["rows"] or None, max_bucket=p["max_bucket"], strategy=p["strategy"])
    documents = read_input(ctx)
    with ctx.stage("similar pairs") as st:
        res = find_similar(documents, threshold=p["threshold"], shingling=shingling,
                           num_perm=p["num_perm"], bands=p["bands"] or None,
                           rows=p["rows"] or None, seed=p["seed"], max_bucket=p["max_bucket"],
                           strategy=p["strategy"])
        pairs = res.pairs.cache()
        st.rows = {"similar_pairs": pairs.count()}
    choice = res.choice
    ctx.notes.update(strategy=res.strategy, strategy_reason=res.reason, bands=choice.bands,
                     rows=choice.rows, num_perm=res.num_perm,
                     false_positive_area=choice.false_positive_area,
                     false_negative_area=choice.false_negative_area)
    with ctx.stage("duplicate clusters") as st:
        clusters = duplicate_clusters(pairs)
        st.rows = {"iterations": clusters.n_iter}
    clusters.check_converged()
    s, prob = s_curve_table(bands=choice.bands, rows=choice.rows)
    curve = ctx.spark.createDataFrame(
        [(float(a), float(b), choice.bands, choice.rows, float(p["threshold"]))
         for a, b in zip(s, prob)], schemas.S_CURVE)
    s_curve_plot(s.tolist(), prob.tolist(), ctx.warehouse.inside("plots/s_curve.png"),
                 bands=choice.bands, rows=choice.rows, threshold=p["threshold"])
    index = res.sketches if p["store_index"] else res.sketches.limit(0)
    params = IndexParams(shingling, res.num_perm, res.seed, choice.bands, choice.rows,
                         p["threshold"])
    ctx.publish({"signatures": res.signatures, "candidate_pairs": res.candidates,
                 "similar_pairs": pairs, "duplicate_clusters": clusters.clusters,
                 "oversized_buckets": res.oversized, "s_curve": curve,
                 "similar_index": index, "similar_index_params": params.frame(ctx.spark)})
    empty = res.signatures.where(F.col("empty")).count()
    ctx.notes.update(empty_documents=empty)
    res.unpersist()
    documents.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run similar`` and ``spark-submit jobs/similar.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())
