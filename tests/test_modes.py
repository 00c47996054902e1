"""The ways to run the project: in-process/Connect sessions, spark-submit locally and on a cluster.

* ``connect`` tests run in both passes of ``make test``; in the Connect pass they prove that the
  server's Python workers run this virtualenv (pyarrow, pandas) and import ``mining`` from the
  artifact :func:`mining.runtime.session.ship_code` sent, and that the server wants its token.
* ``spark-submit --properties-file conf/spark-local.conf jobs/demo.py`` runs the demo job.
* ``cluster``: a standalone master and one worker on 127.0.0.1 run the demo job submitted with
  the project's wheel (``--py-files``); the executors must import ``mining`` from it, and the
  cluster's tables must equal the local run's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spark_servers import VENV_BIN, ConnectServer, StandaloneCluster, spark_env

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "jobs" / "demo.py"
Tables = dict[str, list[dict[str, Any]]]  # table name -> rows
# Columns that differ between two runs of the same job by design (memory_bytes: a task's
# counting memory, which depends on how many baskets each task holds).
VOLATILE = re.compile(r"(^|_)(seconds|run_id|created_at|started_at|finished_at|memory_bytes)$")
DEMO_TABLES = {"dataset_profile", "degree_distribution", "basket_sizes", "quarantine", "pagerank",
               "spam_mass", "pagerank_iterations", "hits", "itemsets", "rules", "itemset_passes",
               "similar_pairs", "duplicate_clusters", "training_history", "metrics", "confusion"}


# --- Spark Connect ----------------------------------------------------------------------------


@pytest.mark.connect
def test_session_mode_and_python_workers(spark: object, request: pytest.FixtureRequest) -> None:
    from pyspark.sql import functions as F

    from mining.runtime.session import is_remote

    def worker_facts(batches: Iterator[object]) -> Iterator[object]:
        # Runs in a Python worker (a local function: pickled by value, the worker cannot import
        # this test module): which interpreter, which pyarrow, which `mining`.
        import pyarrow as pa

        import mining

        for _ in batches:
            yield pa.RecordBatch.from_pylist([{
                "prefix": sys.prefix, "pyarrow": pa.__version__, "mining": mining.__file__,
            }])

    remote = bool(request.config.getoption("--spark-remote"))
    assert is_remote(spark) is remote  # type: ignore[arg-type]
    df = spark.range(0, 100, numPartitions=2)  # type: ignore[attr-defined]
    assert df.agg(F.sum("id")).first()[0] == 4950
    facts = (df.mapInArrow(worker_facts, "prefix string, pyarrow string, mining string")
             .distinct().collect())
    import pyarrow as pa

    assert {(r.prefix, r.pyarrow) for r in facts} == {(sys.prefix, pa.__version__)}
    origins = {r.mining for r in facts}
    if remote:  # shipped by build_session -> ship_code as a zip artifact
        assert all(".zip" in o and not o.startswith(str(ROOT / "mining")) for o in origins), origins
    else:
        assert origins == {str(ROOT / "mining" / "__init__.py")}


@pytest.mark.connect
def test_connect_server_requires_its_token(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if not request.config.getoption("--spark-remote"):
        pytest.skip("starts a second Connect server; runs in the Connect pass only")
    from pyspark.sql import SparkSession

    with ConnectServer(tmp_path / "auth") as server:
        for url in (f"sc://localhost:{server.port}", f"sc://localhost:{server.port}/;token=wrong"):
            with pytest.raises(Exception, match=r"UNAUTHENTICATED|authentication|Invalid"):
                SparkSession.builder.remote(url).create().range(1).count()
        good = SparkSession.builder.remote(server.url).create()
        assert good.range(3).count() == 3
        good.stop()


# --- spark-submit ---------------------------------------------------------------------------------


def spark_submit(args: list[str], *, env: dict[str, str], timeout: float = 240.0
                 ) -> subprocess.CompletedProcess[str]:
    """Run the venv's ``spark-submit`` from the repository root, bound to 127.0.0.1."""
    return subprocess.run([str(VENV_BIN / "spark-submit"), *args], cwd=ROOT,
                          env=spark_env(**env), capture_output=True, text=True,
                          timeout=timeout, check=False)


def published(warehouse: Path) -> Tables:
    """Every current table of a warehouse as sorted rows, read with pyarrow (not Spark)."""
    import pyarrow.parquet as pq

    from mining.io.warehouse import Warehouse

    wh = Warehouse(warehouse)
    tables = {}
    for name in wh.tables():
        rows = pq.read_table(wh.path(name)).to_pylist()
        tables[name] = sorted(rows, key=_row_key)
    return tables


def _row_key(row: dict[str, Any]) -> str:
    """Sort key that two runs agree on: no timings, floats to 6 significant digits."""
    stable = {k: f"{v:.6g}" if isinstance(v, float) else v
              for k, v in row.items() if not VOLATILE.search(k)}
    return json.dumps(stable, sort_keys=True, default=str)


def assert_same_results(got: Any, want: Any, where: str = "tables") -> None:
    """Equal tables, except timings and run ids, and floats equal to 1e-9 relative.

    Floats: the cluster sums in another order than local[2] (other partitions, 1 core).
    """
    if isinstance(want, dict) and isinstance(got, dict):
        keys = {k for k in want.keys() | got.keys() if not VOLATILE.search(str(k))}
        assert {k for k in got if k in keys} == {k for k in want if k in keys}, where
        for key in sorted(keys):
            assert_same_results(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), f"{where}: {len(got)} rows, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_results(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    else:
        assert got == want, where


def check_demo_run(proc: subprocess.CompletedProcess[str], warehouse: Path, extra: str = ""
                   ) -> Tables:
    """Exit 0, every documented table published, one succeeded run record; returns the tables."""
    from mining.io.runs import RunLog
    from mining.io.warehouse import Warehouse

    report = f"exit {proc.returncode}\n--- stderr tail\n{proc.stderr[-5000:]}\n{extra}"
    assert proc.returncode == 0, report
    tables = published(warehouse)
    assert set(tables) >= DEMO_TABLES, report
    profile = {r["dataset"]: r for r in tables["dataset_profile"]}
    # Published counts of the bundled data (data/README): 23,875 links, 9,835 baskets.
    assert profile["hollins"]["rows_kept"] == 23875, profile
    assert profile["groceries"]["rows_kept"] == 9835, profile
    for row in profile.values():
        parts = ("rows_kept", "rows_quarantined", "duplicates_removed")
        assert row["rows_read"] == sum(row[k] for k in parts), row
    runs = RunLog(Warehouse(warehouse)).records()
    assert [r.status for r in runs] == ["succeeded"], report
    return tables


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    """``spark-submit --properties-file conf/spark-local.conf jobs/demo.py``: its tables."""
    if not DEMO.is_file():
        pytest.skip("jobs/demo.py is not there yet")
    work = tmp_path_factory.mktemp("local-demo")
    proc = spark_submit(["--properties-file", "conf/spark-local.conf",
                         "--conf", f"spark.sql.warehouse.dir={work / 'spark-warehouse'}",
                         str(DEMO), "--warehouse", str(work / "warehouse")],
                        env={"PYTHONPATH": os.pathsep.join(filter(None, [
                            str(ROOT), os.environ.get("PYTHONPATH", "")]))})
    return check_demo_run(proc, work / "warehouse")


def test_spark_submit_local_runs_demo(local_demo: Tables) -> None:
    assert {r["dataset"] for r in local_demo["dataset_profile"]} >= {"hollins", "groceries"}


# --- standalone cluster -------------------------------------------------------------------------


def build_wheel(out: Path) -> Path:
    """Build the project's wheel from a copy of the sources; returns it as a ``.zip``.

    The copy keeps the work tree free of ``build/`` and ``*.egg-info``.
    """
    src = out / "src"
    src.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", src)
    for package in ("mining", "jobs"):
        shutil.copytree(ROOT / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    readme = ROOT / "README.md"
    (src / "README.md").write_text(readme.read_text() if readme.is_file() else "mining\n")
    # Without build isolation when the venv has a recent setuptools and wheel (fast, offline);
    # otherwise build fetches them, as `make wheel` does.
    isolated = subprocess.run([sys.executable, "-c", "import wheel, setuptools as s; "
                               "assert int(s.__version__.split('.')[0]) >= 68"],
                              capture_output=True, check=False).returncode != 0
    argv = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out / "dist"), str(src)]
    proc = subprocess.run(argv + ([] if isolated else ["--no-isolation"]), capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = (out / "dist").glob("mining-*.whl")
    # PySpark puts only .zip/.egg/.jar files from --py-files on the executors' sys.path
    # (SparkContext.PACKAGE_EXTENSIONS); a .whl reaches the driver only. A pure-Python wheel
    # is a zip archive, so the same bytes under a .zip name work everywhere.
    shipped = wheel.with_name(wheel.name.removesuffix(".whl") + ".zip")
    shutil.copy(wheel, shipped)
    return shipped


# The driver of the cluster run: the demo job from the shipped archive, after a check that the
# executors' Python workers import `mining` from that archive (the demo itself may run no
# Python on executors). One submission instead of two saves a driver and an executor start.
CLUSTER_DRIVER = r"""
import json, sys
from pyspark.sql import SparkSession

def facts(batches):
    import pyarrow as pa
    import mining
    for _ in batches:
        yield pa.RecordBatch.from_pylist([{"prefix": sys.prefix, "mining": mining.__file__}])

spark = SparkSession.builder.getOrCreate()
rows = spark.range(0, 8, numPartitions=2).mapInArrow(facts, "prefix string, mining string")
print("RESULT " + json.dumps([r.asDict() for r in rows.distinct().collect()]), flush=True)

from jobs.demo import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    with StandaloneCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.mark.cluster
def test_cluster_runs_demo_from_the_wheel(cluster: StandaloneCluster, tmp_path: Path,
                                          local_demo: Tables
                                          ) -> None:
    shipped = build_wheel(tmp_path / "wheel")
    (tmp_path / "events").mkdir()
    driver = tmp_path / "cluster_demo.py"
    driver.write_text(CLUSTER_DRIVER)
    warehouse = tmp_path / "warehouse"
    proc = spark_submit([
        "--master", cluster.master_url, "--properties-file", "conf/spark-cluster.conf",
        "--py-files", str(shipped),
        "--conf", f"spark.eventLog.dir={tmp_path / 'events'}",
        "--conf", f"spark.checkpoint.dir={tmp_path / 'checkpoints'}",
        "--conf", f"spark.sql.warehouse.dir={tmp_path / 'spark-warehouse'}",
        # Shrunk to the test worker (1 core, 1 GiB) and its tiny inputs.
        "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.memory=1g",
        "--conf", "spark.sql.shuffle.partitions=4",
        str(driver), "--warehouse", str(warehouse),
    ], env={
        "PYTHONPATH": "",  # `mining` must come from the archive, not this checkout
        # Imported from an archive, mining cannot find conf/ beside its own files.
        "MINING_CONF_DIR": str(ROOT / "conf"),
    })
    tables = check_demo_run(proc, warehouse, cluster.logs())
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    (worker,) = json.loads(line.removeprefix("RESULT "))
    assert worker["prefix"] == sys.prefix, worker  # the venv's interpreter on the executors
    assert shipped.name in worker["mining"], worker  # and mining from the shipped archive
    assert any((tmp_path / "events").iterdir()), "no event log written"
    assert (cluster.workdir / "work").is_dir(), "no executor ran under the worker"
    assert_same_results(tables, local_demo)  # the cluster computes what local[2] computes
