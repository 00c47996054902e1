"""The result warehouse: roundtrip, versions, retention, cleanup, and atomicity under SIGKILL.

The kill tests run the publisher in a subprocess and SIGKILL it. Four of them stop at a named
fault point while committing a version written with pyarrow (no JVM: about a second each, run
in parallel); one starts its own ``local[1]`` Spark and is killed at a seeded random moment of a
bigger Spark write. After each kill the previous (or, past the switch, the new) version must be
complete, and the next publish must leave no debris.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining.errors import ConfigError, InputError
from mining.io.warehouse import FAULT_POINTS, META_FILE, StagedTable, Warehouse

ROOT = Path(__file__).resolve().parents[2]
# Ad-hoc tables are not in mining.schemas.RESULT_TABLES: their schema is passed explicitly.
IDS = T.StructType([T.StructField("id", T.LongType(), nullable=False)])
SQUARES = T.StructType([*IDS.fields, T.StructField("sq", T.LongType(), nullable=False)])


def stage_arrow(wh: Warehouse, name: str, table: pa.Table, run_id: str = "arrow") -> StagedTable:
    """Stage a version written by pyarrow (the filesystem switch does not need Spark)."""
    staged = wh.begin_stage(name, run_id=run_id)
    staged.path.mkdir(parents=True)
    pq.write_table(table, staged.path / "part-00000.parquet")
    return wh.finish_stage(staged, rows=table.num_rows)


def numbers(n: int, offset: int = 0) -> pa.Table:
    return pa.table({"id": pa.array(range(offset, offset + n), pa.int64())})


def debris(wh: Warehouse, name: str) -> list[str]:
    """What a clean table directory must not contain after a successful publish."""
    table_dir = wh.root / name
    staging = table_dir / "_staging"
    left = sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []
    return left + sorted(p.name for p in table_dir.glob(".current.*"))


@pytest.mark.connect
def test_publish_read_roundtrip(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    df = spark.createDataFrame([(1, 0.5), (2, 0.25), (3, 0.25)], "node bigint, rank double")
    (version,) = wh.publish({"pagerank": df}, run_id="r1")  # its schema from RESULT_TABLES
    assert (version.version, version.rows, version.run_id, version.current) == (
        "v000001", 3, "r1", True)
    assert wh.tables() == ["pagerank"]
    assert wh.path("pagerank") == tmp_path / "wh" / "pagerank" / "versions" / "v000001"
    assert_df_equality(wh.read(spark, "pagerank"), df, ignore_row_order=True,
                       ignore_nullable=True)
    assert wh.register(spark) == ["pagerank"]
    assert spark.sql("select sum(rank) as s from pagerank").first()["s"] == pytest.approx(1.0)
    assert debris(wh, "pagerank") == []


def test_versions_retention_and_idempotent_rerun(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh", retention=2)
    same = spark.range(5).withColumn("sq", F.col("id") * F.col("id"))
    for _ in range(3):  # the same job, same inputs, three times
        wh.publish({"squares": same}, run_id="same", schema={"squares": SQUARES})
    kept = wh.versions("squares")
    assert [v.version for v in kept] == ["v000002", "v000003"]
    assert [v.current for v in kept] == [False, True]
    first, second = (sorted(spark.read.parquet(str(v.path)).collect()) for v in kept)
    assert first == second == [(i, i * i) for i in range(5)]
    wh.publish({"squares": spark.range(7).withColumn("sq", F.col("id"))}, run_id="next",
               schema={"squares": SQUARES})
    assert [v.version for v in wh.versions("squares")] == ["v000003", "v000004"]
    assert wh.read(spark, "squares").count() == 7
    assert wh.current("squares").rows == 7


def test_empty_table_keeps_schema_and_counts_zero(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    empty = spark.createDataFrame([], "node bigint, score double")
    (version,) = wh.publish({"nothing": empty}, run_id="r", schema={"nothing": empty.schema})
    assert version.rows == 0
    back = wh.read(spark, "nothing")
    assert back.count() == 0
    assert [(f.name, f.dataType.simpleString()) for f in back.schema] == [
        ("node", "bigint"), ("score", "double")]


def test_read_uses_the_stored_schema_which_equals_the_inferred_one(spark, tmp_path: Path) -> None:
    """``read`` takes the schema written beside the files instead of inferring it from a footer;
    it must be exactly what inference gives, nested types and column metadata included."""
    nested = T.StructType([
        T.StructField("id", T.LongType(), nullable=False, metadata={"comment": "the key"}),
        T.StructField("tags", T.ArrayType(T.StringType(), containsNull=False), nullable=False),
        T.StructField("pairs", T.ArrayType(T.StructType([
            T.StructField("k", T.IntegerType(), nullable=False),
            T.StructField("v", T.DoubleType())]), containsNull=False)),
        T.StructField("counts", T.MapType(T.StringType(), T.LongType(), False)),
    ])
    df = spark.createDataFrame([(1, ["a"], [(1, 0.5)], {"x": 2}), (2, [], [], {})], nested)
    wh = Warehouse(tmp_path / "wh")
    wh.publish({"nested": df}, run_id="r", schema={"nested": nested})
    version = wh.current("nested")
    assert version.schema == nested
    inferred = spark.read.parquet(str(version.path))
    assert wh.read(spark, "nested").schema == inferred.schema
    assert sorted(wh.read(spark, "nested").collect()) == sorted(inferred.collect())
    # a version stored without a schema (older, or written by another tool) is inferred
    wh.commit([stage_arrow(wh, "plain", numbers(3))])
    assert wh.current("plain").schema is None
    assert wh.read(spark, "plain").count() == 3


def test_failed_write_publishes_nothing(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.publish({"t": spark.range(3)}, run_id="good", schema={"t": IDS})
    failing = spark.range(5).select(F.assert_true(F.col("id") < 2).alias("x"))
    with pytest.raises(Exception, match="id < 2"):
        wh.publish({"other": spark.range(2), "t": failing}, run_id="bad",
                   schema={"other": IDS, "t": failing.schema})
    assert wh.tables() == ["t"]  # `other` was staged, then aborted with the failed `t`
    assert wh.read(spark, "t").count() == 3
    assert debris(wh, "t") == [] and debris(wh, "other") == []


def test_next_publish_removes_crash_debris_but_not_live_staging(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.commit([stage_arrow(wh, "t", numbers(3))])
    table_dir = wh.root / "t"
    # What killed publishers leave: a staging dir whose lock nobody holds, a lock-less dir
    # (trash of an interrupted prune), a temporary symlink, a version moved in but never current.
    dead = table_dir / "_staging" / "dead-00000000"
    (dead / "_temporary").mkdir(parents=True)
    (table_dir / "_staging" / "dead-00000000.lock").touch()
    (table_dir / "_staging" / "trash-v000000-1234abcd").mkdir()
    os.symlink("versions/v000001", table_dir / ".current.deadbeef")
    pq.write_table(numbers(1), wh.root / "orphan.parquet")
    (table_dir / "versions" / "v000002").mkdir()
    live = stage_arrow(wh, "t", numbers(4), run_id="live")  # another publisher, still writing
    wh.commit([stage_arrow(wh, "t", numbers(5), run_id="now")])
    assert sorted(p.name for p in (table_dir / "_staging").iterdir()) == sorted(
        [live.path.name, f"{live.path.name}.lock"])
    assert not list(table_dir.glob(".current.*"))
    assert [v.version for v in wh.versions("t")] == ["v000001", "v000002"]
    assert wh.current("t").rows == 5 and wh.current("t").run_id == "now"
    wh.commit([live])
    assert wh.current("t").rows == 4 and debris(wh, "t") == []


def test_roots(tmp_path: Path) -> None:
    assert Warehouse(f"file://{tmp_path}/wh").root == tmp_path / "wh"
    assert Warehouse("relative/wh").root == Path.cwd() / "relative" / "wh"
    with pytest.raises(ConfigError, match=r"s3a:// is not supported.*Delta Lake or Apache Iceberg"):
        Warehouse("s3a://bucket/warehouse")
    with pytest.raises(ConfigError, match="hdfs://"):
        Warehouse("hdfs://namenode:8020/wh")
    with pytest.raises(ConfigError, match="retention"):
        Warehouse(tmp_path, retention=0)
    with pytest.raises(InputError, match="no table 'missing'"):
        Warehouse(tmp_path).path("missing")
    with pytest.raises(InputError, match="reserved"):
        Warehouse(tmp_path).begin_stage("runs", run_id="r")


def test_catalog_table_over_current_symlink(spark, tmp_path: Path, is_connect: bool) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.publish({"ranks": spark.range(3)}, run_id="a", schema={"ranks": IDS})
    location = wh.root / "ranks" / "current"
    spark.sql(f"create table wh_ranks using parquet location '{location}'")
    try:
        assert spark.table("wh_ranks").count() == 3
        wh.publish({"ranks": spark.range(10)}, run_id="b", schema={"ranks": IDS})
        spark.sql("refresh table wh_ranks")  # the cached file listing names the old files
        assert spark.table("wh_ranks").count() == 10
    finally:
        spark.sql("drop table if exists wh_ranks")


# --- SIGKILL at fault points and at a random moment --------------------------------------------

ARROW_PUBLISHER = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
from mining.io.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
staged = wh.begin_stage("t", run_id="killed")
staged.path.mkdir(parents=True)
pq.write_table(pa.table({"id": pa.array(range(100, 150), pa.int64())}),
               staged.path / "part-00000.parquet")
wh.commit([wh.finish_stage(staged, rows=50)])
"""


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable, **extra}
    env.pop("SPARK_REMOTE", None)
    return env


def test_sigkill_at_each_fault_point_keeps_a_complete_version(tmp_path: Path) -> None:
    roots = {point: tmp_path / point for point in FAULT_POINTS}
    for root in roots.values():
        wh = Warehouse(root)
        wh.commit([stage_arrow(wh, "t", numbers(10))])
    procs = {point: subprocess.Popen([sys.executable, "-c", ARROW_PUBLISHER, str(root)],
                                     env=_env(MINING_FAULT_POINT=point), stderr=subprocess.PIPE)
             for point, root in roots.items()}
    for point, proc in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, (point, err.decode())
        wh = Warehouse(roots[point])
        switched = point == "after_switch"
        expected = list(range(100, 150)) if switched else list(range(10))
        got = pq.read_table(wh.path("t")).column("id").to_pylist()
        assert sorted(got) == expected, point
        assert (wh.current("t").rows, wh.current("t").run_id) == (
            (50, "killed") if switched else (10, "arrow")), point
        wh.commit([stage_arrow(wh, "t", numbers(7), run_id="after")])
        assert debris(wh, "t") == [], point
        assert [v.version for v in wh.versions("t")] == (
            ["v000001", "v000002", "v000003"] if switched else ["v000001", "v000002"]), point
        assert all((v.path / META_FILE).is_file() for v in wh.versions("t")), point


SPARK_PUBLISHER = """
import sys
from pyspark.sql import functions as F
from mining.io.warehouse import Warehouse
from mining.runtime.session import build_session
spark = build_session("kill-me", master="local[1]")
big = spark.range(0, 3_000_000, numPartitions=6).select(
    "id", F.sha2(F.col("id").cast("string"), 256).alias("h"))
print("WRITING", flush=True)
Warehouse(sys.argv[1]).publish({"t": big}, run_id="killed", schema={"t": big.schema})
print("DONE", flush=True)
"""


def test_sigkill_at_a_random_moment_of_a_spark_write(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.commit([stage_arrow(wh, "t", numbers(10))])
    delay = random.Random(20250501).uniform(0.3, 2.5)  # seeded: the same moment every run
    proc = subprocess.Popen([sys.executable, "-c", SPARK_PUBLISHER, str(wh.root)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "WRITING"
        time.sleep(delay)
    finally:
        # The whole process group: the driver and its JVM die together, as on a lost node.
        os.killpg(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    # The first write of a fresh JVM takes seconds: the kill lands inside it, leaving debris.
    assert "DONE" not in rest and debris(wh, "t"), f"the kill missed the write ({delay=:.2f})"
    rows = wh.read(spark, "t").count()
    assert rows == 10, f"the previous version is damaged ({rows} rows, {delay=:.2f})"
    wh.publish({"t": spark.range(4)}, run_id="after", schema={"t": IDS})
    assert wh.read(spark, "t").count() == 4
    assert debris(wh, "t") == []
