"""The runs table: written at the start and the end of every job, queryable, secrets masked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining import schemas
from mining.errors import InputError
from mining.io.runs import RunLog, RunRecord, check_run_id
from mining.io.warehouse import Warehouse
from mining.runtime.job import JobContext, run_job
from mining.schemas import RUNS


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A conf dir whose only job, `toy`, has a secret-named key among its parameters.

    Its tables, `toy` and `half`, are declared for the test (a job publishes declared tables
    only: ``JobContext.publish`` checks them against ``mining.schemas.RESULT_TABLES``).
    """
    conf = tmp_path / "conf"
    (conf / "jobs").mkdir(parents=True)
    (conf / "jobs" / "toy.toml").write_text('rows = 3\nbeta = 0.85\npassword = "hunter2"\n')
    monkeypatch.setenv("MINING_CONF_DIR", str(conf))
    ids = T.StructType([T.StructField("id", T.LongType(), nullable=False)])
    for table in ("toy", "half"):
        monkeypatch.setitem(schemas.RESULT_TABLES, table, ids)
    return conf


def _types(schema: object) -> list[tuple[str, str]]:
    # Spark reads files with every column nullable; compare names and types only.
    return [(f.name, f.dataType.simpleString()) for f in schema.fields]  # type: ignore[attr-defined]


def test_record_written_at_start_and_end(spark, tmp_path: Path, conf: Path) -> None:
    wh_dir = tmp_path / "wh"
    seen: dict[str, object] = {}

    def pipeline(ctx: JobContext) -> None:
        seen["during"] = RunLog(ctx.warehouse).get(ctx.run_id).status
        ctx.record_input("data/graphs/hollins.dat")
        ctx.record_counts("edges", {"read": 10, "kept": 9})
        ctx.publish({"toy": ctx.spark.range(ctx.params["rows"])})

    code = run_job("toy", pipeline, ["--warehouse", str(wh_dir), "--run-id", "r1",
                                     "--beta", "0.5"], spark=spark)
    assert code == 0
    assert seen["during"] == "running"
    record = RunLog(Warehouse(wh_dir)).get("r1")
    assert (record.status, record.tables, record.error) == ("succeeded", ["toy"], None)
    assert record.config == {"rows": 3, "beta": 0.5, "password": "***"}
    assert record.counts == {"edges": {"read": 10, "kept": 9}}
    assert record.finished_at is not None and record.finished_at >= record.started_at
    assert record.stages[0].items() >= {"name": "write toy", "status": "ok", "rows": 3}.items()

    runs = RunLog(Warehouse(wh_dir)).read(spark)
    assert _types(runs.schema) == _types(RUNS)
    row = runs.select(
        "status", F.get_json_object("config", "$.beta").alias("beta"),
        F.col("counts")["edges"]["kept"].alias("kept"),
        F.expr("filter(stages, s -> s.name = 'write toy')[0].rows").alias("written"),
    ).first()
    assert row is not None
    assert row.asDict() == {"status": "succeeded", "beta": "0.5", "kept": 9, "written": 3}


def test_failed_runs_are_recorded(spark, tmp_path: Path, conf: Path) -> None:
    wh_dir = tmp_path / "wh"

    def broken(ctx: JobContext) -> None:
        ctx.publish({"half": ctx.spark.range(2)})
        raise RuntimeError("lost s3a://AKIAXXX:verysecret@bucket/x")

    def bad_input(ctx: JobContext) -> None:
        raise InputError("no such file: in.txt")

    assert run_job("toy", broken, ["--warehouse", str(wh_dir), "--run-id", "b1"],
                   spark=spark) == 1
    assert run_job("toy", bad_input, ["--warehouse", str(wh_dir), "--run-id", "b2"],
                   spark=spark) == 2
    log = RunLog(Warehouse(wh_dir))
    crashed, refused = log.get("b1"), log.get("b2")
    assert crashed.status == refused.status == "failed"
    assert crashed.error == "RuntimeError: lost s3a://***@bucket/x"
    assert refused.error == "bad input: no such file: in.txt"
    assert crashed.tables == [] and Warehouse(wh_dir).tables() == []  # staged `half` aborted
    assert [r.run_id for r in log.records()] == ["b1", "b2"]


def test_after_commit_actions_see_the_published_tables(spark, tmp_path: Path,
                                                       conf: Path) -> None:
    """``after_commit`` runs once the tables are committed; its failure fails the run, whose
    record still lists the tables (they stay published)."""
    wh_dir = tmp_path / "wh"
    seen: list[int] = []

    def pipeline(ctx: JobContext, fail: bool = False) -> None:
        ctx.publish({"toy": ctx.spark.range(3)})

        def after() -> None:
            seen.append(ctx.warehouse.read(ctx.spark, "toy").count())
            if fail:
                raise InputError("report failed")

        ctx.after_commit.append(after)

    assert run_job("toy", pipeline, ["--warehouse", str(wh_dir), "--run-id", "a1"],
                   spark=spark) == 0
    assert run_job("toy", lambda ctx: pipeline(ctx, fail=True),
                   ["--warehouse", str(wh_dir), "--run-id", "a2"], spark=spark) == 2
    assert seen == [3, 3]
    failed = RunLog(Warehouse(wh_dir)).get("a2")
    assert (failed.status, failed.tables, failed.error) == (
        "failed", ["toy"], "bad input: report failed")
    assert Warehouse(wh_dir).current("toy").run_id == "a2"


def test_killed_job_stays_running_and_runs_table_starts_empty(spark, tmp_path: Path) -> None:
    log = RunLog(Warehouse(tmp_path / "wh"))
    assert log.read(spark).count() == 0 and _types(log.read(spark).schema) == _types(RUNS)
    log.write(RunRecord(run_id="k1", job="toy", config={}, spark_version=spark.version,
                        started_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert log.register(spark) == "runs"
    row = spark.sql("select status, finished_at, started_at from runs").first()
    assert row is not None and (row["status"], row["finished_at"]) == ("running", None)
    assert not list(log.dir.glob(".*"))  # the temporary file was renamed, not left behind


def test_write_masks_secrets_even_if_caller_did_not(tmp_path: Path) -> None:
    log = RunLog(Warehouse(tmp_path / "wh"))
    record = RunRecord(
        run_id="s1", job="toy", spark_version="4", started_at=datetime.now(UTC),
        config={"password": "pw-1", "remote": "sc://host:15002/;token=tok-2",
                "nested": {"api_key": "key-3"}},
        inputs=["s3a://AKIAXXX:sec-4@bucket/x"], error="failed at sc://h/;token=tok-5",
    )
    text = log.write(record).read_text()
    for secret in ("pw-1", "tok-2", "key-3", "sec-4", "tok-5", "AKIAXXX"):
        assert secret not in text
    assert json.loads(text)["inputs"] == ["s3a://***@bucket/x"]


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "a b", "x" * 129])
def test_run_ids_are_file_names(bad: str) -> None:
    with pytest.raises(InputError, match="invalid run id"):
        check_run_id(bad)


def test_bad_run_id_or_root_is_exit_2_before_spark(tmp_path: Path, conf: Path) -> None:
    def never(ctx: JobContext) -> None:  # pragma: no cover - must not run
        raise AssertionError("pipeline ran")

    wh_dir = tmp_path / "wh"
    assert run_job("toy", never, ["--warehouse", str(wh_dir), "--run-id", "../x"]) == 2
    assert run_job("toy", never, ["--warehouse", "s3a://b/wh"]) == 2
    assert not wh_dir.exists() and not (tmp_path / "x.json").exists()
