"""Names cannot escape the warehouse, parameters cannot inject SQL, runs never keep a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mining.cli import main
from mining.errors import ConfigError, InputError
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse, check_table_name
from mining.runtime.job import JobContext, run_job

BAD_NAMES = ["../x", "/abs", "a'b", "a`b", "a.b", "", "x\n", "A", "a b", "a/b", "1x", "x" * 64,
             "..", "a;drop"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_table_names_are_rejected_everywhere(name: str, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    for attempt in (lambda: check_table_name(name), lambda: wh.begin_stage(name, run_id="r"),
                    lambda: wh.path(name), lambda: wh.versions(name)):
        with pytest.raises(InputError, match="invalid table name"):
            attempt()
    assert not (tmp_path / "wh").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["a", "_x", "pagerank_2", "x" * 63])
def test_good_table_names(name: str) -> None:
    assert check_table_name(name) == name


@pytest.fixture(scope="module")
def wh(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("security") / "wh"
    pages = spark.createDataFrame([(1, "a"), (2, "b")], "node bigint, name string")
    Warehouse(root).publish({"pages": pages}, run_id="r")
    return root


def _sql(spark, wh: Path, query: str, *params: str) -> int:
    args = ["sql", query, "--warehouse", str(wh), "--format", "json"]
    for p in params:
        args += ["--param", p]
    return main(args, spark=spark)


def test_parameter_values_are_literals_not_sql(
    spark, wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "select node from pages where name = :name"
    assert _sql(spark, wh, query, "name=a") == 0
    assert capsys.readouterr().out.splitlines() == ['{"node": 1}']
    for attack in ("x' or '1'='1", "a'; drop view pages; --", "a' union select 99 --"):
        assert _sql(spark, wh, query, f"name={attack}") == 0, attack
        assert capsys.readouterr().out == "", attack  # matched no name: a literal string
    assert _sql(spark, wh, "select :v as v", "v=1; select 2") == 0
    assert json.loads(capsys.readouterr().out) == {"v": "1; select 2"}


@pytest.mark.parametrize("table", ["pages; drop view pages", "pages where 1=1", "`pages`",
                                   "global_temp.pages", "../pages"])
def test_identifier_parameter_must_be_a_table_name(
    spark, wh: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    assert _sql(spark, wh, "select count(*) as n from identifier( :t )", f"t={table}") == 2
    assert "invalid table name" in capsys.readouterr().err


def test_sql_cannot_modify_a_published_version(
    spark, wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in Warehouse(wh).path("pages").iterdir())
    for statement in ("insert into pages select 3, 'c'",
                      "insert overwrite table pages select 3, 'c'"):
        assert _sql(spark, wh, statement) == 2, statement
        assert "UNSUPPORTED_INSERT" in capsys.readouterr().err
    assert sorted(p.name for p in Warehouse(wh).path("pages").iterdir()) == before
    assert Warehouse(wh).read(spark, "pages").count() == 2


SECRETS = ("hunter2-pw", "AKIAXXX", "s3-secret", "tok-abc123")


def test_runs_table_never_contains_a_secret(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf" / "jobs").mkdir(parents=True)
    (tmp_path / "conf" / "jobs" / "leaky.toml").write_text(
        'password = "hunter2-pw"\nsource = "s3a://AKIAXXX:s3-secret@bucket/in"\n'
        'endpoint = "sc://host:15002/;token=tok-abc123"\n')
    monkeypatch.setenv("MINING_CONF_DIR", str(tmp_path / "conf"))

    def leaky(ctx: JobContext) -> None:
        ctx.record_input([ctx.params["source"], ctx.params["endpoint"]])
        ctx.record_counts(ctx.params["source"], {"read": 1})
        raise RuntimeError(f"cannot read {ctx.params['source']} via {ctx.params['endpoint']}")

    wh_dir = tmp_path / "wh"
    assert run_job("leaky", leaky, ["--warehouse", str(wh_dir), "--run-id", "leak"],
                   spark=spark) == 1
    on_disk = "".join(p.read_text(errors="replace") for p in wh_dir.rglob("*") if p.is_file())
    table = json.dumps([r.asDict(recursive=True) for r in RunLog(Warehouse(wh_dir)).read(spark)
                        .collect()], default=str)
    for secret in SECRETS:
        assert secret not in on_disk and secret not in table, secret
    record = RunLog(Warehouse(wh_dir)).get("leak")
    assert record.inputs == ["s3a://***@bucket/in", "sc://host:15002/;token=***"]
    assert record.config["password"] == "***"


def test_object_store_root_error_masks_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        Warehouse("s3a://AKIAXXX:s3-secret@bucket/wh")
    assert "s3-secret" not in str(info.value) and "AKIAXXX" not in str(info.value)
    assert "atomic" in str(info.value)
