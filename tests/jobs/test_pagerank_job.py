"""The PageRank job end to end: tables, SQL over them, bad configuration, kill and resume."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from jobs import pagerank as pagerank_job
from mining import schemas
from mining.cli import main as mining_cli
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
    assert list(ranks.columns) == ["rank"]  # one shape: topic ranks have a table of their own
    want = nx.pagerank(_hollins_graph(), alpha=0.85, tol=1e-14, max_iter=1000)
    got = ranks["rank"].reindex(list(want)).to_numpy()
    assert np.abs(got - np.array(list(want.values()))).sum() <= 1e-9
    topics = published.read(spark, "pagerank_topics").toPandas()
    assert list(topics.columns) == ["node", "topic", "rank"]
    assert topics.groupby("topic")["rank"].sum().to_dict() == pytest.approx(
        {"front": 1.0, "library": 1.0})
    assert (topics.groupby("topic")["node"].count() == len(ranks)).all()
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


@contextmanager
def loop_log() -> Iterator[list[str]]:
    """Messages of the shared loop helper (iterations run, resume point) while in the block."""
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("mining._iteration")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the job's --quiet sets WARNING on "mining" above it
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


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
    with loop_log() as messages:
        code = run_job("pagerank", pagerank_job.pipeline, [*args, "--quiet", "--run-id", "again"],
                       spark=spark)
    assert code == 0
    notes = RunLog(Warehouse(wh)).get("again").notes
    start, total = int(notes["resumed_from_iteration"]), int(notes["iterations"])
    straight = pagerank_job.run_pagerank(
        pagerank_job.read_edges(spark, str(HOLLINS), header=True).data, tol=1e-5, max_iter=200)
    # It resumed from a checkpoint of the killed run (every 2 iterations, the 4th at least),
    # ran only the iterations after it, and needed as many in all as a run from scratch.
    assert start >= 4 and start % 2 == 0 and total == straight.n_iter > start
    assert f"pagerank: resuming after iteration {start}" in messages
    ran = [int(m.group(1)) for m in map(re.compile(r"pagerank (\d+): ").match, messages) if m]
    assert ran == list(range(start + 1, total + 1))
    history = Warehouse(wh).read(spark, "pagerank_iterations").toPandas().sort_values("iteration")
    assert history["iteration"].tolist() == list(range(1, total + 1))  # the killed run's too
    resumed = Warehouse(wh).read(spark, "pagerank").toPandas().set_index("node")["rank"]
    want = straight.ranks.toPandas().set_index("node")["rank"]
    assert np.abs(resumed.sort_index().to_numpy() - want.sort_index().to_numpy()).sum() < 1e-12
    assert not any(resume.glob("*/iter-*"))  # checkpoints removed after the publish


# --- SQL over the published tables -------------------------------------------------------------


def _query(spark, wh: Path, name: str, capsys, *params: str) -> list[dict[str, object]]:
    assert mining_cli(["sql", name, "--warehouse", str(wh), "--format", "json", "--limit", "0",
                       *params], spark=spark) == 0, capsys.readouterr().err
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_sql_query_runs_on_published_tables(published, spark, capsys):
    root = published.root
    profile = spark.createDataFrame([("hollins", "graph", 10, 8, 1, 1, 5)],
                                    schemas.DATASET_PROFILE)
    published.publish({"dataset_profile": profile}, run_id="sql-test")
    ranks = published.read(spark, "pagerank").toPandas()
    kth = ranks["rank"].nlargest(5).min()
    top = _query(spark, root, "top_pages", capsys, "--param", "k=5")
    assert [r["node"] for r in top] == ranks[ranks["rank"] >= kth].sort_values(
        ["rank", "node"], ascending=[False, True])["node"].tolist()
    assert [r["position"] for r in top] == list(range(1, len(top) + 1))  # no ties on hollins
    by_topic = _query(spark, root, "topic_ranks", capsys, "--param", "k=3")
    assert sorted({(r["topic"], r["position"]) for r in by_topic}) == [
        (t, i) for t in ("front", "library") for i in (1, 2, 3)]
    nodes = _query(spark, root, "rank_of_nodes", capsys, "--param-string", "nodes=1,37")
    assert [r["node"] for r in nodes] == [1, 37] and all(r["hub"] is not None for r in nodes)
    suspects = _query(spark, root, "spam_suspects", capsys, "--param", "threshold=0.9")
    assert suspects and all(r["spam_mass"] >= 0.9 and r["suspect"] for r in suspects)
    history = _query(spark, root, "pagerank_convergence", capsys)
    assert [r["iteration"] for r in history] == list(range(1, len(history) + 1))
    assert _query(spark, root, "dataset_profile", capsys)[0]["counts_add_up"] is True
    queried = {"top_pages", "topic_ranks", "rank_of_nodes", "spam_suspects",
               "pagerank_convergence", "dataset_profile", "node_names"}  # node_names: string ids
    # The itemsets queries are run by tests/jobs/test_itemsets_job.py.
    queried |= {"top_rules_for_item", "itemsets_containing", "confident_rules"}
    # The similar items queries are run by tests/jobs/test_similar_job.py.
    queried |= {"near_duplicates_of", "biggest_clusters", "pairs_in_range"}
    # The training queries are run by tests/jobs/test_train_job.py.
    queried |= {"best_epoch", "confusion_matrix", "metrics_by_fold"}
    assert {p.stem for p in (ROOT / "sql").glob("*.sql")} == queried


def test_top_pages_ranks_only_the_top_k_in_one_partition(published, spark, is_connect):
    if is_connect:
        pytest.skip("reads the executed plan through the JVM")
    published.register(spark)
    query = (ROOT / "sql" / "top_pages.sql").read_text()
    df = spark.sql(query, args={"k": 5})
    assert len(df.collect()) == 5
    plan = df._jdf.queryExecution().executedPlan().toString()
    # The k-th rank comes from a per-partition top k; the one-partition window only sees the
    # rows at or above it (the filter under the exchange).
    assert "TakeOrderedAndProject(limit=5" in plan, plan
    window_input = plan.split("Exchange SinglePartition")[1]
    assert "Filter" in window_input.split("\n")[1], plan
