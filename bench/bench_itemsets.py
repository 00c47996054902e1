"""Frequent itemsets and rules, side by side with MLlib FPGrowth and mlxtend, like for like.

For each data set and support, the same answer from every tool (the summaries show the
itemset counts; the benchmark checks them once, untimed, before timing):

* ``ours-from-file`` (the headline) / ``fpgrowth-from-file``: from the basket file to the
  materialized frequent itemsets: our validating reader + ``run_itemsets`` (``auto``), and
  ``spark.read.text`` + split + ``FPGrowth.fit`` + ``freqItemsets`` for MLlib;
* ``ours`` / ``fpgrowth``: the same from baskets read and cached before the clock starts;
* ``ours-<algorithm>``: every named algorithm forced, from cached baskets, and
  ``ours-son-distributed``: SON over the shuffle partitions (the distributed path, measured
  where ``auto`` picks one task), and ``ours-son-one-task`` (the single-task path forced);
* ``mlxtend``: parse + ``TransactionEncoder`` + ``fpgrowth`` in one Python process, from the file;
* ``rules-*`` benchmarks: association rules with single-item consequents (FPGrowth's only
  kind) and confidence >= ``MIN_CONF``, all metrics, ours vs FPGrowth's ``associationRules``,
  both from their own cached frequent-itemset table.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import BenchContext, Tools, benchmark, isolated
from bench.quest import SIZES, quest_file

MIN_CONF = 0.5
# name -> (file under the shared data, or a quest size; supports)
SETS: dict[str, tuple[str, tuple[float, ...]]] = {
    "retail": ("baskets/retail.dat.gz", (0.005, 0.002)),
    "t10": ("baskets/T10I4D100K.dat.gz", (0.005, 0.002)),
    "bms1": ("baskets/BMS-WebView-1.dat", (0.005, 0.002)),
    "mushroom": ("baskets/mushroom.dat", (0.4, 0.3)),
    "chess": ("baskets/chess.dat", (0.8, 0.75)),
    "groceries": ("baskets/groceries.csv", (0.01, 0.005)),
}
ALGORITHMS = ("apriori", "pcy", "multistage", "multihash", "son", "toivonen")


def _fpgrowth_frame(spark: Any, path: Path, delimiter: str) -> Any:
    from pyspark.sql import functions as F

    lines = spark.read.text(str(path))
    # fields trimmed as our reader does (groceries writes "cream cheese " with a space)
    fields = F.transform(F.split("value", delimiter), lambda x: F.trim(x))  # noqa: PLW0108
    return lines.select(F.array_distinct(F.filter(fields, lambda x: x != "")).alias("items"))


def _mlxtend(path: Path, delimiter: str, support: float) -> Callable[[], int]:
    def run() -> int:
        import pandas as pd
        from mlxtend.frequent_patterns import fpgrowth
        from mlxtend.preprocessing import TransactionEncoder

        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            baskets = [sorted({f.strip() for f in line.split(delimiter) if f.strip()})
                       for line in fh.read().splitlines()]
        enc = TransactionEncoder()
        frame = pd.DataFrame.sparse.from_spmatrix(
            enc.fit(baskets).transform(baskets, sparse=True), columns=enc.columns_)
        return len(fpgrowth(frame, min_support=support))

    return run


def _tools(ctx: BenchContext, path: Path, support: float, delimiter: str) -> Tools:
    from pyspark.ml.fpm import FPGrowth

    from mining.io.readers import read_baskets
    from mining.itemsets import run_itemsets, run_son

    spark = ctx.spark
    sep = None if delimiter == " " else delimiter
    cached = read_baskets(spark, path, layout="lines", delimiter=sep).data.cache()
    cached.count()
    fp_cached = _fpgrowth_frame(spark, path, delimiter).cache()
    fp_cached.count()

    def ours(baskets: Any, algorithm: str = "auto") -> int:
        return run_itemsets(baskets, min_support=support, algorithm=algorithm).itemsets.count()

    def ours_file() -> int:
        return ours(read_baskets(spark, path, layout="lines", delimiter=sep).data)

    def fpgrowth(frame: Any) -> int:
        return FPGrowth(minSupport=support, minConfidence=1.0).fit(frame).freqItemsets.count()

    tools: dict[str, Any] = {
        "ours-from-file": ours_file,
        "fpgrowth-from-file": lambda: fpgrowth(_fpgrowth_frame(spark, path, delimiter)),
        "ours": lambda: ours(cached),
        "fpgrowth": lambda: fpgrowth(fp_cached),
        "mlxtend": isolated(_mlxtend(path, delimiter, support)),
    }
    for name in ALGORITHMS:
        tools[f"ours-{name}"] = functools.partial(ours, cached, name)
    # SON forced over the shuffle partitions: the distributed path, where auto picks one task
    tasks = int(spark.conf.get("spark.sql.shuffle.partitions") or 4)
    # a lambda on purpose: the run must happen when the harness calls it, not here
    tools["ours-son-distributed"] = lambda: run_son(  # noqa: PLW0108
        cached, min_support=support, partitions=tasks).itemsets.count()
    tools["ours-son-one-task"] = lambda: run_son(  # noqa: PLW0108
        cached, min_support=support, partitions=1).itemsets.count()
    got, want = ours(cached), fpgrowth(fp_cached)
    if got != want:
        raise AssertionError(f"{path.name} at {support}: ours {got} itemsets, FPGrowth {want}")
    return tools


def _rules_tools(ctx: BenchContext, path: Path, support: float, delimiter: str) -> Tools:
    from pyspark.ml.fpm import FPGrowth

    from mining.io.readers import read_baskets
    from mining.itemsets import association_rules, run_itemsets

    spark = ctx.spark
    sep = None if delimiter == " " else delimiter
    baskets = read_baskets(spark, path, layout="lines", delimiter=sep).data.cache()
    res = run_itemsets(baskets, min_support=support)
    itemsets = res.itemsets.cache()
    itemsets.count()
    model = FPGrowth(minSupport=support, minConfidence=MIN_CONF).fit(
        _fpgrowth_frame(spark, path, delimiter).cache())
    model.freqItemsets.cache().count()

    def ours() -> int:
        # single-item consequents, as FPGrowth's rules, for the same answer
        return association_rules(itemsets, n_baskets=res.n_baskets, min_confidence=MIN_CONF,
                                 max_consequent_size=1).count()

    def fpgrowth() -> int:
        # associationRules is a plan over the model's cached freqItemsets: each count
        # recomputes the rules, as ours does from our cached itemsets
        return model.associationRules.count()

    return {"ours-rules": ours, "fpgrowth-rules": fpgrowth}


def _delimiter(rel: str) -> str:
    return "," if rel.endswith(".csv") else " "


def _register(name: str, rel: str, support: float) -> None:
    @benchmark(f"itemsets-{name}-{support}", ours="ours-from-file",
               description=f"frequent itemsets of {rel} at support {support}")
    def setup(ctx: BenchContext) -> Tools:
        return _tools(ctx, ctx.shared_file(rel), support, _delimiter(rel))


def _register_rules(name: str, rel: str, support: float) -> None:
    @benchmark(f"rules-{name}-{support}", ours="ours-rules",
               description=f"association rules of {rel} at support {support}")
    def setup(ctx: BenchContext) -> Tools:
        return _rules_tools(ctx, ctx.shared_file(rel), support, _delimiter(rel))


def _register_quest(name: str, n: int) -> None:
    @benchmark(f"itemsets-{name}-0.005", ours="ours-from-file",
               description=f"frequent itemsets of {n:,} IBM Quest-style baskets at 0.005")
    def setup(ctx: BenchContext) -> Tools:
        return _tools(ctx, quest_file(n), 0.005, " ")


for _name, (_rel, _supports) in SETS.items():
    for _s in _supports:
        _register(_name, _rel, _s)
    _register_rules(_name, _rel, _supports[0])
for _name, _n in SIZES.items():
    _register_quest(_name, _n)
