"""Similar items, query mode: match new documents against a stored corpus (MMDS §3.4).

Reads ``similar_index`` and ``similar_index_params`` from the warehouse (published by
``mining run similar``), sketches only the new documents with the stored parameters, and
publishes:

* ``query_matches`` (query_id, doc_id, jaccard, estimated_jaccard, band_hits): every stored
  document whose exact Jaccard similarity with a new one is at least ``--threshold`` (default:
  the stored run's);
* ``similar_query_quarantine``: the input lines the document reader set aside.

Run: ``mining run similar --input corpus`` once, then
``mining run similar_query --input new_documents``.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.similar import read_input
from mining.errors import InputError
from mining.runtime.job import JobContext, run_job
from mining.similar import index_params, query_similar

JOB = "similar_query"


def pipeline(ctx: JobContext) -> None:
    """Read the stored index, read and match the new documents, publish (module docstring)."""
    p = ctx.params
    if p["threshold"] and not 0.0 < p["threshold"] < 1.0:
        raise InputError(f"threshold must be in (0, 1), got {p['threshold']!r}")
    if not {"similar_index", "similar_index_params"} <= set(ctx.warehouse.tables()):
        raise InputError(f"no stored corpus in {ctx.warehouse.root}: run `mining run similar` "
                         f"on it first (it publishes similar_index)")
    params = index_params(ctx.warehouse.read(ctx.spark, "similar_index_params"))
    index = ctx.warehouse.read(ctx.spark, "similar_index")
    queries = read_input(ctx, name="queries", quarantine_table="similar_query_quarantine")
    ctx.notes.update(bands=params.bands, rows=params.rows, num_perm=params.num_perm,
                     threshold=p["threshold"] or params.threshold)
    matches = query_similar(queries, index, params=params, threshold=p["threshold"] or None,
                            max_bucket=p["max_bucket"])
    ctx.publish({"query_matches": matches})
    queries.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run similar_query`` and ``spark-submit jobs/similar_query.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())
