"""The ``mining`` command: run, jobs, tables and sql (parameters, formats, errors, exit codes)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mining.cli import main, parse_params, sql_dirs
from mining.errors import InputError
from mining.io.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wh(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with one published table, ``pagerank``, and no runs."""
    root = tmp_path_factory.mktemp("cli") / "wh"
    ranks = spark.createDataFrame([(1, "home", 0.5), (2, "about", 0.3), (3, "blog", 0.2)],
                                  "node bigint, name string, rank double")
    Warehouse(root).publish({"pagerank": ranks}, run_id="fixture",
                            schema={"pagerank": ranks.schema})
    return root


def sql(spark, wh: Path, *args: str) -> int:
    return main(["sql", *args, "--warehouse", str(wh)], spark=spark)


@pytest.mark.connect
def test_sql_binds_named_parameters(spark, wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = sql(spark, wh, "select node, name from pagerank where rank >= :min and name != :skip "
               "order by node", "--param", "min=0.25", "--param", "skip=home", "--format", "csv")
    assert code == 0
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [
        ["node", "name"], ["2", "about"]]


def test_sql_table_chosen_by_identifier_parameter(
    spark, wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sql(spark, wh, "select count(*) as n, sum(rank) as total from IDENTIFIER(:t)",
               "--param", "t=pagerank", "--format", "json") == 0
    (line,) = capsys.readouterr().out.splitlines()
    got = json.loads(line)
    assert got["n"] == 3 and got["total"] == pytest.approx(1.0)


def test_sql_default_table_format_and_limit(
    spark, wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sql(spark, wh, "select node, name from pagerank order by node", "--limit", "2") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "node | name", "-----+------", "   1 | home", "   2 | about", "(2 rows)"]
    assert "first 2 rows shown" in captured.err


def test_sql_named_query_file_and_runs_table(
    spark, wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "best_pages.sql").write_text(
        "-- the n best pages\nselect name from pagerank order by rank desc limit :n\n")
    monkeypatch.setenv("MINING_SQL_DIR", str(tmp_path))
    assert sql(spark, wh, "best_pages", "--param", "n=2", "--format", "csv") == 0
    assert capsys.readouterr().out.split() == ["name", "home", "about"]
    assert sql(spark, wh, "select count(*) as runs from runs", "--format", "csv") == 0
    assert capsys.readouterr().out.split() == ["runs", "0"]
    assert sql(spark, wh, "no_such_query") == 2
    assert "no query file no_such_query.sql" in capsys.readouterr().err
    assert main(["sql", "--file", str(tmp_path / "best_pages.sql"), "--param", "n=1",
                 "--warehouse", str(wh), "--format", "csv"], spark=spark) == 0
    assert capsys.readouterr().out.split() == ["name", "home"]


@pytest.mark.parametrize(
    ("query", "condition"),
    [("selec 1", "PARSE_SYNTAX_ERROR"), ("select * from nope", "TABLE_OR_VIEW_NOT_FOUND"),
     ("select :missing", "UNBOUND_SQL_PARAMETER"), ("select 1 / 0", "DIVIDE_BY_ZERO")],
)
def test_bad_query_is_one_line_and_exit_2(
    spark, wh: Path, capsys: pytest.CaptureFixture[str], query: str, condition: str
) -> None:
    assert sql(spark, wh, query) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("mining: error: ") and condition in line


def test_project_queries_are_not_shadowed(
    spark, wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A sql/top_pages.sql where the command runs, or in $MINING_SQL_DIR, is not the project's.
    for where in (tmp_path / "sql", tmp_path / "mine"):
        where.mkdir()
        (where / "top_pages.sql").write_text("drop table pagerank\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINING_SQL_DIR", str(tmp_path / "mine"))
    assert sql_dirs() == [ROOT / "sql", tmp_path / "mine"]
    assert sql(spark, wh, "top_pages", "--param", "k=2", "--format", "csv") == 0
    assert capsys.readouterr().out.split() == ["position,node,rank", "1,1,0.5", "2,2,0.3"]


@pytest.mark.parametrize(
    ("make_file", "fragment"),
    [(lambda p: p.write_bytes("select 'payée'".encode("latin-1")), "is not UTF-8 text"),
     (lambda p: p.mkdir(), "is a directory"),
     (lambda p: None, "query file not found")],
    ids=["latin-1", "directory", "missing"],
)
def test_bad_query_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_file, fragment: str
) -> None:
    make_file(tmp_path / "q.sql")
    assert main(["sql", "--file", str(tmp_path / "q.sql"), "--warehouse", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mining: error: query file") and fragment in line


def test_unreadable_query_file_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "q.sql").write_text("select 1")

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)  # tests run as root: chmod would not do
    assert main(["sql", "--file", str(tmp_path / "q.sql"), "--warehouse", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"mining: error: cannot read query file {tmp_path}/q.sql: " \
        "Permission denied\n"


def test_failures_before_a_query_runs_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("not a warehouse\n")
    for command in (["sql", "select 1"], ["tables"]):
        assert main([*command, "--warehouse", str(tmp_path / "afile")]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line == f"mining: error: warehouse {tmp_path / 'afile'} is not a directory"
    # nothing listens on a port just freed: Spark Connect is not reachable (exit 1, no JVM)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["sql", "select 1", "--warehouse", str(tmp_path), "--remote",
                 f"sc://127.0.0.1:{port}"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mining: error: cannot reach Spark Connect server 127.0.0.1")
    assert main(["sql", "select 1", "--format", "xml"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mining sql: error: argument --format: invalid choice")


def test_spark_that_cannot_start_is_one_line_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "MINING_LOG_DIR": str(tmp_path)}
    env.pop("SPARK_REMOTE", None)
    proc = subprocess.run([sys.executable, "-m", "mining.cli", "sql", "select 1", "--master",
                           "bogus://x", "--warehouse", str(tmp_path / "wh"), "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("mining: error: Spark did not start") and "bogus://x" in line
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["--param", "novalue"], ["--param", "1x=3"], ["--limit", "-1"], ["--format", "xml"],
     ["--file", "also.sql"]],
)
def test_bad_usage_is_exit_2(spark, wh: Path, args: list[str]) -> None:
    assert sql(spark, wh, "select 1", *args) == 2


def test_parameter_values_are_typed() -> None:
    assert parse_params(["a=3", "b=-7", "c=0.5", "d=1e-3", "e=abc", "f=", "g=nan", "h=a=b"]) == {
        "a": 3, "b": -7, "c": 0.5, "d": 0.001, "e": "abc", "f": "", "g": "nan", "h": "a=b"}
    assert parse_params(["n=7"], ["id=007", "x=0.5"]) == {"n": 7, "id": "007", "x": "0.5"}
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_params(["x"])


def test_tables_lists_versions_and_rows(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tables", "--warehouse", str(wh), "--format", "json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    got = json.loads(line)
    assert {k: got[k] for k in ("table", "version", "rows", "versions", "run_id")} == {
        "table": "pagerank", "version": "v000001", "rows": 3, "versions": 1, "run_id": "fixture"}
    assert main(["tables", "--warehouse", str(wh.parent / "empty")]) == 0
    assert "no tables" in capsys.readouterr().err


@pytest.fixture
def two_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A conf dir with jobs `fake_ok` (a module with main) and `fake_missing` (no module)."""
    (tmp_path / "jobs").mkdir()
    for name in ("fake_ok", "fake_missing"):
        (tmp_path / "jobs" / f"{name}.toml").write_text("x = 1\n")
    monkeypatch.setenv("MINING_CONF_DIR", str(tmp_path))
    calls: list[str] = []
    module = types.ModuleType("jobs.fake_ok")
    module.main = lambda argv=None: calls.extend(argv or []) or 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jobs.fake_ok", module)
    return calls


def test_run_dispatches_and_lists_jobs(
    two_jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "fake_ok", "--x", "2", "-q"]) == 3  # the job's own exit code
    assert two_jobs == ["--x", "2", "-q"]
    assert main(["run", "nope"]) == 2
    assert "unknown job 'nope'; available jobs: fake_missing, fake_ok" in capsys.readouterr().err
    assert main(["run", "fake_missing"]) == 2
    assert "no module jobs/fake_missing.py" in capsys.readouterr().err
    assert main(["jobs"]) == 0
    assert capsys.readouterr().out.split() == ["fake_missing", "fake_ok"]


def test_console_script_does_not_import_jobs() -> None:
    # `mining` must import `jobs` only dynamically; --help must work without Spark.
    code = ("import sys, mining.cli; assert not any(m == 'jobs' or m.startswith('jobs.') "
            "for m in sys.modules), 'mining.cli imported jobs'; "
            "sys.exit(mining.cli.main(['--help']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert all(command in proc.stdout for command in ("run", "jobs", "tables", "sql"))
