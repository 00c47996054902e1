"""The similar job on the bundled SMS corpus: tables against brute force, SQL, bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from similar_oracles import exact_pairs

from jobs import similar as similar_job
from mining.cli import main as mining_cli
from mining.errors import EXIT_BAD_INPUT
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[2]
SMS = ROOT / "data" / "text" / "SMSSpamCollection"


@pytest.fixture(scope="module")
def oracle() -> dict[tuple[str, str], float]:
    """Exact pairs at J >= 0.8 of the bundled file read in plain Python (ids: line numbers)."""
    lines = SMS.read_text(encoding="utf-8").split("\n")
    ids = [str(i) for i, line in enumerate(lines, 1) if line.strip()]
    texts = [line.split("\t", 1)[1] for line in lines if line.strip()]
    return exact_pairs(ids, texts, threshold=0.8)


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("similar") / "wh"
    code = run_job("similar", similar_job.pipeline,
                   ["--input", str(SMS), "--warehouse", str(wh), "--quiet", "--run-id", "sms"],
                   spark=spark)
    assert code == 0
    return wh


def test_job_publishes_the_pairs_brute_force_finds(spark, warehouse: Path, oracle) -> None:
    wh = Warehouse(warehouse)
    assert {"signatures", "candidate_pairs", "similar_pairs", "duplicate_clusters",
            "oversized_buckets", "s_curve", "similar_quarantine"} <= set(wh.tables())
    got = {(r.doc_a, r.doc_b): r.jaccard for r in wh.read(spark, "similar_pairs").collect()}
    assert set(got) <= set(oracle) and len(got) >= 0.99 * len(oracle)
    assert all(abs(got[p] - oracle[p]) <= 1e-12 for p in got)
    # clusters: the connected components of the published pairs (networkx, independently)
    graph = nx.Graph(list(got))
    expected = {d: (min(c), len(c)) for c in nx.connected_components(graph) for d in c}
    clusters = {r.doc_id: (r.cluster, r.cluster_size)
                for r in wh.read(spark, "duplicate_clusters").collect()}
    assert clusters == expected
    assert wh.read(spark, "signatures").count() == 5574
    curve = wh.read(spark, "s_curve").orderBy("similarity").collect()
    assert len(curve) == 101 and curve[0].probability == 0.0 and curve[-1].probability == 1.0
    assert (warehouse / "plots" / "s_curve.png").stat().st_size > 1000


def test_sql_queries_over_pairs_and_clusters(spark, warehouse: Path, oracle, capsys) -> None:
    def query(*args: str) -> list[dict]:
        assert mining_cli(["sql", *args, "--warehouse", str(warehouse), "--format", "json"],
                          spark=spark) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    a, b = max(oracle, key=lambda p: (sum(p in oracle for q in oracle if p[0] in q), p))
    near = query("near_duplicates_of", "--param-string", f"doc={a}")
    assert b in {r["other_doc"] for r in near}
    assert [r["jaccard"] for r in near] == sorted((r["jaccard"] for r in near), reverse=True)
    biggest = query("biggest_clusters", "--param", "k=3")
    assert len(biggest) == 3
    assert [r["documents"] for r in biggest] == sorted((r["documents"] for r in biggest),
                                                       reverse=True)
    band = query("pairs_in_range", "--param", "low=0.8", "--param", "high=0.9")
    assert band and all(0.8 <= r["jaccard"] <= 0.9 for r in band)
    assert len(band) == sum(0.8 <= j <= 0.9 for j in oracle.values())


@pytest.mark.parametrize(("flags", "fragment"), [
    (["--threshold", "1.5"], "threshold must be in (0, 1)"),
    (["--shingle", "sentence"], "kind must be"),
    (["--bands", "4"], "give both bands and rows"),
])
def test_bad_flags_are_one_line(spark, tmp_path: Path, capsys, flags: list[str],
                                fragment: str) -> None:
    code = run_job("similar", similar_job.pipeline,
                   ["--input", str(SMS), "--warehouse", str(tmp_path / "wh"), "--quiet",
                    *flags], spark=spark)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and fragment in lines[0], lines


def test_query_mode_matches_new_documents_against_the_stored_corpus(
        spark, warehouse: Path, tmp_path: Path, capsys) -> None:
    from jobs import similar_query

    lines = [line for line in SMS.read_text(encoding="utf-8").split("\n") if line.strip()]
    picked = [*lines[:40], "ham\t" + lines[40].split("\t", 1)[1] + " and one more word"]
    queries = tmp_path / "queries.tsv"
    queries.write_text("\n".join(picked), encoding="utf-8")
    code = run_job("similar_query", similar_query.pipeline,
                   ["--input", str(queries), "--warehouse", str(warehouse), "--quiet"],
                   spark=spark)
    assert code == 0, capsys.readouterr().err
    got = {(r.query_id, r.doc_id): r.jaccard
           for r in Warehouse(warehouse).read(spark, "query_matches").collect()}
    # the oracle: exact pairs between the queries and the stored messages, by brute force
    stored = [(str(i), line.split("\t", 1)[1]) for i, line in enumerate(lines, 1)]
    asked = [(f"q{i}", line.split("\t", 1)[1]) for i, line in enumerate(picked, 1)]
    both = exact_pairs([d for d, _ in stored + asked], [t for _, t in stored + asked],
                       threshold=0.8)
    want = {(b[1:], a): j for (a, b), j in both.items() if b.startswith("q") and a[0] != "q"}
    assert set(got) <= set(want) and len(got) >= 0.99 * len(want), (len(got), len(want))
    assert all(abs(got[p] - want[p]) <= 1e-12 for p in got)
    assert all((str(i), str(i)) in got for i in range(1, 41))  # every copy finds its original


def test_query_mode_without_a_stored_corpus_is_one_line(spark, tmp_path: Path, capsys) -> None:
    from jobs import similar_query

    code = run_job("similar_query", similar_query.pipeline,
                   ["--input", str(SMS), "--warehouse", str(tmp_path / "empty"), "--quiet"],
                   spark=spark)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and "run `mining run similar`" in lines[0]
