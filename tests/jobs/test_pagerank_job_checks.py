"""The PageRank job's refusals and its other table shapes: no convergence (exit 3), paths
checked before any Spark work (exit 2), string node ids published as a node map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import pagerank as pagerank_job
from mining.cli import main as mining_cli
from mining.errors import EXIT_BAD_INPUT, EXIT_NOT_CONVERGED
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[2]
HOLLINS = ROOT / "data" / "graphs" / "hollins.dat"


def _run(spark, wh: Path, *args: str) -> int:
    return run_job("pagerank", pagerank_job.pipeline,
                   ["--input", str(HOLLINS), "--warehouse", str(wh), "--no-hits", "--quiet",
                    *args], spark=spark)


def test_no_convergence_exits_3_and_publishes_nothing(spark, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    assert _run(spark, wh, "--max-iter", "2", "--tol", "1e-14", "--run-id", "slow") == (
        EXIT_NOT_CONVERGED)
    run = RunLog(Warehouse(wh)).get("slow")
    assert run.status == "failed" and run.notes["converged"] == "False"
    assert (run.error or "").startswith("did not converge: pagerank stopped at max_iter=2 with "
                                        "L1 change "), run.error
    assert (run.error or "").endswith("; raise max_iter or tol") and "\n" not in (run.error or "")
    assert Warehouse(wh).tables() == [] and not (wh / "plots").exists()


@pytest.mark.parametrize(("plot", "message"), [
    ("/tmp/pr.png", "plot path '/tmp/pr.png' must be relative to the warehouse {wh}, not "
                    "absolute"),
    ("../pr.png", "plot path '../pr.png' must stay inside the warehouse {wh}: '..' is not "
                  "allowed"),
    ("plots/../../pr.png", "plot path 'plots/../../pr.png' must stay inside the warehouse "
                           "{wh}: '..' is not allowed"),
    ("pagerank/pr.png", "plot path 'pagerank/pr.png' is inside the directory of table "
                        "'pagerank'; use a directory of its own, such as plots/"),
])
def test_plot_must_stay_in_the_warehouse(spark, tmp_path: Path, plot: str, message: str) -> None:
    wh = tmp_path / "wh"
    assert _run(spark, wh, "--plot", plot, "--run-id", "p") == EXIT_BAD_INPUT
    run = RunLog(Warehouse(wh)).get("p")
    assert run.error == "bad input: " + message.format(wh=wh)
    assert run.stages == []  # refused before reading anything
    assert not (tmp_path / "pr.png").exists()


def test_resume_dir_must_be_writable(spark, tmp_path: Path) -> None:
    wh, afile = tmp_path / "wh", tmp_path / "afile"
    afile.write_text("not a directory")
    code = _run(spark, wh, "--strategy", "blocks", "--resume-dir", str(afile / "resume"),
                "--run-id", "r")
    assert code == EXIT_BAD_INPUT
    run = RunLog(Warehouse(wh)).get("r")
    assert run.error == (f"bad input: resume directory {afile / 'resume'} is not writable: "
                         f"{afile} is a file, not a directory")
    assert run.stages == []


def test_string_ids_publish_a_node_map(spark, tmp_path: Path, capsys) -> None:
    graph = tmp_path / "names.csv"
    graph.write_text("home,about\nabout,blog\nblog,home\nblog,about\nhome,blog\n")
    wh = tmp_path / "wh"
    code = run_job("pagerank", pagerank_job.pipeline,
                   ["--input", str(graph), "--format", "csv", "--no-header", "--node-ids",
                    "string", "--warehouse", str(wh), "--no-hits", "--plot", "", "--quiet",
                    "--trusted", "home"], spark=spark)
    assert code == 0
    warehouse = Warehouse(wh)
    # Every table of the job, those of options left off (--no-hits, no topics) published empty.
    assert warehouse.tables() == ["hits", "pagerank", "pagerank_iterations", "pagerank_nodes",
                                  "pagerank_quarantine", "pagerank_topics", "spam_mass"]
    assert warehouse.current("hits").rows == 0 and warehouse.current("pagerank_topics").rows == 0
    assert warehouse.read(spark, "pagerank").columns == ["node", "rank"]
    names = {r["node"]: r["name"] for r in warehouse.read(spark, "pagerank_nodes").collect()}
    assert sorted(names.values()) == ["about", "blog", "home"]
    assert mining_cli(["sql", "node_names", "--warehouse", str(wh), "--format", "json",
                       "--param-string", "names=home,nowhere"], spark=spark) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["name"], r["node"] is None) for r in rows] == [("home", False), ("nowhere", True)]
    assert rows[0]["rank"] == pytest.approx(
        warehouse.read(spark, "pagerank").where(f"node = {rows[0]['node']}").first()["rank"])
