"""What the warehouse refuses, in one line each: tables unlike their declared schema, paths out of
the warehouse, run ids that are not file names, roots that are not local, roots it cannot write.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining import schemas
from mining.errors import ConfigError, InputError
from mining.io.runs import RunLog, RunRecord
from mining.io.warehouse import Warehouse, check_run_id

NAMED = T.StructType([T.StructField("node", T.LongType(), nullable=False),
                      T.StructField("name", T.StringType(), nullable=True)])


def _leftovers(wh: Warehouse, name: str) -> list[str]:
    staging = wh.root / name / "_staging"
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


def test_registry_names_every_published_table() -> None:
    assert set(schemas.RESULT_TABLES) == {
        "dataset_profile", "degree_distribution", "basket_sizes", "quarantine", "pagerank",
        "pagerank_topics", "pagerank_nodes", "pagerank_iterations", "pagerank_quarantine",
        "hits", "spam_mass", "itemsets", "rules", "itemset_passes", "itemsets_quarantine",
        "signatures", "candidate_pairs", "similar_pairs", "oversized_buckets", "s_curve",
        "similar_quarantine", "duplicate_clusters", "similar_index", "similar_index_params",
        "query_matches", "similar_query_quarantine", "model", "training_history", "predictions",
        "metrics", "confusion", "train_quarantine"}
    assert schemas.RESULT_TABLES["pagerank"].fieldNames() == ["node", "rank"]
    assert schemas.RESULT_TABLES["quarantine"].fieldNames() == [
        "dataset", *schemas.QUARANTINE.fieldNames()]


def test_columns_are_selected_in_declared_order_and_nullability_is_not_compared(
        spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    # Reordered, every column nullable as Spark makes computed ones: accepted, written in order.
    df = spark.createDataFrame([(0.6, 1), (0.4, 2)], "rank double, node bigint")
    (version,) = wh.publish({"pagerank": df}, run_id="r")
    back = wh.read(spark, "pagerank")
    assert back.columns == ["node", "rank"] and version.rows == 2
    arrays = T.StructType([T.StructField("xs", T.ArrayType(T.LongType(), containsNull=False))])
    wh.publish({"arrays": spark.sql("select array(1L, null) as xs")}, run_id="r",
               schema={"arrays": arrays})  # nested flags are not compared either


@pytest.mark.parametrize(("frame", "message"), [
    ("node bigint", "table 'pagerank': column 'rank' is missing (declared: node, rank)"),
    ("node bigint, rank double, name string",
     "table 'pagerank': column 'name' is not declared (declared: node, rank)"),
    ("node int, rank double", "table 'pagerank': column 'node' is int, declared bigint"),
    ("node bigint, rank float", "table 'pagerank': column 'rank' is float, declared double"),
    ("node bigint, rank double, rank double", "table 'pagerank': column 'rank' appears more "
     "than once"),
])
def test_names_and_types_are_checked_before_writing(spark, tmp_path: Path, frame: str,
                                                    message: str) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.publish({"pagerank": spark.createDataFrame([(1, 1.0)], "node bigint, rank double")},
               run_id="old")
    df = spark.createDataFrame([], frame)
    with pytest.raises(InputError) as err:
        wh.publish({"pagerank": df}, run_id="new")
    assert str(err.value) == message
    assert _leftovers(wh, "pagerank") == [] and wh.current("pagerank").run_id == "old"


def test_nulls_in_a_not_null_column_are_counted_in_the_write_pass(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    df = spark.createDataFrame([(1, 0.5), (None, 0.25), (None, 0.25)], "node bigint, rank double")
    with pytest.raises(InputError) as err:
        wh.stage("pagerank", df, run_id="r")
    assert str(err.value) == ("table 'pagerank': column 'node' is declared NOT NULL but has 2 "
                              "null values")
    assert _leftovers(wh, "pagerank") == [] and wh.tables() == []
    # A NULL where the declared column is nullable is data.
    staged = wh.stage("named", spark.createDataFrame([(1, None)], NAMED), run_id="r",
                      schema=NAMED)
    assert staged.rows == 1
    wh.abort([staged])


def test_schema_check_adds_no_spark_job(spark, tmp_path: Path, is_connect: bool) -> None:
    if is_connect:
        pytest.skip("counts jobs with the SparkContext status tracker")
    wh, sc = Warehouse(tmp_path / "wh"), spark.sparkContext
    df = spark.range(1000, numPartitions=2).select(F.col("id").alias("node"),
                                                   F.lit(0.001).alias("rank"))
    sc.setJobGroup("checked", "publish with a null count")
    try:
        wh.publish({"pagerank": df}, run_id="r")
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    assert len(sc.statusTracker().getJobIdsForGroup("checked")) == 1  # the write itself


def test_a_table_needs_a_declared_schema(spark, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(InputError) as err:
        wh.publish({"toy": spark.range(1)}, run_id="r")
    assert str(err.value) == ("no declared schema for table 'toy': add it to "
                              "mining.schemas.RESULT_TABLES or pass schema=")
    assert not wh.root.exists()


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x\n"])
def test_begin_stage_checks_the_run_id(tmp_path: Path, bad: str) -> None:
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(InputError, match="invalid run id"):
        wh.begin_stage("t", run_id=bad)
    assert not wh.root.exists() and not (tmp_path / "x-").exists()
    assert check_run_id("run-1.a_b") == "run-1.a_b"


def test_paths_inside_the_warehouse(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    assert wh.inside("plots/pr.png") == wh.root / "plots" / "pr.png"
    cases = {
        "/tmp/pr.png": f"plot path '/tmp/pr.png' must be relative to the warehouse {wh.root}, "
                       "not absolute",
        "../pr.png": f"plot path '../pr.png' must stay inside the warehouse {wh.root}: '..' is "
                     "not allowed",
        "plots/../../x.png": None,
        "": f"plot path is empty: give a path relative to the warehouse {wh.root}",
        "runs/x.png": "plot path 'runs/x.png' is inside the directory of table 'runs'; use a "
                      "directory of its own, such as plots/",
        "pagerank/current/x.png": None,
    }
    for path, message in cases.items():
        with pytest.raises(InputError) as err:
            wh.inside(path, what="plot path")
        assert "\n" not in str(err.value)
        assert message is None or str(err.value) == message, path
    wh.root.mkdir()
    os.symlink(tmp_path, wh.root / "out")
    with pytest.raises(InputError, match=r"leads outside the warehouse .* through a symlink"):
        wh.inside("out/x.png")


def test_every_uri_scheme_but_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for root in ("hdfs:/x/y", "HDFS:/x", "s3a:bucket/wh", "gs:wh"):
        with pytest.raises(ConfigError, match=r"the URI scheme \w+: is not supported.*Delta Lake"):
            Warehouse(root)
    with pytest.raises(ConfigError, match=r"s3a:// is not supported.*Delta Lake or Apache"):
        Warehouse("s3a://bucket/warehouse")
    assert Warehouse("file:/x/y").root == Path("/x/y")
    assert Warehouse("./hdfs:").root == tmp_path / "hdfs:"  # a local name with a colon
    assert not list(tmp_path.iterdir())


def test_check_writable_refuses_files_and_creates_directories(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "new" / "wh")
    assert wh.check_writable() == wh.root and wh.root.is_dir()
    assert list(wh.root.iterdir()) == []  # the probe file is gone
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError) as err:
        Warehouse(afile).check_writable()
    assert str(err.value) == f"warehouse {afile} is a file, not a directory"
    with pytest.raises(InputError) as err:
        Warehouse(afile / "wh").check_writable()
    assert str(err.value) == (f"warehouse {afile / 'wh'} is not writable: {afile} is a file, "
                              "not a directory")


@pytest.mark.parametrize(("code", "reason"), [(errno.ENOSPC, "No space left on device"),
                                              (errno.EROFS, "Read-only file system")])
def test_check_writable_reports_a_failed_probe_write(tmp_path: Path, monkeypatch,
                                                     code: int, reason: str) -> None:
    def refuse(fd: int, data: bytes) -> int:
        raise OSError(code, os.strerror(code))

    wh = Warehouse(tmp_path / "wh")
    monkeypatch.setattr(os, "write", refuse)
    with pytest.raises(InputError) as err:
        wh.check_writable()
    monkeypatch.undo()
    assert str(err.value) == f"warehouse {wh.root} is not writable: {reason}"
    assert list(wh.root.iterdir()) == []  # no probe file left behind


def _read_only_bind(path: Path) -> bool:
    """Mount ``path`` read-only over itself; False (and nothing mounted) if that is refused."""
    def run(*args: str) -> bool:
        return subprocess.run(args, capture_output=True, check=False).returncode == 0

    if not run("mount", "--bind", str(path), str(path)):
        return False
    if not run("mount", "-o", "remount,bind,ro", str(path)):
        run("umount", str(path))
        return False
    return True


def test_check_writable_on_a_read_only_mount(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:  # chmod is enough for other users; root ignores permission bits
        ro.chmod(0o555)
    elif not _read_only_bind(ro):
        pytest.skip("needs a read-only bind mount (root with CAP_SYS_ADMIN) or a non-root user")
    try:
        with pytest.raises(InputError) as err:
            Warehouse(ro).check_writable()
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], check=False)
        ro.chmod(0o755)
    assert str(err.value) in (f"warehouse {ro} is not writable: Read-only file system",
                              f"warehouse {ro} is not writable: Permission denied")


def test_run_log_write_failure_is_one_line(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    afile = tmp_path / "afile"
    afile.write_text("x")
    log = RunLog(Warehouse(afile / "wh"))
    record = RunRecord(run_id="r1", job="toy", config={}, spark_version="4",
                       started_at=datetime.now(UTC))
    with pytest.raises(InputError) as err:
        log.write(record)
    assert str(err.value) == (f"could not write the run record {afile}/wh/runs/r1.json: "
                              "Not a directory")
