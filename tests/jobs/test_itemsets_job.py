"""The itemsets job: tables against mlxtend, the SQL queries over them, bad flags in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jobs import itemsets as itemsets_job
from mining.cli import main as mining_cli
from mining.errors import EXIT_BAD_INPUT
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[2]
GROCERIES = ROOT / "data" / "baskets" / "groceries.csv"


@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    """mlxtend's frequent itemsets of the bundled groceries at 1% (independent of our code)."""
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    # Items as the reader keeps them: trimmed ("cream cheese " is written with a space), distinct.
    baskets = [sorted({item.strip() for item in line.split(",") if item.strip()})
               for line in GROCERIES.read_text().splitlines()]
    enc = TransactionEncoder()
    onehot = pd.DataFrame(enc.fit(baskets).transform(baskets), columns=enc.columns_)
    found = fpgrowth(onehot, min_support=0.01, use_colnames=True)
    found["items"] = [tuple(sorted(s)) for s in found["itemsets"]]
    found["count"] = (found["support"] * len(baskets)).round().astype(int)
    return found


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("itemsets") / "wh"
    code = run_job("itemsets", itemsets_job.pipeline,
                   ["--input", str(GROCERIES), "--min-support", "0.01", "--min-confidence", "0.3",
                    "--warehouse", str(wh), "--quiet", "--run-id", "groceries"], spark=spark)
    assert code == 0
    return wh


def test_job_publishes_the_itemsets_mlxtend_finds(spark, warehouse: Path, oracle) -> None:
    wh = Warehouse(warehouse)
    assert {"itemsets", "rules", "itemset_passes", "itemsets_quarantine"} <= set(wh.tables())
    got = {tuple(r["items"]): r["support_count"] for r in wh.read(spark, "itemsets").collect()}
    assert got == dict(zip(oracle["items"], oracle["count"], strict=True))
    rules = wh.read(spark, "rules").collect()
    assert rules and all(r["confidence"] >= 0.3 for r in rules)
    passes = wh.read(spark, "itemset_passes").orderBy("pass_number").collect()
    # auto runs SON in one task on these 9,835 baskets: pass 1 (items), then the one task
    # that mines every size exactly (its row's size is the largest itemset found)
    assert [p["algorithm"] for p in passes] == ["son", "son"]
    assert passes[0]["size"] == 1 and passes[0]["frequent"] == sum(len(k) == 1 for k in got)
    assert passes[1]["size"] == max(len(k) for k in got)
    assert passes[1]["frequent"] == sum(len(k) >= 2 for k in got)


def test_sql_queries_over_rules_and_itemsets(spark, warehouse: Path, capsys) -> None:
    def query(*args: str) -> list[dict]:
        assert mining_cli(["sql", *args, "--warehouse", str(warehouse), "--format", "json"],
                          spark=spark) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    top = query("top_rules_for_item", "--param-string", "item=whole milk", "--param", "k=3")
    assert 0 < len(top) <= 3 and all("whole milk" in r["antecedent"] for r in top)
    assert [r["lift"] for r in top] == sorted((r["lift"] for r in top), reverse=True)
    having = query("itemsets_containing", "--param-string", "items=whole milk,yogurt")
    assert having and all({"whole milk", "yogurt"} <= set(r["items"]) for r in having)
    confident = query("confident_rules", "--param", "c=0.5")
    assert all(r["confidence"] >= 0.5 for r in confident)


@pytest.mark.parametrize(("flags", "fragment"), [
    (["--min-support", "1"], "min_support"),
    (["--min-support", "0.00001"], "below 2 baskets"),
    (["--algorithm", "nope"], "algorithm must be"),
])
def test_bad_flags_are_one_line(spark, tmp_path: Path, capsys, flags: list[str],
                                fragment: str) -> None:
    code = run_job("itemsets", itemsets_job.pipeline,
                   ["--input", str(GROCERIES), "--warehouse", str(tmp_path / "wh"), "--quiet",
                    *flags], spark=spark)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and fragment in lines[0], lines
