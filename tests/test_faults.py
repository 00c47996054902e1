"""Spark's retries against injected faults, and a clean failure when retries are off.

One subprocess serves every test here (a Spark start costs 6-8 s): under ``local[2,3]`` a task
that raises once and a Python worker that is SIGKILLed once both succeed on retry with the
right result; then, in the same interpreter, a job run through ``run_job`` on ``local[2]`` (one
attempt per task) loses a worker and must exit 1 with an error naming the cause, a failed run
record and no Python traceback.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from faults import fired, run_python_subprocess

ROOT = Path(__file__).resolve().parents[1]
NEW_RECORD = re.compile(r"\d\d[:/]\d\d[:/]\d\d |\{")

SCRIPT = r"""
import json, os, sys
from pathlib import Path
from pyspark.sql import functions as F
from faults import fail_once, kill_worker_once
from mining.runtime.session import build_session

markers = Path(os.environ["FAULT_MARKERS"])

def double(batches):
    for pdf in batches:
        yield pdf.assign(id=pdf["id"] * 2)

spark = build_session("faults-retry")  # MINING_MASTER=local[2,3]
ids = spark.range(0, 1000, numPartitions=4)
out = {"master": spark.sparkContext.master}
for kind, wrap in (("fail", fail_once), ("kill", kill_worker_once)):
    flaky = wrap(markers / "retry")(double)
    out[kind] = ids.mapInPandas(flaky, "id long").agg(F.sum("id")).first()[0]
print("RESULT " + json.dumps(out), flush=True)
spark.stop()

from mining.runtime.job import run_job

def pipeline(ctx):
    doomed = kill_worker_once(markers / "strict")(double)
    ctx.spark.range(0, 1000, numPartitions=4).mapInPandas(doomed, "id long").count()

raise SystemExit(run_job("faulty", pipeline, ["--master", "local[2]",
                                              "--warehouse", os.environ["FAULT_WAREHOUSE"]]))
"""


def _driver_tracebacks(stderr: str) -> list[str]:
    """The Python tracebacks in ``stderr`` that did not come from PySpark's worker processes."""
    blocks: list[list[str]] = []
    for line in stderr.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            blocks.append([line])
        elif blocks and line.startswith(" "):
            blocks[-1].append(line)
    worker = ("pyspark/daemon.py", "pyspark/worker.py")
    return ["\n".join(b) for b in blocks
            if not any(w in frame for frame in b for w in worker)]


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompletedProcess[str], Path]:
    """Run :data:`SCRIPT` once for every test here; its result and scratch directory."""
    pytest.importorskip("mining.io.warehouse", reason="the job runner needs mining.io.warehouse")
    tmp = tmp_path_factory.mktemp("faults")
    conf = tmp / "conf"  # the real Spark profile and a defaults file for the throwaway job
    (conf / "jobs").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "spark-local.conf", conf / "spark-local.conf")
    (conf / "jobs" / "faulty.toml").write_text("rows = 1000\n")
    proc = run_python_subprocess(
        SCRIPT, master="local[2,3]", cwd=tmp,
        env={"FAULT_MARKERS": str(tmp / "markers"), "FAULT_WAREHOUSE": str(tmp / "wh"),
             "MINING_CONF_DIR": str(conf)},
    )
    return proc, tmp


def _report(proc: CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("kind", ["fail", "kill"])
def test_fault_once_succeeds_on_retry(fault_run: tuple[CompletedProcess[str], Path],
                                      kind: str) -> None:
    proc, tmp = fault_run
    results = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert results, _report(proc)
    got = json.loads(results[0].removeprefix("RESULT "))
    assert got["master"] == "local[2,3]"
    assert got[kind] == 2 * sum(range(1000)), _report(proc)  # every id doubled, none lost
    # Each of the 4 partitions really failed once before its retry succeeded.
    assert fired(tmp / "markers" / "retry", kind) == 4, _report(proc)


def _job_error(proc: CompletedProcess[str]) -> list[str]:
    """The runner's error entry: the ``faulty failed:`` line and its continuation lines."""
    lines = proc.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "ERROR mining.job: faulty failed:" in line)
    # The entry ends where the next log record starts (ours: 14:25:50, Spark's: 26/11/25 ...).
    end = next((i for i in range(start + 1, len(lines)) if NEW_RECORD.match(lines[i])),
               len(lines))
    return lines[start:end]


def test_killed_worker_without_retries_fails_cleanly(
        fault_run: tuple[CompletedProcess[str], Path]) -> None:
    from mining.io.runs import RunLog
    from mining.io.warehouse import Warehouse

    proc, tmp = fault_run
    assert proc.returncode == 1, _report(proc)
    assert fired(tmp / "markers" / "strict", "kill") >= 1, _report(proc)
    assert "Python worker exited unexpectedly" in "\n".join(_job_error(proc)[:3]), _report(proc)
    # No uncaught exception in the driver. PySpark's worker daemon may print its own traceback
    # (a BrokenPipeError when the sibling task is cancelled): that is Spark's worker, not ours.
    assert not _driver_tracebacks(proc.stderr), _report(proc)
    (run,) = RunLog(Warehouse(tmp / "wh")).records()
    assert run.status == "failed" and run.tables == []
    assert "Python worker exited unexpectedly" in (run.error or "")


def test_job_failure_is_one_line(fault_run: tuple[CompletedProcess[str], Path]) -> None:
    from mining.io.runs import RunLog
    from mining.io.warehouse import Warehouse

    proc, tmp = fault_run
    assert len(_job_error(proc)) == 1, _job_error(proc)[:5]
    (run,) = RunLog(Warehouse(tmp / "wh")).records()
    assert "\n" not in (run.error or "")
