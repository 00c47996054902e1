"""The PageRank job end to end: tables, SQL over them, bad configuration, kill and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from jobs import pagerank as pagerank_job
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[2]
HOLLINS = ROOT / "data" / "graphs" / "hollins.dat"


def _hollins_graph() -> nx.DiGraph:
    lines = HOLLINS.read_text().split("\n")[1:]
    return nx.DiGraph([tuple(map(int, ln.split())) for ln in lines if ln.strip()])


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    wh = tmp_path_factory.mktemp("wh")
    topics = wh.parent / "topics.tsv"
    topics.write_text("# topic<TAB>node\nfront\t1\nfront\t2\nlibrary\t37\n")
    code = run_job("pagerank", pagerank_job.pipeline,
                   ["--input", str(HOLLINS), "--warehouse", str(wh), "--trusted", "1,2,3",
                    "--topics-file", str(topics), "--tol", "1e-14", "--quiet"], spark=spark)
    assert code == 0
    return Warehouse(wh)


@pytest.mark.connect
def test_job_publishes_ranks_matching_networkx(published, spark):
    ranks = published.read(spark, "pagerank").toPandas().set_index("node")
    want = nx.pagerank(_hollins_graph(), alpha=0.85, tol=1e-14, max_iter=1000)
    got = ranks["rank"].reindex(list(want)).to_numpy()
    assert np.abs(got - np.array(list(want.values()))).sum() <= 1e-9
    assert {"rank_front", "rank_library"} <= set(ranks.columns)
    assert ranks["rank_front"].sum() == pytest.approx(1.0)
    history = published.read(spark, "pagerank_iterations").toPandas().sort_values("iteration")
    assert history["iteration"].tolist() == list(range(1, len(history) + 1))
    assert history["l1_delta"].iloc[-1] < len(ranks) * 1e-14
    assert (Path(published.root) / "plots" / "pagerank_convergence.png").stat().st_size > 1000
    mass = published.read(spark, "spam_mass").toPandas()
    assert len(mass) == len(ranks) and (mass["spam_mass"] <= 1.0 + 1e-12).all()
    run = [r for r in RunLog(published).records() if r.job == "pagerank"][-1]
    assert run.status == "succeeded" and run.notes["strategy"] == "local"
    assert run.counts["edges"]["rows_kept"] == 23875


def test_bad_configuration_and_input_exit_2(spark, tmp_path):
    wh = str(tmp_path / "wh")
    assert run_job("pagerank", pagerank_job.pipeline, ["--betta", "0.8"], spark=spark) == 2
    assert run_job("pagerank", pagerank_job.pipeline, ["--beta", "high"], spark=spark) == 2
    signed = tmp_path / "signed.csv"
    signed.write_text("1,2,5\n2,3,-1\n3,1,2\n")
    code = run_job("pagerank", pagerank_job.pipeline,
                   ["--input", str(signed), "--format", "csv", "--no-header",
                    "--weight-column", "2", "--warehouse", wh, "--quiet"], spark=spark)
    assert code == 2
    run = RunLog(Warehouse(wh)).records()[-1]
    assert run.status == "failed" and "non-negative" in (run.error or "")
    assert Warehouse(wh).tables() == []  # nothing half-published


def _wait_for(path: Path, pattern: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if list(path.glob(pattern)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"job ended (code {proc.returncode}) before {pattern} appeared")
        time.sleep(0.2)
    raise AssertionError(f"{pattern} did not appear in {timeout} s")


def test_killed_job_resumes_from_its_last_checkpoint(spark, tmp_path):
    wh, resume = tmp_path / "wh", tmp_path / "resume"
    args = ["--input", str(HOLLINS), "--warehouse", str(wh), "--strategy", "blocks",
            "--blocks", "2", "--resume-dir", str(resume), "--checkpoint-interval", "2",
            "--tol", "1e-5", "--no-hits", "--plot", ""]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "MINING_MASTER": "local[1]"}
    proc = subprocess.Popen([sys.executable, "-m", "mining.cli", "run", "pagerank", *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(resume, "*/iter-000004", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not Warehouse(wh).tables()  # killed before publishing: nothing visible
    code = run_job("pagerank", pagerank_job.pipeline, [*args, "--quiet"], spark=spark)
    assert code == 0
    history = Warehouse(wh).read(spark, "pagerank_iterations").toPandas().sort_values("iteration")
    assert history["iteration"].iloc[0] == 1 and history["iteration"].is_monotonic_increasing
    resumed = Warehouse(wh).read(spark, "pagerank").toPandas().set_index("node")["rank"]
    straight = pagerank_job.run_pagerank(
        pagerank_job.read_edges(spark, str(HOLLINS), header=True).data, tol=1e-5,
        max_iter=200).ranks.toPandas().set_index("node")["rank"]
    assert np.abs(resumed.sort_index().to_numpy() - straight.sort_index().to_numpy()).sum() < 1e-12
    assert not any(resume.glob("*/iter-*"))  # checkpoints removed after the publish
