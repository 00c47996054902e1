"""Frequent itemsets and association rules job: read baskets, mine them, publish (MMDS ch. 6).

Tables (schemas in :data:`mining.schemas.RESULT_TABLES`, checked at publish):

* ``itemsets`` (items, size, support_count, support): every frequent itemset, items sorted;
* ``rules`` (antecedent, consequent, supports, confidence, lift, interest, leverage,
  conviction): rules with confidence at least ``--min-confidence``, multi-item consequents
  included (§6.1.3);
* ``itemset_passes``: one row per counting pass (candidates, frequent, memory; §6.2-6.3);
* ``itemsets_quarantine``: the input lines the basket reader set aside.

``--min-support`` is a fraction of baskets below 1 or a basket count from 2 up (a support below
2 baskets is a one-line error). The run record's notes say which algorithm ran and why, the
support threshold in baskets and N.

Run: ``mining run itemsets --input data/baskets/groceries.csv --min-support 0.01`` or
``spark-submit --properties-file conf/spark-local.conf jobs/itemsets.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from mining import schemas
from mining.io.readers import read_baskets
from mining.itemsets import association_rules, check_options, run_itemsets
from mining.runtime.job import JobContext, run_job

JOB = "itemsets"


def _read(ctx: JobContext) -> DataFrame:
    p = ctx.params
    ctx.record_input(p["input"])
    with ctx.stage("read baskets") as st:
        res = read_baskets(ctx.spark, p["input"], layout=p["layout"],
                           delimiter=p["delimiter"] or None, header=p["header"],
                           basket_column=p["basket_column"], item_column=p["item_column"])
        baskets = ctx.ingest("baskets", res, quarantine_table="itemsets_quarantine")
        st.rows = ctx.counts["baskets"]
    return baskets


def pipeline(ctx: JobContext) -> None:
    """Read, mine, publish (see the module docstring for the tables)."""
    p = ctx.params
    # bad flags fail before the input is read
    check_options(min_support=p["min_support"], max_size=p["max_size"] or None,
                  algorithm=p["algorithm"], min_confidence=p["min_confidence"],
                  max_consequent_size=p["max_consequent_size"] or None)
    baskets = _read(ctx)
    with ctx.stage("itemsets") as st:
        res = run_itemsets(baskets, min_support=p["min_support"],
                           max_size=p["max_size"] or None, algorithm=p["algorithm"])
        itemsets = res.itemsets.persist(StorageLevel.MEMORY_AND_DISK)
        st.rows = {"itemsets": itemsets.count(), "passes": len(res.passes)}
    ctx.notes.update(algorithm=res.algorithm, algorithm_reason=res.reason,
                     threshold=res.threshold, n_baskets=res.n_baskets)
    with ctx.stage("rules"):
        rules = association_rules(itemsets, n_baskets=res.n_baskets,
                                  min_confidence=p["min_confidence"],
                                  max_consequent_size=p["max_consequent_size"] or None)
    names = schemas.ITEMSET_PASSES.fieldNames()
    passes = ctx.spark.createDataFrame([tuple(row.get(k) for k in names) for row in res.passes],
                                       schemas.ITEMSET_PASSES)
    ctx.publish({"itemsets": itemsets, "rules": rules, "itemset_passes": passes})
    baskets.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run itemsets`` and ``spark-submit jobs/itemsets.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())
